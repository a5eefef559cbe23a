"""Planned charging over a simulated year: EVSE Local's planner and the others.

**The prices** (:func:`generate_market`, seeded) imitate the Dutch
day-ahead market (EPEX SDAC, as ENTSO-e and Nord Pool publish it for the NL
zone), in EUR/kWh without taxes, for the 365 days from 1 April 2025:

- a seasonal level (dearer in winter), moved day by day by the wind (an
  AR(1) process: windy spells make whole days cheap) and by gas;
- a daily shape: a night valley around 03:30, a morning peak around 08:00
  and a higher evening peak around 19:00 (both sharper in winter, the
  morning one flatter at weekends), and a midday solar dip whose depth
  follows the sunshine of the day and the season: deep and often below zero
  on sunny spring and summer days, shallow in winter;
- a weekend effect (lower level, deeper dip), noise per hour, occasional
  evening spikes in winter; prices floor at -0.50 EUR/kWh (the market
  minimum is -500 EUR/MWh);
- hourly slots until 30 September 2025 and quarter hours from 1 October
  2025 (when the day-ahead market moved to 15-minute products); quarter
  hours wobble around their hour. Both DST changes (26 October 2025, 29
  March 2026) are in the year, so days of 23 and 25 hours occur.

Tomorrow's prices are published at 13:00 (Europe/Amsterdam); before that a
Nord Pool sensor holds today only. The planner reads the prices through
:func:`~custom_components.evse_local.energy.parse_price_attributes` from
Nord Pool-shaped attributes (``raw_today``/``raw_tomorrow`` with local
datetimes), exactly as the integration will.

**A day** (seeded): the car is plugged in at a random time, in the evening
(75 %) or in the morning before the prices for the night are out (25 %),
needs 4 to 45 kWh by a ready time the next morning (06:00-09:00), on one of
three chargers (1 x 32 A, 3 x 16 A, 1 x 16 A; minimum 6 A). A day is
*feasible* when full power from plug-in to the ready time holds the energy.

**Strategies**, each charging the same car on the same prices:

1. EVSE Local's planner with the prices as they are published: it plans
   at plug-in and again when tomorrow's prices appear (13:00); the car
   follows each plan's commands until the next plan.
2. The same planner with every price known at plug-in (the algorithm
   alone, without the information gap).
3. The planner in one continuous block.
4. Charge at once: full power from plug-in until the car has the energy.
5. ev_smart_charging's method, written here from its description: the
   number of slots N that full power needs (a constant rate), the N
   cheapest whole slots between the moment the prices cover the ready time
   and the ready time; no charging before that moment (it waits for
   tomorrow's prices); charge at full power in them until the car is full.
   Also its default, the N consecutive slots of the lowest total price.
6. The offline optimum: every price known, any power from 0 to the maximum
   in any slot. That relaxation is a linear programme with one equality
   (the energy) and box bounds per slot; filling the cheapest slots first
   solves it (an exchange argument: energy in a dearer slot while a
   cheaper one has room can always be moved there at no extra cost), and
   its value is reachable with real currents (energy below the minimum
   current in a slot is delivered at the minimum current for part of the
   slot), so it is the exact optimum of the real problem, not only a bound.

Costs are at the real price of every moment the car charges. Run alone
with ``python -m benchmarks.planner`` (writes
``benchmarks/results/planner.md``); ``python -m benchmarks`` adds the same
section to ``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import statistics
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.evse_local.energy import (
    ChargingLimits,
    PriceSlot,
    parse_price_attributes,
    plan_charging,
)

HERE = Path(__file__).resolve().parent

SEED = 20251001
ZONE = ZoneInfo("Europe/Amsterdam")
FIRST_DAY = date(2025, 4, 1)
DAYS = 365
QUARTER_HOURS_FROM = date(2025, 10, 1)
PUBLISHED_AT = time(13, 0)
PRICE_FLOOR = -0.5
MET_TOLERANCE_WH = 1.0
OPTIMUM_TARGET = 0.01  # within 1 % of the optimum

CHARGERS = {
    "1 x 32 A": ChargingLimits(max_current=32, phases=1),
    "3 x 16 A": ChargingLimits(max_current=16, phases=3),
    "1 x 16 A": ChargingLimits(max_current=16, phases=1),
}


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


# ------------------------------------------------------------------ prices


@dataclass(frozen=True, slots=True)
class Market:
    """A year of day-ahead prices, as slots (UTC) and per local day."""

    slots: tuple[PriceSlot, ...]
    days: dict[date, tuple[PriceSlot, ...]]
    _starts: list[datetime] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the starts."""
        self._starts.extend(slot.start for slot in self.slots)

    def slots_between(self, start: datetime, end: datetime) -> list[PriceSlot]:
        """The slots overlapping [start, end)."""
        index = max(0, bisect.bisect_right(self._starts, start) - 1)
        found = []
        for slot in self.slots[index:]:
            if slot.start >= end:
                break
            if slot.end > start:
                found.append(slot)
        return found

    def published(self, now: datetime) -> list[PriceSlot]:
        """What a day-ahead sensor knows at ``now``: today, and tomorrow after 13:00."""
        local = now.astimezone(ZONE)
        known = list(self.days.get(local.date(), ()))
        if local.time() >= PUBLISHED_AT:
            known += self.days.get(local.date() + timedelta(days=1), ())
        return known

    def attributes(self, now: datetime) -> dict[str, Any]:
        """Nord Pool-shaped sensor attributes at ``now`` (local datetimes)."""
        local = now.astimezone(ZONE)

        def raw(day: date) -> list[dict[str, Any]]:
            return [
                {
                    "start": slot.start.astimezone(ZONE),
                    "end": slot.end.astimezone(ZONE),
                    "value": slot.price,
                }
                for slot in self.days.get(day, ())
            ]

        tomorrow = (
            raw(local.date() + timedelta(days=1))
            if local.time() >= PUBLISHED_AT
            else []
        )
        return {
            "unit": "kWh",
            "currency": "EUR",
            "raw_today": raw(local.date()),
            "raw_tomorrow": tomorrow,
            "tomorrow_valid": bool(tomorrow),
        }

    def publication(self, day: date) -> datetime:
        """When the prices of ``day`` are published (13:00 the day before)."""
        return datetime.combine(day - timedelta(days=1), PUBLISHED_AT, ZONE).astimezone(
            UTC
        )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), ZONE).astimezone(UTC)


