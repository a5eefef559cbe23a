"""OCPP chargers (Blink MQ 200) in Home Assistant, against the MQ 200 simulator.

The central system runs inside Home Assistant on a free loopback port; the
simulated chargers are real websocket clients (the ``ocpp`` library) that
connect to it, exactly as the charger on a wall would.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_local.const import (
    CONF_CHARGE_POINT_ID,
    CONF_MAX_CURRENT,
    CONF_PROTOCOL,
    DOMAIN,
    PROTOCOL_OCPP,
)
from custom_components.evse_local.ocpp_server import running_server
from custom_components.evse_local.protocols.errors import EvseConnectionError
from simulators.ocpp_mq200 import (
    Mq200Model,
    Mq200Quirks,
    Mq200Simulator,
    ProfileRefusal,
)
from tests.protocols.ocpp_support import basic_auth, self_signed

from .conftest import outage_lines, shown_values, state_of, wait_for
from .test_enforced_limits import run_for
from .test_group import add_group

PASSWORD = "s3cret-mq200"


def free_port() -> int:
    """A loopback port nobody listens on (the server binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    """The OCPP port of this test's central system."""
    return free_port()


def ocpp_data(port: int, charge_point_id: str, **extra: Any) -> dict[str, Any]:
    """Entry data of an accepted OCPP charger on the loopback central system."""
    return {
        CONF_PROTOCOL: PROTOCOL_OCPP,
        CONF_CHARGE_POINT_ID: charge_point_id,
        CONF_PORT: port,
        "bind_address": "127.0.0.1",
        CONF_MAX_CURRENT: 32,
        CONF_PASSWORD: PASSWORD,
        **extra,
    }


async def add_ocpp_entry(
    hass: HomeAssistant, port: int, charge_point_id: str, **extra: Any
) -> ConfigEntry:
    """Set up an OCPP charger entry (the flow is tested on its own)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=charge_point_id,
        unique_id=charge_point_id,
        data=ocpp_data(port, charge_point_id, **extra),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def mq200(port: int, charge_point_id: str, **kwargs: Any) -> Mq200Simulator:
    """An MQ 200 whose clock only moves when the test says so."""
    kwargs.setdefault("password", PASSWORD)
    return Mq200Simulator(
        f"ws://127.0.0.1:{port}/ocpp",
        charge_point_id,
        time_factor=0,
        reconnect_delay=0.05,
        **kwargs,
    )


@pytest.fixture
async def charger(
    hass: HomeAssistant, port: int
) -> AsyncIterator[tuple[ConfigEntry, Mq200Simulator]]:
    """An accepted MQ 200, connected, a car plugged in and charging."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0001")
    async with mq200(port, "MQ200-0001") as sim:
        await sim.wait_accepted()
        # Configured (measurands, then every key read): readings have currents.
        await wait_for(lambda: sim.frames_received["GetConfiguration"] == 2)
        sim.model.plug_in()
        await sim.sync()
        await sim.advance(10)
        await wait_for(lambda: _value(hass, "sensor.mq200_0001_charging_current") > 0)
        yield entry, sim
    await hass.config_entries.async_unload(entry.entry_id)


def _value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    if state is None or state.state in ("unknown", "unavailable"):
        return -1.0
    return float(state.state)


async def test_charger_entities_follow_what_it_reports(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """The measurands the MQ 200 sends become entities with its values."""
    entry, sim = charger
    assert state_of(hass, "sensor.mq200_0001_state").state == "charging"
    assert state_of(hass, "sensor.mq200_0001_connector_status").state == "charging"
    assert state_of(hass, "binary_sensor.mq200_0001_vehicle_connected").state == "on"
    assert state_of(hass, "binary_sensor.mq200_0001_charging").state == "on"
    assert state_of(hass, "binary_sensor.mq200_0001_connected").state == "on"
    assert _value(hass, "sensor.mq200_0001_voltage") == pytest.approx(
        sim.model.voltage, abs=0.5
    )
    assert _value(hass, "sensor.mq200_0001_charging_current") == pytest.approx(
        sim.model.current, abs=0.1
    )
    # The MQ 200 does not send power: it is derived from current x voltage.
    assert _value(hass, "sensor.mq200_0001_power") > 0
    assert _value(hass, "sensor.mq200_0001_lifetime_energy") > 0
    assert _value(hass, "sensor.mq200_0001_temperature_1") > 0
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "MQ200-0001"), entry.entry_id
    )
    assert device is not None
    assert device.manufacturer == "Blink"
    assert device.model == "MQ 200"
    assert entry.state is ConfigEntryState.LOADED


