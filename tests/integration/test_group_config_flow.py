"""Config and options flows of charging groups and of a charger's solar inputs."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_local.const import (
    CONF_BATTERY_FIRST_SOC,
    CONF_BATTERY_POWER,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC,
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_METER,
    CONF_CONTROL_INTERVAL,
    CONF_FALLBACK_CURRENT,
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_GROUP_ID,
    CONF_KIND,
    CONF_MEMBERS,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PHASES,
    CONF_POLICY,
    CONF_SOLAR_MODE,
    CONF_VOLTAGE,
    DOMAIN,
    KIND_GROUP,
)
from simulators import Simulator

from .conftest import add_charger

GRID = "sensor.grid_power"
METER = "sensor.circuit_current"


def _chargers(hass: HomeAssistant, count: int = 2) -> list[MockConfigEntry]:
    """Charger entries that are not loaded: groups list them all the same."""
    entries = []
    for index in range(count):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Charger {index + 1}",
            # Nothing listens there: loopback refuses at once.
            data={CONF_HOST: f"127.0.0.1:{index + 1}"},
            unique_id=f"serial{index + 1}",
            # Never set up: a group lists chargers whatever their state.
            state=ConfigEntryState.SETUP_ERROR,
        )
        entry.add_to_hass(hass)
        entries.append(entry)
    return entries


def _group_input(members: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        CONF_NAME: "Garage",
        CONF_MEMBERS: members,
        CONF_CIRCUIT_LIMIT: 40,
        CONF_POLICY: "uniform",
        CONF_FALLBACK_CURRENT: 6,
        CONF_VOLTAGE: 230,
        CONF_PHASES: "1",
        **overrides,
    }


async def _open_group_flow(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "group"}
    )


async def test_group_needs_chargers(hass: HomeAssistant) -> None:
    """Without chargers there is nothing to group."""
    result = await _open_group_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_chargers"


async def test_group_flow_errors_then_creates(hass: HomeAssistant) -> None:
    """Every form error, then a group with a uuid and its settings in options."""
    first, second = _chargers(hass)
    hass.states.async_set(METER, "12", {"unit_of_measurement": "V"})
    result = await _open_group_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "group"
    flow_id = result["flow_id"]
    members = [first.entry_id, second.entry_id]

    for user_input, error in (
        (_group_input([]), "no_members"),
        (
            # Two chargers falling back to 16 A each: 32 A on a 30 A circuit.
            _group_input(
                members, **{CONF_FALLBACK_CURRENT: 16, CONF_CIRCUIT_LIMIT: 30}
            ),
            "fallbacks_above_limit",
        ),
        (_group_input(members, **{CONF_CIRCUIT_METER: METER}), "unsupported_unit"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, user_input)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}

    hass.states.async_set(METER, "12", {"unit_of_measurement": "A"})
    result = await hass.config_entries.flow.async_configure(
        flow_id, _group_input(members, **{CONF_CIRCUIT_METER: METER})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.title == "Garage"
    assert entry.data[CONF_KIND] == KIND_GROUP
    assert entry.unique_id == entry.data[CONF_GROUP_ID]
    assert entry.options == {
        CONF_MEMBERS: members,
        CONF_CIRCUIT_LIMIT: 40,
        CONF_POLICY: "uniform",
        CONF_FALLBACK_CURRENT: 6,
        CONF_CIRCUIT_METER: METER,
        CONF_VOLTAGE: 230,
        CONF_PHASES: "1",
    }

    # A charger is in one group only: never two controllers on one charger.
    result = await _open_group_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _group_input([second.entry_id], **{CONF_NAME: "Other"})
    )
    assert result["errors"] == {"base": "member_in_group"}


async def _add_group(hass: HomeAssistant, members: list[str]) -> ConfigEntry:
    result = await _open_group_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _group_input(members)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert isinstance(entry, ConfigEntry)
    return entry


async def test_group_options_add_solar(hass: HomeAssistant) -> None:
    """The options add solar inputs; run-time settings are kept; errors recover."""
    first, second = _chargers(hass)
    entry = await _add_group(hass, [first.entry_id])
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_SOLAR_MODE: "solar"}
    )
    hass.states.async_set(GRID, "-500", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.battery", "40", {"unit_of_measurement": "%"})

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "group"
    settings = {
        CONF_MEMBERS: [first.entry_id, second.entry_id],
        CONF_CIRCUIT_LIMIT: 32,
        CONF_POLICY: "first_in_first_serve",
        CONF_FALLBACK_CURRENT: 6,
        CONF_VOLTAGE: 230,
        CONF_PHASES: "3",
        CONF_CONTROL_INTERVAL: 15,
        CONF_GRID_POWER: GRID,
        CONF_GRID_POWER_SIGN: "positive_export",
        CONF_BATTERY_SOC: "sensor.battery",
        CONF_BATTERY_FIRST_SOC: 50.0,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["errors"] == {"base": "unsupported_unit"}

    hass.states.async_set(GRID, "-500", {"unit_of_measurement": "kW"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        **settings,
        CONF_BATTERY_FIRST_SOC: 50,
        CONF_SOLAR_MODE: "solar",
    }


async def test_group_options_member_of_other_group(hass: HomeAssistant) -> None:
    """The options flow refuses a charger another group controls."""
    first, second = _chargers(hass)
    await _add_group(hass, [first.entry_id])
    entry = await _add_group(hass, [second.entry_id])
    result = await hass.config_entries.options.async_init(entry.entry_id)
    settings = _group_input([first.entry_id]) | {CONF_CONTROL_INTERVAL: 10}
    del settings[CONF_NAME]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["errors"] == {"base": "member_in_group"}
    settings[CONF_MEMBERS] = [second.entry_id]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_charger_solar_options(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A charger in no group takes solar inputs; a wrong unit is refused."""
    entry = await add_charger(hass, goplug_sim)
    hass.states.async_set(GRID, "100", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.battery_power", "0")  # no unit: accepted
    hass.states.async_set("sensor.battery", "40", {"unit_of_measurement": "Wh"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    settings = {
        CONF_SCAN_INTERVAL: 10,
        CONF_PERSIST_MAX_CURRENT: False,
        CONF_GRID_POWER: GRID,
        CONF_BATTERY_POWER: "sensor.battery_power",
        CONF_BATTERY_POWER_SIGN: "positive_discharge",
        CONF_BATTERY_SOC: "sensor.battery",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["errors"] == {"base": "unsupported_unit"}
    del settings[CONF_BATTERY_SOC]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == settings
    assert entry.runtime_data.energy is not None


async def test_group_member_options_say_who_controls(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A member's options name its group and keep its solar inputs aside."""
    charger = await add_charger(hass, goplug_sim)
    hass.config_entries.async_update_entry(
        charger, options={CONF_GRID_POWER: GRID, CONF_SCAN_INTERVAL: 10}
    )
    await _add_group(hass, [charger.entry_id])
    result = await hass.config_entries.options.async_init(charger.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "grouped"
    assert result["description_placeholders"] == {"group": "Garage"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 20, CONF_PERSIST_MAX_CURRENT: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert charger.options == {
        CONF_GRID_POWER: GRID,
        CONF_SCAN_INTERVAL: 20,
        CONF_PERSIST_MAX_CURRENT: False,
    }
    # The group controls it: no controller of its own.
    assert charger.runtime_data.energy is None
