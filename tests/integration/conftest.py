"""Fixtures: the real integration against simulated chargers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.evse_local.const import CONF_UNIT_ID, DOMAIN, LOGGER
from simulators import GoeSimulator, Simulator, start_simulator

KINDS = ("current", "legacy", "goplug")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    enable_custom_integrations: None, socket_enabled: None
) -> None:
    """Load this repository's integration; let tests open loopback servers.

    phcc still restricts connections to 127.0.0.1, so nothing leaves the
    machine.
    """


@pytest.fixture
def no_follow_up_delay() -> Iterator[None]:
    """Read back at once after a command.

    With the clock frozen, the coordinator's 2 s follow-up read would only
    wake on the next fired time change; waiting for background tasks would
    never return. Modules on a frozen clock use it for every test
    (``pytestmark = pytest.mark.usefixtures("no_follow_up_delay")``).
    """
    with patch("custom_components.evse_local.coordinator.COMMAND_FOLLOW_UP_SECONDS", 0):
        yield


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create entities that are disabled by default as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


async def _simulator(kind: str, **kwargs: Any) -> AsyncIterator[Simulator]:
    # A fixed identity seed keeps serials (and so entity ids) stable.
    async with start_simulator(kind, identity_seed=0xE5E, **kwargs) as sim:
        yield sim


@pytest.fixture
async def current_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """An OpenEVSE with current WiFi firmware (JSON API, websocket)."""
    async for sim in _simulator("current"):
        yield sim


@pytest.fixture
async def legacy_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """An OpenEVSE with 2.9.x WiFi firmware (RAPI over /r)."""
    async for sim in _simulator("legacy"):
        yield sim


@pytest.fixture
async def goplug_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A GoPlug Pro 32 (RAPI only)."""
    async for sim in _simulator("goplug"):
        yield sim


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncIterator[GoeSimulator]:
    """A go-e Charger with Modbus TCP on loopback."""
    async with start_simulator("goe", identity_seed=0xE5E) as sim:
        yield sim


@pytest.fixture(params=KINDS)
async def any_sim(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[Simulator]:
    """Each simulated charger kind in turn."""
    async for sim in _simulator(request.param):
        yield sim


@pytest.fixture(params=("legacy", "goplug"))
async def rapi_sim(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[Simulator]:
    """Each charger kind controlled by RAPI set commands."""
    async for sim in _simulator(request.param):
        yield sim


async def set_plan(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, Any]:
    """Call ``evse_local.set_plan``; return its response (the plan)."""
    response = await hass.services.async_call(
        DOMAIN, "set_plan", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def add_charger(
    hass: HomeAssistant, sim: Simulator | GoeSimulator, **data: str
) -> ConfigEntry:
    """Add a charger through the config flow, as a user would."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    if sim.kind == "goe":
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "modbus"}
        )
        user_input: dict[str, Any] = {
            CONF_HOST: "127.0.0.1",
            CONF_PORT: sim.port,
            CONF_UNIT_ID: 1,
        }
    else:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "http"}
        )
        user_input = {CONF_HOST: sim.host, **data}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert isinstance(entry, ConfigEntry)
    return entry


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait (in real time: network I/O) until ``condition`` holds.

    Polling is deliberate: the condition is state of Home Assistant or of a
    simulator, which offer no event to await. A condition that fails an
    assertion (``state_of`` on an entity not created yet) is not met yet;
    at the timeout that assertion is what the test reports.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if condition():
                return
            failure: AssertionError | None = None
        except AssertionError as err:
            failure = err
        if loop.time() >= deadline:
            if failure is not None:
                raise failure
            raise TimeoutError
        await asyncio.sleep(0.01)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (ids and times masked)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """The entity's state object; the entity must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return state


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the integration logged about availability, in order.

    Fails on any WARNING or ERROR: an outage is routine, not a problem.
    """
    records = [r for r in caplog.records if r.name.startswith(LOGGER.name)]
    loud = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not loud, loud
    lines = []
    for record in records:
        text = record.getMessage()
        if record.levelno == logging.INFO and "unavailable" in text:
            lines.append("unavailable")
        elif record.levelno == logging.INFO and "recovered" in text:
            lines.append("recovered")
    return lines


def shown_values(result: ConfigFlowResult) -> dict[str, object]:
    """What a form puts in its fields: suggested values and defaults."""
    schema = result["data_schema"]
    assert schema is not None
    shown: dict[str, object] = {}
    for key in schema.schema:
        description = getattr(key, "description", None) or {}
        if "suggested_value" in description:
            shown[str(key)] = description["suggested_value"]
        default = getattr(key, "default", None)
        if callable(default):
            shown.setdefault(str(key), default())
    return shown
