"""Planned charging: the cheapest way to give the car X Wh by a ready time.

Plain Python, no Home Assistant. :func:`plan_charging` takes the time now,
the ready-by time, the energy still needed (:func:`energy_for_soc` turns a
state of charge into it), what the charger really gets
(:class:`ChargingLimits`), price slots (:mod:`.prices`) and, optionally,
the solar energy the car is expected to take per period; it returns a
frozen :class:`ChargingPlan` whose :meth:`~ChargingPlan.command_at` says
what the charger should do at any moment. Re-planning is calling it again
with new inputs (tomorrow's prices, a slower car, a late plug-in, another
target): a pure function, a fraction of a millisecond for two days of quarter
hours (``python -m benchmarks.planner`` measures it).

How it chooses
--------------
The time from now to the ready time is cut into intervals: the price slots
and, where the sensor has no price, quarter hours of unknown price. In
interval i the charger can take up to P_max·d_i (P = phases x voltage x
current, the current between the car's minimum and min(charger maximum,
group share) on the ``current_step`` grid); s_i of it is expected from the
sun and is free. The plan buys g_i in [0, P_max·d_i - s_i] from the grid,
Σ g_i = max(0, E - Σ s_i), at the lowest Σ price_i·g_i.

That is a linear programme with one equality and box bounds (a fractional
knapsack): filling the cheapest intervals first is optimal (moving energy
from a dearer interval to a cheaper one with room never costs more, so an
optimum can have no cheaper interval with room while a dearer one is used),
and at most one interval is filled partly. The minimum current does not
make it harder: energy below P_min·d_i is delivered at the minimum current
for part of the interval, so every g_i in the box is reachable. An
interval's energy becomes at most two segments of constant current on the
step grid (17.4 A on average: 18 A, then 17 A), exact and without a pause,
or one segment at the minimum current set against a charging neighbour.

With ``continuous=True`` the plan is one block at full power: the cheapest
window [t0, t1] that holds the energy. Its cost is linear in t0 between
the moments where t0 or t1 crosses an interval edge, so an optimum has t0
or t1 on an edge; both families are tried with prefix sums and bisection.

Documented choices
------------------
- Ties: the earlier interval wins (sorted by price, then start).
- Unknown prices: an interval without a price is still usable, so a plan
  never depends on prices arriving. For ranking it takes the price of the
  same moment 24 hours earlier when the forecast still holds it (day-ahead
  prices repeat their daily shape; the real prices replace the guess when
  they are published, and the caller re-plans); otherwise it ranks after
  every known price, earliest first. Its energy is not in
  :attr:`ChargingPlan.cost`; :attr:`ChargingPlan.unpriced_energy_wh` says how
  much there is. Any unknown interval before the ready time makes the
  state ``waiting_for_prices``.
- Negative prices are taken first like any cheap slot, but never for more
  energy than needed unless ``negative_price_extra_wh`` allows it (the room
  in the battery the user lets us fill while being paid to charge; not in
  one block, which holds exactly the energy needed).
- Too little time: every interval at full power from now ("as much as
  possible, as early as needed"), ``cannot_meet_target`` /
  ``not_enough_time``.
- Ready time now or past: charge at once at full power until the energy is
  in (``cannot_meet_target`` / ``ready_time_passed``); the car never
  silently stays uncharged.
- Group share or charger maximum below the car's minimum: nothing can be
  charged (``current_too_low``).
- Solar: ``solar`` is the energy the car is expected to take from surplus
  in each period (the caller applies the minimum current). It counts first,
  spread evenly over its period, and takes room from the grid in the same
  interval; its share is counted per interval. Intervals the sun alone
  fills are not in :attr:`ChargingPlan.slots` (the solar controller runs
  then).
- All times out are aware UTC; inputs may be in any zone (DST is just UTC
  arithmetic).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from .allocation import J1772_MIN_CURRENT
from .prices import PriceSlot

EPSILON_WH = 1e-6
# Stretches without prices are cut in quarter hours so that "earliest
# first" fills them at full power from the start.
UNKNOWN_SLOT = timedelta(minutes=15)
ESTIMATE_LAG = timedelta(hours=24)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_STEP_TOLERANCE = 1e-9


class PlanState(StrEnum):
    """What the plan amounts to (the plan state sensor)."""

    PLANNED = "planned"
    WAITING_FOR_PRICES = "waiting_for_prices"
    """Planned, but prices are missing before the ready time."""
    CANNOT_MEET_TARGET = "cannot_meet_target"
    DONE = "done"


class PlanReason(StrEnum):
    """Why (a translation key for the state's explanation)."""

    NONE = "none"
    TARGET_REACHED = "target_reached"
    SOLAR_COVERS_TARGET = "solar_covers_target"
    PRICES_MISSING = "prices_missing"
    NO_PRICES = "no_prices"
    NOT_ENOUGH_TIME = "not_enough_time"
    READY_TIME_PASSED = "ready_time_passed"
    CURRENT_TOO_LOW = "current_too_low"


class PlanInputProblem(StrEnum):
    """What is wrong with the planner's input (a translation key)."""

    NAIVE_TIME = "plan_naive_time"
    INVALID_ENERGY = "plan_invalid_energy"
    INVALID_LIMITS = "plan_invalid_limits"
    INVALID_SLOT = "plan_invalid_slot"
    INVALID_SOC = "plan_invalid_soc"


class PlanInputError(ValueError):
    """Input the planner cannot work with; ``reason`` says what."""

    def __init__(self, reason: PlanInputProblem, detail: str) -> None:
        """Keep the reason for the translated message."""
        super().__init__(detail)
        self.reason = reason


def _finite(value: float, minimum: float = 0.0) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= minimum


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingLimits:
    """What the charger can really deliver; currents per phase.

    ``max_current`` is the charger's (or cable's) maximum, ``share_current``
    the group's share of the circuit when the charger is in a group; the
    lower one counts. ``min_current`` is the car's minimum (6 A on a J1772
    pilot). Chargers take whole amps: ``current_step`` 1.
    """

    max_current: float
    share_current: float | None = None
    min_current: float = J1772_MIN_CURRENT
    phases: int = 1
    voltage: float = 230.0
    current_step: float = 1.0

    def __post_init__(self) -> None:
        """Refuse limits no charger has."""
        share_ok = self.share_current is None or _finite(self.share_current)
        if not (
            self.phases in (1, 2, 3)
            and _finite(self.voltage)
            and self.voltage > 0
            and _finite(self.current_step)
            and self.current_step > 0
            and _finite(self.min_current)
            and self.min_current > 0
            and _finite(self.max_current)
            and share_ok
        ):
            raise PlanInputError(PlanInputProblem.INVALID_LIMITS, repr(self))

    @property
    def watts_per_amp(self) -> float:
        """Power per amp of per-phase current."""
        return self.phases * self.voltage

    @property
    def highest_current(self) -> float:
        """The most the car gets: min(max, share), down to the step grid."""
        top = self.max_current
        if self.share_current is not None:
            top = min(top, self.share_current)
        return _floor_step(top, self.current_step)

    @property
    def lowest_current(self) -> float:
        """The least a charging car may get, up to the step grid."""
        return _ceil_step(self.min_current, self.current_step)

    @property
    def can_charge(self) -> bool:
        """Whether the share/maximum reaches the car's minimum."""
        return self.highest_current >= self.lowest_current

    def power_w(self, current: float) -> float:
        """Watts at ``current`` amps per phase."""
        return self.watts_per_amp * current


def _floor_step(value: float, step: float) -> float:
    return math.floor(value / step + _STEP_TOLERANCE) * step


def _ceil_step(value: float, step: float) -> float:
    return math.ceil(value / step - _STEP_TOLERANCE) * step


@dataclass(frozen=True, slots=True)
class EnergySlot:
    """Energy expected over a period (the car's share of solar surplus)."""

    start: datetime
    end: datetime
    energy_wh: float


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """A stretch of constant current; ``price``/``cost`` None when unknown."""

    start: datetime
    end: datetime
    current: float
    power_w: float
    energy_wh: float
    """Into the car, solar included."""
    grid_energy_wh: float
    price: float | None
    cost: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (an action response, a sensor attribute)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "current": self.current,
            "power_w": round(self.power_w, 1),
            "energy_wh": round(self.energy_wh, 1),
            "price": self.price,
            "cost": None if self.cost is None else round(self.cost, 4),
        }