async def test_pause_keeps_the_session(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Pause is a 0 A profile: the transaction goes on; resume restores it."""
    _, sim = charger
    transaction = sim.transaction_id
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.mq200_0001_charging_enabled"},
        blocking=True,
    )
    await sim.sync()
    assert sim.model.offered_current == 0
    await wait_for(
        lambda: (
            state_of(hass, "sensor.mq200_0001_connector_status").state
            == "suspended_evse"
        )
    )
    assert state_of(hass, "switch.mq200_0001_charging_enabled").state == "off"
    assert sim.transaction_id == transaction
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.mq200_0001_charging_enabled"},
        blocking=True,
    )
    await sim.sync()
    assert sim.model.offered_current == 32
    await wait_for(
        lambda: state_of(hass, "sensor.mq200_0001_connector_status").state == "charging"
    )
    assert sim.transaction_id == transaction
    assert sim.frames_received["RemoteStopTransaction"] == 0


async def test_max_current_is_a_charging_profile(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """The current number sends SetChargingProfile in amps."""
    _, sim = charger
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.mq200_0001_charging_current_limit", "value": 16},
        blocking=True,
    )
    await sim.sync()
    assert sim.model.offered_current == 16
    assert state_of(hass, "number.mq200_0001_charging_current_limit").state == "16"


async def test_availability_reset_and_unlock(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """ChangeAvailability, Reset and UnlockConnector from entities."""
    _, sim = charger
    sim.model.unplug()
    await sim.sync()
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.mq200_0001_available"},
        blocking=True,
    )
    await sim.sync()
    await wait_for(
        lambda: (
            state_of(hass, "sensor.mq200_0001_connector_status").state == "unavailable"
        )
    )
    assert state_of(hass, "switch.mq200_0001_available").state == "off"
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.mq200_0001_available"}, blocking=True
    )
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.mq200_0001_unlock_cable"},
        blocking=True,
    )
    assert sim.frames_received["UnlockConnector"] == 1
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.mq200_0001_restart"}, blocking=True
    )
    assert sim.frames_received["Reset"] == 1
    # It reboots and comes back by itself.
    await sim.wait_accepted()
    await wait_for(
        lambda: state_of(hass, "binary_sensor.mq200_0001_connected").state == "on"
    )


async def test_killed_charger_is_unavailable_at_once(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    charger: tuple[ConfigEntry, Mq200Simulator],
) -> None:
    """A dropped websocket: entities unavailable at once, back on reconnect.

    One INFO line says it went away, one that it is back.
    """
    _, sim = charger
    caplog.set_level(logging.INFO)
    caplog.clear()
    await sim.kill(reconnect=False)
    await wait_for(
        lambda: (
            state_of(hass, "sensor.mq200_0001_charging_current").state
            == STATE_UNAVAILABLE
        ),
        timeout=2,
    )
    assert state_of(hass, "sensor.mq200_0001_connector_status").state == (
        STATE_UNAVAILABLE
    )
    connected = state_of(hass, "binary_sensor.mq200_0001_connected")
    assert connected.state == "off"
    await sim.reconnect()
    await sim.wait_accepted()
    await sim.advance(10)
    await wait_for(lambda: _value(hass, "sensor.mq200_0001_charging_current") > 0)
    assert outage_lines(caplog) == ["unavailable", "recovered"]


@pytest.mark.parametrize(
    "odd", ["0.0", "-5", "1e999", pytest.param("1" + "0" * 400, id="400-digits")]
)
async def test_odd_meter_values_never_corrupt_the_energy_dashboard(
    hass: HomeAssistant, port: int, odd: str
) -> None:
    """One odd MeterValues register value in a normal sequence, every 3rd.

    Before: "0" left the lifetime sensor the whole register too high for
    ever, "-5" made it go backwards and then the same phantom, "1e999"
    froze it with listener errors. Now the sensor only ever rises, to
    exactly what the register counted, and the session does the same.
    """
    entry = await add_ocpp_entry(hass, port, "MQ200-0004")
    lifetime = "sensor.mq200_0004_lifetime_energy"
    session = "sensor.mq200_0004_session_energy"
    quirks = Mq200Quirks(energy_glitch_every=3, energy_glitch_value=odd)
    shown: dict[str, list[float]] = {lifetime: [], session: []}

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is not None and state.state not in ("unknown", "unavailable"):
            shown[event.data["entity_id"]].append(float(state.state))

    unsubscribe = async_track_state_change_event(hass, [lifetime, session], record)
    async with mq200(port, "MQ200-0004", quirks=quirks) as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        # 13 readings: the 3rd, 6th, 9th and 12th odd, the last a good one.
        await sim.advance(130)
        register = sim.model.energy_wh / 1000
        await wait_for(
            lambda: _value(hass, lifetime) == pytest.approx(register, abs=1e-4)
        )
        await wait_for(
            lambda: _value(hass, session) == pytest.approx(register, abs=1e-4)
        )
    unsubscribe()
    for values in shown.values():
        assert values == sorted(values)
        assert max(values) == pytest.approx(register, abs=1e-4)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_readings_from_before_a_reconnect_are_not_shown_as_current(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """The car leaves while the charger is offline; it comes back Available.

    From the reconnect on, no state shows "charging" again and no current
    the old 7.6 kW session's; the current reads 0 once it is Available.
    """
    _, sim = charger
    current = "sensor.mq200_0001_charging_current"
    state = "sensor.mq200_0001_state"
    assert _value(hass, current) > 0
    await sim.kill(reconnect=False)
    await wait_for(lambda: state_of(hass, current).state == STATE_UNAVAILABLE)
    sim.model.unplug()  # its StopTransaction falls into the offline period
    seen: list[tuple[str, str]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            seen.append((event.data["entity_id"], new.state))

    unsubscribe = async_track_state_change_event(hass, [current, state], record)
    await sim.reconnect()
    await sim.wait_accepted()
    await wait_for(lambda: state_of(hass, state).state == "not_connected")
    unsubscribe()
    assert (state, "charging") not in seen
    assert [value for entity, value in seen if entity == current] == ["0.0"]
    assert state_of(hass, "sensor.mq200_0001_session_energy").state != "unavailable"


async def test_command_as_the_charger_drops_is_not_an_error(
    hass: HomeAssistant,
    charger: tuple[ConfigEntry, Mq200Simulator],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read after a command finds the connection gone: unavailable, no ERROR.

    A group's command races the charger's disconnection (it shuts down, or
    Home Assistant stops): the push task has not noticed yet.
    """
    entry, _ = charger
    coordinator = entry.runtime_data.coordinator
    assert coordinator.last_update_success

    async def gone() -> None:
        raise EvseConnectionError("MQ200-0001 not connected")

    monkeypatch.setattr(entry.runtime_data.charger, "poll", gone)
    caplog.clear()
    await coordinator.async_refresh_after_command()
    await hass.async_block_till_done()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not coordinator.last_update_success
    assert state_of(hass, "sensor.mq200_0001_connector_status").state == (
        STATE_UNAVAILABLE
    )


async def test_restart_restores_the_same_entities(
    hass: HomeAssistant, port: int
) -> None:
    """After a restart (reload) the same entities exist before it reconnects."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0002")
    async with mq200(port, "MQ200-0002") as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        await sim.advance(60)
        await wait_for(lambda: _value(hass, "sensor.mq200_0002_lifetime_energy") > 0)
        energy = _value(hass, "sensor.mq200_0002_lifetime_energy")
        registry = er.async_get(hass)
        before = {
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }
        await sim.stop()
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        after = {
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }
        assert after == before
        # Entities of the integration (not the registry's restored
        # placeholders), unavailable until the charger is back.
        for entity_id in after:
            state = state_of(hass, entity_id)
            assert not state.attributes.get("restored"), entity_id
            if entity_id not in (
                "binary_sensor.mq200_0002_connected",
                # A setting kept in the options: it may change while offline.
                "select.mq200_0002_charging_mode",
            ):
                assert state.state == STATE_UNAVAILABLE, entity_id
        assert state_of(hass, "binary_sensor.mq200_0002_connected").state == "off"
        sim.model.reset_energy_register()
        await sim.start()
        await sim.wait_accepted()
        # The register dropped to zero: a reset once two more readings
        # continue from it; the lifetime sensor never goes back.
        await sim.advance(30)
        await wait_for(
            lambda: _value(hass, "sensor.mq200_0002_lifetime_energy") > energy
        )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_profiles_refused_falls_back_and_raises_a_repair(
    hass: HomeAssistant, port: int
) -> None:
    """A charger without Smart Charging is paused by stopping the transaction."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0003")
    sim = mq200(
        port,
        "MQ200-0003",
        quirks=Mq200Quirks(refuse_profiles=ProfileRefusal.NOT_SUPPORTED),
    )
    async with sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        await wait_for(
            lambda: (
                state_of(hass, "sensor.mq200_0003_connector_status").state == "charging"
            )
        )
        await hass.services.async_call(
            "switch",
            "turn_off",
            {"entity_id": "switch.mq200_0003_charging_enabled"},
            blocking=True,
        )
        await sim.sync()
        assert sim.frames_received["RemoteStopTransaction"] == 1
        issue = ir.async_get(hass).async_get_issue(
            DOMAIN, f"ocpp_profiles_refused_{entry.entry_id}"
        )
        assert issue is not None
        assert issue.translation_key == "ocpp_profiles_refused"
        await hass.services.async_call(
            "switch",
            "turn_on",
            {"entity_id": "switch.mq200_0003_charging_enabled"},
            blocking=True,
        )
        await sim.sync()
        assert sim.frames_received["RemoteStartTransaction"] == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_port_in_use_is_a_translated_error_and_a_repair(
    hass: HomeAssistant, port: int
) -> None:
    """Another program on the port: setup retries, a repair says why."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        entry = await add_ocpp_entry(hass, port, "MQ200-0004")
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert "port" in (entry.reason or "")
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"ocpp_port_in_use_{port}")
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"ocpp_port_in_use_{port}")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_server_stops_with_the_last_charger(
    hass: HomeAssistant, port: int
) -> None:
    """One server for all OCPP entries, closed when the last one unloads."""
    first = await add_ocpp_entry(hass, port, "MQ200-0005")
    second = await add_ocpp_entry(hass, port, "MQ200-0006")
    data = first.data
    server = running_server(hass, data)
    assert server is not None
    assert running_server(hass, second.data) is server
    await hass.config_entries.async_unload(first.entry_id)
    assert running_server(hass, data) is server
    await hass.config_entries.async_unload(second.entry_id)
    assert running_server(hass, data) is None


async def _approve(
    hass: HomeAssistant, flow_id: str, password: str | None = PASSWORD
) -> ConfigFlowResult:
    user_input: dict[str, Any] = {CONF_MAX_CURRENT: 32}
    if password is not None:
        user_input[CONF_PASSWORD] = password
    return await hass.config_entries.flow.async_configure(flow_id, user_input)


async def test_ten_chargers_arriving_together_are_approved_one_by_one(
    hass: HomeAssistant, port: int
) -> None:
    """N chargers arriving together: N flows, N accepts, nobody disconnected."""
    first = await add_ocpp_entry(hass, port, "MQ200-HOME")
    home = mq200(port, "MQ200-HOME")
    newcomers = [mq200(port, f"MQ200-{index:03}") for index in range(10)]
    async with AsyncExitStack() as stack:
        for sim in (home, *newcomers):
            stack.push_async_callback(sim.stop)
        await home.start()
        await home.wait_accepted()
        await asyncio.gather(*(sim.start(wait=False) for sim in newcomers))
        await wait_for(
            lambda: (
                len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 10
            ),
            timeout=30,
        )
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert {flow["context"]["unique_id"] for flow in flows} == {
            sim.charge_point_id for sim in newcomers
        }
        assert all(
            flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY for flow in flows
        )
        # Until accepted they are told to wait and get no command.
        await wait_for(lambda: all(sim.boot_status == "Pending" for sim in newcomers))
        assert all(not sim.accepted for sim in newcomers)
        for flow in flows:
            result = await _approve(hass, flow["flow_id"])
            assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        await asyncio.gather(*(sim.wait_accepted(timeout=30) for sim in newcomers))
        assert len(hass.config_entries.async_entries(DOMAIN)) == 11
        # Approvals neither reloaded nor disconnected anybody.
        assert home.connects == 1
        assert home.disconnects == 0
        assert all(sim.disconnects == 0 for sim in newcomers)
        assert all(sim.connects == 1 for sim in newcomers)
        assert first.state is ConfigEntryState.LOADED
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


async def test_unreadable_certificate_is_a_setup_error(
    hass: HomeAssistant, port: int
) -> None:
    """TLS files that cannot be loaded: a clear error, no retry loop."""
    entry = await add_ocpp_entry(
        hass,
        port,
        "MQ200-0008",
        ssl_certificate="/nonexistent/cert.pem",
        ssl_key="/nonexistent/key.pem",
    )
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert running_server(hass, entry.data) is None


async def test_wrong_password_is_refused_at_the_upgrade(
    hass: HomeAssistant, port: int
) -> None:
    """A known charger presenting the wrong password never gets in."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0007")
    sim = mq200(port, "MQ200-0007", password="wrong")
    await sim.start(wait=False)
    await wait_for(lambda: sim.connect_failures > 0)
    assert not sim.connected
    server = running_server(hass, entry.data)
    assert server is not None
    assert server.stats.rejected_auth > 0
    await sim.stop()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_session_limit_is_enforced_by_the_integration(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Energy limits on OCPP: the integration watches and pauses (0 A profile)."""
    entry, sim = charger
    response = await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {"config_entry_id": entry.entry_id, "energy": 0.5},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["enforced_by"] == "integration"
    await sim.advance(600)
    await wait_for(lambda: sim.model.offered_current == 0)
    await wait_for(
        lambda: state_of(hass, "switch.mq200_0001_charging_enabled").state == "off"
    )


async def test_limit_pause_ends_with_its_session(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """The integration's pause at the limit is not kept for the next car."""
    entry, sim = charger
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {"config_entry_id": entry.entry_id, "energy": 0.1},
        blocking=True,
    )
    await sim.advance(60)
    await wait_for(lambda: sim.model.offered_current == 0)
    await hass.async_block_till_done()
    sim.model.unplug()
    await sim.sync()
    await hass.async_block_till_done()
    sim.model.plug_in()
    await sim.sync()
    await wait_for(lambda: sim.model.transaction is not None)
    await hass.async_block_till_done()
    await sim.advance(10)
    assert sim.model.offered_current == 32
    await wait_for(
        lambda: state_of(hass, "switch.mq200_0001_charging_enabled").state == "on"
    )


