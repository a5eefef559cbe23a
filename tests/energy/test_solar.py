"""Solar surplus controller: start/stop delays, following, fallbacks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.evse_local.energy import (
    SolarController,
    SolarDecision,
    SolarInputs,
    SolarMode,
    SolarSettings,
    SolarState,
)

SOLAR = SolarSettings(mode=SolarMode.SOLAR, start_delay=60, stop_delay=180)


def export(watts: float, *, charging: float = 0.0) -> SolarInputs:
    """The house exports ``watts`` while the chargers draw ``charging``."""
    return SolarInputs(grid_power_w=-watts, charging_power_w=charging)


def run(
    controller: SolarController,
    inputs: SolarInputs,
    start: float,
    seconds: int,
    *,
    vehicle_waiting: bool = True,
) -> list[SolarDecision]:
    """One update per second over ``seconds`` seconds from ``start``."""
    return [
        controller.update(start + t, inputs, vehicle_waiting=vehicle_waiting)
        for t in range(seconds)
    ]


def charging_at(controller: SolarController, amps_now: int, now: float) -> None:
    """Bring a controller into FOLLOWING at ``amps_now`` (start delay passed)."""
    run(controller, export(amps_now * 230), now - 61, 61)
    decision = controller.update(now, export(amps_now * 230), vehicle_waiting=True)
    assert decision == SolarDecision(amps_now, SolarState.FOLLOWING, amps_now * 230)


def test_off_has_no_opinion_but_reports_surplus() -> None:
    controller = SolarController(SolarSettings())
    decision = controller.update(0, export(1000, charging=500), vehicle_waiting=True)
    assert decision == SolarDecision(None, SolarState.OFF, 1500)


def test_fast_is_the_maximum() -> None:
    controller = SolarController(SolarSettings(mode=SolarMode.FAST, max_current=16))
    assert controller.update(0, export(0), vehicle_waiting=True) == SolarDecision(
        16, SolarState.FAST, 0
    )
    assert controller.update(
        1, SolarInputs(grid_power_w=None, charging_power_w=0), vehicle_waiting=False
    ) == SolarDecision(16, SolarState.NO_VEHICLE, None)


def test_no_vehicle() -> None:
    controller = SolarController(SOLAR)
    decision = controller.update(0, export(5000), vehicle_waiting=False)
    assert decision == SolarDecision(0, SolarState.NO_VEHICLE, 5000)


def test_waits_below_minimum() -> None:
    controller = SolarController(SOLAR)
    # 6 A at 230 V is 1380 W; 1379 W is not enough.
    decisions = run(controller, export(1379), 0, 300)
    assert {d.amps for d in decisions} == {0}
    assert {d.state for d in decisions} == {SolarState.WAITING}


def test_start_delay_then_follow_in_1a_steps() -> None:
    controller = SolarController(SOLAR)
    decisions = run(controller, export(2000), 0, 61)
    assert decisions[0] == SolarDecision(0, SolarState.STARTING, 2000)
    assert decisions[59].state is SolarState.STARTING
    # floor(2000 / 230) = 8 A once the 60 s start delay has passed.
    assert decisions[60] == SolarDecision(8, SolarState.FOLLOWING, 2000)
    # The car now draws 8 A (1840 W) and 500 W more are exported: 10 A.
    decision = controller.update(61, export(500, charging=1840), vehicle_waiting=True)
    assert decision.amps == 10
    # Clamped to the maximum.
    decision = controller.update(62, export(20000), vehicle_waiting=True)
    assert decision.amps == 32


def test_start_delay_restarts_when_surplus_dips() -> None:
    controller = SolarController(SOLAR)
    run(controller, export(2000), 0, 50)
    controller.update(50, export(100), vehicle_waiting=True)
    decisions = run(controller, export(2000), 51, 61)
    assert decisions[59].state is SolarState.STARTING
    assert decisions[60].state is SolarState.FOLLOWING


def test_cloud_of_20s_causes_no_cycle() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    cloud = run(controller, export(-1500, charging=2300), 101, 20)
    # Held at the minimum through the cloud: never paused.
    assert {d.amps for d in cloud} == {6}
    assert {d.state for d in cloud} == {SolarState.STOPPING}
    after = controller.update(121, export(900, charging=1380), vehicle_waiting=True)
    assert after == SolarDecision(9, SolarState.FOLLOWING, 2280)


def test_pause_after_stop_delay() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    deficit = run(controller, export(-500, charging=1380), 101, 181)
    assert deficit[179].state is SolarState.STOPPING
    assert deficit[180] == SolarDecision(0, SolarState.WAITING, 880)
    # Resuming needs the whole start delay again.
    again = run(controller, export(3000), 282, 61)
    assert again[0].state is SolarState.STARTING
    assert again[60].amps == 13


def test_min_solar_never_pauses() -> None:
    controller = SolarController(replace(SOLAR, mode=SolarMode.MIN_SOLAR))
    assert controller.update(0, export(-3000), vehicle_waiting=True) == SolarDecision(
        6, SolarState.MINIMUM, -3000
    )
    assert controller.update(1, export(1380), vehicle_waiting=True) == SolarDecision(
        6, SolarState.MINIMUM, 1380
    )
    assert controller.update(2, export(3000), vehicle_waiting=True) == SolarDecision(
        13, SolarState.FOLLOWING, 3000
    )


def test_three_phases() -> None:
    controller = SolarController(
        replace(SOLAR, phases=3, start_delay=0, max_current=16)
    )
    # 6 A x 3 x 230 V = 4140 W.
    assert controller.update(0, export(4139), vehicle_waiting=True).amps == 0
    assert controller.update(1, export(4140), vehicle_waiting=True).amps == 6
    assert controller.update(2, export(9000), vehicle_waiting=True).amps == 13
    assert controller.update(3, export(90000), vehicle_waiting=True).amps == 16


@pytest.mark.parametrize(
    ("battery_w", "soc", "threshold", "expected"),
    [
        # Charging battery, car first (no threshold): its power is surplus.
        (2000.0, 50.0, None, 2500.0),
        # Battery above the threshold: car first.
        (2000.0, 90.0, 80.0, 2500.0),
        # Battery below the threshold: it keeps what it takes.
        (2000.0, 50.0, 80.0, 500.0),
        # Unknown SoC with a threshold: the battery keeps its priority.
        (2000.0, None, 80.0, 500.0),
        # Discharging battery is never surplus, whatever the SoC.
        (-1000.0, 90.0, None, -500.0),
        (-1000.0, 10.0, 80.0, -500.0),
        (None, None, 80.0, 500.0),
    ],
)
def test_battery_in_the_surplus(
    battery_w: float | None, soc: float | None, threshold: float | None, expected: float
) -> None:
    controller = SolarController(replace(SOLAR, battery_first_soc=threshold))
    inputs = SolarInputs(
        grid_power_w=-500,
        charging_power_w=0,
        battery_power_w=battery_w,
        battery_soc=soc,
    )
    assert controller.surplus(inputs) == expected


def test_battery_first_state() -> None:
    controller = SolarController(replace(SOLAR, battery_first_soc=80))
    inputs = SolarInputs(
        grid_power_w=0, charging_power_w=0, battery_power_w=3000, battery_soc=40
    )
    decision = controller.update(0, inputs, vehicle_waiting=True)
    assert decision == SolarDecision(0, SolarState.BATTERY_FIRST, 0)
    # Once full enough, the battery's intake is the car's surplus.
    inputs = replace(inputs, battery_soc=85)
    decision = controller.update(1, inputs, vehicle_waiting=True)
    assert decision == SolarDecision(0, SolarState.STARTING, 3000)


def test_grid_unknown_holds_then_pauses() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    blind = SolarInputs(grid_power_w=None, charging_power_w=2300)
    held = run(controller, blind, 101, 180)
    assert {d.amps for d in held} == {10}
    assert {d.state for d in held} == {SolarState.FOLLOWING}
    assert held[0].surplus_w is None
    assert controller.update(281, blind, vehicle_waiting=True) == SolarDecision(
        0, SolarState.WAITING, None
    )
    # The meter comes back: the start delay runs again.
    assert controller.update(282, export(3000), vehicle_waiting=True).state is (
        SolarState.STARTING
    )


def test_grid_unknown_from_the_start_pauses_at_once() -> None:
    controller = SolarController(SOLAR)
    blind = SolarInputs(grid_power_w=None, charging_power_w=0)
    assert controller.update(0, blind, vehicle_waiting=True) == SolarDecision(
        0, SolarState.WAITING, None
    )


def test_grid_unknown_in_min_solar_falls_back_to_minimum() -> None:
    controller = SolarController(replace(SOLAR, mode=SolarMode.MIN_SOLAR))
    controller.update(0, export(5000), vehicle_waiting=True)
    blind = SolarInputs(grid_power_w=None, charging_power_w=5000)
    assert controller.update(100, blind, vehicle_waiting=True).amps == 21
    assert controller.update(280, blind, vehicle_waiting=True) == SolarDecision(
        6, SolarState.MINIMUM, None
    )


def test_settings_change_restarts_delays() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    controller.settings = replace(SOLAR, mode=SolarMode.FAST)
    assert controller.update(101, export(0), vehicle_waiting=True).amps == 32
    controller.settings = SOLAR
    decision = controller.update(102, export(2300), vehicle_waiting=True)
    assert decision == SolarDecision(0, SolarState.STARTING, 2300)
    # A change that keeps the mode (a new start delay) applies at once.
    controller.settings = replace(SOLAR, start_delay=5)
    assert controller.update(107, export(2300), vehicle_waiting=True).amps == 10


def test_unplug_restarts_delays() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    controller.update(101, export(2300), vehicle_waiting=False)
    assert controller.update(102, export(2300), vehicle_waiting=True).state is (
        SolarState.STARTING
    )
