"""The planner benchmark's own pieces: prices, days, references, the year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from benchmarks.planner import (
    AT_ONCE,
    CHEAPEST,
    FIRST_DAY,
    INFORMED,
    OPTIMUM,
    OURS,
    PRICE_FLOOR,
    QUARTER_HOURS_FROM,
    STRATEGIES,
    ZONE,
    Market,
    Trip,
    charge_at_once,
    deliver,
    generate_market,
    generate_trips,
    markdown,
    measure_planner,
    n_cheapest,
    optimum,
    run_planner,
    run_schedule,
    summarise,
)
from custom_components.evse_local.energy import PriceSlot, parse_price_attributes

HOUR = timedelta(hours=1)


def test_the_year_of_prices_is_deterministic_and_plausible() -> None:
    market = generate_market(7)
    assert market == generate_market(7)
    assert generate_market(8).slots != market.slots
    days = sorted(market.days)
    assert days[0] == FIRST_DAY
    for left, right in zip(market.slots, market.slots[1:], strict=False):
        assert left.end == right.start
    lengths = {
        day: sum((s.duration for s in market.days[day]), timedelta()) for day in days
    }
    assert lengths[date(2025, 10, 26)] == 25 * HOUR
    assert lengths[date(2026, 3, 29)] == 23 * HOUR
    assert {s.duration for s in market.days[date(2025, 9, 30)]} == {HOUR}
    assert {s.duration for s in market.days[QUARTER_HOURS_FROM]} == {
        timedelta(minutes=15)
    }
    prices = [slot.price for slot in market.slots]
    assert min(prices) >= PRICE_FLOOR
    # Some negative prices, mostly at midday, a spot-like average.
    negative = [slot for slot in market.slots if slot.price < 0]
    assert 0.005 < len(negative) / len(prices) < 0.1
    assert all(9 <= slot.start.astimezone(ZONE).hour <= 17 for slot in negative)
    assert 0.05 < sum(prices) / len(prices) < 0.15


def test_what_the_sensor_knows_when() -> None:
    market = generate_market(days=3)
    morning = datetime(2025, 4, 2, 12, 59, tzinfo=ZONE)
    afternoon = datetime(2025, 4, 2, 13, 0, tzinfo=ZONE)
    assert market.published(morning) == list(market.days[date(2025, 4, 2)])
    assert market.published(afternoon) == [
        *market.days[date(2025, 4, 2)],
        *market.days[date(2025, 4, 3)],
    ]
    # Through the integration's parser, as the planner reads them.
    for moment in (morning, afternoon):
        attributes = market.attributes(moment)
        assert attributes["tomorrow_valid"] is (moment == afternoon)
        parsed = parse_price_attributes(attributes)
        assert list(parsed.slots) == market.published(moment)
    assert market.publication(date(2025, 4, 3)) == afternoon.astimezone(UTC)


def test_the_days_are_deterministic_and_sensible() -> None:
    trips = generate_trips(3, days=50)
    assert trips == generate_trips(3, days=50)
    for trip in trips:
        assert trip.plug_in < trip.ready_by
        assert trip.ready_by - trip.plug_in < timedelta(hours=25)
        assert 4000 <= trip.need_wh <= 45_000
        assert 6 <= trip.ready_by.astimezone(ZONE).hour <= 9
    assert any(trip.morning for trip in trips)
    assert any(not trip.morning for trip in trips)


def small_market(prices: list[float], start: datetime) -> Market:
    slots = tuple(
        PriceSlot(start + i * HOUR, start + (i + 1) * HOUR, price)
        for i, price in enumerate(prices)
    )
    return Market(slots=slots, days={start.astimezone(ZONE).date(): slots})


EVENING = datetime(2025, 4, 1, 16, tzinfo=UTC)  # 18:00 in Amsterdam


def trip(need_wh: float, hours: int, charger: str = "1 x 16 A") -> Trip:
    return Trip(
        day=date(2025, 4, 1),
        plug_in=EVENING,
        ready_by=EVENING + hours * HOUR,
        need_wh=need_wh,
        charger=charger,
    )


def test_deliver_stops_when_the_car_is_full_or_at_until() -> None:
    market = small_market([0.1, 0.2, 0.3], EVENING)
    segments = [(EVENING, EVENING + 3 * HOUR, 1000.0)]
    assert deliver(segments, 1500, market) == pytest.approx((1500, 0.1 + 0.5 * 0.2))
    assert deliver(segments, 5000, market) == pytest.approx((3000, 0.6))
    assert deliver(segments, 5000, market, until=EVENING + HOUR) == pytest.approx(
        (1000, 0.1)
    )


def test_references_on_a_hand_made_evening() -> None:
    market = small_market([0.3, 0.1, 0.2, 0.05], EVENING)
    day = trip(1.5 * 3680, 4)
    assert run_schedule(market, day, charge_at_once(day)).cost == pytest.approx(
        3.68 * 0.3 + 1.84 * 0.1
    )
    best = run_schedule(market, day, optimum(market, day))
    assert best.cost == pytest.approx(3.68 * 0.05 + 1.84 * 0.1)
    assert best.met(day)
    # Two whole slots, charged in time order until full: the 0.1 hour
    # fully, then half of the 0.05 one.
    cheapest = run_schedule(market, day, n_cheapest(market, day))
    assert cheapest.cost == pytest.approx(3.68 * 0.1 + 1.84 * 0.05)
    consecutive = run_schedule(market, day, n_cheapest(market, day, consecutive=True))
    assert consecutive.cost == pytest.approx(3.68 * 0.2 + 1.84 * 0.05)
    ours = run_planner(market, day, informed=True)
    assert ours.cost == pytest.approx(best.cost)
    assert ours.plans == 1


def test_n_cheapest_uses_only_whole_slots_and_may_miss() -> None:
    market = small_market([0.3, 0.1, 0.2, 0.05], EVENING)
    late = Trip(
        day=date(2025, 4, 1),
        plug_in=EVENING + timedelta(minutes=30),
        ready_by=EVENING + 4 * HOUR,
        need_wh=3.2 * 3680,
        charger="1 x 16 A",
    )
    assert late.feasible
    charge = run_schedule(market, late, n_cheapest(market, late))
    assert not charge.met(late)
    assert charge.energy_wh == pytest.approx(3 * 3680)
    # Not enough consecutive slots either: it takes them all.
    consecutive = n_cheapest(market, late, consecutive=True)
    assert len(consecutive) == 3


def test_n_cheapest_waits_for_the_prices() -> None:
    market = generate_market(days=3)
    morning = Trip(
        day=date(2025, 4, 2),
        plug_in=datetime(2025, 4, 2, 9, tzinfo=ZONE).astimezone(UTC),
        ready_by=datetime(2025, 4, 3, 7, tzinfo=ZONE).astimezone(UTC),
        need_wh=10_000,
        charger="1 x 32 A",
    )
    segments = n_cheapest(market, morning)
    assert min(start for start, _, _ in segments) >= market.publication(
        date(2025, 4, 3)
    )
    never = Trip(
        day=date(2025, 4, 2),
        plug_in=morning.plug_in,
        ready_by=morning.ready_by + timedelta(days=5),
        need_wh=10_000,
        charger="1 x 32 A",
    )
    assert n_cheapest(market, never) == []


def test_a_morning_plug_in_is_planned_twice() -> None:
    market = generate_market(days=3)
    morning = Trip(
        day=date(2025, 4, 2),
        plug_in=datetime(2025, 4, 2, 9, tzinfo=ZONE).astimezone(UTC),
        ready_by=datetime(2025, 4, 3, 7, tzinfo=ZONE).astimezone(UTC),
        need_wh=20_000,
        charger="1 x 16 A",
    )
    timings: list[float] = []
    charge = run_planner(market, morning, timings=timings)
    assert charge.plans == 2
    assert len(timings) == 2
    assert charge.met(morning)
    best = run_schedule(market, morning, optimum(market, morning))
    assert charge.cost >= best.cost - 1e-9


def test_a_short_year_meets_the_targets() -> None:
    results = measure_planner(days=40)
    assert set(results.charges) == set(STRATEGIES)
    feasible = summarise(results, OURS, lambda trip: trip.feasible)
    assert feasible.met == feasible.days > 30
    informed = summarise(results, INFORMED, lambda trip: trip.feasible)
    best = summarise(results, OPTIMUM, lambda trip: trip.feasible)
    assert informed.within_target == informed.days
    assert informed.cost == pytest.approx(best.cost, abs=1e-6)
    at_once = summarise(results, AT_ONCE, lambda trip: trip.feasible)
    cheapest = summarise(results, CHEAPEST, lambda trip: trip.feasible)
    assert best.cost <= feasible.cost <= cheapest.cost <= at_once.cost
    text = markdown(results)
    assert (
        "| Target met on 100 % of feasible days (prices as published) | yes |" in text
    )
    assert "40 days (seed" in text
