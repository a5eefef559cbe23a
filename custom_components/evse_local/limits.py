"""Session limits enforced by the integration, for chargers without them.

The go-e Charger's documented energy-limit register collides with another
table, and it has no time limit at all, so there the integration watches
the session itself: it counts the energy delivered since the limit was set
(session counters of some chargers restart within a session, so positive
steps are summed), starts the clock when the limit is set, pauses the
charger once when a limit is reached, and forgets the limit when the car is
unplugged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .protocols.models import ChargerSnapshot


@dataclass(slots=True)
class EnforcedLimit:
    """One session's limit and how far the session has got."""

    energy_kwh: float | None
    minutes: int | None
    deadline: datetime | None
    counted_wh: float = 0.0
    last_session_wh: float | None = None
    reached: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage across restarts."""
        data = asdict(self)
        data["deadline"] = None if self.deadline is None else self.deadline.isoformat()
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
    """Watches snapshots and says when to pause."""

    def __init__(self) -> None:
        """No limit yet."""
        self.limit: EnforcedLimit | None = None
        # Set when something worth keeping across a restart changed. Energy is
        # counted from ``last_session_wh``, so it is saved on events (set,
        # clear, reached, counter restart), not on every reading.
        self.dirty = False

    def set(
        self,
        *,
        energy_kwh: float | None,
        minutes: int | None,
        now: datetime,
        snapshot: ChargerSnapshot,
    ) -> None:
        """Start a limit from the current session state."""
        self.limit = EnforcedLimit(
            energy_kwh=energy_kwh,
            minutes=minutes,
            deadline=None if minutes is None else now + timedelta(minutes=minutes),
            last_session_wh=snapshot.session_energy,
        )
        self.dirty = True

    def clear(self) -> None:
        """Forget the limit."""
        self.limit = None
        self.dirty = True

    def update(self, snapshot: ChargerSnapshot, now: datetime) -> bool:
        """Fold in a snapshot; True exactly once, when a limit is reached."""
        limit = self.limit
        if limit is None:
            return False
        if snapshot.vehicle_connected is False:
            # Like the chargers' own limits: the session is over.
            self.clear()
            return False
        session_wh = snapshot.session_energy
        if session_wh is not None:
            last = limit.last_session_wh
            if last is not None and session_wh < last:
                # A counter that restarted within the session counts from zero.
                limit.counted_wh += session_wh
                self.dirty = True
            elif last is not None:
                limit.counted_wh += session_wh - last
            limit.last_session_wh = session_wh
        energy_reached = (
            limit.energy_kwh is not None and limit.counted_wh >= limit.energy_kwh * 1000
        )
        time_reached = limit.deadline is not None and now >= limit.deadline
        if (energy_reached or time_reached) and not limit.reached:
            limit.reached = True
            self.dirty = True
            return True
        return False

    def stored(self) -> dict[str, Any]:
        """Return what to save, and clear the dirty mark."""
        self.dirty = False
        return {"limit": None if self.limit is None else self.limit.as_dict()}

    def restore(self, data: dict[str, Any] | None) -> None:
        """Take back a saved limit (after a restart)."""
        saved = (data or {}).get("limit")
        self.limit = None if saved is None else EnforcedLimit.from_dict(saved)

    def decorate(self, snapshot: ChargerSnapshot) -> ChargerSnapshot:
        """Show the enforced limit in the snapshot's limit fields."""
        limit = self.limit
        return replace(
            snapshot,
            energy_limit=(limit.energy_kwh or 0.0) if limit else 0.0,
            time_limit=(limit.minutes or 0) if limit else 0,
        )
