"""The simulated-day benchmark's own pieces: profile, ideal, naive, meter."""

from __future__ import annotations

import pytest

from benchmarks.solar_day import (
    DAY_SECONDS,
    MAX_A,
    MIN_A,
    NAIVE_AMPS,
    VOLTAGE,
    Meter,
    NaiveStrategy,
    Outcome,
    Profile,
    generate_profile,
    ideal,
)
from custom_components.evse_local.protocols.models import ChargerSnapshot, ChargerState


def test_profile_is_deterministic_and_plausible() -> None:
    first, second = generate_profile(7), generate_profile(7)
    assert first == second
    assert generate_profile(8).solar_w != first.solar_w
    assert len(first.solar_w) == len(first.house_w) == DAY_SECONDS
    # 8 kWp over 14 h with clouds: tens of kWh, dark at both ends.
    assert 30 < first.solar_kwh < 70
    assert first.solar_w[0] == 0
    assert max(first.solar_w) <= 8000
    assert min(first.house_w) > 0
    assert first.clouds > 10


def test_ideal_uses_only_surplus_within_limits() -> None:
    profile = Profile(
        solar_w=[0.0, 1500.0, 9000.0, 1000.0] + [0.0] * (DAY_SECONDS - 4),
        house_w=[200.0] * DAY_SECONDS,
        clouds=0,
    )
    outcome = ideal(profile)
    # 1300 W < 6 A: nothing; 8800 W: capped at 32 A; 800 W: nothing.
    assert outcome.grid_kwh == 0
    assert outcome.solar_kwh * 3.6e6 == pytest.approx(MAX_A * VOLTAGE)
    assert outcome.cycles == 0
    assert MIN_A * VOLTAGE > 1300


def test_meter_splits_energy_and_counts_cycles() -> None:
    profile = Profile(solar_w=[2000.0] * 6, house_w=[500.0] * 6, clouds=0)
    outcome = Outcome("x")
    meter = Meter(outcome)
    for second, watts in enumerate([0.0, 2000.0, 0.0, 1000.0, 0.0, 1500.0]):
        meter.second(profile, second, watts)
    # 2000 W against 1500 W spare: 500 W from the grid, for one second.
    assert round(outcome.grid_kwh * 3.6e6) == 500
    assert round(outcome.solar_kwh * 3.6e6) == 1500 + 1000 + 1500
    assert outcome.cycles == 2


def _snapshot(*, paused: bool, amps: int = NAIVE_AMPS) -> ChargerSnapshot:
    return ChargerSnapshot(state=ChargerState.CHARGING, paused=paused, max_current=amps)


def test_naive_automation_sets_current_once_then_waits_for_its_delay() -> None:
    naive = NaiveStrategy(60)
    assert naive.decide(0, _snapshot(paused=False, amps=32), -100) == (
        NAIVE_AMPS,
        None,
    )
    # Importing: pause only after 60 s without interruption.
    assert naive.decide(10, _snapshot(paused=False), 100) == (None, None)
    assert naive.decide(20, _snapshot(paused=False), -100) == (None, None)
    assert naive.decide(30, _snapshot(paused=False), 100) == (None, None)
    assert naive.decide(80, _snapshot(paused=False), 100) == (None, None)
    assert naive.decide(90, _snapshot(paused=False), 100) == (None, True)
    # Resume above 2.5 kW of export.
    assert naive.decide(100, _snapshot(paused=True), -2000) == (None, None)
    assert NaiveStrategy(0).decide(0, _snapshot(paused=True), -2600) == (None, False)
