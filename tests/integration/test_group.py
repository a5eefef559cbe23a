"""A charging group of two simulated chargers on one 40 A circuit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryDisabler,
    ConfigEntryState,
)
from homeassistant.const import CONF_NAME, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local import async_remove_config_entry_device
from custom_components.evse_local.const import (
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_METER,
    CONF_FALLBACK_CURRENT,
    CONF_GROUP_ID,
    CONF_MEMBERS,
    CONF_PHASES,
    CONF_POLICY,
    CONF_VOLTAGE,
    DOMAIN,
)
from custom_components.evse_local.diagnostics import (
    async_get_config_entry_diagnostics,
)
from simulators import Simulator, start_simulator

from .conftest import add_charger, state_of, wait_for

METER = "sensor.circuit_current"
# Longer than the control interval and the poll interval (10 s each).
STEP = timedelta(seconds=11)


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


@pytest.fixture
async def sims(socket_enabled: None) -> AsyncIterator[tuple[Simulator, Simulator]]:
    """Two GoPlug Pro 32 (32 A each) with their own serials."""
    async with (
        start_simulator("goplug", identity_seed=1) as first,
        start_simulator("goplug", identity_seed=2) as second,
    ):
        yield first, second


async def add_group(
    hass: HomeAssistant, members: list[ConfigEntry], **options: Any
) -> ConfigEntry:
    """Add a charging group through the config flow, as a user would."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "group"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Garage",
            CONF_MEMBERS: [member.entry_id for member in members],
            CONF_CIRCUIT_LIMIT: 40,
            CONF_POLICY: "uniform",
            CONF_FALLBACK_CURRENT: 6,
            CONF_VOLTAGE: 230,
            CONF_PHASES: "1",
            **options,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert isinstance(entry, ConfigEntry)
    return entry


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id of one of our entities, by its unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def allocation(
    hass: HomeAssistant, group: ConfigEntry, charger: ConfigEntry
) -> tuple[str, str]:
    """What the group's sensors say a member gets: (amps, reason)."""
    prefix = f"{group.data[CONF_GROUP_ID]}_{charger.unique_id}"
    amps = state_of(hass, entity_id(hass, "sensor", f"{prefix}_allocation")).state
    reason = state_of(
        hass, entity_id(hass, "sensor", f"{prefix}_allocation_reason")
    ).state
    return amps, reason


def available(hass: HomeAssistant, group: ConfigEntry) -> str:
    """The group's available current sensor."""
    unique_id = f"{group.data[CONF_GROUP_ID]}_available_current"
    return state_of(hass, entity_id(hass, "sensor", unique_id)).state


