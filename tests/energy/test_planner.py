"""The charging planner on hand-made price curves."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.evse_local.energy import (
    ChargeCommand,
    ChargingLimits,
    ChargingPlan,
    EnergySlot,
    PlanInputError,
    PlanInputProblem,
    PlanReason,
    PlanState,
    PriceSlot,
    energy_for_soc,
    next_ready_time,
    parse_price_attributes,
    plan_charging,
)

AMS = ZoneInfo("Europe/Amsterdam")
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
ONE_PHASE_16 = ChargingLimits(max_current=16)  # 3680 W
FULL_HOUR_WH = 3680.0


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A wall time in Amsterdam in November 2025 (no DST change)."""
    return datetime(2025, month, day, hour, minute, tzinfo=AMS)


def curve(
    start: datetime, prices: list[float], step: timedelta = HOUR
) -> list[PriceSlot]:
    """Consecutive slots from ``start`` (UTC arithmetic)."""
    begin = start.astimezone(UTC)
    return [
        PriceSlot(begin + index * step, begin + (index + 1) * step, price)
        for index, price in enumerate(prices)
    ]


def plan(**kwargs: Any) -> ChargingPlan:
    """plan_charging with one phase at 16 A unless told otherwise."""
    kwargs.setdefault("limits", ONE_PHASE_16)
    return plan_charging(**kwargs)


def spans(result: ChargingPlan) -> list[tuple[str, str, float]]:
    """The segments as local HH:MM(:SS) and current, for readable asserts."""

    def show(moment: datetime) -> str:
        wall = moment.astimezone(AMS)
        if wall.microsecond:
            return f"{wall:%H:%M:%S.%f}"
        return f"{wall:%H:%M:%S}" if wall.second else f"{wall:%H:%M}"

    return [(show(s.start), show(s.end), s.current) for s in result.slots]


def check_invariants(result: ChargingPlan, limits: ChargingLimits) -> None:
    """What every plan must satisfy (the property tests check it widely)."""
    for left, right in zip(result.slots, result.slots[1:], strict=False):
        assert left.end <= right.start
    for slot in result.slots:
        assert slot.start < slot.end
        assert limits.lowest_current <= slot.current <= limits.highest_current
        assert slot.energy_wh == pytest.approx(
            slot.power_w * (slot.end - slot.start).total_seconds() / 3600
        )


EVENING = [0.30, 0.35, 0.32, 0.25, 0.20, 0.15, 0.10, 0.12, 0.11, 0.18, 0.22, 0.30, 0.33]


# ------------------------------------------------------------------ choosing


def test_the_cheapest_hours_before_the_ready_time() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=3 * FULL_HOUR_WH,
        prices=curve(local(3, 18), EVENING),
    )
    assert result.state is PlanState.PLANNED
    assert result.reason is PlanReason.NONE
    assert spans(result) == [
        ("00:00", "01:00", 16),
        ("01:00", "02:00", 16),
        ("02:00", "03:00", 16),
    ]
    assert result.energy_wh == pytest.approx(3 * FULL_HOUR_WH)
    assert result.cost == pytest.approx(3.68 * (0.10 + 0.12 + 0.11))
    assert result.next_start == local(4, 0)
    assert result.unpriced_energy_wh == 0
    assert result.shortfall_wh == 0
    assert result.ready_by == local(4, 7)
    assert result.created.tzinfo is UTC
    check_invariants(result, ONE_PHASE_16)


def test_a_partly_used_hour_takes_two_currents_without_a_pause() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=10_000,
        prices=curve(local(3, 18), EVENING),
    )
    # 2640 Wh in the 0.12 hour: 11.48 A on average = 12 A, then 11 A.
    assert spans(result) == [
        ("00:00", "01:00", 16),
        ("01:00", "01:28:41.739131", 12),
        ("01:28:41.739131", "02:00", 11),
        ("02:00", "03:00", 16),
    ]
    assert result.energy_wh == pytest.approx(10_000, abs=1e-3)
    assert result.energy_wh >= 10_000
    check_invariants(result, ONE_PHASE_16)


def test_commands_over_time() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=10_000,
        prices=curve(local(3, 18), EVENING),
    )
    split = result.slots[1].end
    assert result.command_at(local(3, 23)) == ChargeCommand(0.0, local(4, 0))
    assert not result.command_at(local(3, 23)).charge
    assert result.command_at(local(4, 0, 30)) == ChargeCommand(16, local(4, 1))
    assert result.command_at(local(4, 1, 10)) == ChargeCommand(12, split)
    assert result.command_at(local(4, 1, 50)).charge
    assert result.command_at(local(4, 3)) == ChargeCommand(0.0, None)
    assert result.command_at(local(4, 8)) == ChargeCommand(0.0, None)