def generate_market(
    seed: int = SEED, first_day: date = FIRST_DAY, days: int = DAYS
) -> Market:
    """The seeded year of prices (see the module docstring)."""
    rng = random.Random(seed)
    wind = 0.0
    gas = 0.0
    by_day: dict[date, tuple[PriceSlot, ...]] = {}
    for offset in range(days + 2):  # the last days' "tomorrow" too
        day = first_day + timedelta(days=offset)
        yearly = math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
        winter = (1 + yearly) / 2  # 1 in mid January, 0 in mid July
        # The sun peaks at midsummer, demand (the level) in mid January.
        light = (
            1 + math.cos(2 * math.pi * (day.timetuple().tm_yday - 172) / 365.25)
        ) / 2
        weekend = day.weekday() >= 5
        wind = 0.7 * wind + rng.gauss(0, 0.55)
        gas = 0.97 * gas + rng.gauss(0, 0.003)
        level = (0.085 + 0.035 * winter + gas) * (1 - 0.3 * math.tanh(wind))
        level *= 0.85 if weekend else 1.0
        sunshine = min(1.0, max(0.0, rng.betavariate(2 + 3 * light, 2.5)))
        dip = level * (0.15 + 1.6 * sunshine * (0.2 + 0.8 * light))
        dip *= 1.35 if weekend else 1.0
        evening = 0.35 + 0.3 * winter
        morning = (0.3 + 0.15 * winter) * (0.5 if weekend else 1.0)
        hour_noise = [rng.gauss(0, 0.006) for _ in range(26)]
        spike_hour = rng.choice((18, 19, 20)) if rng.random() < 0.08 * winter else None
        spike = rng.uniform(0.1, 0.3)
        step = timedelta(minutes=15 if day >= QUARTER_HOURS_FROM else 60)
        start, end = _local_midnight(day), _local_midnight(day + timedelta(days=1))
        slots = []
        moment = start
        while moment < end:
            local = (moment + step / 2).astimezone(ZONE)
            hour = local.hour + local.minute / 60
            price = level * (
                1
                - 0.25 * _bump(hour, 3.5, 1.8)
                + morning * _bump(hour, 8.0, 1.2)
                + evening * _bump(hour, 19.0, 1.6)
            )
            price -= dip * _bump(hour, 13.5, 2.3)
            price += hour_noise[min(local.hour, 25)]
            if step < timedelta(hours=1):
                # Quarter hours ramp across their hour (the ramping costs
                # the market pays for), around the hourly level.
                price += 0.004 * (local.minute / 15 - 1.5) * (1 if hour < 12 else -1)
                price += rng.gauss(0, 0.003)
            if spike_hour is not None and local.hour == spike_hour:
                price += spike
            price = max(PRICE_FLOOR, round(price, 5))
            slots.append(PriceSlot(moment, moment + step, price))
            moment += step
        by_day[day] = tuple(slots)
    every = tuple(slot for day in sorted(by_day) for slot in by_day[day])
    return Market(slots=every, days=by_day)


