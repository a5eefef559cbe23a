"""Solar surplus charging of a simulated charger, with a fake grid meter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local.const import (
    CONF_BATTERY_FIRST_SOC,
    CONF_BATTERY_POWER,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC,
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_PERSIST_MAX_CURRENT,
    CONF_SOLAR_MODE,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
)
from simulators import Simulator
from simulators.model import Mode

from .conftest import add_charger, state_of
from .test_group import add_group, entity_id, settle

GRID = "sensor.grid_power"


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


def _grid(hass: HomeAssistant, watts: float | str) -> None:
    """The house's grid meter: positive = exporting (set so in the options)."""
    hass.states.async_set(GRID, str(watts), {"unit_of_measurement": "W"})


async def _later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await settle(hass)


async def _solar_charger(hass: HomeAssistant, sim: Simulator) -> ConfigEntry:
    """A charger with solar inputs: the meter says positive = export."""
    entry = await add_charger(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 10,
            CONF_PERSIST_MAX_CURRENT: False,
            CONF_GRID_POWER: GRID,
            CONF_GRID_POWER_SIGN: "positive_export",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert entry.runtime_data.energy is not None
    return entry


async def test_solar_follows_the_surplus_without_flapping(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Start after the delay, ride out a cloud, pause after a long deficit."""
    _grid(hass, -500)  # importing 500 W
    entry = await _solar_charger(hass, goplug_sim)
    serial = entry.unique_id
    mode = entity_id(hass, "select", f"{serial}_solar_mode")
    state = entity_id(hass, "sensor", f"{serial}_solar_state")
    surplus = entity_id(hass, "sensor", f"{serial}_solar_surplus")
    start_delay = entity_id(hass, "number", f"{serial}_start_delay")
    stop_delay = entity_id(hass, "number", f"{serial}_stop_delay")
    assert state_of(hass, mode).state == "off"
    assert state_of(hass, state).state == "off"
    assert state_of(hass, surplus).state == "-500.0"

    goplug_sim.model.plug_in()
    await _later(hass, freezer, 11)
    # Solar mode off: the integration leaves the charger alone.
    assert goplug_sim.model.mode is Mode.ACTIVE

    for number, seconds in ((start_delay, 30), (stop_delay, 120)):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": seconds}, True
        )
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "solar"}, True
    )
    await settle(hass)
    # Kept in the options (survive a restart), without a reload.
    assert entry.options[CONF_SOLAR_MODE] == "solar"
    assert entry.options[CONF_START_DELAY] == 30
    assert entry.options[CONF_STOP_DELAY] == 120
    assert state_of(hass, state).state == "waiting"
    assert goplug_sim.model.mode is Mode.SLEEP

    # The sun comes out: 2 kW exported is 8 A at 230 V, after the start delay.
    _grid(hass, 2000)
    await settle(hass)
    assert state_of(hass, state).state == "starting"
    assert goplug_sim.model.mode is Mode.SLEEP
    await _later(hass, freezer, 31)
    assert state_of(hass, state).state == "following"
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.current_capacity == 8

    # A passing cloud: charging goes on at the minimum, no pause.
    _grid(hass, -1000)
    await settle(hass)
    assert state_of(hass, state).state == "stopping"
    await _later(hass, freezer, 20)
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.current_capacity == 6
    _grid(hass, 2500)
    await _later(hass, freezer, 11)
    assert state_of(hass, state).state == "following"
    # 4 A more than the minimum: one command once left unused long enough
    # (200 A s), not one per reading.
    assert goplug_sim.model.current_capacity == 6
    for _ in range(5):
        await _later(hass, freezer, 11)
    assert goplug_sim.model.current_capacity == 10

    # A long deficit pauses after the stop delay.
    _grid(hass, -1000)
    await _later(hass, freezer, 11)
    assert state_of(hass, state).state == "stopping"
    assert goplug_sim.model.mode is Mode.ACTIVE
    await _later(hass, freezer, 120)
    assert state_of(hass, state).state == "waiting"
    assert goplug_sim.model.mode is Mode.SLEEP

    # Unknown grid power: hold, then stay paused (the safe side).
    _grid(hass, STATE_UNAVAILABLE)
    await _later(hass, freezer, 11)
    assert state_of(hass, surplus).state == "unknown"
    assert goplug_sim.model.mode is Mode.SLEEP

    # Fast: the maximum, whatever the sun does.
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "fast"}, True
    )
    await settle(hass)
    assert state_of(hass, state).state == "fast"
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.current_capacity == 32
    assert goplug_sim.model.eeprom_writes == 0


async def test_group_with_solar_takes_over_a_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A charger with its own solar controller hands over to its group."""
    _grid(hass, 3000)
    charger = await _solar_charger(hass, goplug_sim)
    group = await add_group(hass, [charger])
    await settle(hass)
    # Reloaded without a controller of its own: one controller per charger.
    assert charger.runtime_data.energy is None
    solar_mode = entity_id(hass, "select", f"{charger.unique_id}_solar_mode")
    assert state_of(hass, solar_mode).state == STATE_UNAVAILABLE

    result = await hass.config_entries.options.async_init(group.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **group.options,
            CONF_GRID_POWER: GRID,
            CONF_GRID_POWER_SIGN: "positive_export",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    group_id = group.unique_id
    mode = entity_id(hass, "select", f"{group_id}_solar_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "min_solar"}, True
    )
    goplug_sim.model.plug_in()
    await _later(hass, freezer, 11)
    # 3 kW over 230 V: 13 A, within the 40 A circuit.
    state = entity_id(hass, "sensor", f"{group_id}_solar_state")
    assert state_of(hass, state).state == "following"
    assert goplug_sim.model.current_capacity == 13
    reason = entity_id(
        hass, "sensor", f"{group_id}_{charger.unique_id}_allocation_reason"
    )
    assert state_of(hass, reason).state == "solar_limited"

    # The group is removed: the charger gets its own controller back.
    assert await hass.config_entries.async_remove(group.entry_id)
    await settle(hass)
    assert charger.runtime_data.energy is not None
    # The group wrote its fallback current once; solar control never writes.
    assert goplug_sim.model.eeprom_writes == 1
    assert state_of(hass, solar_mode).state == "off"


async def test_restart_remembers_who_paused(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """After a reload the controller still resumes the charger it paused.

    Without that memory a paused charger would look paused by the user, and
    would stay paused when the sun comes back.
    """
    _grid(hass, -500)
    entry = await _solar_charger(hass, goplug_sim)
    goplug_sim.model.plug_in()
    mode = entity_id(hass, "select", f"{entry.unique_id}_solar_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "solar"}, True
    )
    await _later(hass, freezer, 11)
    assert goplug_sim.model.mode is Mode.SLEEP

    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    assert state_of(hass, mode).state == "solar"
    _grid(hass, 2000)
    await _later(hass, freezer, 61)
    await _later(hass, freezer, 11)
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.current_capacity == 8
    assert goplug_sim.model.eeprom_writes == 0


async def test_battery_signs_and_battery_first(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """Sign conventions are normalised; a low home battery is served first."""
    _grid(hass, 1000)  # exporting 1 kW
    battery_power = "sensor.battery_power"
    battery_soc = "sensor.battery_soc"
    hass.states.async_set(battery_power, "0.5", {"unit_of_measurement": "kW"})
    hass.states.async_set(battery_soc, "40", {"unit_of_measurement": "%"})
    entry = await add_charger(hass, goplug_sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 10,
            CONF_PERSIST_MAX_CURRENT: False,
            CONF_GRID_POWER: GRID,
            CONF_GRID_POWER_SIGN: "positive_export",
            CONF_BATTERY_POWER: battery_power,
            CONF_BATTERY_POWER_SIGN: "positive_discharge",
            CONF_BATTERY_SOC: battery_soc,
            CONF_BATTERY_FIRST_SOC: 50,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    surplus = entity_id(hass, "sensor", f"{entry.unique_id}_solar_surplus")
    threshold = entity_id(hass, "number", f"{entry.unique_id}_battery_first_soc")
    assert state_of(hass, threshold).state == "50.0"
    # Discharging 500 W: that is not surplus, it is the battery's.
    assert state_of(hass, surplus).state == "500.0"
    # Charging 800 W below the threshold: the battery comes first.
    hass.states.async_set(battery_power, "-800", {"unit_of_measurement": "W"})
    await settle(hass)
    assert state_of(hass, surplus).state == "1000.0"
    # Above the threshold, what the battery soaks up goes to the car.
    await hass.services.async_call(
        "number", "set_value", {"entity_id": threshold, "value": 30}, blocking=True
    )
    await settle(hass)
    assert state_of(hass, surplus).state == "1800.0"


async def test_controller_memory_is_saved_at_most_once_a_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
    hass_storage: dict[str, Any],
) -> None:
    """Following the sun changes the memory every step; the disk sees a minute."""
    _grid(hass, -500)
    entry = await _solar_charger(hass, goplug_sim)
    key = f"evse_local.energy.{entry.entry_id}"
    # The reload that added the solar inputs saved the memory of mode Off.
    before = hass_storage.get(key)
    goplug_sim.model.plug_in()
    mode = entity_id(hass, "select", f"{entry.unique_id}_solar_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "solar"}, True
    )
    await _later(hass, freezer, 11)
    assert goplug_sim.model.mode is Mode.SLEEP
    # Paused by the controller: memory changed, the write waits.
    assert hass_storage.get(key) == before
    assert (
        before is None
        or before["data"] != entry.runtime_data.energy.controller.export_state()
    )
    await _later(hass, freezer, 61)
    assert (
        hass_storage[key]["data"] == entry.runtime_data.energy.controller.export_state()
    )