def test_ties_go_to_the_earlier_slot() -> None:
    flat = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=2 * FULL_HOUR_WH,
        prices=curve(local(3, 18), [0.2] * 13),
    )
    assert spans(flat) == [("18:00", "19:00", 16), ("19:00", "20:00", 16)]
    twice = plan(
        now=local(3, 18),
        ready_by=local(3, 22),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(3, 18), [0.2, 0.1, 0.3, 0.1]),
    )
    assert spans(twice) == [("19:00", "20:00", 16)]


def test_the_cheapest_hour_after_the_ready_time_is_not_used() -> None:
    result = plan(
        now=local(3, 22),
        ready_by=local(4, 1),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(3, 22), [0.3, 0.2, 0.25, 0.01]),
    )
    assert spans(result) == [("23:00", "00:00", 16)]
    assert all(slot.end <= local(4, 1) for slot in result.slots)


def test_negative_prices_are_used_first_but_not_beyond_the_need() -> None:
    prices = curve(local(3, 10), [0.2, -0.05, -0.1, 0.1, 0.3])
    result = plan(
        now=local(3, 10), ready_by=local(3, 15), energy_wh=5520, prices=prices
    )
    # -0.10 full, -0.05 half: 1840 Wh in an hour is exactly 8 A.
    assert spans(result) == [("11:00", "12:00", 8), ("12:00", "13:00", 16)]
    assert result.energy_wh == pytest.approx(5520)
    assert result.cost == pytest.approx(3.68 * -0.1 + 1.84 * -0.05)


@pytest.mark.parametrize(
    ("extra", "energy"), [(1000.0, 6520.0), (10_000.0, 7360.0), (0.0, 5520.0)]
)
def test_negative_prices_may_fill_more_when_allowed(
    extra: float, energy: float
) -> None:
    result = plan(
        now=local(3, 10),
        ready_by=local(3, 15),
        energy_wh=5520,
        prices=curve(local(3, 10), [0.2, -0.05, -0.1, 0.1, 0.3]),
        negative_price_extra_wh=extra,
    )
    assert result.energy_wh == pytest.approx(energy)
    assert result.state is PlanState.PLANNED
    assert all(slot.price is not None and slot.price < 0 for slot in result.slots)


def test_quarter_hours() -> None:
    three_phase = ChargingLimits(max_current=16, phases=3)  # 2760 Wh a quarter
    prices = [0.3] * 16
    prices[5], prices[9] = 0.1, 0.12
    result = plan(
        now=local(3, 22),
        ready_by=local(3, 22) + 16 * QUARTER,
        energy_wh=2760 + 1380,
        limits=three_phase,
        prices=curve(local(3, 22), prices, QUARTER),
    )
    # The cheapest quarter at 16 A, half of the next one: 8 A for all of it.
    assert spans(result) == [("23:15", "23:30", 16), ("00:15", "00:30", 8)]
    assert result.cost == pytest.approx(2.76 * 0.1 + 1.38 * 0.12)
    check_invariants(result, three_phase)


def test_below_the_minimum_current_only_part_of_the_slot() -> None:
    alone = plan(
        now=local(3, 18),
        ready_by=local(3, 22),
        energy_wh=500,
        prices=curve(local(3, 18), [0.3, 0.1, 0.3, 0.3]),
    )
    # 500 Wh in an hour is 2.2 A: 6 A for 21 min 44 s instead.
    assert spans(alone) == [("19:00", "19:21:44.347827", 6)]
    assert alone.energy_wh == pytest.approx(500, abs=1e-3)
    # Next to a charging hour, it sits against it: no pause in between.
    before = plan(
        now=local(3, 18),
        ready_by=local(3, 22),
        energy_wh=FULL_HOUR_WH + 500,
        prices=curve(local(3, 18), [0.3, 0.2, 0.1, 0.3]),
    )
    assert spans(before) == [("19:38:15.652173", "20:00", 6), ("20:00", "21:00", 16)]
    after = plan(
        now=local(3, 18),
        ready_by=local(3, 22),
        energy_wh=FULL_HOUR_WH + 500,
        prices=curve(local(3, 18), [0.3, 0.1, 0.2, 0.3]),
    )
    assert spans(after) == [("19:00", "20:00", 16), ("20:00", "20:21:44.347827", 6)]


