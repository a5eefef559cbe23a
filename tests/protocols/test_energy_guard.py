"""The lifetime energy guard: resets, glitches and jumps, never backwards."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from custom_components.evse_local.protocols.energy_guard import (
    CONFIRMATIONS,
    MAX_POWER_W,
    LifetimeEnergyGuard,
    rated_power_w,
)
from custom_components.evse_local.protocols.models import ChargerSnapshot, ChargerState

# An MQ 200 at 7.2 kW sending MeterValues every 10 s: 20 Wh per reading.
POWER = 7_680.0  # 32 A x 240 V, its rating
STEP_S = 10.0
STEP_WH = 20.0


def feed(
    guard: LifetimeEnergyGuard, readings: Sequence[float | None]
) -> list[float | None]:
    """Feed one reading per step; return the published total after each."""
    published = []
    for index, reading in enumerate(readings):
        published.append(guard.update(reading, index * STEP_S, POWER))
    return published


def normal(count: int, start: float = 100_500.0) -> list[float | None]:
    return [start + STEP_WH * step for step in range(count)]


def assert_never_decreases(published: Sequence[float | None]) -> None:
    values = [value for value in published if value is not None]
    assert values == sorted(values), values
    assert all(math.isfinite(value) for value in values)


@pytest.mark.parametrize("odd", [0.0, -5.0, math.inf, math.nan, 1e999, None])
def test_one_odd_reading_in_a_normal_sequence_changes_nothing(
    odd: float | None,
) -> None:
    """The issue's MeterValues sequences: "0", "-5", "1e999" in the middle.

    "0" looks like a reset until the next reading continues the old counter;
    "-5" and "1e999" are not readings at all. No phantom, no step back.
    """
    readings = normal(10)
    readings[5] = odd
    published = feed(LifetimeEnergyGuard(), readings)
    assert_never_decreases(published)
    assert published[-1] == readings[-1]
    assert published[5] == readings[4]  # held at the last good value


def test_a_confirmed_reset_carries_the_count_over() -> None:
    """The counter really went back to zero: the total keeps counting up."""
    readings = [*normal(5), 0.0, 20.0, 40.0, 60.0]
    published = feed(LifetimeEnergyGuard(), readings)
    assert_never_decreases(published)
    before = 100_580.0
    assert readings[4] == before
    assert published[5:8] == [before, before, before + 40.0]
    assert published[-1] == before + 60.0
    assert CONFIRMATIONS == 2


def test_repeats_of_a_stale_value_do_not_confirm_a_reset() -> None:
    """A charger repeats its last reading with every other change it pushes."""
    guard = LifetimeEnergyGuard()
    feed(guard, normal(5))
    for moment in (50.0, 51.0, 52.0, 53.0):
        assert guard.update(0.0, moment, POWER) == 100_580.0
    assert guard.pending
    assert guard.update(100_600.0, 60.0, POWER) == 100_600.0
    assert not guard.pending


def test_a_spike_is_held_back_and_dropped() -> None:
    readings = normal(8)
    readings[3] = 1e9
    published = feed(LifetimeEnergyGuard(), readings)
    assert max(v for v in published if v is not None) == readings[-1]


def test_a_rise_beyond_the_rated_power_needs_confirmation() -> None:
    """A real jump (a replaced meter) is taken once readings continue it."""
    readings = [1_000.0, 1_020.0, 50_000.0, 50_020.0, 50_040.0, 50_060.0]
    published = feed(LifetimeEnergyGuard(), readings)
    assert published == [1_000.0, 1_020.0, 1_020.0, 1_020.0, 50_040.0, 50_060.0]


def test_a_drop_that_is_not_to_zero_is_not_a_reset() -> None:
    """100.5 kWh -> 50 kWh is no reset: held until the counter passes it."""
    readings = [100_500.0, 50_000.0, 50_020.0, 50_040.0, 100_520.0]
    published = feed(LifetimeEnergyGuard(), readings)
    assert published == [100_500.0] * 4 + [100_520.0]


def test_rounding_noise_is_held() -> None:
    published = feed(LifetimeEnergyGuard(), [5_000.4, 4_999.9, 5_100.0])
    assert published == [5_000.4, 5_000.4, 5_100.0]


def test_energy_counted_while_nobody_looked_is_accepted() -> None:
    """An hour without readings allows an hour at the rated power."""
    guard = LifetimeEnergyGuard()
    guard.update(10_000.0, 0.0, POWER)
    assert guard.update(17_000.0, 3_600.0, POWER) == 17_000.0


def test_a_reset_while_home_assistant_was_down() -> None:
    """Restored state, then a counter that restarted during the downtime."""
    old = LifetimeEnergyGuard()
    feed(old, [40_000.0])
    guard = LifetimeEnergyGuard.restore(old.export())
    assert guard is not None
    assert guard.total == 40_000.0
    day = 86_400.0
    assert guard.update(2_000.0, day, POWER) == 40_000.0
    assert guard.update(2_020.0, day + 10, POWER) == 40_000.0
    assert guard.update(2_040.0, day + 20, POWER) == 42_040.0


def test_restore_of_older_and_of_foreign_data() -> None:
    """The former counter kept only offset and last reading; garbage is None."""
    legacy = LifetimeEnergyGuard.restore(
        {"energy_offset": 10_000.0, "energy_last_raw": 40_000.0}
    )
    assert legacy is not None
    assert legacy.total == 50_000.0
    assert legacy.seen_at is None
    # No time to judge a rise by: the first reading is taken as it comes.
    assert legacy.update(41_000.0, 0.0, POWER) == 51_000.0
    empty = LifetimeEnergyGuard.restore({"energy_offset": 0})
    assert empty is not None
    assert empty.total is None
    for foreign in (
        {"energy_offset": "x"},
        {},
        {"energy_offset": -1.0},
        {"energy_offset": 0.0, "energy_last_raw": math.inf},
        {"energy_offset": 0.0, "energy_total": "10"},
        {"energy_offset": 0.0, "energy_last_seen": "yesterday"},
        {"energy_offset": 0.0, "energy_last_raw": -5.0},
    ):
        assert LifetimeEnergyGuard.restore(foreign) is None
    stored = LifetimeEnergyGuard.restore(
        {"energy_offset": 0.0, "energy_last_raw": 10.0, "energy_total": 99.0}
    )
    assert stored is not None
    assert stored.total == 99.0  # never below what was published


def test_rated_power() -> None:
    single = ChargerSnapshot(state=ChargerState.CHARGING, max_current_limit=32)
    assert rated_power_w(single) == 32 * 250
    three = ChargerSnapshot(
        state=ChargerState.CHARGING,
        max_current_limit=16,
        phase_voltages=(230.0, 230.0, 230.0),
    )
    assert rated_power_w(three) == 16 * 250 * 3
    unknown = ChargerSnapshot(state=ChargerState.UNDETERMINED)
    assert rated_power_w(unknown) == 80 * 250
    absurd = ChargerSnapshot(state=ChargerState.CHARGING, max_current_limit=10**12)
    assert rated_power_w(absurd) == MAX_POWER_W
