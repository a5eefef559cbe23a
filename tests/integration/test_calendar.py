"""The charging plan calendar on a simulated charger (clock moved by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar.const import DATA_COMPONENT
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.evse_local.const import (
    CONF_OFF_PEAK_END,
    CONF_OFF_PEAK_START,
    CONF_PRICE_SENSOR,
    DOMAIN,
)
from simulators import Fault, Simulator
from simulators.model import Mode

from .conftest import add_charger, set_plan, state_of
from .test_group import entity_id, settle
from .test_plan import (
    EVENING,
    HOURLY,
    _later,
    _nordpool,
    _planned_charger,
    _select_planned,
)

# The whole test: from the evening to the next evening.
FROM = datetime(2026, 1, 15, 12, tzinfo=UTC)
UNTIL = datetime(2026, 1, 16, 18, tzinfo=UTC)


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


def _calendar(hass: HomeAssistant, entry: ConfigEntry) -> str:
    return entity_id(hass, "calendar", f"{entry.unique_id}_charging_plan")


async def _events(
    hass: HomeAssistant,
    entry: ConfigEntry,
    start: datetime = FROM,
    end: datetime = UNTIL,
) -> list[dict[str, Any]]:
    """What the core action ``calendar.get_events`` answers."""
    calendar = _calendar(hass, entry)
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": calendar,
            "start_date_time": start.isoformat(),
            "end_date_time": end.isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    answer: Any = response[calendar]
    events: list[dict[str, Any]] = answer["events"]
    return events


async def _set_plan(hass: HomeAssistant, entry: ConfigEntry, **data: Any) -> None:
    await set_plan(
        hass, {"config_entry_id": entry.entry_id, "ready_by": "07:00", **data}
    )


async def test_the_cheap_night_is_one_event_that_keeps_its_start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """10 kWh on 02:00-04:00: one event though three slots, kept while charging."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    calendar = _calendar(hass, entry)
    assert state_of(hass, calendar).state == STATE_OFF
    assert await _events(hass, entry) == []
    await _select_planned(hass, entry)
    await _set_plan(hass, entry, energy=10)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)

    # 7.36 kW: 02:00-03:00 at 32 A, then 2.64 kWh at 12 A and 11 A.
    slots = state_of(hass, entity_id(hass, "sensor", f"{entry.unique_id}_plan_state"))
    assert len(slots.attributes["slots"]) == 3
    state = state_of(hass, calendar)
    assert state.state == STATE_OFF
    assert state.attributes["message"] == "Charging 10.0 kWh"
    assert state.attributes["start_time"] == "2026-01-16 02:00:00"
    assert state.attributes["end_time"] == "2026-01-16 04:00:00"
    (event,) = await _events(hass, entry)
    assert event == {
        "start": "2026-01-16T02:00:00+00:00",
        "end": "2026-01-16T04:00:00+00:00",
        "summary": "Charging 10.0 kWh",
        # 7.36 kWh at 0.08 and 2.64 kWh at 0.09.
        "description": "Average power 5.0 kW\nExpected cost 0.83 EUR",
    }
    # A range that ends before the block, or starts after it: nothing.
    assert await _events(hass, entry, end=datetime(2026, 1, 16, 2, tzinfo=UTC)) == []
    assert await _events(hass, entry, start=datetime(2026, 1, 16, 4, tzinfo=UTC)) == []

    # Steps from now on 90 s past the five minutes: the one that starts the
    # block comes at 02:01:30.
    goplug_sim.advance(90)
    freezer.tick(timedelta(seconds=90))
    while datetime.now(UTC) < datetime(2026, 1, 16, 2, 30, tzinfo=UTC):
        await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.mode is Mode.ACTIVE
    # Re-planned from 02:30, the event still began at 02:00 and holds the
    # energy already in the car.
    state = state_of(hass, calendar)
    assert state.state == STATE_ON
    assert state.attributes["start_time"] == "2026-01-16 02:00:00"
    assert state.attributes["end_time"] == "2026-01-16 04:00:00"
    assert state.attributes["message"] == "Charging 10.0 kWh"
    description = state.attributes["description"].splitlines()
    assert description[0] == "Average power 5.0 kW"
    delivered = state_of(
        hass, entity_id(hass, "sensor", f"{entry.unique_id}_plan_state")
    ).attributes["delivered_energy"]
    assert delivered > 3.5
    assert description[1] == f"Still to charge {10 - delivered:.1f} kWh"
    assert description[2].startswith("Expected cost of the rest 0.5")

    while datetime.now(UTC) < datetime(2026, 1, 16, 4, 5, tzinfo=UTC):
        await _later(hass, freezer, goplug_sim)
    assert goplug_sim.model.session_wh >= 10_000
    assert state_of(hass, calendar).state == STATE_OFF
    assert "message" not in state_of(hass, calendar).attributes
    assert await _events(hass, entry) == []