def test_now_in_the_middle_of_a_slot() -> None:
    result = plan(
        now=local(3, 18, 30),
        ready_by=local(3, 20),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(3, 18), [0.1, 0.2]),
    )
    # Half an hour is left of the cheap hour; the rest comes after.
    assert spans(result) == [("18:30", "19:00", 16), ("19:00", "20:00", 8)]
    assert result.next_start == local(3, 18, 30)
    assert result.command_at(local(3, 18, 40)) == ChargeCommand(16, local(3, 19))


def test_past_slots_and_a_gap_at_now() -> None:
    result = plan(
        now=local(3, 12),
        ready_by=local(3, 16),
        energy_wh=FULL_HOUR_WH,
        # 10:00-11:00 is over; nothing known for 12:00-13:00.
        prices=[*curve(local(3, 10), [0.01]), *curve(local(3, 13), [0.3, 0.2, 0.4])],
    )
    assert spans(result) == [("14:00", "15:00", 16)]
    assert result.state is PlanState.WAITING_FOR_PRICES


def test_price_slots_in_any_time_zone() -> None:
    in_utc = curve(local(3, 18), EVENING)
    in_local = [
        PriceSlot(s.start.astimezone(AMS), s.end.astimezone(AMS), s.price)
        for s in in_utc
    ]
    kwargs: dict[str, Any] = {
        "now": local(3, 18),
        "ready_by": local(4, 7),
        "energy_wh": 10_000,
    }
    assert plan(prices=in_local, **kwargs) == plan(prices=in_utc, **kwargs)


# ------------------------------------------------------------------ DST


def nordpool_nights(first: datetime) -> list[PriceSlot]:
    """Two local days of hourly prices, built as the Nord Pool sensor shows them."""
    attributes: dict[str, list[dict[str, Any]]] = {}
    for name, day in (
        ("raw_today", first),
        ("raw_tomorrow", first + timedelta(days=1)),
    ):
        start = datetime.combine(day.date(), time(), AMS).astimezone(UTC)
        end = datetime.combine(day.date() + timedelta(days=1), time(), AMS).astimezone(
            UTC
        )
        entries = []
        while start < end:
            wall = start.astimezone(AMS)
            # Dear in the first 02:00 (summer time), cheap in the second.
            price = 0.05 if wall.hour == 2 and wall.utcoffset() == HOUR else 0.2
            entries.append(
                {"start": wall, "end": (start + HOUR).astimezone(AMS), "value": price}
            )
            start += HOUR
        attributes[name] = entries
    return list(parse_price_attributes(attributes).slots)


@pytest.mark.parametrize(
    ("evening", "hours"),
    [
        (datetime(2025, 10, 25, 23, tzinfo=AMS), 9),
        (datetime(2026, 3, 28, 23, tzinfo=AMS), 7),
    ],
)
def test_a_night_across_a_dst_change(evening: datetime, hours: int) -> None:
    prices = nordpool_nights(evening)
    ready = datetime.combine(evening.date() + timedelta(days=1), time(7), AMS)
    exact = plan(
        now=evening, ready_by=ready, energy_wh=hours * FULL_HOUR_WH, prices=prices
    )
    assert exact.state is PlanState.PLANNED
    assert len(exact.slots) == hours
    assert sum((s.end - s.start for s in exact.slots), timedelta()) == hours * HOUR
    more = plan(
        now=evening, ready_by=ready, energy_wh=hours * FULL_HOUR_WH + 1, prices=prices
    )
    assert more.state is PlanState.CANNOT_MEET_TARGET
    assert more.reason is PlanReason.NOT_ENOUGH_TIME
    assert more.shortfall_wh == pytest.approx(1)


def test_the_repeated_hour_has_its_own_price() -> None:
    evening = datetime(2025, 10, 25, 23, tzinfo=AMS)
    result = plan(
        now=evening,
        ready_by=datetime(2025, 10, 26, 7, tzinfo=AMS),
        energy_wh=FULL_HOUR_WH,
        prices=nordpool_nights(evening),
    )
    # The second 02:00 (winter time) is the cheap one: 01:00 UTC.
    assert [(s.start, s.price) for s in result.slots] == [
        (datetime(2025, 10, 26, 1, tzinfo=UTC), 0.05)
    ]


# ------------------------------------------------------------------ trouble