@dataclass(frozen=True, slots=True)
class ChargingBlock:
    """Uninterrupted charging: back-to-back slots, whatever their currents."""

    start: datetime
    end: datetime
    energy_wh: float
    """Into the car, solar included."""
    grid_energy_wh: float
    cost: float
    """Of the grid energy with a known price."""
    unpriced_energy_wh: float
    """Grid energy in slots without a price yet (not in ``cost``)."""

    @property
    def average_power_w(self) -> float:
        """Energy over the block's length."""
        return self.energy_wh * 3600 / (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class ChargeCommand:
    """What the charger should do now: ``current`` amps (0 = pause)."""

    current: float
    until: datetime | None
    """When the command changes next (None: never again in this plan)."""

    @property
    def charge(self) -> bool:
        """Whether to charge."""
        return self.current > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingPlan:
    """A plan: the segments to charge in and what they are expected to do."""

    state: PlanState
    reason: PlanReason
    created: datetime
    ready_by: datetime
    needed_wh: float
    continuous: bool = False
    slots: tuple[PlannedSlot, ...] = ()
    solar_wh: float = 0.0
    """Expected from the sun by the ready time."""
    grid_energy_wh: float = 0.0
    """To be bought (the slots' grid energy)."""
    cost: float = 0.0
    """Expected cost of the grid energy with a known price."""
    unpriced_energy_wh: float = 0.0
    """Grid energy in slots without a price yet (not in ``cost``)."""
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the segments for :meth:`command_at`."""
        object.__setattr__(self, "_starts", tuple(s.start for s in self.slots))

    @property
    def energy_wh(self) -> float:
        """Expected into the car by the ready time: grid and sun."""
        return self.grid_energy_wh + self.solar_wh

    @property
    def shortfall_wh(self) -> float:
        """What the plan expects to miss (0 unless the target cannot be met)."""
        return max(0.0, self.needed_wh - self.energy_wh)

    @property
    def next_start(self) -> datetime | None:
        """When charging starts (now, if it starts at once)."""
        return self.slots[0].start if self.slots else None

    def blocks(self) -> tuple[ChargingBlock, ...]:
        """Return the slots merged where one ends as the next starts.

        A plan's hour at 17.4 A is two slots (18 A, then 17 A) and quarter
        hours back to back are one per quarter: for a person (a calendar's
        events) it is one stretch of charging.
        """
        blocks: list[ChargingBlock] = []
        for slot in self.slots:
            unpriced = slot.grid_energy_wh if slot.cost is None else 0.0
            if blocks and slot.start <= blocks[-1].end:
                last = blocks[-1]
                blocks[-1] = ChargingBlock(
                    start=last.start,
                    end=slot.end,
                    energy_wh=last.energy_wh + slot.energy_wh,
                    grid_energy_wh=last.grid_energy_wh + slot.grid_energy_wh,
                    cost=last.cost + (slot.cost or 0.0),
                    unpriced_energy_wh=last.unpriced_energy_wh + unpriced,
                )
                continue
            blocks.append(
                ChargingBlock(
                    start=slot.start,
                    end=slot.end,
                    energy_wh=slot.energy_wh,
                    grid_energy_wh=slot.grid_energy_wh,
                    cost=slot.cost or 0.0,
                    unpriced_energy_wh=unpriced,
                )
            )
        return tuple(blocks)

    def command_at(self, moment: datetime) -> ChargeCommand:
        """Charge at X A, or pause, at ``moment`` (aware)."""
        at = moment.astimezone(UTC)
        index = bisect.bisect_right(self._starts, at) - 1
        if index >= 0 and at < self.slots[index].end:
            current = self.slots[index].current
            end = self.slots[index].end
            for later in self.slots[index + 1 :]:
                if later.start != end or later.current != current:
                    break
                end = later.end
            return ChargeCommand(current, end)
        following = index + 1
        until = self.slots[following].start if following < len(self.slots) else None
        return ChargeCommand(0.0, until)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``set_plan`` response)."""
        return {
            "state": str(self.state),
            "reason": str(self.reason),
            "ready_by": self.ready_by.isoformat(),
            "needed_wh": round(self.needed_wh, 1),
            "energy_wh": round(self.energy_wh, 1),
            "solar_wh": round(self.solar_wh, 1),
            "cost": round(self.cost, 4),
            "unpriced_energy_wh": round(self.unpriced_energy_wh, 1),
            "next_start": None
            if self.next_start is None
            else self.next_start.isoformat(),
            "slots": [slot.as_dict() for slot in self.slots],
        }


# ------------------------------------------------------------------ helpers


def energy_for_soc(
    soc: float, target_soc: float, battery_kwh: float, *, efficiency: float = 0.9
) -> float:
    """Wh the charger must deliver to take the car from ``soc`` to the target.

    Percentages 0-100; ``efficiency`` is the share of the charger's energy
    that reaches the battery (AC charging loses about 10 %). Never negative.
    """
    if not (
        _finite(soc)
        and _finite(target_soc)
        and soc <= 100
        and target_soc <= 100
        and _finite(battery_kwh)
        and battery_kwh > 0
        and _finite(efficiency)
        and 0 < efficiency <= 1
    ):
        raise PlanInputError(
            PlanInputProblem.INVALID_SOC,
            f"soc {soc} -> {target_soc} %, {battery_kwh} kWh, efficiency {efficiency}",
        )
    return max(0.0, (target_soc - soc) / 100 * battery_kwh * 1000 / efficiency)


def next_ready_time(now: datetime, at: time, tz: tzinfo) -> datetime:
    """Return the next ``at`` (local wall time in ``tz``) after ``now``.

    On the day clocks go forward a time in the skipped hour moves with the
    clock (02:30 is 03:30); on the day they go back the first one counts.
    """
    local = _aware(now, "now").astimezone(tz)
    day = local.date()
    while True:
        candidate = datetime.combine(day, at.replace(tzinfo=None, fold=0), tz)
        if candidate.astimezone(UTC) > local.astimezone(UTC):
            return candidate.astimezone(UTC).astimezone(tz)
        day += timedelta(days=1)


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise PlanInputError(
            PlanInputProblem.NAIVE_TIME, f"{name} must be an aware datetime"
        )
    return moment.astimezone(UTC)


def _energy(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise PlanInputError(PlanInputProblem.INVALID_ENERGY, f"{name} = {value!r}")
    return max(0.0, float(value))


def _ceil_microseconds(seconds: float) -> timedelta:
    return timedelta(microseconds=math.ceil(seconds * 1e6 - 1e-6))


# ------------------------------------------------------------------ intervals


@dataclass(slots=True)
class _Interval:
    start: datetime
    end: datetime
    seconds: float
    price: float | None
    rank: float | None
    """The price, or for an unknown one the estimate (None: no estimate)."""
    solar_wh: float = 0.0
    room_wh: float = 0.0
    grid_wh: float = 0.0

    def key(self) -> tuple[int, float, int, datetime]:
        if self.price is not None:
            return (0, self.price, 0, self.start)
        if self.rank is not None:
            return (0, self.rank, 1, self.start)
        return (1, 0.0, 1, self.start)


def _checked_prices(prices: Iterable[PriceSlot]) -> list[PriceSlot]:
    slots = []
    for slot in prices:
        checked = slot
        # Slots from prices.py are UTC already: the common case stays cheap.
        if slot.start.tzinfo is not UTC or slot.end.tzinfo is not UTC:
            checked = PriceSlot(
                _aware(slot.start, "slot start"),
                _aware(slot.end, "slot end"),
                slot.price,
            )
        if checked.end <= checked.start or not (
            isinstance(checked.price, int | float) and math.isfinite(checked.price)
        ):
            raise PlanInputError(PlanInputProblem.INVALID_SLOT, repr(slot))
        slots.append(checked)
    slots.sort(key=lambda slot: slot.start)
    for before, after in itertools.pairwise(slots):
        if after.start < before.end:
            raise PlanInputError(
                PlanInputProblem.INVALID_SLOT, f"{before} overlaps {after}"
            )
    return slots


def _price_at(
    slots: Sequence[PriceSlot], starts: list[datetime], at: datetime
) -> float | None:
    index = bisect.bisect_right(starts, at) - 1
    if index >= 0 and at < slots[index].end:
        return slots[index].price
    return None


def _intervals(
    slots: Sequence[PriceSlot], begin: datetime, end: datetime
) -> list[_Interval]:
    """Tile [begin, end) with the price slots and unknown quarter hours."""
    starts = [slot.start for slot in slots]
    intervals: list[_Interval] = []

    def unknown(left: datetime, right: datetime) -> None:
        cursor = left
        while cursor < right:
            mark = _EPOCH + ((cursor - _EPOCH) // UNKNOWN_SLOT + 1) * UNKNOWN_SLOT
            stop = min(mark, right)
            guess = _price_at(slots, starts, cursor - ESTIMATE_LAG)
            intervals.append(
                _Interval(cursor, stop, (stop - cursor).total_seconds(), None, guess)
            )
            cursor = stop

    cursor = begin
    first = max(0, bisect.bisect_right(starts, begin) - 1)
    for slot in slots[first:]:
        if slot.start >= end:
            break
        if slot.end <= cursor:
            continue
        if slot.start > cursor:
            unknown(cursor, slot.start)
            cursor = slot.start
        stop = min(slot.end, end)
        intervals.append(
            _Interval(
                cursor, stop, (stop - cursor).total_seconds(), slot.price, slot.price
            )
        )
        cursor = stop
    unknown(cursor, end)
    return intervals


def _set_room(
    intervals: list[_Interval], solar: Iterable[EnergySlot], full_w: float
) -> None:
    starts = [interval.start for interval in intervals]
    for period in solar:
        start, end = (
            _aware(period.start, "solar start"),
            _aware(period.end, "solar end"),
        )
        energy = _energy(period.energy_wh, "solar energy_wh")
        if end <= start:
            raise PlanInputError(PlanInputProblem.INVALID_SLOT, repr(period))
        length = (end - start).total_seconds()
        index = max(0, bisect.bisect_right(starts, start) - 1)
        for interval in intervals[index:]:
            if interval.start >= end:
                break
            overlap = (
                min(end, interval.end) - max(start, interval.start)
            ).total_seconds()
            if overlap > 0:
                interval.solar_wh += energy * overlap / length
    for interval in intervals:
        full = full_w * interval.seconds / 3600
        interval.solar_wh = min(interval.solar_wh, full)
        interval.room_wh = full - interval.solar_wh


# ------------------------------------------------------------------ filling


def _fill_in_order(intervals: Iterable[_Interval], need: float) -> None:
    for interval in intervals:
        if need <= EPSILON_WH:
            return
        interval.grid_wh = min(interval.room_wh, need)
        need -= interval.grid_wh


def _fill_cheapest(intervals: list[_Interval], need: float) -> None:
    _fill_in_order(sorted(intervals, key=_Interval.key), need)


def _fill_negative(intervals: list[_Interval], extra: float) -> None:
    paid = [i for i in intervals if i.price is not None and i.price < 0]
    for interval in sorted(paid, key=_Interval.key):
        if extra <= EPSILON_WH:
            return
        take = min(interval.room_wh - interval.grid_wh, extra)
        interval.grid_wh += take
        extra -= take


def _fill_block(intervals: list[_Interval], need: float) -> None:
    """Fill the cheapest window at full power that holds ``need``."""
    known = [i.rank for i in intervals if i.rank is not None]
    top = max(known, default=0.0)
    penalty = top + abs(top) + 1.0  # dearer than anything known
    prices = [penalty if i.rank is None else i.rank for i in intervals]
    bounds = [0.0]
    energy = [0.0]
    costs = [0.0]
    for interval, price in zip(intervals, prices, strict=True):
        bounds.append(bounds[-1] + interval.seconds)
        energy.append(energy[-1] + interval.room_wh)
        costs.append(costs[-1] + price * interval.room_wh)
    count = len(intervals)

    def cost_at(moment: float) -> float:
        """Cumulative cost at full power up to ``moment`` (seconds from now)."""
        index = min(bisect.bisect_right(bounds, moment) - 1, count - 1)
        share = (moment - bounds[index]) / intervals[index].seconds
        return costs[index] + prices[index] * intervals[index].room_wh * share

    def moment_of(amount: float, *, latest: bool) -> float:
        """When the cumulative energy reaches ``amount`` (first or last)."""
        found = bisect.bisect_right if latest else bisect.bisect_left
        # Clamped: rounding may put ``amount`` a hair outside [0, total].
        index = min(max(found(energy, amount) - 1, 0), count - 1)
        room = intervals[index].room_wh
        share = (amount - energy[index]) / room if room > 0 else 0.0
        return bounds[index] + min(1.0, max(0.0, share)) * intervals[index].seconds

    total = energy[count]
    candidates = []
    for edge in range(count + 1):
        if energy[edge] + need <= total + EPSILON_WH:  # starting on this edge
            candidates.append(
                (bounds[edge], moment_of(energy[edge] + need, latest=False))
            )
        if energy[edge] - need >= -EPSILON_WH:  # ending on this edge
            candidates.append(
                (moment_of(energy[edge] - need, latest=True), bounds[edge])
            )
    # Edge 0 always fits (need <= total room), so there is a candidate.
    priced = [(cost_at(end) - cost_at(start), start, end) for start, end in candidates]
    cheapest = min(cost for cost, _, _ in priced)
    _, start, end = min(
        (
            item
            for item in priced
            if item[0] <= cheapest + 1e-9 * max(1.0, abs(cheapest))
        ),
        key=lambda item: item[1],
    )
    for interval, left in zip(intervals, bounds, strict=False):
        overlap = min(end, left + interval.seconds) - max(start, left)
        if overlap > 0:
            interval.grid_wh = interval.room_wh * overlap / interval.seconds


# ------------------------------------------------------------------ segments


def _realise(
    intervals: list[_Interval], limits: ChargingLimits, *, full_power: bool
) -> list[PlannedSlot]:
    """Turn each interval's energy into segments of constant current."""
    segments: list[PlannedSlot] = []
    for index, interval in enumerate(intervals):
        if interval.grid_wh <= EPSILON_WH:
            continue
        parts = _parts(intervals, index, limits, full_power=full_power)
        energies = [
            limits.power_w(current) * (stop - start).total_seconds() / 3600
            for start, stop, current in parts
        ]
        delivered = sum(energies)
        # The sun's share is counted per interval: the rest is bought.
        grid = max(0.0, delivered - interval.solar_wh)
        for (start, stop, current), energy in zip(parts, energies, strict=True):
            bought = grid * energy / delivered
            segments.append(
                PlannedSlot(
                    start=start,
                    end=stop,
                    current=current,
                    power_w=limits.power_w(current),
                    energy_wh=energy,
                    grid_energy_wh=bought,
                    price=interval.price,
                    cost=None
                    if interval.price is None
                    else bought / 1000 * interval.price,
                )
            )
    return segments


def _charging(intervals: list[_Interval], index: int) -> bool:
    return 0 <= index < len(intervals) and intervals[index].grid_wh > EPSILON_WH


def _parts(
    intervals: list[_Interval],
    index: int,
    limits: ChargingLimits,
    *,
    full_power: bool,
) -> list[tuple[datetime, datetime, float]]:
    """One interval's segments: (start, end, current)."""
    interval = intervals[index]
    top, bottom = limits.highest_current, limits.lowest_current
    total = interval.solar_wh + interval.grid_wh
    whole = interval.end - interval.start
    average = total / limits.watts_per_amp / (interval.seconds / 3600)
    if full_power or average < bottom:
        # Part of the interval at one current, against a charging neighbour
        # (a block's first interval ends it), else as early as possible.
        current = top if full_power else bottom
        length = min(whole, _ceil_microseconds(total / limits.power_w(current) * 3600))
        offset = timedelta(0)
        if _charging(intervals, index + 1) and not _charging(intervals, index - 1):
            offset = whole - length
        return [(interval.start + offset, interval.start + offset + length, current)]
    low = max(bottom, _floor_step(average, limits.current_step))
    high = min(top, _ceil_step(average, limits.current_step))
    if high - low < _STEP_TOLERANCE:
        return [(interval.start, interval.end, high)]
    # The whole interval: the higher current first, then the lower one.
    split = interval.start + min(
        whole, _ceil_microseconds(interval.seconds * (average - low) / (high - low))
    )
    pieces = ((interval.start, split, high), (split, interval.end, low))
    return [piece for piece in pieces if piece[0] < piece[1]]


# ------------------------------------------------------------------ the planner


def plan_charging(
    *,
    now: datetime,
    ready_by: datetime,
    energy_wh: float,
    limits: ChargingLimits,
    prices: Iterable[PriceSlot] = (),
    solar: Iterable[EnergySlot] = (),
    continuous: bool = False,
    negative_price_extra_wh: float = 0.0,
) -> ChargingPlan:
    """Plan ``energy_wh`` into the car by ``ready_by`` at the lowest cost.

    See the module docstring for how, and for what happens with missing
    prices, too little time, a past ready time and negative prices. A need
    of at most ``EPSILON_WH`` counts as done. Raises
    :class:`PlanInputError` for naive times, non-finite numbers and
    overlapping price slots.
    """
    begin = _aware(now, "now")
    ready = _aware(ready_by, "ready_by")
    needed = _energy(energy_wh, "energy_wh")
    extra = _energy(negative_price_extra_wh, "negative_price_extra_wh")
    slots = _checked_prices(prices)
    solar = list(solar)

    def empty(state: PlanState, reason: PlanReason) -> ChargingPlan:
        return ChargingPlan(
            state=state,
            reason=reason,
            created=begin,
            ready_by=ready,
            needed_wh=needed,
            continuous=continuous,
        )

    if needed <= EPSILON_WH:
        return empty(PlanState.DONE, PlanReason.TARGET_REACHED)
    if not limits.can_charge:
        return empty(PlanState.CANNOT_MEET_TARGET, PlanReason.CURRENT_TOO_LOW)
    full_w = limits.power_w(limits.highest_current)

    full_power = True
    if ready <= begin:
        horizon = begin + _ceil_microseconds(needed / full_w * 3600)
        intervals = _intervals(slots, begin, horizon)
        _set_room(intervals, (), full_w)
        _fill_in_order(intervals, needed)
        state, reason = PlanState.CANNOT_MEET_TARGET, PlanReason.READY_TIME_PASSED
    else:
        intervals = _intervals(slots, begin, ready)
        _set_room(intervals, solar, full_w)
        grid_need = max(0.0, needed - sum(i.solar_wh for i in intervals))
        if grid_need > sum(i.room_wh for i in intervals) + EPSILON_WH:
            for interval in intervals:
                interval.grid_wh = interval.room_wh
            state, reason = PlanState.CANNOT_MEET_TARGET, PlanReason.NOT_ENOUGH_TIME
        else:
            if continuous:
                if grid_need > EPSILON_WH:
                    _fill_block(intervals, grid_need)
            else:
                full_power = False
                _fill_cheapest(intervals, grid_need)
                _fill_negative(intervals, extra)
            state, reason = _state(intervals, grid_need)
    segments = _realise(intervals, limits, full_power=full_power)
    return ChargingPlan(
        state=state,
        reason=reason,
        created=begin,
        ready_by=ready,
        needed_wh=needed,
        continuous=continuous,
        slots=tuple(segments),
        solar_wh=sum(i.solar_wh for i in intervals),
        grid_energy_wh=sum(s.grid_energy_wh for s in segments),
        cost=sum(s.cost for s in segments if s.cost is not None),
        unpriced_energy_wh=sum(s.grid_energy_wh for s in segments if s.cost is None),
    )


def _state(
    intervals: list[_Interval], grid_need: float
) -> tuple[PlanState, PlanReason]:
    if grid_need <= EPSILON_WH:
        return PlanState.PLANNED, PlanReason.SOLAR_COVERS_TARGET
    unknown = sum(1 for interval in intervals if interval.price is None)
    if unknown == len(intervals):
        return PlanState.WAITING_FOR_PRICES, PlanReason.NO_PRICES
    if unknown:
        return PlanState.WAITING_FOR_PRICES, PlanReason.PRICES_MISSING
    return PlanState.PLANNED, PlanReason.NONE