async def settle(hass: HomeAssistant) -> None:
    """Let polls, control steps and their commands finish."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """One poll and one control interval later."""
    freezer.tick(STEP)
    async_fire_time_changed(hass)
    await settle(hass)


async def _setup(
    hass: HomeAssistant, sims: tuple[Simulator, Simulator], **options: Any
) -> tuple[ConfigEntry, ConfigEntry, ConfigEntry]:
    first = await add_charger(hass, sims[0])
    second = await add_charger(hass, sims[1])
    group = await add_group(hass, [first, second], **options)
    await settle(hass)
    return group, first, second


async def test_plug_unplug_offline(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> None:
    """Uniform sharing, more for the one left, current reserved when offline."""
    sim_a, sim_b = sims
    group, first, second = await _setup(hass, sims)
    assert allocation(hass, group, first) == ("0", "idle")
    assert available(hass, group) == "40.0"

    sim_a.model.plug_in()
    sim_b.model.plug_in()
    await tick(hass, freezer)
    # 40 A over 2 x 32 A: each gets the same fraction (62.5 %) of 32 A.
    assert allocation(hass, group, first) == ("20", "shared")
    assert allocation(hass, group, second) == ("20", "shared")
    assert sim_a.model.current_capacity == sim_b.model.current_capacity == 20

    sim_b.model.unplug()
    await tick(hass, freezer)
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("32", "maximum")
    assert allocation(hass, group, second) == ("0", "idle")
    assert sim_a.model.current_capacity == 32

    # The first charger drops off the network while charging at 32 A: it may
    # still draw them, so they stay reserved; the second gets what is left.
    await sim_a.stop()
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("32", "offline")
    sim_b.model.plug_in()
    await tick(hass, freezer)
    await tick(hass, freezer)
    assert allocation(hass, group, second) == ("8", "shared")
    assert sim_b.model.current_capacity == 8

    # Back: the circuit is shared again.
    await sim_a.start()
    await tick(hass, freezer)
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("20", "shared")
    assert allocation(hass, group, second) == ("20", "shared")
    assert sim_a.model.current_capacity == sim_b.model.current_capacity == 20

    # Every current change was volatile; the one EEPROM write each is the
    # group's fallback current, written once when the group was made.
    assert sim_a.model.eeprom_writes == sim_b.model.eeprom_writes == 1
    assert sim_a.model.eeprom_current == sim_b.model.eeprom_current == 6


async def test_meter_follows_and_falls_back_to_the_static_limit(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> None:
    """Other loads on the circuit shrink what the chargers get, at once."""
    sim_a, _ = sims
    hass.states.async_set(METER, "0", {"unit_of_measurement": "A"})
    group, first, _ = await _setup(hass, sims, **{CONF_CIRCUIT_METER: METER})
    sim_a.model.plug_in()
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("32", "maximum")

    # An oven: 28 A more on the circuit. The decrease goes out at once; the
    # idle second charger keeps its 6 A fallback (a car may plug in).
    hass.states.async_set(METER, "28", {"unit_of_measurement": "A"})
    await settle(hass)
    assert available(hass, group) == "12.0"
    assert allocation(hass, group, first) == ("6", "shared")
    assert sim_a.model.current_capacity == 6

    # A power meter works too: 4.6 kW at 230 V is 20 A.
    hass.states.async_set(METER, "4.6", {"unit_of_measurement": "kW"})
    await settle(hass)
    assert available(hass, group) == "20.0"
    assert sim_a.model.current_capacity == 6  # an increase waits its turn

    # The meter goes away (or says nonsense): back to the static circuit
    # limit, never above.
    for state, unit in ((STATE_UNAVAILABLE, "A"), ("oops", "A"), ("3", "V")):
        hass.states.async_set(METER, state, {"unit_of_measurement": unit})
        await settle(hass)
        assert available(hass, group) == "40.0"
    await tick(hass, freezer)
    assert sim_a.model.current_capacity == 32
    assert sim_a.model.eeprom_writes == 1  # the fallback, once

    # The charger vanishes just before a decrease: the failure is logged,
    # the charger counts as offline, and the group goes on.
    await sim_a.stop()
    hass.states.async_set(METER, "28", {"unit_of_measurement": "A"})
    await settle(hass)
    assert "could not apply" in caplog.text
    # It never confirmed the decrease and may still draw 32 A: 32 A stay
    # reserved, not the 12 A it was told.
    assert allocation(hass, group, first) == ("32", "offline")


async def test_user_pause_is_respected(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> None:
    """A charger the user paused stays paused; the other gets its maximum."""
    sim_a, sim_b = sims
    group, first, second = await _setup(hass, sims)
    sim_a.model.plug_in()
    sim_b.model.plug_in()
    await tick(hass, freezer)
    switch = entity_id(hass, "switch", f"{first.unique_id}_charging_enabled")
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    await settle(hass)
    for _ in range(3):
        await tick(hass, freezer)
    assert allocation(hass, group, first) == ("0", "paused_by_user")
    assert allocation(hass, group, second) == ("32", "maximum")
    assert state_of(hass, switch).state == "off"
    assert sim_b.model.current_capacity == 32
    assert sim_a.model.eeprom_writes == sim_b.model.eeprom_writes == 1


async def test_member_unloaded_and_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> None:
    """Unloading a member does not break the group: it counts as offline."""
    sim_a, _ = sims
    group, first, second = await _setup(hass, sims)
    sim_a.model.plug_in()
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("32", "maximum")

    assert await hass.config_entries.async_unload(first.entry_id)
    await settle(hass)
    assert group.state is ConfigEntryState.LOADED
    assert allocation(hass, group, first) == ("32", "offline")

    assert await hass.config_entries.async_setup(first.entry_id)
    await settle(hass)
    await tick(hass, freezer)
    assert allocation(hass, group, first) == ("32", "maximum")

    # A member whose entry is deleted is offline for good; the group goes on.
    assert await hass.config_entries.async_remove(second.entry_id)
    assert await hass.config_entries.async_reload(group.entry_id)
    await settle(hass)
    assert group.state is ConfigEntryState.LOADED
    assert allocation(hass, group, first) == ("32", "maximum")

    # The deleted member's sensors are forgotten.
    assert not er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{group.data[CONF_GROUP_ID]}_{second.unique_id}_allocation"
    )

    # Removing the group leaves the chargers alone.
    assert await hass.config_entries.async_remove(group.entry_id)
    await settle(hass)
    assert first.state is ConfigEntryState.LOADED


async def test_group_is_no_charger_for_actions_and_has_diagnostics(
    hass: HomeAssistant, sims: tuple[Simulator, Simulator]
) -> None:
    """Charger actions refuse a group; its diagnostics show the last step."""
    group, first, _ = await _setup(hass, sims)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_max_current",
            {"config_entry_id": group.entry_id, "current": 10},
            blocking=True,
        )
    assert err.value.translation_key == "group_not_a_charger"

    # The group is a device of its own, which stays while the group exists.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, group.data[CONF_GROUP_ID]), group.entry_id
    )
    assert device is not None
    assert device.name == "Garage"
    assert not await async_remove_config_entry_device(hass, group, device)

    diagnostics = await async_get_config_entry_diagnostics(hass, group)
    assert diagnostics["entry"]["options"][CONF_CIRCUIT_LIMIT] == 40
    assert diagnostics["last_step"]["available_a"] == 40
    assert diagnostics["last_step"]["allocations"][first.entry_id] == {
        "amps": 0,
        "reason": "idle",
    }


async def test_openevse_with_claims_and_a_goplug(
    hass: HomeAssistant, current_sim: Simulator, goplug_sim: Simulator
) -> None:
    """Current OpenEVSE firmware is driven through its claim, in the same group.

    It pushes over a websocket (a task that never ends), so this test runs
    in real time and waits for the simulators, not for background tasks.
    """
    openevse = await add_charger(hass, current_sim)
    goplug = await add_charger(hass, goplug_sim)
    group = await add_group(hass, [openevse, goplug])
    current_sim.model.plug_in()
    current_sim.notify()
    goplug_sim.model.plug_in()
    await goplug.runtime_data.coordinator.async_refresh()
    # 40 A over 48 A + 32 A: half of each station's maximum.
    await wait_for(
        lambda: (
            current_sim.model.current_capacity == 24
            and goplug_sim.model.current_capacity == 16
        )
    )
    await wait_for(lambda: allocation(hass, group, openevse) == ("24", "shared"))
    # The OpenEVSE's saved current caps its claims: it follows its share
    # (6 A idle, 24 A with a car); the GoPlug's was written once.
    assert current_sim.model.eeprom_current == 24
    assert current_sim.model.eeprom_writes == 2
    assert goplug_sim.model.eeprom_writes == 1


async def test_circuit_limit_number(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> None:
    """Lowering the circuit limit (an automation, a tariff) applies at once."""
    sim_a, sim_b = sims
    group, first, _ = await _setup(hass, sims)
    sim_a.model.plug_in()
    sim_b.model.plug_in()
    await tick(hass, freezer)
    number = entity_id(hass, "number", f"{group.data[CONF_GROUP_ID]}_circuit_limit")
    assert state_of(hass, number).state == "40"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 24}, blocking=True
    )
    await settle(hass)
    assert group.options[CONF_CIRCUIT_LIMIT] == 24
    assert available(hass, group) == "24.0"
    # Below what the two chargers fall back to together (2 x 6 A): refused.
    assert state_of(hass, number).attributes["min"] == 12
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": 10}, blocking=True
        )
    assert allocation(hass, group, first) == ("12", "shared")
    assert sim_a.model.current_capacity == sim_b.model.current_capacity == 12


async def test_chargers_hand_their_control_to_a_group_and_get_it_back(
    hass: HomeAssistant, sims: tuple[Simulator, Simulator]
) -> None:
    """Chargers in mode Off too: a member never keeps a manager of its own."""
    first = await add_charger(hass, sims[0])
    second = await add_charger(hass, sims[1])
    modes = [
        entity_id(hass, "select", f"{entry.unique_id}_solar_mode")
        for entry in (first, second)
    ]
    for entry, mode in zip((first, second), modes, strict=True):
        assert entry.runtime_data.energy is not None
        assert state_of(hass, mode).state == "off"

    group = await add_group(hass, [first, second])
    await settle(hass)
    for entry, mode in zip((first, second), modes, strict=True):
        assert entry.runtime_data.energy is None
        assert state_of(hass, mode).state == STATE_UNAVAILABLE

    # The second leaves the group: its charging mode is its own again.
    result = await hass.config_entries.options.async_init(group.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**group.options, CONF_MEMBERS: [first.entry_id]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert first.runtime_data.energy is None
    assert second.runtime_data.energy is not None
    assert state_of(hass, modes[1]).state == "off"

    # Disabled, the group controls nothing; enabled, it takes over again.
    assert await hass.config_entries.async_set_disabled_by(
        group.entry_id, ConfigEntryDisabler.USER
    )
    await settle(hass)
    assert first.runtime_data.energy is not None
    assert state_of(hass, modes[0]).state == "off"
    assert await hass.config_entries.async_set_disabled_by(group.entry_id, None)
    await settle(hass)
    assert group.state is ConfigEntryState.LOADED
    assert first.runtime_data.energy is None

    # The group goes: so does its hold on the first.
    assert await hass.config_entries.async_remove(group.entry_id)
    await settle(hass)
    assert first.runtime_data.energy is not None
    assert state_of(hass, modes[0]).state == "off"