def test_too_little_time_charges_everything_from_now() -> None:
    result = plan(
        now=local(4, 5),
        ready_by=local(4, 7),
        energy_wh=10_000,
        prices=curve(local(4, 5), [0.3, 0.1]),
    )
    assert result.state is PlanState.CANNOT_MEET_TARGET
    assert result.reason is PlanReason.NOT_ENOUGH_TIME
    assert spans(result) == [("05:00", "06:00", 16), ("06:00", "07:00", 16)]
    assert result.energy_wh == pytest.approx(2 * FULL_HOUR_WH)
    assert result.shortfall_wh == pytest.approx(10_000 - 2 * FULL_HOUR_WH)


def test_without_any_price_it_charges_earliest_first() -> None:
    result = plan(now=local(3, 18, 7), ready_by=local(4, 7), energy_wh=FULL_HOUR_WH)
    assert result.state is PlanState.WAITING_FOR_PRICES
    assert result.reason is PlanReason.NO_PRICES
    assert result.next_start == local(3, 18, 7)
    assert result.slots[-1].end == local(3, 19, 15)
    assert result.energy_wh == pytest.approx(FULL_HOUR_WH, abs=1e-3)
    assert result.unpriced_energy_wh == pytest.approx(FULL_HOUR_WH, abs=1e-3)
    assert result.cost == 0
    assert all(slot.price is None and slot.cost is None for slot in result.slots)
    check_invariants(result, ONE_PHASE_16)


def test_missing_prices_are_guessed_from_the_day_before() -> None:
    today = [0.3] * 24
    today[3] = 0.05  # last night at 03:00 was cheap
    prices = curve(local(3, 0), today)
    result = plan(
        now=local(3, 10), ready_by=local(4, 7), energy_wh=FULL_HOUR_WH, prices=prices
    )
    assert result.state is PlanState.WAITING_FOR_PRICES
    assert result.reason is PlanReason.PRICES_MISSING
    # Tonight's 03:00 is not published yet; it probably is cheap again.
    assert spans(result) == [
        ("03:00", "03:15", 16),
        ("03:15", "03:30", 16),
        ("03:30", "03:45", 16),
        ("03:45", "04:00", 16),
    ]
    assert result.cost == 0
    assert result.unpriced_energy_wh == pytest.approx(FULL_HOUR_WH)
    # A known price below the guess wins.
    today[14] = 0.04
    cheaper = plan(
        now=local(3, 10),
        ready_by=local(4, 7),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(3, 0), today),
    )
    assert spans(cheaper) == [("14:00", "15:00", 16)]
    assert cheaper.state is PlanState.WAITING_FOR_PRICES


def test_unknown_prices_without_a_guess_come_after_every_known_one() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=2 * FULL_HOUR_WH,
        # 18:00-20:00 known and dear, a gap, 22:00-23:00 known.
        prices=[*curve(local(3, 18), [0.9, 0.8]), *curve(local(3, 22), [0.7])],
    )
    assert spans(result) == [("19:00", "20:00", 16), ("22:00", "23:00", 16)]
    assert result.state is PlanState.WAITING_FOR_PRICES
    needs_unknown = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=4 * FULL_HOUR_WH,
        prices=[*curve(local(3, 18), [0.9, 0.8]), *curve(local(3, 22), [0.7])],
    )
    # Known first, then the earliest unknown quarter hours (20:00-21:00).
    assert spans(needs_unknown)[:2] == [("18:00", "19:00", 16), ("19:00", "20:00", 16)]
    assert spans(needs_unknown)[2][:2] == ("20:00", "20:15")
    assert needs_unknown.unpriced_energy_wh == pytest.approx(FULL_HOUR_WH)
    assert needs_unknown.cost == pytest.approx(3.68 * (0.9 + 0.8 + 0.7))


def test_a_ready_time_in_the_past_charges_at_once() -> None:
    result = plan(
        now=local(4, 8),
        ready_by=local(4, 7),
        energy_wh=1.5 * FULL_HOUR_WH,
        prices=curve(local(4, 0), [0.1] * 8 + [0.4, 0.2, 0.1]),
    )
    assert result.state is PlanState.CANNOT_MEET_TARGET
    assert result.reason is PlanReason.READY_TIME_PASSED
    assert spans(result) == [("08:00", "09:00", 16), ("09:00", "09:30", 16)]
    assert result.energy_wh == pytest.approx(1.5 * FULL_HOUR_WH, abs=1e-3)
    assert result.cost == pytest.approx(3.68 * 0.4 + 1.84 * 0.2, abs=1e-6)


