"""The integration's own session-limit engine, step by step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.evse_local.limits import (
    ENERGY_LEAD_SECONDS,
    SessionLimitEnforcer,
)
from custom_components.evse_local.protocols.models import ChargerSnapshot, ChargerState

START = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)


def _snapshot(session_wh: float | None, *, plugged: bool = True) -> ChargerSnapshot:
    return ChargerSnapshot(
        state=ChargerState.CHARGING if plugged else ChargerState.NOT_CONNECTED,
        vehicle_connected=plugged,
        session_energy=session_wh,
    )


def test_energy_limit_counts_across_a_counter_restart() -> None:
    """Session counters that restart mid-session still add up; pause once."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=2.0, minutes=None, now=START, snapshot=_snapshot(500))
    assert not limits.update(_snapshot(1500), START)  # +1000 Wh
    assert not limits.update(_snapshot(200), START)  # restarted: +200 Wh
    assert limits.update(_snapshot(1000), START)  # +800 Wh: 2000 Wh reached
    assert not limits.update(_snapshot(1100), START)  # reported once only
    assert limits.decorate(_snapshot(1100)).energy_limit == 2.0


def test_time_limit_runs_from_when_it_was_set() -> None:
    """A duration counts wall-clock time from the moment it is set."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=None, minutes=90, now=START, snapshot=_snapshot(None))
    assert not limits.update(_snapshot(None), START + timedelta(minutes=89))
    assert limits.update(_snapshot(None), START + timedelta(minutes=90))
    assert limits.decorate(_snapshot(None)).time_limit == 90


def test_unplug_forgets_the_limit() -> None:
    """Like the chargers' own limits: the session is over, so is the limit."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=5.0, minutes=30, now=START, snapshot=_snapshot(0))
    assert not limits.update(_snapshot(0, plugged=False), START)
    assert limits.limit is not None  # one reading could be a glitch
    assert not limits.update(_snapshot(0, plugged=False), START)
    assert limits.limit is None
    decorated = limits.decorate(_snapshot(0))
    assert (decorated.energy_limit, decorated.time_limit) == (0.0, 0)


def test_one_odd_reading_is_no_unplug() -> None:
    """A lone "no car" between plugged readings keeps the limit and its count."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=50.0, minutes=None, now=START, snapshot=_snapshot(0))
    limits.update(_snapshot(1000), START)
    limits.update(_snapshot(1000, plugged=False), START)
    limits.update(_snapshot(2000), START)
    limits.update(_snapshot(2000, plugged=False), START)
    unknown = ChargerSnapshot(state=ChargerState.UNDETERMINED, session_energy=2000)
    limits.update(unknown, START)  # unknown is neither plugged nor unplugged
    assert limits.limit is not None
    assert limits.limit.counted_wh == 2000
    limits.update(_snapshot(2000, plugged=False), START)
    assert limits.limit is None


def test_a_pushed_unplug_counts_at_once() -> None:
    """OCPP reports the unplug as an event (StatusNotification Available)."""
    limits = SessionLimitEnforcer(unplug_readings=1)
    limits.set(energy_kwh=5.0, minutes=None, now=START, snapshot=_snapshot(0))
    limits.update(_snapshot(0, plugged=False), START)
    assert limits.limit is None


def test_the_limits_pause_ends_with_its_session() -> None:
    """Resume is due once the unplug is confirmed, and is saved."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=1.0, minutes=None, now=START, snapshot=_snapshot(0))
    assert limits.update(_snapshot(1000), START)
    limits.limit_pause_made()
    paused = replace(_snapshot(1000), paused=True)
    limits.update(paused, START)
    assert limits.paused_by_limit
    assert not limits.resume_due
    limits.update(_snapshot(1000, plugged=False), START)
    assert not limits.resume_due
    limits.update(_snapshot(1000, plugged=False), START)
    assert limits.resume_due
    saved = limits.stored()
    assert (saved["paused_by_limit"], saved["resume_due"]) == (True, True)
    restored = SessionLimitEnforcer()
    restored.restore(saved)
    assert restored.resume_due
    restored.limit_pause_ended()
    assert not restored.paused_by_limit
    assert not restored.resume_due
    assert restored.dirty


def test_a_limit_pause_resumed_by_hand_is_not_resumed_again() -> None:
    """Charging enabled again during the session: nothing to end at unplug."""
    limits = SessionLimitEnforcer()
    limits.set(energy_kwh=1.0, minutes=None, now=START, snapshot=_snapshot(0))
    assert limits.update(_snapshot(1000), START)
    limits.limit_pause_made()
    limits.update(replace(_snapshot(1000), paused=False), START)
    assert not limits.paused_by_limit
    for _ in range(2):
        limits.update(_snapshot(1000, plugged=False), START)
    assert not limits.resume_due


def test_seconds_left_from_power_and_deadline() -> None:
    """The pause is timed from the power (or the energy rate) and the clock."""
    limits = SessionLimitEnforcer()
    assert limits.seconds_left(_snapshot(0), START) is None  # no limit
    limits.set(energy_kwh=0.1, minutes=None, now=START, snapshot=_snapshot(0))
    assert limits.seconds_left(_snapshot(0), START) is None  # no power known
    charging = replace(_snapshot(50), power=11_000.0)
    limits.update(charging, START + timedelta(seconds=10))
    # 50 Wh left at 11 kW: 16.4 s, acted on one second ahead.
    left = limits.seconds_left(charging, START + timedelta(seconds=10))
    assert left == pytest.approx(50 * 3600 / 11_000 - ENERGY_LEAD_SECONDS)
    # Without a power reading: the energy rate since the limit was set.
    assert limits.seconds_left(_snapshot(50), START) == pytest.approx(
        50 * 3600 / (50 * 3600 / 10) - ENERGY_LEAD_SECONDS
    )
    limits.set(energy_kwh=None, minutes=30, now=START, snapshot=_snapshot(0))
    assert limits.seconds_left(_snapshot(0), START) == 1800
    assert limits.reach()
    assert not limits.reach()  # once
    assert limits.seconds_left(_snapshot(0), START) is None


def test_no_limit_never_pauses() -> None:
    """Without a limit nothing happens; clear() is idempotent."""
    limits = SessionLimitEnforcer()
    assert not limits.update(_snapshot(10_000), START)
    limits.clear()
    assert limits.limit is None


def test_saved_on_events_not_on_every_reading() -> None:
    """Only set, clear, a counter restart and reaching the limit mark it dirty."""
    limits = SessionLimitEnforcer()
    assert not limits.dirty
    limits.set(energy_kwh=1.0, minutes=60, now=START, snapshot=_snapshot(100))
    saved = limits.stored()
    assert not limits.dirty
    limits.update(_snapshot(300), START)
    assert not limits.dirty  # counted from the saved baseline after a restart
    limits.update(_snapshot(50), START)
    assert limits.dirty  # counter restart: the baseline moved

    restored = SessionLimitEnforcer()
    restored.restore(saved)
    assert restored.limit is not None
    assert restored.limit.deadline == START + timedelta(minutes=60)
    assert (restored.limit.energy_kwh, restored.limit.minutes) == (1.0, 60)
    # Counting resumes from the saved baseline: 100 -> 900 Wh is 800 Wh.
    assert not restored.update(_snapshot(900), START)
    assert restored.limit.counted_wh == 800
    restored.restore(None)
    assert restored.limit is None
