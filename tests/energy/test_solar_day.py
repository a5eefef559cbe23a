"""The simulated-day benchmark's own pieces, and EVSE Local over its day.

The benchmark itself runs the simulators over loopback; here the same day
and the same strategy meet a car that draws what it is offered, so that
what the controller decides is checked in a second, without servers.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.solar_day import (
    DAY_SECONDS,
    MAX_A,
    MIN_A,
    NAIVE_AMPS,
    SOLAR_SHARE_TARGET,
    STEP_SECONDS,
    VOLTAGE,
    EvseLocalStrategy,
    Meter,
    NaiveStrategy,
    Outcome,
    Profile,
    generate_profile,
    ideal,
)
from custom_components.evse_local.protocols.models import ChargerSnapshot, ChargerState
from simulators.model import DRAW_MARGIN_MA


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


def _charge_the_day(profile: Profile, strategy: EvseLocalStrategy) -> Outcome:
    """A car plugged in all day takes what it is offered, 250 mA under it.

    As in the benchmark: the strategy reads the charger and the grid meter
    every control interval; the grid meter sees the car of the second before.
    """
    outcome = Outcome(strategy.name)
    meter = Meter(outcome)
    setpoint, paused, car_w = MAX_A, False, 0.0
    for second in range(DAY_SECONDS):
        if second % STEP_SECONDS == 0:
            drawing = 0.0 if paused else setpoint - DRAW_MARGIN_MA / 1000
            snapshot = ChargerSnapshot(
                state=ChargerState.SLEEPING if paused else ChargerState.CHARGING,
                vehicle_connected=True,
                paused=paused,
                max_current=setpoint,
                max_current_limit=MAX_A,
                charging_current=drawing,
                power=drawing * VOLTAGE,
            )
            grid_w = profile.house_w[second] + car_w - profile.solar_w[second]
            amps, pause = strategy.decide(float(second), snapshot, grid_w)
            if amps is not None:
                setpoint = amps
                outcome.current_commands += 1
            if pause is not None:
                paused = pause
                outcome.pause_commands += 1
        car_w = 0.0 if paused else (setpoint - DRAW_MARGIN_MA / 1000) * VOLTAGE
        meter.second(profile, second, car_w)
    return outcome


def test_evse_local_sends_few_commands_over_the_day() -> None:
    profile = generate_profile()
    ideal_kwh = ideal(profile).solar_kwh
    calm = _charge_the_day(profile, EvseLocalStrategy())
    assert calm.current_commands <= 100
    assert calm.solar_kwh >= SOLAR_SHARE_TARGET * ideal_kwh
    # The same controller without a deadband: a command at every ampere.
    eager = EvseLocalStrategy()
    solar = eager.controller.solar
    solar.settings = replace(
        solar.settings,
        raise_deadband=1,
        raise_after=0,
        lower_after=0,
        import_tolerance=0,
    )
    every_reading = _charge_the_day(profile, eager)

    assert every_reading.current_commands > 150
    assert calm.pause_commands == every_reading.pause_commands
    assert calm.cycles == every_reading.cycles
    # What the calm costs: a little grid energy over a 44 kWh day.
    assert calm.grid_kwh - every_reading.grid_kwh < 0.3