def test_a_share_below_the_minimum_cannot_charge() -> None:
    limits = ChargingLimits(max_current=32, share_current=5)
    assert not limits.can_charge
    result = plan(now=local(3, 18), ready_by=local(4, 7), energy_wh=1000, limits=limits)
    assert result.state is PlanState.CANNOT_MEET_TARGET
    assert result.reason is PlanReason.CURRENT_TOO_LOW
    assert result.slots == ()
    assert result.shortfall_wh == 1000
    assert result.command_at(local(3, 20)) == ChargeCommand(0.0, None)


def test_limits_round_to_what_chargers_accept() -> None:
    assert ChargingLimits(max_current=32, share_current=13.7).highest_current == 13
    assert (
        ChargingLimits(
            max_current=32, share_current=13.7, current_step=0.5
        ).highest_current
        == 13.5
    )
    assert ChargingLimits(max_current=16, min_current=6.2).lowest_current == 7
    assert ChargingLimits(max_current=16, phases=3).power_w(16) == 11_040


@pytest.mark.parametrize("energy", [0.0, -500.0])
def test_nothing_needed_is_done(energy: float) -> None:
    result = plan(now=local(3, 18), ready_by=local(4, 7), energy_wh=energy)
    assert result.state is PlanState.DONE
    assert result.reason is PlanReason.TARGET_REACHED
    assert result.slots == ()
    assert result.next_start is None
    assert result.needed_wh == 0


# ------------------------------------------------------------------ solar


def test_solar_covering_the_target_buys_nothing() -> None:
    result = plan(
        now=local(3, 8),
        ready_by=local(3, 17),
        energy_wh=4000,
        prices=curve(local(3, 8), [0.1] * 9),
        solar=[EnergySlot(local(3, 12), local(3, 14), 5000)],
    )
    assert result.state is PlanState.PLANNED
    assert result.reason is PlanReason.SOLAR_COVERS_TARGET
    assert result.slots == ()
    assert result.solar_wh == pytest.approx(5000)
    assert result.grid_energy_wh == 0


def test_solar_first_then_the_cheapest_grid() -> None:
    prices = [0.3, 0.3, 0.3, 0.3, 0.1, 0.2, 0.3, 0.3, 0.3]
    result = plan(
        now=local(3, 8),
        ready_by=local(3, 17),
        energy_wh=6000,
        prices=curve(local(3, 8), prices),
        # 2000 Wh expected from the sun 12:00-13:00, the cheapest hour.
        solar=[EnergySlot(local(3, 12), local(3, 13), 2000)],
    )
    assert result.solar_wh == pytest.approx(2000)
    # The sun leaves 1680 Wh of room at 12:00; 2320 Wh more at 13:00.
    assert result.grid_energy_wh == pytest.approx(4000, abs=1e-3)
    assert result.slots[0].start == local(3, 12)
    assert result.slots[0].current == 16
    assert result.slots[0].grid_energy_wh == pytest.approx(1680)
    assert result.cost == pytest.approx(1.68 * 0.1 + 2.32 * 0.2, abs=1e-6)
    assert result.energy_wh == pytest.approx(6000, abs=1e-3)


def test_solar_outside_the_horizon_is_ignored() -> None:
    result = plan(
        now=local(3, 8),
        ready_by=local(3, 12),
        energy_wh=1000,
        prices=curve(local(3, 8), [0.1] * 4),
        solar=[
            EnergySlot(local(3, 5), local(3, 7), 3000),  # before now
            EnergySlot(local(3, 13), local(3, 15), 3000),  # after the ready time
            EnergySlot(local(3, 11), local(3, 13), 2000),  # half of it in time
        ],
    )
    assert result.solar_wh == pytest.approx(1000)
    assert result.reason is PlanReason.SOLAR_COVERS_TARGET


def test_solar_beyond_what_the_charger_takes_is_capped() -> None:
    result = plan(
        now=local(3, 8),
        ready_by=local(3, 17),
        energy_wh=20_000,
        prices=curve(local(3, 8), [0.1] * 9),
        # Spread over 10:00-12:00, and more than 3680 W: capped per hour.
        solar=[EnergySlot(local(3, 10), local(3, 12), 10_000)],
    )
    assert result.solar_wh == pytest.approx(2 * FULL_HOUR_WH)


# ------------------------------------------------------------------ one block


BLOCK_PRICES = [0.30, 0.10, 0.40, 0.12, 0.11, 0.13, 0.35]


