"""Planned charging on simulated chargers, with a price sensor set by the test.

The clock is frozen and moved by hand: each step advances Home Assistant's
clock and the simulators' own clock by the same five minutes, so the energy
the simulated car takes is what the plan let it take.
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
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local.const import (
    CONF_CAR_BATTERY,
    CONF_CAR_SOC,
    CONF_OFF_PEAK_END,
    CONF_OFF_PEAK_START,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PHASES,
    CONF_PRICE_SENSOR,
    DOMAIN,
)
from simulators import Simulator, start_simulator
from simulators.model import Mode

from .conftest import add_charger, set_plan, state_of
from .test_group import add_group, entity_id, settle

PRICES = "sensor.nordpool"
STEP = timedelta(minutes=5)
EVENING = datetime(2026, 1, 15, 17, 55, tzinfo=UTC)
# Dear in the evening, cheapest from 02:00 to 04:00 (UTC, the test's zone).
HOURLY = {17: 0.40, 18: 0.40, 19: 0.38, 20: 0.30, 21: 0.25, 22: 0.22, 23: 0.20}
HOURLY |= {24: 0.18, 25: 0.15, 26: 0.08, 27: 0.09, 28: 0.16, 29: 0.20, 30: 0.30}


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


@pytest.fixture
async def pair(socket_enabled: None) -> AsyncIterator[tuple[Simulator, Simulator]]:
    """Two GoPlug Pro 32 (32 A each) with their own serials."""
    async with (
        start_simulator("goplug", identity_seed=1) as first,
        start_simulator("goplug", identity_seed=2) as second,
    ):
        yield first, second


def _nordpool(hass: HomeAssistant, hours: dict[int, float]) -> None:
    """Publish Nord Pool's attribute shape: raw_today / raw_tomorrow."""
    midnight = datetime(2026, 1, 15, tzinfo=UTC)
    entries: list[dict[str, Any]] = [
        {
            "start": (midnight + timedelta(hours=hour)).isoformat(),
            "end": (midnight + timedelta(hours=hour + 1)).isoformat(),
            "value": price,
        }
        for hour, price in sorted(hours.items())
    ]
    hass.states.async_set(
        PRICES,
        str(hours[min(hours)]),
        {
            "unit_of_measurement": "EUR/kWh",
            "raw_today": [e for e in entries if str(e["start"]) < "2026-01-16"],
            "raw_tomorrow": [e for e in entries if str(e["start"]) >= "2026-01-16"],
            "tomorrow_valid": True,
        },
    )


async def _later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, *sims: Simulator
) -> None:
    """Five minutes on both clocks; one poll and one control step."""
    for sim in sims:
        sim.advance(STEP.total_seconds())
    freezer.tick(STEP)
    async_fire_time_changed(hass)
    await settle(hass)
    # The step sees the read that followed its own commands.
    async_fire_time_changed(hass)
    await settle(hass)


async def _with_options(
    hass: HomeAssistant, entry: ConfigEntry, **options: Any
) -> ConfigEntry:
    """Add ``options`` to a charger's or group's and reload it."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    return entry


async def _charger_with_prices(
    hass: HomeAssistant, sim: Simulator, **options: Any
) -> ConfigEntry:
    """A charger reading the price sensor (and ``options``)."""
    entry = await add_charger(hass, sim)
    return await _with_options(hass, entry, **{CONF_PRICE_SENSOR: PRICES}, **options)


async def _planned_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sim: Simulator
) -> ConfigEntry:
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(EVENING)
    _nordpool(hass, HOURLY)
    return await _charger_with_prices(hass, sim)


async def _planned_group(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, ...],
    *,
    start: datetime,
    hours: dict[int, float],
    **options: Any,
) -> tuple[ConfigEntry, list[ConfigEntry]]:
    """Chargers reading the price sensor, in a 40 A group in mode Planned."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(start)
    _nordpool(hass, hours)
    chargers = [await _charger_with_prices(hass, sim) for sim in sims]
    group = await add_group(hass, chargers, **options)
    await settle(hass)
    await _select_planned(hass, group)
    return group, chargers


async def _select_planned(hass: HomeAssistant, entry: ConfigEntry) -> None:
    mode = entity_id(hass, "select", f"{entry.unique_id}_solar_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "planned"}, True
    )


