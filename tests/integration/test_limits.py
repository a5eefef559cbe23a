"""The integration's own session-limit engine, step by step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.evse_local.limits import SessionLimitEnforcer
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
    assert limits.limit is None
    decorated = limits.decorate(_snapshot(0))
    assert (decorated.energy_limit, decorated.time_limit) == (0.0, 0)


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