async def test_limit_pause_by_remote_stop_is_not_undone_at_unplug(
    hass: HomeAssistant, port: int
) -> None:
    """Without profiles the limit's pause was a RemoteStop: no RemoteStart later.

    The session ended with it; starting one for a car that left would be
    wrong, and the next car's session starts by itself.
    """
    entry = await add_ocpp_entry(hass, port, "MQ200-0004")
    sim = mq200(
        port,
        "MQ200-0004",
        quirks=Mq200Quirks(refuse_profiles=ProfileRefusal.NOT_SUPPORTED),
    )
    async with sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        await hass.services.async_call(
            DOMAIN,
            "set_session_limit",
            {"config_entry_id": entry.entry_id, "energy": 0.1},
            blocking=True,
        )
        await sim.advance(60)
        await wait_for(lambda: sim.frames_received["RemoteStopTransaction"] == 1)
        await hass.async_block_till_done()
        sim.model.unplug()
        await sim.sync()
        await hass.async_block_till_done()
        coordinator = entry.runtime_data.coordinator
        assert not coordinator.limits.resume_due
        assert not coordinator.limits.paused_by_limit
        assert sim.frames_received["RemoteStartTransaction"] == 0
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.freeze_time(tick=True)
async def test_energy_limit_overshoot_at_11_kw(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """0.1 kWh at 11 kW with MeterValues every 10 s: within 10 Wh of it.

    Home Assistant's clock moves in steps and the charger follows it (see
    test_enforced_limits); the pause is timed from the pushed power.
    """
    entry = await add_ocpp_entry(hass, port, "MQ200-0001")
    model = Mq200Model(max_current=46, ev_max_current=46)  # 11.04 kW
    async with mq200(port, "MQ200-0001", model=model) as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        await run_for(hass, freezer, 13, sim.advance, polled=False)
        start_wh = sim.model.session_wh
        await hass.services.async_call(
            DOMAIN,
            "set_session_limit",
            {"config_entry_id": entry.entry_id, "energy": 0.1},
            blocking=True,
        )
        await run_for(hass, freezer, 60, sim.advance, polled=False)
        assert sim.model.offered_current == 0
        delivered = sim.model.session_wh - start_wh
        assert abs(delivered - 100) <= 10, delivered
    await hass.config_entries.async_unload(entry.entry_id)


async def test_manual_flow_creates_an_entry(hass: HomeAssistant, port: int) -> None:
    """Menu, OCPP form with every error, then the entry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp"
    base = {
        CONF_CHARGE_POINT_ID: " MQ200-9/9 ",
        CONF_PASSWORD: PASSWORD,
        CONF_MAX_CURRENT: 40,
        CONF_PORT: port,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], base)
    assert result["errors"] == {CONF_CHARGE_POINT_ID: "invalid_charge_point_id"}
    base[CONF_CHARGE_POINT_ID] = "MQ200-0099"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**base, "ssl_certificate": "/nonexistent/cert.pem"}
    )
    assert result["errors"] == {"base": "ssl_incomplete"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **base,
            "ssl_certificate": "/nonexistent/cert.pem",
            "ssl_key": "/nonexistent/key.pem",
        },
    )
    assert result["errors"] == {"base": "invalid_certificate"}
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", port))  # noqa: S104 - the server's own bind address
        blocker.listen()
        result = await hass.config_entries.flow.async_configure(result["flow_id"], base)
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "MQ200-0099"
    assert result["data"] == {
        CONF_PROTOCOL: PROTOCOL_OCPP,
        CONF_CHARGE_POINT_ID: "MQ200-0099",
        CONF_PASSWORD: PASSWORD,
        CONF_MAX_CURRENT: 40,
        CONF_PORT: port,
        "bind_address": "0.0.0.0",  # noqa: S104
    }
    await hass.async_block_till_done()
    entry = result["result"]
    # A second charger: the running server's port is suggested, no bind check.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**base, CONF_CHARGE_POINT_ID: "MQ200-0100"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The same charger twice: aborted.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Options: no poll interval or EEPROM choice for a charger that pushes
    # everything and keeps its current in a profile; solar inputs remain.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    schema = result["data_schema"]
    assert schema is not None
    fields = {str(key) for key in schema.schema}
    assert "scan_interval" not in fields
    assert "persist_max_current" not in fields
    assert "grid_power" in fields
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure_ocpp"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MAX_CURRENT: 24, CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_MAX_CURRENT] == 24
    # An empty password field keeps the stored password.
    assert entry.data[CONF_PASSWORD] == PASSWORD
    await hass.async_block_till_done()
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


async def test_discovery_checks_the_password_the_charger_sent(
    hass: HomeAssistant, port: int
) -> None:
    """The confirm form compares the password with what the charger presented."""
    await add_ocpp_entry(hass, port, "MQ200-HOME")
    with_password = mq200(port, "MQ200-0200")
    without_password = mq200(port, "MQ200-0201", password=None)
    await with_password.start(wait=False)
    await without_password.start(wait=False)
    await wait_for(
        lambda: len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 2
    )
    flows = {
        flow["context"]["unique_id"]: flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    }
    assert flows["MQ200-0200"]["context"]["title_placeholders"] == {
        "name": "Blink MQ 200 MQ200-0200"
    }
    result = await _approve(hass, flows["MQ200-0200"]["flow_id"], "not-it")
    assert result["errors"] == {CONF_PASSWORD: "password_mismatch"}
    result = await _approve(hass, flows["MQ200-0200"]["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Blink MQ 200 MQ200-0200"
    result = await _approve(hass, flows["MQ200-0201"]["flow_id"])
    assert result["errors"] == {CONF_PASSWORD: "no_password_presented"}
    result = await _approve(hass, flows["MQ200-0201"]["flow_id"], None)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await with_password.wait_accepted()
    await without_password.wait_accepted()
    await with_password.stop()
    await without_password.stop()
    # Discovered again while configured: nothing new.
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_CHARGE_POINT_ID: "MQ200-0200", CONF_PORT: port},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


async def test_discovery_without_a_running_server(hass: HomeAssistant) -> None:
    """A discovery whose server is gone: accepted without a password check."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_CHARGE_POINT_ID: "MQ200-0300", CONF_PORT: free_port()},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp_confirm"
    result = await _approve(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "OCPP charger MQ200-0300"
    await hass.async_block_till_done()
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


async def test_form_shows_the_url_to_enter_on_the_charger(hass: HomeAssistant) -> None:
    """The form names Home Assistant's own address (or a fallback)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    placeholders = result["description_placeholders"]
    assert placeholders == {"url": "ws://homeassistant.local:9000/ocpp"}
    await async_process_ha_core_config(
        hass, {"internal_url": "http://192.168.1.10:8123"}
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    placeholders = result["description_placeholders"]
    assert placeholders == {"url": "ws://192.168.1.10:9000/ocpp"}


async def test_silent_charger_is_unavailable_after_two_heartbeats(
    hass: HomeAssistant, port: int
) -> None:
    """A charger that stops talking (no close): unavailable after 2 intervals."""
    with patch("custom_components.evse_local.ocpp_server.OCPP_HEARTBEAT_INTERVAL", 1):
        entry = await add_ocpp_entry(hass, port, "MQ200-0009")
        # Time frozen in the simulator: after its boot it sends nothing more,
        # like a charger whose network went away without closing the socket.
        async with mq200(port, "MQ200-0009") as sim:
            await sim.wait_accepted()
            await sim.send_status()  # as every charger does after its boot
            await wait_for(
                lambda: (
                    state_of(hass, "binary_sensor.mq200_0009_connected").state == "on"
                )
            )
            await wait_for(
                lambda: (
                    state_of(hass, "binary_sensor.mq200_0009_connected").state == "off"
                ),
                timeout=5,
            )
            assert state_of(hass, "sensor.mq200_0009_state").state == STATE_UNAVAILABLE
        await hass.config_entries.async_unload(entry.entry_id)


async def test_listen_address_is_configurable(hass: HomeAssistant, port: int) -> None:
    """The central system can listen on one address only."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CHARGE_POINT_ID: "MQ200-0400",
            CONF_PASSWORD: PASSWORD,
            CONF_MAX_CURRENT: 32,
            CONF_PORT: port,
            "bind_address": " 127.0.0.1 ",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["bind_address"] == "127.0.0.1"
    await hass.async_block_till_done()
    async with mq200(port, "MQ200-0400") as sim:
        await sim.wait_accepted()
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


@pytest.mark.parametrize("code", ["MessageTypeNotSupported", None, 5])
async def test_odd_call_error_codes_are_translated_refusals(
    hass: HomeAssistant, port: int, code: object
) -> None:
    """A CALLERROR code OCPP 1.6 lacks: a translated error, nothing escapes."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0010")
    quirks = Mq200Quirks(call_error_codes={"Reset": code, "ChangeConfiguration": code})
    async with mq200(port, "MQ200-0010", quirks=quirks) as sim:
        await sim.wait_accepted()
        # The configuration goes on past each refusal: the interval, then
        # both measurand lists are tried (a dead task would stop at one).
        await wait_for(lambda: sim.frames_sent["ChangeConfiguration.error"] == 3)
        # The entities come with the first data, after the configuration.
        await wait_for(
            lambda: (
                getattr(
                    hass.states.get("binary_sensor.mq200_0010_connected"), "state", None
                )
                == "on"
            )
        )
        with pytest.raises(HomeAssistantError) as refused:
            await hass.services.async_call(
                "button",
                "press",
                {"entity_id": "button.mq200_0010_restart"},
                blocking=True,
            )
        assert refused.value.translation_key == "command_rejected"
        assert str(code) in str(refused.value.translation_placeholders)
        assert sim.frames_sent["Reset.error"] == 1
        assert sim.disconnects == 0
    assert sim.frames_received["ChangeConfiguration"] == 3
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_meter_value_of_400_digits_is_answered(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Every frame gets an answer and the charger stays connected."""
    _, sim = charger
    payload = {
        "connectorId": 1,
        "transactionId": sim.transaction_id,
        "meterValue": [
            {
                "timestamp": "2026-11-21T04:40:11.760Z",
                "sampledValue": [
                    {"value": "9" * 400, "measurand": "Current.Offered", "unit": "A"},
                    {
                        "value": "9" * 400,
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    },
                ],
            }
        ],
    }
    kind, _ = await sim.call_raw("MeterValues", payload)
    assert kind in (3, 4)
    await sim.send_heartbeat()
    assert (
        sim.frames_sent["Heartbeat"]
        == sim.frames_received["Heartbeat.conf"]
        + sim.frames_received["Heartbeat.error"]
    )
    assert sim.disconnects == 0
    assert sim.connected


async def _reconfigure(
    hass: HomeAssistant, entry: ConfigEntry, user_input: dict[str, Any]
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure_ocpp"
    # What the form shows, as the browser sends it back, then the changes.
    shown = {k: v for k, v in shown_values(result).items() if k != "remove_password"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**shown, CONF_MAX_CURRENT: 24, **user_input}
    )
    await hass.async_block_till_done()
    return result


async def test_ocpp_reconfigure_never_shows_or_silently_drops_the_password(
    hass: HomeAssistant, port: int
) -> None:
    """The Basic Auth password stays on the server; removing it is a choice."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0012")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    shown = shown_values(result)
    assert PASSWORD not in shown.values()
    assert shown[CONF_MAX_CURRENT] == 32
    assert shown["remove_password"] is False
    # Nothing typed: kept, and the charger still gets in with it.
    result = await _reconfigure(hass, entry, {})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PASSWORD] == PASSWORD
    async with mq200(port, "MQ200-0012") as sim:
        await sim.wait_accepted()
    result = await _reconfigure(hass, entry, {CONF_PASSWORD: "changed"})
    assert entry.data[CONF_PASSWORD] == "changed"
    result = await _reconfigure(
        hass, entry, {CONF_PASSWORD: "other", "remove_password": True}
    )
    assert result["errors"] == {"remove_password": "password_and_remove"}
    assert entry.data[CONF_PASSWORD] == "changed"
    result = await _reconfigure(hass, entry, {"remove_password": True})
    assert result["reason"] == "reconfigure_successful"
    assert CONF_PASSWORD not in entry.data
    async with mq200(port, "MQ200-0012", password=None) as sim:
        await sim.wait_accepted()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert "remove_password" not in shown_values(result)
    await hass.config_entries.async_unload(entry.entry_id)


def tls(tmp_path: Path) -> dict[str, str]:
    """Entry data for wss:// with a certificate for 127.0.0.1."""
    certificate, key = self_signed(tmp_path)
    return {"ssl_certificate": str(certificate), "ssl_key": str(key)}


async def _ocpp_form(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def test_a_second_charger_cannot_change_the_ports_tls(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """One server per port: a charger asking for other TLS files is refused."""
    await add_ocpp_entry(hass, port, "MQ200-PLAIN")
    user_input = {
        CONF_CHARGE_POINT_ID: "MQ200-WSS",
        CONF_MAX_CURRENT: 32,
        CONF_PORT: port,
        "bind_address": "127.0.0.1",
    }
    result = await _ocpp_form(hass, {**user_input, **tls(tmp_path)})
    assert result["errors"] == {"base": "tls_mismatch"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The other way round: a wss:// port refuses a plain charger.
    wss_port = free_port()
    await add_ocpp_entry(hass, wss_port, "MQ200-TLS", **tls(tmp_path))
    result = await _ocpp_form(
        hass, {**user_input, CONF_CHARGE_POINT_ID: "MQ200-X", CONF_PORT: wss_port}
    )
    assert result["errors"] == {"base": "tls_mismatch"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**user_input, CONF_CHARGE_POINT_ID: "MQ200-X", CONF_PORT: wss_port},
    )
    assert result["errors"] == {"base": "tls_mismatch"}
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


async def test_reconfigure_checks_the_server_it_moves_to(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """TLS of a shared port cannot change; moving to a port of its own can."""
    home = await add_ocpp_entry(hass, port, "MQ200-HOME")
    garage = await add_ocpp_entry(hass, port, "MQ200-GARAGE")
    result = await _reconfigure(hass, garage, tls(tmp_path))
    assert result["errors"] == {"base": "tls_mismatch"}
    # Alone on another port, with certificate files: its own wss:// server.
    own_port = free_port()
    result = await _reconfigure(hass, garage, {CONF_PORT: own_port, **tls(tmp_path)})
    assert result["reason"] == "reconfigure_successful"
    assert garage.state is ConfigEntryState.LOADED
    assert running_server(hass, garage.data) is not running_server(hass, home.data)
    certificate = Path(garage.data["ssl_certificate"])
    client_tls = ssl.create_default_context(cafile=str(certificate))
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"wss://127.0.0.1:{own_port}/ocpp/MQ200-GARAGE",
            protocols=("ocpp1.6",),
            headers=basic_auth("MQ200-GARAGE", PASSWORD),
            ssl=client_tls,
        )
        await ws.close()
    # Its old port still serves the other charger, in plain ws://.
    async with mq200(port, "MQ200-HOME") as sim:
        await sim.wait_accepted()
    # Alone on its port, it may drop TLS again (the port is its own).
    result = await _reconfigure(
        hass, garage, {"ssl_certificate": "", "ssl_key": "", CONF_PORT: own_port}
    )
    assert result["reason"] == "reconfigure_successful"
    assert "ssl_certificate" not in garage.data
    for loaded in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(loaded.entry_id)


async def test_disagreeing_entries_load_the_same_whatever_the_order(
    hass: HomeAssistant, port: int, tmp_path: Path
) -> None:
    """Stored entries wanting ws:// and wss:// on one port: the oldest decides."""
    files = tls(tmp_path)
    older = MockConfigEntry(
        domain=DOMAIN,
        title="MQ200-OLDER",
        unique_id="MQ200-OLDER",
        data=ocpp_data(port, "MQ200-OLDER"),
    )
    newer = MockConfigEntry(
        domain=DOMAIN,
        title="MQ200-NEWER",
        unique_id="MQ200-NEWER",
        data=ocpp_data(port, "MQ200-NEWER", **files),
    )
    assert older.created_at < newer.created_at
    # The integration first, so that each entry loads when the test says.
    assert await async_setup_component(hass, DOMAIN, {})
    older.add_to_hass(hass)
    newer.add_to_hass(hass)
    issues = ir.async_get(hass)
    for order in ((newer, older), (older, newer)):
        for entry in order:
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        assert older.state is ConfigEntryState.LOADED
        assert newer.state is ConfigEntryState.SETUP_ERROR
        assert "MQ200-OLDER" in (newer.reason or "")
        issue = issues.async_get_issue(DOMAIN, f"ocpp_tls_mismatch_{newer.entry_id}")
        assert issue is not None
        assert issue.translation_placeholders == {
            "charger": "MQ200-NEWER",
            "other": "MQ200-OLDER",
            "port": str(port),
        }
        # The older charger is served in plain ws://.
        async with mq200(port, "MQ200-OLDER") as sim:
            await sim.wait_accepted()
        for entry in order:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    # Settings made to agree: it loads and the repair goes away.
    hass.config_entries.async_update_entry(newer, data=ocpp_data(port, "MQ200-NEWER"))
    await hass.config_entries.async_setup(older.entry_id)
    await hass.config_entries.async_setup(newer.entry_id)
    await hass.async_block_till_done()
    assert newer.state is ConfigEntryState.LOADED
    assert issues.async_get_issue(DOMAIN, f"ocpp_tls_mismatch_{newer.entry_id}") is None
    await hass.config_entries.async_remove(newer.entry_id)
    await hass.config_entries.async_unload(older.entry_id)


async def _open_settings(hass: HomeAssistant, entry: ConfigEntry) -> ConfigFlowResult:
    """Open an OCPP charger's options and choose its settings in the menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "ocpp_menu"
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )


async def _options(
    hass: HomeAssistant, entry: ConfigEntry, meter_interval: int
) -> ConfigFlowResult:
    result = await _open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"meter_interval": meter_interval}
    )
    await hass.async_block_till_done()
    return result


async def test_meter_interval_is_an_option_applied_at_once(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Changed in the options: ChangeConfiguration now, read back, no reload."""
    entry, sim = charger
    result = await _open_settings(hass, entry)
    assert shown_values(result)["meter_interval"] == 10
    assert sim.meter_interval == 10
    # It was read back at connection too (and every key, for diagnostics).
    assert sim.frames_received["GetConfiguration"] == 2
    sim.reset_counters()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"meter_interval": 30}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["meter_interval"] == 30
    assert sim.meter_interval == 30
    assert sim.frames_received["GetConfiguration"] == 1
    # Not reloaded: the charger stayed connected.
    assert (sim.connects, sim.disconnects) == (0, 0)
    await sim.advance(90)
    assert sim.frames_sent["MeterValues"] == 3
    # A firmware that accepts the value but keeps its own: nothing changes.
    sim.quirks.ignored_keys = {"MeterValueSampleInterval"}
    result = await _options(hass, entry, 60)
    assert result["errors"] == {"meter_interval": "meter_interval_not_applied"}
    sim.quirks.ignored_keys = set()
    sim.quirks.rejected_keys = {"MeterValueSampleInterval"}
    result = await _options(hass, entry, 60)
    assert result["errors"] == {"meter_interval": "meter_interval_rejected"}
    assert entry.options["meter_interval"] == 30
    sim.quirks.rejected_keys = set()
    # Without GetConfiguration the interval is set, just not verified.
    sim.quirks.call_error_codes = {"GetConfiguration": "NotImplemented"}
    result = await _options(hass, entry, 60)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sim.meter_interval == 60
    # Every (re)connection sets it again.
    sim.config["MeterValueSampleInterval"] = "10"
    await sim.reconnect()
    await sim.wait_accepted()
    await wait_for(lambda: sim.meter_interval == 60)


async def test_meter_interval_waits_for_the_charger(
    hass: HomeAssistant, port: int
) -> None:
    """Unloaded or not connected: saved, and set when the charger connects."""
    entry = await add_ocpp_entry(hass, port, "MQ200-0013")
    result = await _options(hass, entry, 120)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_unload(entry.entry_id)
    result = await _options(hass, entry, 300)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    async with mq200(port, "MQ200-0013") as sim:
        await sim.wait_accepted()
        await wait_for(lambda: sim.meter_interval == 300)
    for seconds in (4, 901):
        with pytest.raises(InvalidData):
            await _options(hass, entry, seconds)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_meter_interval_of_a_group_member(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """A charger in a group keeps its own meter interval option."""
    entry, sim = charger
    await add_group(hass, [entry])
    # Joining the group reloaded it: the charger comes back.
    await wait_for(
        lambda: state_of(hass, "binary_sensor.mq200_0001_connected").state == "on"
    )
    result = await _open_settings(hass, entry)
    assert result["step_id"] == "grouped"
    sim.quirks.rejected_keys = {"MeterValueSampleInterval"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"meter_interval": 20}
    )
    assert result["step_id"] == "grouped"
    assert result["errors"] == {"meter_interval": "meter_interval_rejected"}
    assert result["description_placeholders"] == {"group": "Garage"}
    sim.quirks.rejected_keys = set()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"meter_interval": 20}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The cards' setting stays as it was.
    assert entry.options == {"meter_interval": 20, "free_charging": True}
    assert sim.meter_interval == 20
