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

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

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


class SessionLimitEnforcer:
    """Watches snapshots and says when to pause."""

    def __init__(self) -> None:
        """No limit yet."""
        self.limit: EnforcedLimit | None = None

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

    def clear(self) -> None:
        """Forget the limit."""
        self.limit = None

    def update(self, snapshot: ChargerSnapshot, now: datetime) -> bool:
        """Fold in a snapshot; True exactly once, when a limit is reached."""
        limit = self.limit
        if limit is None:
            return False
        if snapshot.vehicle_connected is False:
            # Like the chargers' own limits: the session is over.
            self.limit = None
            return False
        session_wh = snapshot.session_energy
        if session_wh is not None:
            last = limit.last_session_wh
            if last is not None:
                # A counter that restarted within the session counts from zero.
                limit.counted_wh += (
                    session_wh - last if session_wh >= last else session_wh
                )
            limit.last_session_wh = session_wh
        energy_reached = (
            limit.energy_kwh is not None and limit.counted_wh >= limit.energy_kwh * 1000
        )
        time_reached = limit.deadline is not None and now >= limit.deadline
        if (energy_reached or time_reached) and not limit.reached:
            limit.reached = True
            return True
        return False

    def decorate(self, snapshot: ChargerSnapshot) -> ChargerSnapshot:
        """Show the enforced limit in the snapshot's limit fields."""
        limit = self.limit
        return replace(
            snapshot,
            energy_limit=(limit.energy_kwh or 0.0) if limit else 0.0,
            time_limit=(limit.minutes or 0) if limit else 0,
        )