def test_one_continuous_block() -> None:
    kwargs: dict[str, Any] = {
        "now": local(4, 0),
        "ready_by": local(4, 7),
        "prices": curve(local(4, 0), BLOCK_PRICES),
    }
    spread = plan(energy_wh=3 * FULL_HOUR_WH, **kwargs)
    assert spans(spread) == [
        ("01:00", "02:00", 16),
        ("03:00", "04:00", 16),
        ("04:00", "05:00", 16),
    ]
    block = plan(energy_wh=3 * FULL_HOUR_WH, continuous=True, **kwargs)
    assert block.continuous
    assert spans(block) == [
        ("03:00", "04:00", 16),
        ("04:00", "05:00", 16),
        ("05:00", "06:00", 16),
    ]
    assert block.cost == pytest.approx(3.68 * 0.36)
    assert block.cost > spread.cost
    assert block.command_at(local(4, 3, 10)) == ChargeCommand(16, local(4, 6))


def test_a_block_may_end_in_the_middle_of_a_slot() -> None:
    block = plan(
        now=local(4, 0),
        ready_by=local(4, 7),
        energy_wh=2.5 * FULL_HOUR_WH,
        prices=curve(local(4, 0), BLOCK_PRICES),
        continuous=True,
    )
    assert spans(block) == [
        ("03:00", "04:00", 16),
        ("04:00", "05:00", 16),
        ("05:00", "05:30", 16),
    ]


def test_a_block_may_start_in_the_middle_of_a_slot() -> None:
    block = plan(
        now=local(4, 0),
        ready_by=local(4, 4),
        energy_wh=2.5 * FULL_HOUR_WH,
        prices=curve(local(4, 0), [0.5, 0.1, 0.1, 0.6]),
        continuous=True,
    )
    # Half of the 0.5 hour before beats half of the 0.6 hour after.
    assert spans(block) == [
        ("00:30", "01:00", 16),
        ("01:00", "02:00", 16),
        ("02:00", "03:00", 16),
    ]


def test_a_block_ties_to_the_earliest_window() -> None:
    block = plan(
        now=local(4, 0),
        ready_by=local(4, 4),
        energy_wh=2.5 * FULL_HOUR_WH,
        prices=curve(local(4, 0), [0.5, 0.1, 0.1, 0.5]),
        continuous=True,
    )
    assert spans(block)[0][:2] == ("00:30", "01:00")


def test_a_block_with_unknown_prices_prefers_known_ones() -> None:
    block = plan(
        now=local(4, 0),
        ready_by=local(4, 4),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(4, 2), [0.9, 0.9]),
        continuous=True,
    )
    assert spans(block) == [("02:00", "03:00", 16)]
    assert block.state is PlanState.WAITING_FOR_PRICES


def test_a_block_the_sun_covers_and_a_block_too_long() -> None:
    sunny = plan(
        now=local(3, 8),
        ready_by=local(3, 17),
        energy_wh=3000,
        prices=curve(local(3, 8), [0.1] * 9),
        solar=[EnergySlot(local(3, 12), local(3, 14), 5000)],
        continuous=True,
    )
    assert sunny.reason is PlanReason.SOLAR_COVERS_TARGET
    assert sunny.slots == ()
    short = plan(
        now=local(4, 5),
        ready_by=local(4, 7),
        energy_wh=10_000,
        continuous=True,
    )
    assert short.reason is PlanReason.NOT_ENOUGH_TIME
    assert short.slots[0].start == local(4, 5)
    assert short.slots[-1].end == local(4, 7)


def test_a_block_around_a_sunny_hour() -> None:
    block = plan(
        now=local(3, 10),
        ready_by=local(3, 14),
        energy_wh=2 * FULL_HOUR_WH + 500,
        prices=curve(local(3, 10), [0.3, 0.1, 0.1, 0.3]),
        # The sun fills 12:00-13:00 completely: no room there.
        solar=[EnergySlot(local(3, 11), local(3, 12), FULL_HOUR_WH)],
        continuous=True,
    )
    assert block.solar_wh == pytest.approx(FULL_HOUR_WH)
    assert block.grid_energy_wh == pytest.approx(FULL_HOUR_WH + 500, abs=1e-3)
    assert block.slots[-1].end <= local(3, 14)


# ------------------------------------------------------------------ helpers


def test_as_dict_is_json_ready() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=4000,
        prices=curve(local(3, 18), EVENING),
    )
    data = result.as_dict()
    assert data["state"] == "planned"
    assert data["reason"] == "none"
    assert data["energy_wh"] == 4000.0
    assert data["next_start"] == "2025-11-03T23:00:00+00:00"
    assert data["slots"][0] == {
        "start": "2025-11-03T23:00:00+00:00",
        "end": "2025-11-04T00:00:00+00:00",
        "current": 16.0,
        "power_w": 3680.0,
        "energy_wh": 3680.0,
        "price": 0.1,
        "cost": 0.368,
    }
    done = plan(now=local(3, 18), ready_by=local(4, 7), energy_wh=0).as_dict()
    assert done["next_start"] is None
    assert done["slots"] == []
    unpriced = plan(now=local(3, 18), ready_by=local(4, 7), energy_wh=100).as_dict()
    assert unpriced["slots"][0]["cost"] is None


