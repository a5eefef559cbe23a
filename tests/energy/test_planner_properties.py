"""Properties of the charging planner, over generated price curves.

Whatever the prices (negative, tied, missing), the slot length, the time of
day (DST nights included) and the charger: the plan never charges outside
[now, ready time), never below the car's minimum current nor above the
limit, delivers the target whenever full power could, never buys more than
needed, never costs more than charging at once, and costs exactly the
optimum (checked against a brute force on small cases).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.evse_local.energy import (
    ChargingLimits,
    ChargingPlan,
    EnergySlot,
    PlanReason,
    PlanState,
    PriceSlot,
    plan_charging,
)
from custom_components.evse_local.energy.planner import EPSILON_WH

# Evenings before both DST nights in Europe/Amsterdam and an ordinary one.
STARTS = (
    datetime(2025, 10, 25, 16, tzinfo=UTC),
    datetime(2026, 3, 28, 16, tzinfo=UTC),
    datetime(2025, 11, 3, 16, 0, tzinfo=UTC),
)
TOLERANCE_WH = 1e-3


@dataclass(frozen=True)
class Case:
    """One generated planning problem."""

    now: datetime
    ready_by: datetime
    energy_wh: float
    limits: ChargingLimits
    prices: list[PriceSlot]
    solar: list[EnergySlot]
    continuous: bool

    def run(self) -> ChargingPlan:
        return plan_charging(
            now=self.now,
            ready_by=self.ready_by,
            energy_wh=self.energy_wh,
            limits=self.limits,
            prices=self.prices,
            solar=self.solar,
            continuous=self.continuous,
        )

    @property
    def full_w(self) -> float:
        return self.limits.power_w(self.limits.highest_current)

    @property
    def capacity_wh(self) -> float:
        hours = max(0.0, (self.ready_by - self.now).total_seconds() / 3600)
        return self.full_w * hours if self.limits.can_charge else 0.0

    @property
    def all_priced(self) -> bool:
        """Whether every moment in [now, ready) has a price."""
        cursor = self.now
        for slot in self.prices:
            if slot.end <= cursor:
                continue
            if slot.start > cursor:
                return False
            cursor = slot.end
        return cursor >= self.ready_by


@st.composite
def cases(draw: st.DrawFn, *, gaps: bool = True, solar: bool = True) -> Case:
    start = draw(st.sampled_from(STARTS))
    step = timedelta(minutes=draw(st.sampled_from((15, 60))))
    count = draw(st.integers(1, 48))
    # Few distinct values make ties common.
    values = draw(
        st.lists(
            st.sampled_from((-0.2, -0.05, 0.0, 0.1, 0.1, 0.25, 0.3, 0.45)),
            min_size=count,
            max_size=count,
        )
    )
    keep = (
        draw(st.lists(st.booleans(), min_size=count, max_size=count))
        if gaps
        else [True] * count
    )
    prices = [
        PriceSlot(start + index * step, start + (index + 1) * step, value)
        for index, (value, kept) in enumerate(zip(values, keep, strict=True))
        if kept
    ]
    span = count * step
    now = start + timedelta(
        minutes=draw(st.integers(0, int(span.total_seconds() // 60)))
    )
    if gaps:
        ready = now + timedelta(minutes=draw(st.integers(-60, 36 * 60)))
    else:
        ready = now + timedelta(minutes=draw(st.integers(1, 36 * 60)))
        # Keep the whole horizon priced.
        ready = min(ready, start + span)
        if ready <= now:
            ready = now + timedelta(minutes=1)
            prices.append(PriceSlot(start + span, ready + step, 0.3))
    phases = draw(st.sampled_from((1, 3)))
    limits = ChargingLimits(
        max_current=draw(st.integers(6, 32)),
        share_current=draw(st.none() | st.integers(0, 32)),
        phases=phases,
    )
    sun = []
    if solar and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            offset = timedelta(minutes=draw(st.integers(-120, 36 * 60)))
            length = timedelta(minutes=draw(st.integers(15, 240)))
            sun.append(
                EnergySlot(
                    now + offset, now + offset + length, draw(st.floats(0, 8000))
                )
            )
    return Case(
        now=now,
        ready_by=ready,
        energy_wh=draw(st.floats(0, 80_000)),
        limits=limits,
        prices=prices,
        solar=sun,
        continuous=draw(st.booleans()),
    )


def at_once_cost(case: Case, need: float) -> float:
    """Full power from now, in time order, until ``need`` is in."""
    cost = 0.0
    for slot in case.prices:
        start, end = max(slot.start, case.now), min(slot.end, case.ready_by)
        if end <= start or need <= 0:
            continue
        take = min(need, case.full_w * (end - start).total_seconds() / 3600)
        cost += take / 1000 * slot.price
        need -= take
    return cost


@settings(max_examples=400, deadline=None)
@given(cases())
def test_every_plan_keeps_the_rules(case: Case) -> None:
    result = case.run()
    limits = case.limits
    horizon_end = case.ready_by if case.ready_by > case.now else None
    for left, right in itertools.pairwise(result.slots):
        assert left.end <= right.start
    for slot in result.slots:
        assert case.now <= slot.start < slot.end
        if horizon_end is not None:
            assert slot.end <= horizon_end  # never after the ready time
        assert limits.lowest_current <= slot.current <= limits.highest_current
        assert slot.current >= limits.min_current  # never below the car's minimum
        assert slot.grid_energy_wh <= slot.energy_wh + TOLERANCE_WH
    if result.state is PlanState.DONE:
        assert case.energy_wh <= EPSILON_WH
        return
    if not limits.can_charge:
        assert result.reason is PlanReason.CURRENT_TOO_LOW
        return
    if case.ready_by <= case.now:
        assert result.reason is PlanReason.READY_TIME_PASSED
        assert result.energy_wh == pytest.approx(case.energy_wh, abs=TOLERANCE_WH)
        return
    feasible = case.energy_wh <= case.capacity_wh - TOLERANCE_WH
    if feasible:
        # Energy delivered >= target whenever full power could make it.
        assert result.state is not PlanState.CANNOT_MEET_TARGET
        assert result.energy_wh >= case.energy_wh - TOLERANCE_WH
        # ...and never more than needed is bought.
        needed_from_grid = max(0.0, case.energy_wh - result.solar_wh)
        assert result.grid_energy_wh <= needed_from_grid + TOLERANCE_WH
    elif case.energy_wh > case.capacity_wh + TOLERANCE_WH:
        assert result.state is PlanState.CANNOT_MEET_TARGET
        assert result.reason is PlanReason.NOT_ENOUGH_TIME
        assert result.energy_wh == pytest.approx(
            case.capacity_wh, rel=1e-9, abs=TOLERANCE_WH
        )


@settings(max_examples=300, deadline=None)
@given(cases(gaps=False, solar=False))
def test_never_dearer_than_charging_at_once(case: Case) -> None:
    assert case.all_priced
    result = case.run()
    if result.state is PlanState.CANNOT_MEET_TARGET or case.energy_wh <= EPSILON_WH:
        return
    assert result.state is PlanState.PLANNED
    assert result.unpriced_energy_wh == 0
    # The planner rounds a segment's end up to the microsecond (never short of
    # the target): a few microwatt-hours more than the reference, at a price.
    slack = TOLERANCE_WH / 1000 * max(abs(slot.price) for slot in case.prices)
    assert result.cost <= at_once_cost(case, case.energy_wh) + 1e-9 + slack


@settings(max_examples=300, deadline=None)
@given(cases())
def test_commands_follow_the_slots(case: Case) -> None:
    result = case.run()
    moments = [case.now + timedelta(minutes=m) for m in range(-30, 37 * 60, 37)]
    for moment in moments:
        command = result.command_at(moment)
        inside = [s for s in result.slots if s.start <= moment < s.end]
        if inside:
            assert command.current == inside[0].current
            assert command.until is not None
            assert command.until > moment
        else:
            assert command.current == 0
            assert command.until is None or command.until > moment


@st.composite
def small_cases(draw: st.DrawFn) -> tuple[list[float], int, ChargingLimits]:
    count = draw(st.integers(1, 5))
    values = draw(
        st.lists(
            st.sampled_from((-0.1, 0.0, 0.1, 0.2, 0.35)), min_size=count, max_size=count
        )
    )
    units = draw(st.integers(0, 4 * count))
    limits = ChargingLimits(
        max_current=draw(st.integers(6, 32)), phases=draw(st.sampled_from((1, 3)))
    )
    return values, units, limits


@settings(max_examples=150, deadline=None)
@given(small_cases())
def test_the_cost_is_the_optimum(case: tuple[list[float], int, ChargingLimits]) -> None:
    """Brute force: every split of the energy into quarter-slot units.

    With the need and every slot's room whole multiples of a unit, a linear
    programme of this shape has an optimum on whole units, so the brute
    force over units finds the true optimum to compare with.
    """
    values, units, limits = case
    start = STARTS[2]
    hour = timedelta(hours=1)
    prices = [
        PriceSlot(start + i * hour, start + (i + 1) * hour, value)
        for i, value in enumerate(values)
    ]
    unit_wh = limits.power_w(limits.highest_current) / 4
    best = min(
        sum(u * unit_wh / 1000 * p for u, p in zip(split, values, strict=True))
        for split in itertools.product(range(5), repeat=len(values))
        if sum(split) == units
    )
    result = plan_charging(
        now=start,
        ready_by=start + len(values) * hour,
        energy_wh=units * unit_wh,
        limits=limits,
        prices=prices,
    )
    if units == 0:
        assert result.state is PlanState.DONE
        return
    assert result.state is PlanState.PLANNED
    assert result.cost == pytest.approx(best, abs=1e-7)
