"""Session limits enforced by the integration, for chargers without them.

The go-e Charger's documented energy-limit register collides with another
table, and it has no time limit at all, so there the integration watches
the session itself: it counts the energy delivered since the limit was set
(session counters of some chargers restart within a session, so positive
steps are summed), starts the clock when the limit is set, pauses the
charger once when a limit is reached, and forgets the limit when the car is
unplugged.

An unplug counts once ``unplug_readings`` readings in a row say so (two for
a polled charger: one odd reading, such as the go-e's lone CAR_STATE 0, is
no unplug; one for a charger that reports the unplug as an event, OCPP's
StatusNotification). A pause the limit made ends with its session: the
coordinator resumes the charger when the unplug is confirmed.

Near the limit the coordinator does not wait for the next reading:
:meth:`SessionLimitEnforcer.seconds_left` predicts when the limit will be
reached from the charging power, and the pause is timed to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .protocols.models import ChargerSnapshot

UNPLUG_READINGS = 2
"""Readings in a row that must show no car before the session is over."""
ENERGY_LEAD_SECONDS = 1.0
"""An energy limit is acted on this much before the predicted moment: a
charger takes a moment to stop the car (about 3 Wh at 11 kW)."""


@dataclass(slots=True)
class EnforcedLimit:
    """One session's limit and how far the session has got."""

    energy_kwh: float | None
    minutes: int | None
    deadline: datetime | None
    counted_wh: float = 0.0
    last_session_wh: float | None = None
    reached: bool = False
    # The energy rate, from ``counted_wh`` at an earlier reading (not saved).
    rate_base: tuple[datetime, float] | None = None
    rate_w: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage across restarts."""
        data = asdict(self)
        data["deadline"] = None if self.deadline is None else self.deadline.isoformat()
        del data["rate_base"], data["rate_w"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnforcedLimit:
        """Read back what :meth:`as_dict` wrote."""
        deadline = data.get("deadline")
        return cls(
            energy_kwh=data.get("energy_kwh"),
            minutes=data.get("minutes"),
            deadline=None if deadline is None else datetime.fromisoformat(deadline),
            counted_wh=float(data.get("counted_wh", 0.0)),
            last_session_wh=data.get("last_session_wh"),
            reached=bool(data.get("reached", False)),
        )


class SessionLimitEnforcer:
    """Watches snapshots and says when to pause, and when to resume."""

    def __init__(self, *, unplug_readings: int = UNPLUG_READINGS) -> None:
        """No limit yet."""
        self.limit: EnforcedLimit | None = None
        # Set when something worth keeping across a restart changed. Energy is
        # counted from ``last_session_wh``, so it is saved on events (set,
        # clear, reached, counter restart), not on every reading.
        self.dirty = False
        self.paused_by_limit = False
        """Our pause at a reached limit is in force (it ends with the session)."""
        self.resume_due = False
        """The session of that pause is over: the charger is to be resumed."""
        self._unplug_readings = unplug_readings
        self._unplugged = 0

    def set(
        self,
        *,
        energy_kwh: float | None,
        minutes: int | None,
        now: datetime,
        snapshot: ChargerSnapshot,
        read_at: datetime | None = None,
    ) -> None:
        """Start a limit from the current session state.

        ``snapshot`` was read at ``read_at``: what the charger delivered since
        (at its power) was before the limit, and is not counted.
        """
        session_wh = snapshot.session_energy
        if session_wh is not None and read_at is not None and snapshot.power:
            session_wh += (
                snapshot.power * max(0.0, (now - read_at).total_seconds()) / 3600
            )
        self.limit = EnforcedLimit(
            energy_kwh=energy_kwh,
            minutes=minutes,
            deadline=None if minutes is None else now + timedelta(minutes=minutes),
            last_session_wh=session_wh,
            rate_base=(now, 0.0),
        )
        self.dirty = True

    def clear(self) -> None:
        """Forget the limit."""
        self.limit = None
        self.dirty = True

    def update(self, snapshot: ChargerSnapshot, now: datetime) -> bool:
        """Fold in a snapshot; True exactly once, when a limit is reached."""
        self._follow_session(snapshot)
        limit = self.limit
        if limit is None:
            return False
        session_wh = snapshot.session_energy
        if session_wh is not None:
            last = limit.last_session_wh
            added = 0.0
            if last is not None and session_wh < last:
                # A counter that restarted within the session counts from zero.
                added = session_wh
                self.dirty = True
            elif last is not None:
                added = session_wh - last
            limit.counted_wh += added
            limit.last_session_wh = session_wh
            self._follow_rate(limit, now)
        return self._check(limit, now)

    def _follow_session(self, snapshot: ChargerSnapshot) -> None:
        """Confirm an unplug; notice a limit pause undone by someone else."""
        connected = snapshot.vehicle_connected
        if connected is None:
            return  # unknown: neither a car nor none
        if connected:
            self._unplugged = 0
            if self.paused_by_limit and snapshot.paused is False:
                # Resumed by hand: no longer the limit's pause to end.
                self.paused_by_limit = False
                self.dirty = True
            return
        self._unplugged += 1
        if self._unplugged < self._unplug_readings:
            return
        # Like the chargers' own limits: the session is over, so is the limit.
        if self.limit is not None:
            self.clear()
        if self.paused_by_limit and not self.resume_due:
            self.resume_due = True

    @staticmethod
    def _follow_rate(limit: EnforcedLimit, now: datetime) -> None:
        """Keep the energy rate since an earlier reading, for predictions."""
        base = limit.rate_base
        if base is None:
            limit.rate_base = (now, limit.counted_wh)
            return
        elapsed = (now - base[0]).total_seconds()
        if elapsed >= 1:
            limit.rate_w = (limit.counted_wh - base[1]) * 3600 / elapsed
            limit.rate_base = (now, limit.counted_wh)

    def _check(self, limit: EnforcedLimit, now: datetime) -> bool:
        energy_reached = (
            limit.energy_kwh is not None and limit.counted_wh >= limit.energy_kwh * 1000
        )
        time_reached = limit.deadline is not None and now >= limit.deadline
        if energy_reached or time_reached:
            return self.reach()
        return False

    def reach(self) -> bool:
        """Mark the limit reached (also ahead of a reading); True the first time."""
        limit = self.limit
        if limit is None or limit.reached:
            return False
        limit.reached = True
        self.dirty = True
        return True

    def pause_failed(self) -> None:
        """Undo :meth:`reach`: the pause did not reach the charger (try again)."""
        if self.limit is not None and self.limit.reached:
            self.limit.reached = False
            self.dirty = True

    def seconds_left(self, snapshot: ChargerSnapshot, now: datetime) -> float | None:
        """Predict when the running limit will be reached; None: not foreseeable.

        Energy from the charging power (the measured one, else the rate over
        the last step); time from the deadline.
        """
        limit = self.limit
        if limit is None or limit.reached:
            return None
        candidates: list[float] = []
        if limit.deadline is not None:
            candidates.append((limit.deadline - now).total_seconds())
        if limit.energy_kwh is not None:
            power = snapshot.power if snapshot.power else limit.rate_w
            if power is not None and power > 0:
                left_wh = limit.energy_kwh * 1000 - limit.counted_wh
                candidates.append(left_wh * 3600 / power - ENERGY_LEAD_SECONDS)
        return min(candidates) if candidates else None

    def limit_pause_made(self) -> None:
        """Our pause at the limit reached the charger."""
        self.paused_by_limit = True
        self.resume_due = False
        self.dirty = True

    def limit_pause_ended(self) -> None:
        """Forget the limit's pause: resumed at the end of its session, or by hand."""
        if self.paused_by_limit or self.resume_due:
            self.paused_by_limit = False
            self.resume_due = False
            self.dirty = True

    def stored(self) -> dict[str, Any]:
        """Return what to save, and clear the dirty mark."""
        self.dirty = False
        return {
            "limit": None if self.limit is None else self.limit.as_dict(),
            "paused_by_limit": self.paused_by_limit,
            "resume_due": self.resume_due,
        }

    def restore(self, data: dict[str, Any] | None) -> None:
        """Take back a saved limit (after a restart)."""
        data = data or {}
        saved = data.get("limit")
        self.limit = None if saved is None else EnforcedLimit.from_dict(saved)
        self.paused_by_limit = data.get("paused_by_limit") is True
        self.resume_due = data.get("resume_due") is True

    def decorate(self, snapshot: ChargerSnapshot) -> ChargerSnapshot:
        """Show the enforced limit in the snapshot's limit fields."""
        limit = self.limit
        return replace(
            snapshot,
            energy_limit=(limit.energy_kwh or 0.0) if limit else 0.0,
            time_limit=(limit.minutes or 0) if limit else 0,
        )