def test_energy_for_soc() -> None:
    assert energy_for_soc(20, 80, 60) == pytest.approx(40_000)
    assert energy_for_soc(20, 80, 60, efficiency=1) == pytest.approx(36_000)
    assert energy_for_soc(90, 80, 60) == 0


@pytest.mark.parametrize(
    ("soc", "target", "kwh", "efficiency"),
    [
        (120, 80, 60, 0.9),
        (20, 101, 60, 0.9),
        (-1, 80, 60, 0.9),
        (20, 80, 0, 0.9),
        (20, 80, 60, 0),
        (20, 80, 60, 1.1),
        (math.nan, 80, 60, 0.9),
        (20, 80, math.inf, 0.9),
    ],
)
def test_energy_for_soc_refuses_nonsense(
    soc: float, target: float, kwh: float, efficiency: float
) -> None:
    with pytest.raises(PlanInputError) as error:
        energy_for_soc(soc, target, kwh, efficiency=efficiency)
    assert error.value.reason is PlanInputProblem.INVALID_SOC


@pytest.mark.parametrize(
    ("now", "at", "expected"),
    [
        (local(3, 18), time(7), local(4, 7)),
        (local(3, 6), time(7), local(3, 7)),
        (local(3, 7), time(7), local(4, 7)),
        # The night clocks go forward: 02:30 does not exist, 03:30 does.
        (
            datetime(2026, 3, 28, 20, tzinfo=AMS),
            time(2, 30),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        # The night they go back: the first 02:30 (summer time).
        (
            datetime(2025, 10, 25, 20, tzinfo=AMS),
            time(2, 30),
            datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
        ),
        (datetime(2025, 11, 3, 17, tzinfo=UTC), time(7, tzinfo=UTC), local(4, 7)),
    ],
)
def test_next_ready_time(now: datetime, at: time, expected: datetime) -> None:
    ready = next_ready_time(now, at, AMS)
    # In UTC: an ambiguous wall time never compares equal across zones.
    assert ready.astimezone(UTC) == expected.astimezone(UTC)
    assert ready.tzinfo is AMS


# ------------------------------------------------------------------ bad input


def naive(*args: int) -> datetime:
    return datetime(*args)  # type: ignore[arg-type]  # noqa: DTZ001


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"now": naive(2025, 11, 3, 18)}, PlanInputProblem.NAIVE_TIME),
        ({"ready_by": naive(2025, 11, 4, 7)}, PlanInputProblem.NAIVE_TIME),
        ({"energy_wh": math.nan}, PlanInputProblem.INVALID_ENERGY),
        ({"energy_wh": math.inf}, PlanInputProblem.INVALID_ENERGY),
        ({"energy_wh": "10 kWh"}, PlanInputProblem.INVALID_ENERGY),
        ({"negative_price_extra_wh": -math.inf}, PlanInputProblem.INVALID_ENERGY),
        (
            {
                "prices": [
                    PriceSlot(naive(2025, 11, 3, 18), naive(2025, 11, 3, 19), 0.1)
                ]
            },
            PlanInputProblem.NAIVE_TIME,
        ),
        (
            {"prices": [PriceSlot(local(3, 19), local(3, 18), 0.1)]},
            PlanInputProblem.INVALID_SLOT,
        ),
        (
            {"prices": [PriceSlot(local(3, 18), local(3, 19), math.nan)]},
            PlanInputProblem.INVALID_SLOT,
        ),
        (
            {
                "prices": [
                    PriceSlot(local(3, 18), local(3, 20), 0.1),
                    PriceSlot(local(3, 19), local(3, 21), 0.1),
                ]
            },
            PlanInputProblem.INVALID_SLOT,
        ),
        (
            {"solar": [EnergySlot(local(3, 12), local(3, 12), 100)]},
            PlanInputProblem.INVALID_SLOT,
        ),
        (
            {"solar": [EnergySlot(local(3, 12), local(3, 13), math.nan)]},
            PlanInputProblem.INVALID_ENERGY,
        ),
        (
            {"solar": [EnergySlot(naive(2025, 11, 3, 12), local(3, 13), 100)]},
            PlanInputProblem.NAIVE_TIME,
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    changes: dict[str, Any], problem: PlanInputProblem
) -> None:
    kwargs: dict[str, Any] = {
        "now": local(3, 18),
        "ready_by": local(4, 7),
        "energy_wh": 1000,
        **changes,
    }
    with pytest.raises(PlanInputError) as error:
        plan(**kwargs)
    assert error.value.reason is problem


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_current": 16, "phases": 4},
        {"max_current": 16, "voltage": 0},
        {"max_current": 16, "current_step": 0},
        {"max_current": 16, "min_current": 0},
        {"max_current": math.nan},
        {"max_current": 16, "share_current": -1},
        {"max_current": 16, "voltage": math.inf},
    ],
)
def test_limits_no_charger_has(kwargs: dict[str, Any]) -> None:
    with pytest.raises(PlanInputError) as error:
        ChargingLimits(**kwargs)
    assert error.value.reason is PlanInputProblem.INVALID_LIMITS