def _plan_state(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    return state_of(hass, entity_id(hass, "sensor", f"{entry.unique_id}_plan_state"))


async def test_plan_waits_for_cheap_hours_and_meets_the_target(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
    hass_storage: dict[str, Any],
) -> None:
    """Plugged in at 18:00: paused until the cheap night, 10 kWh by 07:00."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    serial = entry.unique_id
    # Through the UI entities, as a person would.
    await hass.services.async_call(
        "number",
        "set_value",
        {
            "entity_id": entity_id(hass, "number", f"{serial}_plan_target_energy"),
            "value": 10,
        },
        True,
    )
    await hass.services.async_call(
        "time",
        "set_value",
        {
            "entity_id": entity_id(hass, "time", f"{serial}_plan_ready_time"),
            "time": "07:00:00",
        },
        True,
    )
    model = goplug_sim.model
    await _later(hass, freezer, goplug_sim)
    model.plug_in()
    await _later(hass, freezer, goplug_sim)
    state = _plan_state(hass, entry)
    assert state.state == "planned"
    assert state.attributes["ready_by"] == "2026-01-16T07:00:00+00:00"
    slots = state.attributes["slots"]
    assert slots[0]["start"] == "2026-01-16T02:00:00+00:00"
    assert sum(slot["energy_wh"] for slot in slots) == pytest.approx(10_000, abs=1)
    next_start = entity_id(hass, "sensor", f"{serial}_plan_next_start")
    assert state_of(hass, next_start).state == "2026-01-16T02:00:00+00:00"
    cost = entity_id(hass, "sensor", f"{serial}_plan_cost")
    assert 0.8 <= float(state_of(hass, cost).state) <= 0.9  # 10 kWh at 0.08/0.09
    assert model.mode is Mode.SLEEP
    # Re-planned every step, but nothing to keep changed: no disk write.
    key = f"evse_local.plan.{entry.entry_id}"
    await _later(hass, freezer, goplug_sim)
    written = hass_storage[key]
    for _ in range(6):
        await _later(hass, freezer, goplug_sim)
    assert hass_storage[key] is written

    by_hour: dict[int, float] = {}
    resumed = paused_again = 0
    was_active = False
    while (now := datetime.now(UTC)) < datetime(2026, 1, 16, 7, tzinfo=UTC):
        before = model.total_wh
        await _later(hass, freezer, goplug_sim)
        hour = now.hour
        by_hour[hour] = by_hour.get(hour, 0.0) + model.total_wh - before
        active = model.mode is Mode.ACTIVE
        resumed += active and not was_active
        paused_again += was_active and not active
        was_active = active
    # Not a watt-hour in the dear evening; the target in by 07:00.
    assert sum(wh for hour, wh in by_hour.items() if hour >= 17) == 0
    assert model.session_wh >= 10_000
    assert sum(by_hour.get(hour, 0.0) for hour in (2, 3)) >= 10_000 - 50
    assert (resumed, paused_again) == (1, 1)
    assert _plan_state(hass, entry).state == "done"


async def test_restart_mid_plan_keeps_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A restart in the middle of the cheap slots picks up where it was."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    response = await set_plan(
        hass, {"config_entry_id": entry.entry_id, "energy": 12, "ready_by": "07:00"}
    )
    # No car yet: nothing planned, but the settings are in.
    assert response["state"] == "idle"
    assert response["target_energy"] == 12
    model = goplug_sim.model
    model.plug_in()
    freezer.move_to(datetime(2026, 1, 16, 2, 30, tzinfo=UTC))
    await _later(hass, freezer, goplug_sim)
    # Plugged in at 02:30: half an hour of the cheapest hour is gone.
    assert model.mode is Mode.ACTIVE
    state = _plan_state(hass, entry)
    assert state.state == "charging"
    assert state.attributes["ready_by"] == "2026-01-16T07:00:00+00:00"
    for _ in range(6):
        await _later(hass, freezer, goplug_sim)
    delivered = _plan_state(hass, entry).attributes["delivered_energy"]
    assert delivered > 3

    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    await _later(hass, freezer, goplug_sim)
    state = _plan_state(hass, entry)
    # Same deadline, the energy delivered before the restart still counts.
    assert state.attributes["ready_by"] == "2026-01-16T07:00:00+00:00"
    assert state.attributes["delivered_energy"] > delivered
    while datetime.now(UTC) < datetime(2026, 1, 16, 7, tzinfo=UTC):
        await _later(hass, freezer, goplug_sim)
    assert model.session_wh >= 12_000
    assert _plan_state(hass, entry).state == "done"
    assert model.mode is Mode.SLEEP


async def test_group_of_two_planned_cars_stays_within_its_circuit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    pair: tuple[Simulator, Simulator],
) -> None:
    """Two cars planned into the same cheap hours share a 40 A circuit."""
    sims = pair
    _, chargers = await _planned_group(hass, freezer, sims, start=EVENING, hours=HOURLY)
    for entry in chargers:
        await set_plan(
            hass, {"config_entry_id": entry.entry_id, "energy": 8, "ready_by": "07:00"}
        )
    for sim in sims:
        sim.model.plug_in()
    # The next poll sees the cars (before their own clocks move on).
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await settle(hass)
    worst = 0
    evening_wh = 0.0
    while (now := datetime.now(UTC)) < datetime(2026, 1, 16, 7, tzinfo=UTC):
        before = sum(sim.model.total_wh for sim in sims)
        await _later(hass, freezer, *sims)
        if now.hour >= 17:
            evening_wh += sum(sim.model.total_wh for sim in sims) - before
        worst = max(worst, sum(sim.could_offer for sim in sims))
        assert sum(sim.offered for sim in sims) <= 40
    assert worst <= 40
    # Both followed their plans: nothing in the dear evening.
    assert evening_wh == 0
    for sim in sims:
        assert sim.model.session_wh >= 8_000
    for entry in chargers:
        assert _plan_state(hass, entry).state == "done"


async def test_bad_plan_input_gives_translated_errors(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A past ready time, a vanished price sensor, solar without inputs."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    with pytest.raises(ServiceValidationError) as err:
        await set_plan(
            hass,
            {
                "config_entry_id": entry.entry_id,
                "energy": 5,
                "ready_by": "2026-01-15T12:00:00+00:00",
            },
        )
    assert err.value.translation_key == "ready_time_past"
    hass.states.async_remove(PRICES)
    with pytest.raises(ServiceValidationError) as err:
        await set_plan(hass, {"config_entry_id": entry.entry_id, "energy": 5})
    assert err.value.translation_key == "price_sensor_missing"
    mode = entity_id(hass, "select", f"{entry.unique_id}_solar_mode")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "select", "select_option", {"entity_id": mode, "option": "solar"}, True
        )
    assert err.value.translation_key == "charging_mode_needs_solar"
    assert state_of(hass, mode).state == "off"


async def test_plan_without_forecast_charges_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A price sensor without a forecast: charge now rather than not at all."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    hass.states.async_set(PRICES, "0.31", {"unit_of_measurement": "EUR/kWh"})
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    response = await set_plan(hass, {"config_entry_id": entry.entry_id, "energy": 2})
    assert response["price_problem"] == "price_no_forecast"
    await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.mode is Mode.ACTIVE
    state = _plan_state(hass, entry)
    assert state.state == "charging"
    assert state.attributes["reason"] == "no_prices"


async def test_unreachable_target_charges_at_once_and_says_so_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """60 kWh in two hours is out of reach: charge now, one plan_not_met event."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)
    event_id = entity_id(hass, "event", f"{entry.unique_id}_charging_session")
    fired: list[dict[str, Any]] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            fired.append(dict(event.data["new_state"].attributes))
            if event.data["entity_id"] == event_id
            else None
        ),
    )
    await set_plan(
        hass, {"config_entry_id": entry.entry_id, "energy": 60, "ready_by": "20:00"}
    )
    for _ in range(3):
        await _later(hass, freezer, goplug_sim)
    state = _plan_state(hass, entry)
    assert state.state == "cannot_meet_target"
    assert state.attributes["reason"] == "not_enough_time"
    assert goplug_sim.model.mode is Mode.ACTIVE
    not_met = [a for a in fired if a["event_type"] == "plan_not_met"]
    assert len(not_met) == 1
    assert not_met[0]["reason"] == "not_enough_time"
    assert not_met[0]["needed_wh"] > not_met[0]["expected_wh"]


