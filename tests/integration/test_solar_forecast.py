"""Planned charging with a solar forecast sensor set by the test.

A simulated GoPlug (one phase, 6 to 32 A) with solar inputs, a flat price of
0.30/kWh all day and a Solcast-shaped forecast: the plan buys only what the
sun will not give by the ready time, and says how much it counts on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local.const import (
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_HOUSE_POWER,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PRICE_SENSOR,
    CONF_SOLAR_FORECAST,
    DOMAIN,
)
from simulators import Simulator, start_simulator

from .conftest import add_charger, set_plan, state_of
from .test_group import add_group, entity_id, settle
from .test_plan import _later, _plan_state, _select_planned

PRICES = "sensor.prices"
GRID = "sensor.grid_power"
TODAY = "sensor.solcast_pv_forecast_forecast_today"
TOMORROW = "sensor.solcast_pv_forecast_forecast_tomorrow"
MORNING = datetime(2026, 6, 15, 7, 55, tzinfo=UTC)
MIDNIGHT = datetime(2026, 6, 15, tzinfo=UTC)
HALF = timedelta(minutes=30)


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


@pytest.fixture
async def pair(socket_enabled: None) -> AsyncIterator[tuple[Simulator, Simulator]]:
    """Two GoPlug Pro 32 with their own serials."""
    async with (
        start_simulator("goplug", identity_seed=1) as first,
        start_simulator("goplug", identity_seed=2) as second,
    ):
        yield first, second


def _prices(hass: HomeAssistant) -> None:
    """0.30/kWh every hour of today and tomorrow (Nord Pool's shape)."""
    entries = [
        {
            "start": (MIDNIGHT + timedelta(hours=hour)).isoformat(),
            "end": (MIDNIGHT + timedelta(hours=hour + 1)).isoformat(),
            "value": 0.30,
        }
        for hour in range(48)
    ]
    hass.states.async_set(
        PRICES,
        "0.30",
        {
            "unit_of_measurement": "EUR/kWh",
            "raw_today": entries[:24],
            "raw_tomorrow": entries[24:],
            "tomorrow_valid": True,
        },
    )


def _solcast(day: datetime, sunny: float) -> dict[str, Any]:
    """Solcast's forecast-day attributes: 1 kW all day, ``sunny`` kW 10-14 h.

    The cautious pv_estimate10 is what counts; the median is higher.
    """
    forecast: list[dict[str, Any]] = []
    for index in range(16, 40):  # 08:00 to 20:00
        start = day + index * HALF
        kw = sunny if 10 <= start.hour < 14 else 1.0
        forecast.append(
            {
                "period_start": start,
                "pv_estimate": kw + 1,
                "pv_estimate10": kw,
                "pv_estimate90": kw + 2,
            }
        )
    return {
        "estimate": sum(entry["pv_estimate"] for entry in forecast) / 2,
        "dataCorrect": True,
        "detailedForecast": forecast,
        "unit_of_measurement": "kWh",
    }


async def _charger(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    **options: Any,
) -> ConfigEntry:
    """A planned charger with prices, solar inputs and the forecast sensors."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(MORNING)
    _prices(hass)
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W"})
    entry = await add_charger(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 10,
            CONF_PERSIST_MAX_CURRENT: False,
            CONF_PRICE_SENSOR: PRICES,
            CONF_SOLAR_FORECAST: [TODAY, TOMORROW],
        }
        | options,
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await settle(hass)
    await _select_planned(hass, entry)
    sim.model.plug_in()
    await _later(hass, freezer, sim)
    return entry


async def _set_plan(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """20 kWh by 18:00; the response is the plan as it stands."""
    return await set_plan(
        hass, {"config_entry_id": entry.entry_id, "energy": 20, "ready_by": "18:00"}
    )


def _grid_kwh(response: dict[str, Any]) -> float:
    return float(response["expected_energy"] - response["expected_solar_energy"])


async def test_a_sunny_forecast_lowers_the_grid_energy_and_cost(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Sun from 10:00 to 14:00: 14 kWh of 20 are expected from it."""
    entry = await _charger(
        hass,
        freezer,
        goplug_sim,
        **{CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"},
    )
    # No forecast sensor yet: everything is bought.
    cloudy = await _set_plan(hass, entry)
    assert cloudy["solar_problem"] == "solar_forecast_missing"
    assert cloudy["expected_solar_energy"] == 0
    assert cloudy["expected_cost"] == pytest.approx(6.0)
    assert _grid_kwh(cloudy) == pytest.approx(20)

    # 4 kW (cautious) from the panels, 500 W for the house: 3.5 kW for the
    # car for four hours. Tomorrow lies beyond the ready time.
    hass.states.async_set(TODAY, "30.0", _solcast(MIDNIGHT, 4.0))
    hass.states.async_set(TOMORROW, "40.0", _solcast(MIDNIGHT + timedelta(days=1), 6.0))
    sunny = await _set_plan(hass, entry)
    assert sunny["solar_problem"] == "none"
    assert sunny["expected_solar_energy"] == pytest.approx(14.0)
    assert _grid_kwh(sunny) == pytest.approx(6.0)
    assert sunny["expected_cost"] == pytest.approx(1.8)
    assert sunny["expected_energy"] == pytest.approx(20)
    # No grid slot while the sun alone is expected to charge.
    assert all(
        not ("10:00" <= slot["start"][11:16] < "14:00") for slot in sunny["slots"]
    )
    planned = entity_id(hass, "sensor", f"{entry.unique_id}_plan_energy")
    await _later(hass, freezer, goplug_sim)
    attributes = state_of(hass, planned).attributes
    assert attributes["solar_energy"] == pytest.approx(14.0)
    assert attributes["solar_problem"] == "none"

    # Unavailable: its last forecast still holds.
    hass.states.async_set(TODAY, "unavailable")
    await _later(hass, freezer, goplug_sim)
    kept = _plan_state(hass, entry)
    assert state_of(hass, planned).attributes == {
        **attributes,
        "solar_problem": "solar_forecast_unavailable",
    }
    assert kept.state == "charging"  # flat prices: the earliest slots first

    # Garbage: no sun from it, the plan buys it all again; never a crash.
    hass.states.async_set(TODAY, "12", {"detailedForecast": "sunny"})
    broken = await _set_plan(hass, entry)
    assert broken["solar_problem"] == "solar_no_forecast"
    assert broken["expected_solar_energy"] == 0
    assert broken["expected_cost"] == pytest.approx(6.0)
    assert broken["state"] == "charging"

    # Gone: the same.
    hass.states.async_remove(TODAY)
    gone = await _set_plan(hass, entry)
    assert gone["solar_problem"] == "solar_forecast_missing"
    assert gone["expected_solar_energy"] == 0


async def test_the_calendar_shows_the_sun_in_a_block(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Cheapest at noon: the grid tops up the sunny hours, one block says so."""
    entry = await _charger(
        hass,
        freezer,
        goplug_sim,
        **{CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"},
    )
    hass.states.async_set(TODAY, "30.0", _solcast(MIDNIGHT, 4.0))
    prices = dict(hass.states.get(PRICES).attributes)  # type: ignore[union-attr]
    prices["raw_today"] = [
        entry_ | {"value": 0.10 if "T10" <= entry_["start"][10:13] < "T14" else 0.30}
        for entry_ in prices["raw_today"]
    ]
    hass.states.async_set(PRICES, "0.30", prices)
    response = await _set_plan(hass, entry)
    # 14 kWh from the sun, 6 bought at 0.10 beside it: the 3.86 kW the
    # charger has left next to the sun's 3.5 kW, from 10:00 on. The sun alone
    # fills 12:00 to 14:00: no grid slot, no event (the solar controller runs).
    assert response["expected_solar_energy"] == pytest.approx(14.0)
    assert response["expected_cost"] == pytest.approx(0.6)
    calendar = entity_id(hass, "calendar", f"{entry.unique_id}_charging_plan")
    answer: Any = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": calendar,
            "start_date_time": MORNING.isoformat(),
            "end_date_time": (MORNING + timedelta(days=1)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    (event,) = answer[calendar]["events"]
    assert (event["start"], event["end"]) == (
        "2026-06-15T10:00:00+00:00",
        "2026-06-15T12:00:00+00:00",
    )
    assert event["summary"] == "Charging 13.0 kWh"
    assert "Expected from the sun 7.0 kWh" in event["description"].splitlines()
    await hass.services.async_call(
        DOMAIN, "clear_plan", {"config_entry_id": entry.entry_id}, blocking=True
    )
    await _later(hass, freezer, goplug_sim)


async def test_the_house_consumption_option_counts(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A house using 1.5 kW leaves the car 2.5 of the 4 kW: 10 kWh."""
    hass.states.async_set(TODAY, "30.0", _solcast(MIDNIGHT, 4.0))
    entry = await _charger(
        hass,
        freezer,
        goplug_sim,
        **{
            CONF_GRID_POWER: GRID,
            CONF_GRID_POWER_SIGN: "positive_export",
            CONF_HOUSE_POWER: 1500,
        },
    )
    response = await _set_plan(hass, entry)
    assert response["expected_solar_energy"] == pytest.approx(10.0)
    assert response["expected_cost"] == pytest.approx(3.0)


async def test_without_solar_inputs_the_sun_is_not_counted_on(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """No grid power sensor: nothing follows the sun, so the plan buys it all."""
    hass.states.async_set(TODAY, "30.0", _solcast(MIDNIGHT, 4.0))
    entry = await _charger(hass, freezer, goplug_sim)
    response = await _set_plan(hass, entry)
    assert response["solar_problem"] == "no_solar_inputs"
    assert response["expected_solar_energy"] == 0
    assert response["expected_cost"] == pytest.approx(6.0)


async def test_solar_forecast_option(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A sensor without a forecast is refused; errors end in a saved form."""
    entry = await add_charger(hass, goplug_sim)
    # Solcast's "forecast remaining today": a number, no detailed forecast.
    hass.states.async_set("sensor.solcast_remaining", "12.3", {"estimate10": 9.1})
    hass.states.async_set(TODAY, "unavailable")
    hass.states.async_set(
        "sensor.energy_production_today",
        "31200",
        {"watts": {"2026-06-15T12:00:00+02:00": 4100}, "wh_period": {}},
    )
    base = {CONF_SCAN_INTERVAL: 10, CONF_PERSIST_MAX_CURRENT: False}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, CONF_SOLAR_FORECAST: [TODAY, "sensor.solcast_remaining"]},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SOLAR_FORECAST: "solar_forecast_invalid"}
    # Unavailable now, not there yet, or a forecast: accepted.
    sensors = [TODAY, "sensor.later", "sensor.energy_production_today"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, CONF_SOLAR_FORECAST: sensors, CONF_HOUSE_POWER: 800.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert entry.options[CONF_SOLAR_FORECAST] == sensors
    assert entry.options[CONF_HOUSE_POWER] == 800


async def test_group_members_share_the_sun(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    pair: tuple[Simulator, Simulator],
) -> None:
    """Two members counting on the same 3.5 kW surplus expect half each.

    The solar inputs are the group's; each member names the forecast in its
    own (grouped) options form.
    """
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(MORNING)
    _prices(hass)
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(TODAY, "30.0", _solcast(MIDNIGHT, 4.0))
    chargers = [await add_charger(hass, sim) for sim in pair]
    group = await add_group(hass, chargers)
    inputs = {CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"}
    hass.config_entries.async_update_entry(group, options=group.options | inputs)
    assert await hass.config_entries.async_reload(group.entry_id)
    await settle(hass)
    for entry in chargers:
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["step_id"] == "grouped"
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                CONF_SCAN_INTERVAL: 10,
                CONF_PERSIST_MAX_CURRENT: False,
                CONF_PRICE_SENSOR: PRICES,
                CONF_SOLAR_FORECAST: [TODAY],
            },
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    mode = entity_id(hass, "select", f"{group.data['group_id']}_solar_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "planned"}, True
    )
    for sim in pair:
        sim.model.plug_in()
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await settle(hass)
    for entry in chargers:
        response = await _set_plan(hass, entry)
        assert response["solar_problem"] == "none"
        assert response["expected_solar_energy"] == pytest.approx(7.0)
        assert response["expected_cost"] == pytest.approx(13 * 0.30)
    # No plan left for the charging plan calendar to draw while the test's
    # frozen clock is torn down (its events would mix frozen and real times).
    for entry in chargers:
        await hass.services.async_call(
            DOMAIN, "clear_plan", {"config_entry_id": entry.entry_id}, blocking=True
        )
    await _later(hass, freezer, *pair)