def test_next_ready_time_needs_an_aware_now() -> None:
    with pytest.raises(PlanInputError) as error:
        next_ready_time(naive(2025, 11, 3, 18), time(7), AMS)
    assert error.value.reason is PlanInputProblem.NAIVE_TIME


# ------------------------------------------------------------------ blocks


def blocks_of(result: ChargingPlan) -> list[tuple[str, str, float]]:
    """The blocks as local HH:MM and energy, for readable asserts."""
    return [
        (
            f"{b.start.astimezone(AMS):%H:%M}",
            f"{b.end.astimezone(AMS):%H:%M}",
            b.energy_wh,
        )
        for b in result.blocks()
    ]


def test_back_to_back_slots_are_one_block() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(4, 7),
        energy_wh=10_000,
        prices=curve(local(3, 18), EVENING),
    )
    # Four slots (the 01:00 hour at 12 A, then 11 A), one stretch of charging.
    assert len(result.slots) == 4
    (block,) = result.blocks()
    assert blocks_of(result) == [("00:00", "03:00", pytest.approx(10_000))]
    assert block.grid_energy_wh == pytest.approx(10_000)
    assert block.cost == pytest.approx(result.cost)
    assert block.unpriced_energy_wh == 0
    assert block.average_power_w == pytest.approx(10_000 / 3)


def test_a_pause_between_slots_makes_two_blocks() -> None:
    result = plan(
        now=local(3, 18),
        ready_by=local(3, 22),
        energy_wh=2 * FULL_HOUR_WH,
        prices=curve(local(3, 18), [0.10, 0.30, 0.12, 0.40]),
    )
    assert blocks_of(result) == [
        ("18:00", "19:00", pytest.approx(FULL_HOUR_WH)),
        ("20:00", "21:00", pytest.approx(FULL_HOUR_WH)),
    ]
    first, second = result.blocks()
    assert (first.cost, second.cost) == (
        pytest.approx(3.68 * 0.10),
        pytest.approx(3.68 * 0.12),
    )


def test_quarter_hours_back_to_back_are_one_block_with_their_unpriced_energy() -> None:
    today = [0.3] * 24
    today[3] = 0.05
    result = plan(
        now=local(3, 10),
        ready_by=local(4, 7),
        energy_wh=FULL_HOUR_WH,
        prices=curve(local(3, 0), today),
    )
    # Four unknown quarter hours at 03:00 tonight (guessed cheap).
    assert len(result.slots) == 4
    (block,) = result.blocks()
    assert blocks_of(result) == [("03:00", "04:00", pytest.approx(FULL_HOUR_WH))]
    assert block.cost == 0
    assert block.unpriced_energy_wh == pytest.approx(FULL_HOUR_WH)


def test_a_block_counts_the_sun_apart_from_the_grid() -> None:
    result = plan(
        now=local(3, 8),
        ready_by=local(3, 17),
        energy_wh=6000,
        prices=curve(local(3, 8), [0.3, 0.3, 0.3, 0.3, 0.1, 0.2, 0.3, 0.3, 0.3]),
        solar=[EnergySlot(local(3, 12), local(3, 13), 2000)],
    )
    (block,) = result.blocks()
    assert block.energy_wh == pytest.approx(6000, abs=1e-3)
    assert block.grid_energy_wh == pytest.approx(4000, abs=1e-3)
    assert block.cost == pytest.approx(result.cost)


def test_a_plan_without_slots_has_no_blocks() -> None:
    done = plan(now=local(3, 18), ready_by=local(4, 7), energy_wh=0)
    assert done.blocks() == ()