async def test_lost_prices_keep_the_plan_and_clear_plan_resumes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Prices published stay in use; clearing the plan lets the car charge."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    await set_plan(
        hass, {"config_entry_id": entry.entry_id, "energy": 5, "continuous": True}
    )
    await _later(hass, freezer, goplug_sim)
    slots = _plan_state(hass, entry).attributes["slots"]
    assert goplug_sim.model.mode is Mode.SLEEP
    switch = entity_id(hass, "switch", f"{entry.unique_id}_plan_continuous")
    assert state_of(hass, switch).state == "on"
    hass.states.async_set(PRICES, "unavailable")
    await _later(hass, freezer, goplug_sim)
    state = _plan_state(hass, entry)
    assert state.attributes["price_problem"] == "price_sensor_unavailable"
    assert state.attributes["slots"] == slots
    assert goplug_sim.model.mode is Mode.SLEEP
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    assert state_of(hass, switch).state == "off"
    await hass.services.async_call(
        DOMAIN, "clear_plan", {"config_entry_id": entry.entry_id}, blocking=True
    )
    await _later(hass, freezer, goplug_sim)
    assert _plan_state(hass, entry).state == "idle"
    # The controller resumes what it paused itself.
    assert goplug_sim.model.mode is Mode.ACTIVE