def _spans(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["start"], e["end"], e["summary"]) for e in events]


async def test_a_dear_hour_between_makes_two_events_and_clear_plan_none(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """Cheap 02:00 and 04:00 around a dear 03:00: two events; cleared: none.

    The calendar card subscribes to the events: a change of the second
    event alone (the state and the next event stay) reaches it too.
    """
    entry = await _planned_charger(hass, freezer, goplug_sim)
    _nordpool(hass, HOURLY | {27: 0.50, 28: 0.09})
    await _select_planned(hass, entry)
    await _set_plan(hass, entry, energy=10)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)
    two_blocks = [
        ("2026-01-16T02:00:00+00:00", "2026-01-16T03:00:00+00:00", "Charging 7.4 kWh"),
        ("2026-01-16T04:00:00+00:00", "2026-01-16T05:00:00+00:00", "Charging 2.6 kWh"),
    ]
    assert _spans(await _events(hass, entry)) == two_blocks
    state = state_of(hass, _calendar(hass, entry))
    assert state.attributes["start_time"] == "2026-01-16 02:00:00"

    # What the card's websocket subscription asks of the entity.
    pushed: list[list[Any] | None] = []
    calendar = hass.data[DATA_COMPONENT].get_entity(_calendar(hass, entry))
    assert calendar is not None
    unsubscribe = calendar.async_subscribe_events(
        dt_util.as_local(FROM), dt_util.as_local(UNTIL), pushed.append
    )
    # 05:00 turns cheaper than 04:00: only the second block moves.
    _nordpool(hass, HOURLY | {27: 0.50, 28: 0.09, 29: 0.085})
    await _later(hass, freezer, goplug_sim)
    assert state_of(hass, _calendar(hass, entry)).attributes == state.attributes
    assert pushed
    events = pushed[-1]
    assert events is not None
    assert _spans(events) == [
        two_blocks[0],
        ("2026-01-16T05:00:00+00:00", "2026-01-16T06:00:00+00:00", "Charging 2.6 kWh"),
    ]
    unsubscribe()
    # The price sensor gone: the plan keeps its prices, the currency is unknown.
    hass.states.async_remove("sensor.nordpool")
    await _later(hass, freezer, goplug_sim)
    (first, _) = await _events(hass, entry)
    assert first["description"].splitlines()[-1] == "Expected cost 0.59"

    await hass.services.async_call(
        DOMAIN, "clear_plan", {"config_entry_id": entry.entry_id}, blocking=True
    )
    await _later(hass, freezer, goplug_sim)
    assert await _events(hass, entry) == []
    assert state_of(hass, _calendar(hass, entry)).state == STATE_OFF


async def test_an_off_peak_window_has_no_cost_and_unknown_prices_say_so(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A window ranks hours but costs nothing; a forecast without tomorrow tells."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(EVENING)
    entry = await add_charger(hass, goplug_sim)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_OFF_PEAK_START: "23:00:00",
            CONF_OFF_PEAK_END: "06:00:00",
        },
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    await _select_planned(hass, entry)
    await _set_plan(hass, entry, energy=5)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)
    # Quarter hours from 23:00, the last one at a lower current: one event,
    # and no money (the window ranks hours, it has no prices).
    assert await _events(hass, entry) == [
        {
            "start": "2026-01-15T23:00:00+00:00",
            "end": "2026-01-15T23:45:00+00:00",
            "summary": "Charging 5.0 kWh",
            "description": "Average power 6.7 kW",
        }
    ]

    # Today's prices only, cheap at 02:00: tonight's 02:00 is guessed cheap
    # again and planned, its cost unknown.
    _nordpool(hass, {hour: 0.05 if hour == 2 else 0.30 for hour in range(24)})
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PRICE_SENSOR: "sensor.nordpool"}
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    await _later(hass, freezer, goplug_sim)
    (event,) = await _events(hass, entry)
    assert event["start"] == "2026-01-16T02:00:00+00:00"
    assert event["description"].splitlines()[-2:] == [
        "Expected cost 0.00 EUR",
        "Prices not published yet for 5.0 kWh",
    ]


async def test_unavailable_with_the_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A charger that stops answering: the calendar is unavailable, then back."""
    entry = await _planned_charger(hass, freezer, goplug_sim)
    await _select_planned(hass, entry)
    await _set_plan(hass, entry, energy=10)
    goplug_sim.model.plug_in()
    await _later(hass, freezer, goplug_sim)
    calendar = _calendar(hass, entry)
    coordinator = entry.runtime_data.coordinator
    goplug_sim.inject(Fault.DROP, count=1)
    await coordinator.async_refresh()
    assert state_of(hass, calendar).state == STATE_UNAVAILABLE
    await coordinator.async_refresh()
    await _later(hass, freezer, goplug_sim)
    state = state_of(hass, calendar)
    assert state.state == STATE_OFF
    assert state.attributes["start_time"] == "2026-01-16 02:00:00"