# ------------------------------------------------------------------ days


@dataclass(frozen=True, slots=True)
class Trip:
    """One day's charge: plug-in, ready time, energy, charger."""

    day: date
    plug_in: datetime
    ready_by: datetime
    need_wh: float
    charger: str

    @property
    def limits(self) -> ChargingLimits:
        """The charger's limits."""
        return CHARGERS[self.charger]

    @property
    def full_w(self) -> float:
        """Full power."""
        return self.limits.power_w(self.limits.highest_current)

    @property
    def capacity_wh(self) -> float:
        """The most the car can get by the ready time."""
        return self.full_w * (self.ready_by - self.plug_in).total_seconds() / 3600

    @property
    def feasible(self) -> bool:
        """Whether full power from plug-in holds the energy."""
        return self.need_wh <= self.capacity_wh

    @property
    def morning(self) -> bool:
        """Plugged in before the night's prices are out."""
        return self.plug_in.astimezone(ZONE).time() < PUBLISHED_AT


def generate_trips(
    seed: int = SEED, first_day: date = FIRST_DAY, days: int = DAYS
) -> list[Trip]:
    """One seeded trip per day."""
    rng = random.Random(seed + 1)
    trips = []
    names = list(CHARGERS)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if rng.random() < 0.75:
            minutes = rng.randrange(16 * 60, 22 * 60 + 30)
        else:
            minutes = rng.randrange(8 * 60, 12 * 60 + 30)
        plug_in = datetime.combine(day, time(minutes // 60, minutes % 60), ZONE)
        ready_minutes = rng.randrange(6 * 4, 9 * 4 + 1) * 15
        ready = datetime.combine(
            day + timedelta(days=1), time(ready_minutes // 60, ready_minutes % 60), ZONE
        )
        need_kwh = rng.uniform(4, 16) if rng.random() < 0.7 else rng.uniform(16, 45)
        trips.append(
            Trip(
                day=day,
                plug_in=plug_in.astimezone(UTC),
                ready_by=ready.astimezone(UTC),
                need_wh=round(need_kwh * 1000),
                charger=names[offset % len(names)],
            )
        )
    return trips


# ------------------------------------------------------------------ charging


Segment = tuple[datetime, datetime, float]  # start, end, watts


@dataclass(slots=True)
class Charge:
    """What one strategy delivered on one day."""

    energy_wh: float = 0.0
    cost: float = 0.0
    plans: int = 0

    def met(self, trip: Trip) -> bool:
        """Whether the car got its energy."""
        return self.energy_wh >= trip.need_wh - MET_TOLERANCE_WH


def deliver(
    segments: Sequence[Segment],
    need_wh: float,
    market: Market,
    *,
    until: datetime | None = None,
) -> tuple[float, float]:
    """Charge along ``segments`` (in time order) until the car is full.

    Returns the energy and its cost at the real prices; stops at ``until``.
    """
    energy = cost = 0.0
    for start, end, watts in sorted(segments):
        stop = end if until is None else min(end, until)
        for slot in market.slots_between(start, stop):
            left = need_wh - energy
            if left <= 0:
                return energy, cost
            piece_start, piece_end = max(start, slot.start), min(stop, slot.end)
            hours = (piece_end - piece_start).total_seconds() / 3600
            take = min(left, watts * hours)
            energy += take
            cost += take / 1000 * slot.price
    return energy, cost


def charge_at_once(trip: Trip) -> list[Segment]:
    """Full power from plug-in until the energy is in."""
    hours = trip.need_wh / trip.full_w
    return [(trip.plug_in, trip.plug_in + timedelta(hours=hours), trip.full_w)]


def optimum(market: Market, trip: Trip) -> list[Segment]:
    """The offline optimum (see the module docstring for why)."""
    pieces = []
    for slot in market.slots_between(trip.plug_in, trip.ready_by):
        start, end = max(slot.start, trip.plug_in), min(slot.end, trip.ready_by)
        room = trip.full_w * (end - start).total_seconds() / 3600
        pieces.append((slot.price, start, end, room))
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    left = trip.need_wh
    segments = []
    for _, start, _end, room in pieces:
        if left <= 0:
            break
        take = min(room, left)
        segments.append(
            (start, start + timedelta(hours=take / trip.full_w), trip.full_w)
        )
        left -= take
    return segments


def _decision_time(market: Market, trip: Trip) -> datetime | None:
    """When a day-ahead sensor first covers the ready time (or never)."""
    moments = [trip.plug_in]
    day = trip.plug_in.astimezone(ZONE).date() + timedelta(days=1)
    while (published := market.publication(day)) < trip.ready_by:
        if published > trip.plug_in:
            moments.append(published)
        day += timedelta(days=1)
    for moment in moments:
        known = market.published(moment)
        if known and known[-1].end >= trip.ready_by:
            return moment
    return None


def n_cheapest(
    market: Market, trip: Trip, *, consecutive: bool = False
) -> list[Segment]:
    """ev_smart_charging's method (see the module docstring)."""
    decided = _decision_time(market, trip)
    if decided is None:
        return []
    whole = [
        slot
        for slot in market.published(decided)
        if slot.start >= decided and slot.end <= trip.ready_by
    ]

    def room(slot: PriceSlot) -> float:
        return trip.full_w * slot.duration.total_seconds() / 3600

    chosen: list[PriceSlot] = []
    if consecutive:
        best: tuple[float, int, int] | None = None
        for first in range(len(whole)):
            total, last = 0.0, first
            while last < len(whole) and total < trip.need_wh:
                total += room(whole[last])
                last += 1
            if total < trip.need_wh:
                break
            price = sum(slot.price for slot in whole[first:last])
            if best is None or price < best[0]:
                best = (price, first, last)
        chosen = whole[best[1] : best[2]] if best is not None else whole
    else:
        total = 0.0
        for slot in sorted(whole, key=lambda slot: (slot.price, slot.start)):
            if total >= trip.need_wh:
                break
            chosen.append(slot)
            total += room(slot)
    return [(slot.start, slot.end, trip.full_w) for slot in chosen]


def run_planner(
    market: Market,
    trip: Trip,
    *,
    continuous: bool = False,
    informed: bool = False,
    timings: list[float] | None = None,
) -> Charge:
    """The planner online: a plan at plug-in, a re-plan at each publication."""
    events = [trip.plug_in]
    if not informed:
        day = trip.plug_in.astimezone(ZONE).date() + timedelta(days=1)
        while (published := market.publication(day)) < trip.ready_by:
            if published > trip.plug_in:
                events.append(published)
            day += timedelta(days=1)
    result = Charge()
    for index, now in enumerate(events):
        left = trip.need_wh - result.energy_wh
        if left <= MET_TOLERANCE_WH / 2:
            break
        if informed:
            slots: Sequence[PriceSlot] = market.slots_between(
                now - timedelta(days=1), trip.ready_by
            )
        else:
            slots = parse_price_attributes(market.attributes(now), tz=ZONE).slots
        started = clock.perf_counter()
        plan = plan_charging(
            now=now,
            ready_by=trip.ready_by,
            energy_wh=left,
            limits=trip.limits,
            prices=slots,
            continuous=continuous,
        )
        if timings is not None:
            timings.append(clock.perf_counter() - started)
        result.plans += 1
        until = events[index + 1] if index + 1 < len(events) else None
        energy, cost = deliver(
            [(s.start, s.end, s.power_w) for s in plan.slots], left, market, until=until
        )
        result.energy_wh += energy
        result.cost += cost
    return result


def run_schedule(market: Market, trip: Trip, segments: Sequence[Segment]) -> Charge:
    """A fixed schedule, followed until the car is full."""
    energy, cost = deliver(segments, trip.need_wh, market)
    return Charge(energy_wh=energy, cost=cost, plans=1)


# ------------------------------------------------------------------ the year

OURS = "EVSE Local planner (prices as published)"
INFORMED = "EVSE Local planner (all prices known at plug-in)"
BLOCK = "EVSE Local planner, one block"
AT_ONCE = "Charge at once"
CHEAPEST = "N cheapest slots (ev_smart_charging method)"
CHEAPEST_BLOCK = "N cheapest consecutive slots (ev_smart_charging default)"
OPTIMUM = "Offline optimum"
STRATEGIES = (OURS, INFORMED, BLOCK, AT_ONCE, CHEAPEST, CHEAPEST_BLOCK, OPTIMUM)


@dataclass(slots=True)
class PlannerResults:
    """The year: every strategy's charge on every day."""

    seed: int
    trips: list[Trip]
    charges: dict[str, list[Charge]]
    negative_slots: int
    slots: int
    quarter_hour_days: int
    dst_days: int
    plan_times_s: list[float]
    duration_s: float


def measure_planner(seed: int = SEED, days: int = DAYS) -> PlannerResults:
    """Generate the year and charge every day with every strategy."""
    started = clock.perf_counter()
    market = generate_market(seed, days=days)
    trips = generate_trips(seed, days=days)
    timings: list[float] = []
    runners: dict[str, Callable[[Trip], Charge]] = {
        OURS: lambda trip: run_planner(market, trip, timings=timings),
        INFORMED: lambda trip: run_planner(market, trip, informed=True),
        BLOCK: lambda trip: run_planner(market, trip, continuous=True),
        AT_ONCE: lambda trip: run_schedule(market, trip, charge_at_once(trip)),
        CHEAPEST: lambda trip: run_schedule(market, trip, n_cheapest(market, trip)),
        CHEAPEST_BLOCK: lambda trip: run_schedule(
            market, trip, n_cheapest(market, trip, consecutive=True)
        ),
        OPTIMUM: lambda trip: run_schedule(market, trip, optimum(market, trip)),
    }
    charges = {name: [runners[name](trip) for trip in trips] for name in STRATEGIES}
    year = [slot for day in sorted(market.days)[:days] for slot in market.days[day]]
    lengths = {
        day: sum((s.duration for s in market.days[day]), timedelta())
        for day in market.days
    }
    return PlannerResults(
        seed=seed,
        trips=trips,
        charges=charges,
        negative_slots=sum(1 for slot in year if slot.price < 0),
        slots=len(year),
        quarter_hour_days=sum(
            1
            for day in sorted(market.days)[:days]
            if market.days[day][0].duration < timedelta(hours=1)
        ),
        dst_days=sum(
            1
            for day in sorted(market.days)[:days]
            if lengths[day] != timedelta(hours=24)
        ),
        plan_times_s=timings,
        duration_s=clock.perf_counter() - started,
    )


# ------------------------------------------------------------------ report


@dataclass(frozen=True, slots=True)
class Summary:
    """One strategy over a set of days."""

    days: int
    met: int
    cost: float
    energy_kwh: float
    within_target: int
    worst_gap: float


def summarise(
    results: PlannerResults, name: str, keep: Callable[[Trip], bool]
) -> Summary:
    """Totals over the days ``keep`` selects, against the optimum."""
    days = [i for i, trip in enumerate(results.trips) if keep(trip)]
    ours = results.charges[name]
    best = results.charges[OPTIMUM]
    within = 0
    worst = 0.0
    for index in days:
        gap = ours[index].cost - best[index].cost
        if gap <= OPTIMUM_TARGET * abs(best[index].cost) + 1e-6:
            within += 1
        worst = max(worst, gap)
    return Summary(
        days=len(days),
        met=sum(1 for i in days if ours[i].met(results.trips[i])),
        cost=sum(ours[i].cost for i in days),
        energy_kwh=sum(ours[i].energy_wh for i in days) / 1000,
        within_target=within,
        worst_gap=worst,
    )


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _yes(condition: bool) -> str:
    return "yes" if condition else "**no**"


def planner_section(results: PlannerResults) -> list[str]:
    """The Markdown section: tables, targets, how it was made."""
    trips = results.trips
    feasible = [trip for trip in trips if trip.feasible]
    morning = [trip for trip in feasible if trip.morning]

    def is_feasible(trip: Trip) -> bool:
        return trip.feasible

    sums = {name: summarise(results, name, is_feasible) for name in STRATEGIES}
    at_once = sums[AT_ONCE].cost
    best = sums[OPTIMUM].cost
    header = [
        "Strategy",
        "Target met (feasible days)",
        "Cost (EUR)",
        "Saving vs charge at once",
        "Above the optimum",
        "Days within 1 % of the optimum",
        "Worst day above the optimum (EUR)",
    ]
    rows = []
    for name in STRATEGIES:
        item = sums[name]
        rows.append(
            [
                name,
                f"{item.met} / {item.days}",
                f"{item.cost:.2f}",
                _pct(at_once - item.cost, at_once),
                _pct(item.cost - best, abs(best)),
                f"{item.within_target} / {item.days}",
                f"{item.worst_gap:.2f}",
            ]
        )

    def for_days(name: str, keep: Callable[[Trip], bool]) -> Summary:
        return summarise(results, name, keep)

    evening_ours = for_days(OURS, lambda t: t.feasible and not t.morning)
    evening_best = for_days(OPTIMUM, lambda t: t.feasible and not t.morning)
    morning_ours = for_days(OURS, lambda t: t.feasible and t.morning)
    morning_best = for_days(OPTIMUM, lambda t: t.feasible and t.morning)
    infeasible = [i for i, trip in enumerate(trips) if not trip.feasible]
    infeasible_max = sum(
        results.charges[OURS][i].energy_wh >= trips[i].capacity_wh - MET_TOLERANCE_WH
        for i in infeasible
    )
    times_us = sorted(t * 1e6 for t in results.plan_times_s)
    p95 = times_us[min(len(times_us) - 1, int(0.95 * len(times_us)))]
    ours, informed = sums[OURS], sums[INFORMED]
    return [
        "## Planned charging: a simulated year of day-ahead prices",
        "",
        (
            f"{len(trips)} days (seed {results.seed}) from {FIRST_DAY:%d %B %Y}, "
            f"Europe/Amsterdam: {results.slots:,} price slots "
            f"({results.quarter_hour_days} days in quarter hours, "
            f"{results.dst_days} DST days), {results.negative_slots} of them "
            f"below zero. {len(feasible)} feasible days ({len(morning)} with "
            f"the car plugged in before the night's prices were out), "
            f"{len(infeasible)} where even full power could not make it. "
            f"{len(results.plan_times_s)} plans, median "
            f"{statistics.median(times_us):.0f} µs, p95 {p95:.0f} µs per plan; "
            f"the whole year with every strategy took {results.duration_s:.1f} s."
        ),
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        "| Target | Met? |",
        "| --- | --- |",
        f"| Target met on 100 % of feasible days (prices as published) | {_yes(ours.met == ours.days)} |",
        f"| Cost within 1 % of the optimum, all prices known at plug-in (the algorithm) | {_yes(informed.cost - best <= OPTIMUM_TARGET * abs(best))} |",
        f"| Cost within 1 % of the optimum, prices as published | {_yes(ours.cost - best <= OPTIMUM_TARGET * abs(best))} |",
        f"| Infeasible days: as much as full power gives | {_yes(infeasible_max == len(infeasible))} ({infeasible_max} / {len(infeasible)}) |",
        "",
        (
            f"- Where the gap comes from: on the {evening_ours.days} evening "
            f"plug-ins (prices known up to the ready time) the planner paid "
            f"{evening_ours.cost:.2f} EUR against an optimum of "
            f"{evening_best.cost:.2f} EUR; on the {morning_ours.days} morning "
            f"plug-ins {morning_ours.cost:.2f} EUR against "
            f"{morning_best.cost:.2f} EUR: until 13:00 it has to guess the "
            "night (it takes yesterday's prices at the same time as the guess, "
            "then re-plans)."
        ),
        (
            "- The planner reads Nord Pool-shaped attributes through "
            "`parse_price_attributes`, plans with `plan_charging` (whole amps, "
            "6 A minimum) and the car follows the plan's segments; costs are at "
            "the real price of every minute charged. The references charge at "
            "full power in their slots until the car is full."
        ),
        (
            "- The N-cheapest method does not charge before the prices cover "
            "the ready time (ev_smart_charging waits for tomorrow's prices) and "
            "takes whole slots only, so it misses a day that needed the rest of "
            "the slot the car was plugged in during; a partly used slot is the "
            "chronologically last one, not the dearest."
        ),
        "- Times are wall-clock on this machine: reported, never asserted.",
    ]


def markdown(results: PlannerResults) -> str:
    """``benchmarks/results/planner.md``."""
    return "\n".join(
        ["# Benchmarks: planned charging", "", *planner_section(results), ""]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the year, print the tables, write ``results/planner.md``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.planner")
    parser.add_argument("--seed", type=int, default=SEED, help="prices and days seed")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; write no files"
    )
    args = parser.parse_args(argv)
    results = measure_planner(args.seed)
    text = markdown(results)
    print(text)
    if not args.no_write:
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / "planner.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
