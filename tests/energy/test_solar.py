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


def test_start_delay_then_follow() -> None:
    controller = SolarController(SOLAR)
    decisions = run(controller, export(2000), 0, 61)
    assert decisions[0] == SolarDecision(0, SolarState.STARTING, 2000)
    assert decisions[59].state is SolarState.STARTING
    # floor(2000 / 230) = 8 A once the 60 s start delay has passed.
    assert decisions[60] == SolarDecision(8, SolarState.FOLLOWING, 2000)
    # The car now draws 8 A (1840 W) and 500 W more are exported: 10 A,
    # 2.17 A more, worth a command once left unused for 200 A s (93 s).
    more = run(controller, export(500, charging=1840), 61, 100)
    assert [d.amps for d in more].index(10) == 92
    # Clamped to the maximum.
    decision = controller.update(
        170, export(20000, charging=2300), vehicle_waiting=True
    )
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
    # The sun is back; the budget climbs from the minimum once the unused
    # 3.9 A have added up to 200 A s.
    after = run(controller, export(900, charging=1380), 121, 52)
    assert after[0] == SolarDecision(6, SolarState.FOLLOWING, 2280)
    assert after[50].amps == 6
    assert after[51] == SolarDecision(9, SolarState.FOLLOWING, 2280)


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
    # 7 A more than the minimum: worth a command after 29 s (200 A s).
    assert controller.update(29, export(3000), vehicle_waiting=True).amps == 6
    assert controller.update(30, export(3000), vehicle_waiting=True) == SolarDecision(
        13, SolarState.FOLLOWING, 3000
    )


def test_three_phases() -> None:
    controller = SolarController(
        replace(SOLAR, phases=3, start_delay=0, max_current=16)
    )
    # 6 A x 3 x 230 V = 4140 W.
    assert controller.update(0, export(4139), vehicle_waiting=True).amps == 0
    assert controller.update(1, export(4140), vehicle_waiting=True).amps == 6
    assert controller.update(31, export(9000), vehicle_waiting=True).amps == 13
    assert controller.update(41, export(90000), vehicle_waiting=True).amps == 16


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


# ------------------------------------------------------------ following calmly


def reading(extra_a: float, *, drawing_a: float) -> SolarInputs:
    """The chargers draw ``drawing_a``; the sun covers ``extra_a`` more (or less)."""
    return export(extra_a * 230, charging=drawing_a * 230)


def at(controller: SolarController, now: float, inputs: SolarInputs) -> SolarDecision:
    """One update at ``now`` with a car waiting."""
    return controller.update(now, inputs, vehicle_waiting=True)


def test_noise_around_an_ampere_step_sends_nothing() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    # A fridge and meter noise: the surplus swings 0.9 A either side of what
    # the car draws, reading after reading, for an hour.
    decisions = [
        at(controller, 110 + 10 * i, reading(0.9 if i % 2 else -0.9, drawing_a=20))
        for i in range(360)
    ]
    assert {d.amps for d in decisions} == {20}
    assert {d.state for d in decisions} == {SolarState.FOLLOWING}


def test_a_large_deficit_lowers_the_budget_at_the_next_reading() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    # A kettle: 2 kW more load, the car imports 8.7 A for 10 s (77 A s).
    decision = at(controller, 110, reading(-2000 / 230, drawing_a=20))
    # Straight to what the sun covers: floor(2600 / 230).
    assert decision == SolarDecision(11, SolarState.FOLLOWING, 2600)


def test_a_small_import_is_tolerated_a_larger_one_briefly() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    # 0.9 A imported: within the 1 A tolerance, for good.
    held = run(controller, reading(-0.9, drawing_a=20), 101, 600)
    assert {d.amps for d in held} == {20}
    # 1.5 A: 0.5 A beyond it adds up to 25 A s after 50 s.
    lowered = [d.amps for d in run(controller, reading(-1.5, drawing_a=20), 701, 60)]
    assert lowered.index(18) == 49
    assert set(lowered[:49]) == {20}


def test_a_car_taking_less_than_its_budget_needs_no_command() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    # The car tapers to 10 A: the surplus (15 A) is below the budget, yet
    # nothing comes from the grid.
    decisions = run(controller, reading(5, drawing_a=10), 101, 600)
    assert {d.amps for d in decisions} == {20}


def test_more_surplus_is_taken_once_worth_a_command() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    # 1.9 A more: below the 2 A deadband, never.
    below = run(controller, reading(1.9, drawing_a=20), 101, 900)
    assert {d.amps for d in below} == {20}
    # 2.5 A more: the surplus left unused all along is worth the command.
    decision = at(controller, 1010, reading(2.5, drawing_a=20))
    assert decision == SolarDecision(22, SolarState.FOLLOWING, 22.5 * 230)


def test_a_cloud_edge_between_readings_costs_one_command() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 10, 100)
    # The cloud leaves over 10 s; a reading every 10 s catches it halfway
    # (10 A more for 100 A s) and then done (20 A more, 300 A s in all).
    halfway = at(controller, 110, reading(10, drawing_a=10))
    assert halfway.amps == 10
    done = at(controller, 120, reading(20, drawing_a=10))
    assert done == SolarDecision(30, SolarState.FOLLOWING, 30 * 230)


def test_no_deadband_follows_every_reading() -> None:
    eager = replace(
        SOLAR, raise_deadband=1, raise_after=0, lower_after=0, import_tolerance=0
    )
    controller = SolarController(eager)
    charging_at(controller, 20, 100)
    assert at(controller, 101, reading(1.2, drawing_a=20)).amps == 21
    assert at(controller, 102, reading(-0.2, drawing_a=21)).amps == 20


def test_a_lower_maximum_applies_at_once() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    controller.settings = replace(SOLAR, max_current=16)
    assert at(controller, 101, reading(0, drawing_a=20)).amps == 16


def test_time_without_a_meter_adds_nothing_to_the_tallies() -> None:
    controller = SolarController(SOLAR)
    charging_at(controller, 20, 100)
    blind = SolarInputs(grid_power_w=None, charging_power_w=20 * 230)
    assert {d.amps for d in run(controller, blind, 101, 100)} == {20}
    # Back with 2.5 A more: 2.5 A s so far, not the 250 A s the 100 s
    # without readings would make it.
    assert at(controller, 201, reading(2.5, drawing_a=20)).amps == 20