async def test_damaged_plan_store_starts_without_a_plan(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
    hass_storage: dict[str, Any],
) -> None:
    """A plan file that cannot be read is no reason to fail the setup."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[f"evse_local.plan.{entry.entry_id}"] = {
        "version": 1,
        "key": f"evse_local.plan.{entry.entry_id}",
        "data": {"target_kwh": 7, "ready_time": "25:99"},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    assert entry.runtime_data.plan.target_kwh == 0


async def test_car_charge_options_and_a_soc_target(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Sensor and battery together, in %; then a plan to 60 % from 40 %."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    with pytest.raises(ServiceValidationError) as err:
        await set_plan(hass, {"config_entry_id": entry.entry_id, "soc": 60})
    assert err.value.translation_key == "soc_without_sensor"
    with pytest.raises(ServiceValidationError) as err:
        await set_plan(hass, {"config_entry_id": entry.entry_id})
    assert err.value.translation_key == "plan_target_missing"
    hass.states.async_set("sensor.car_soc", "40", {"unit_of_measurement": "%"})
    hass.states.async_set("sensor.car_range", "200", {"unit_of_measurement": "km"})
    base = {
        CONF_SCAN_INTERVAL: 10,
        CONF_PERSIST_MAX_CURRENT: False,
        CONF_PRICE_SENSOR: PRICES,
    }
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for extra, error in (
        ({CONF_CAR_SOC: "sensor.car_soc"}, {"base": "car_soc_needs_battery"}),
        (
            {CONF_CAR_SOC: "sensor.car_range", CONF_CAR_BATTERY: 50},
            {CONF_CAR_SOC: "car_soc_unit"},
        ),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**base, **extra}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, CONF_CAR_SOC: "sensor.car_soc", CONF_CAR_BATTERY: 50},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)
    target = entity_id(hass, "number", f"{entry.unique_id}_plan_target_soc")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": target, "value": 60}, blocking=True
    )
    await _later(hass, freezer, goplug_sim)
    slots = _plan_state(hass, entry).attributes["slots"]
    # 20 % of 50 kWh through a 90 % efficient charge: 11.1 kWh.
    assert sum(slot["energy_wh"] for slot in slots) == pytest.approx(11_111, abs=1)
    # The car's integration falls asleep: the energy target (none) applies.
    hass.states.async_set("sensor.car_soc", "unavailable")
    await _later(hass, freezer, goplug_sim)
    assert _plan_state(hass, entry).state == "idle"


async def test_limits_the_planner_refuses_mean_no_plan_not_a_crash(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Options edited by hand (4 phases): the car charges as without a plan."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    await set_plan(hass, {"config_entry_id": entry.entry_id, "energy": 5})
    await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.mode is Mode.SLEEP
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PHASES: 4}
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    await _later(hass, freezer, goplug_sim)
    assert _plan_state(hass, entry).state == "idle"
    assert goplug_sim.model.mode is Mode.ACTIVE


async def test_off_peak_window_without_a_price_sensor(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """No forecast, a fixed tariff: wait for its cheap hours, no money cost."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(EVENING)
    entry = await add_charger(hass, goplug_sim)
    base = {CONF_SCAN_INTERVAL: 10, CONF_PERSIST_MAX_CURRENT: False}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for window in (
        {CONF_OFF_PEAK_START: "02:00:00"},
        {CONF_OFF_PEAK_START: "02:00:00", CONF_OFF_PEAK_END: "02:00:00"},
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**base, **window}
        )
        assert result["errors"] == {"base": "off_peak_window"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, CONF_OFF_PEAK_START: "02:00:00", CONF_OFF_PEAK_END: "05:00:00"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    await _select_planned(hass, entry)
    goplug_sim.model.plug_in()
    response = await set_plan(hass, {"config_entry_id": entry.entry_id, "energy": 5})
    assert response["expected_cost"] is None  # off-peak ranks, it costs nothing known
    await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.mode is Mode.SLEEP
    assert _plan_state(hass, entry).state == "planned"
    evening_wh = goplug_sim.model.session_wh
    while dt_util.utcnow() < datetime(2026, 1, 16, 2, 0, tzinfo=UTC):
        await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.session_wh == evening_wh  # nothing before 02:00
    await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.session_wh > evening_wh
    cost = entity_id(hass, "sensor", f"{entry.unique_id}_plan_cost")
    assert state_of(hass, cost).state == "unknown"
