"""An energy counter that never lies: one guard for every charger kind.

Chargers' lifetime counters misbehave in ways a single reading cannot tell
apart from real events: a register that drops to 0 and comes back (a
glitch) or stays there (a reset), a value of 10**9 Wh for one sample, a
counter that the owner zeroed. The Energy dashboard takes every published
value for good, so a published value must be one that later readings
confirmed:

- A reading is taken at once when it follows the last accepted one: at most
  a little below it (rounding), at most what the charger can deliver since
  then above it (rated power x elapsed time, with a margin).
- A drop counts as a counter reset only when the new value is near zero
  (no more than the charger could have counted since the last reading) and
  the next ``CONFIRMATIONS`` different readings continue from it; what was
  counted before the reset is carried over in ``offset``.
- A rise larger than the charger can deliver is held back the same way
  until readings confirm it; a reading that fits the old counter again
  discards it as a glitch. Other drops are ignored.
- Readings equal to the last one seen confirm nothing (a charger that pushes
  other changes repeats a stale value), and the published total never
  decreases.

Parsers reject non-finite and negative energy before it gets here; the
guard ignores such values too. Time is any clock in seconds that survives
a restart (the integration uses the wall clock), passed in by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .models import ChargerSnapshot

CONFIRMATIONS = 2
"""Different readings that must continue from a reset or a jump."""
POWER_MARGIN = 1.5
"""Meters read high, nameplates round down: room above the rated power."""
SLACK_WH = 200.0
"""Counter resolution (go-e counts 100 Wh steps) and timing jitter."""
NOISE_WH = 10.0
NOISE_SHARE = 0.001
"""A drop within max(10 Wh, 0.1 %) is rounding noise, held, not a reset."""
NOMINAL_VOLTS = 250.0
"""Above every mains voltage a home charger runs on (230/240 V, 277 V rare)."""
J1772_MAX_AMPS = 80
"""The most a J1772 pilot can offer: the bound when the charger says nothing."""
MAX_POWER_W = 1_000_000.0
"""A cap, so a garbage rating cannot disable the guard (or overflow)."""


class _Kind(StrEnum):
    RESET = "reset"
    JUMP = "jump"


@dataclass(slots=True)
class _Candidate:
    """A reading that does not follow the counter, waiting for confirmation."""

    kind: _Kind
    value: float
    seen_at: float
    confirmations: int = 0


def rated_power_w(snapshot: ChargerSnapshot) -> float:
    """Return the most power the charger can deliver, from what it reports.

    Its maximum current (80 A when unknown) at 250 V, on three phases when it
    reports per-phase values.
    """
    three_phase = any(
        phases is not None
        for phases in (
            snapshot.phase_currents,
            snapshot.phase_voltages,
            snapshot.phase_powers,
        )
    )
    return rated_power(snapshot.max_current_limit, three_phase=three_phase)


def rated_power(amps: float | None, *, three_phase: bool) -> float:
    """Return ``amps`` (80 A when unknown) at 250 V on one or three phases."""
    current = abs(amps or J1772_MAX_AMPS)
    return min(current * NOMINAL_VOLTS * (3 if three_phase else 1), MAX_POWER_W)


def _noise(value: float) -> float:
    return max(NOISE_WH, value * NOISE_SHARE)


def _allowance(since: float | None, now: float, max_power_w: float) -> float:
    """Wh the charger can have counted between ``since`` and ``now``."""
    if since is None:
        return math.inf  # restored without a time: nothing to judge by
    hours = max(now - since, 0.0) / 3600
    power = min(max(max_power_w, 0.0), MAX_POWER_W)
    return power * POWER_MARGIN * hours + SLACK_WH


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class LifetimeEnergyGuard:
    """Turns a charger's energy counter into a total that only moves forward."""

    def __init__(self) -> None:
        """Start with nothing counted."""
        self.offset = 0.0
        """Wh counted before the counter's confirmed resets."""
        self.baseline: float | None = None
        """The last accepted reading of the counter."""
        self.seen_at: float | None = None
        """When the counter last read ``baseline``."""
        self.total: float | None = None
        """The published value: ``offset + baseline``, never decreasing."""
        self._candidate: _Candidate | None = None

    @property
    def pending(self) -> bool:
        """Whether a reset or a jump is waiting for confirmation."""
        return self._candidate is not None

    def update(
        self, reading: float | None, now: float, max_power_w: float
    ) -> float | None:
        """Fold in one reading (Wh) taken at ``now``; return the total."""
        value = _finite(reading)
        if value is None or value < 0:
            return self.total
        baseline = self.baseline
        if baseline is None:
            self._accept(value, now)
            return self.total
        candidate = self._candidate
        if value == baseline:
            self.seen_at = now
            self._candidate = None
            return self.total
        if candidate is not None and value == candidate.value:
            candidate.seen_at = now  # a repeat confirms nothing
            return self.total
        allowance = _allowance(self.seen_at, now, max_power_w)
        rise = value - baseline
        if -_noise(baseline) <= rise <= allowance:
            self._candidate = None
            if rise > 0:
                self._accept(value, now)
            return self.total
        if candidate is not None and self._continues(
            candidate, value, now, max_power_w
        ):
            self._confirm(candidate, value, now)
            return self.total
        if rise < 0 and value > allowance:
            return self.total  # a drop, but not to zero: no reset
        kind = _Kind.RESET if rise < 0 else _Kind.JUMP
        self._candidate = _Candidate(kind=kind, value=value, seen_at=now)
        return self.total

    @staticmethod
    def _continues(
        candidate: _Candidate, value: float, now: float, max_power_w: float
    ) -> bool:
        rise = value - candidate.value
        allowance = _allowance(candidate.seen_at, now, max_power_w)
        return -_noise(candidate.value) <= rise <= allowance

    def _confirm(self, candidate: _Candidate, value: float, now: float) -> None:
        candidate.confirmations += 1
        candidate.value = max(candidate.value, value)
        candidate.seen_at = now
        if candidate.confirmations < CONFIRMATIONS:
            return
        if candidate.kind is _Kind.RESET and self.baseline is not None:
            self.offset += self.baseline
        self._candidate = None
        self._accept(candidate.value, now)

    def _accept(self, value: float, now: float) -> None:
        self.baseline = value
        self.seen_at = now
        counted = self.offset + value
        self.total = counted if self.total is None else max(self.total, counted)

    def export(self) -> dict[str, float | None]:
        """JSON-safe state to keep across a restart (a pending event is not)."""
        return {
            "energy_offset": self.offset,
            "energy_last_raw": self.baseline,
            "energy_last_seen": self.seen_at,
            "energy_total": self.total,
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> LifetimeEnergyGuard | None:
        """Take back :meth:`export` (or the older offset and last reading).

        None when ``data`` is not a guard's: a missing offset, or a value that
        is not a finite, non-negative number.
        """
        offset = _finite(data.get("energy_offset"))
        if offset is None or offset < 0:
            return None
        guard = cls()
        guard.offset = offset
        for key in ("energy_last_raw", "energy_last_seen", "energy_total"):
            raw = data.get(key)
            value = _finite(raw)
            if raw is not None and value is None:
                return None
            if key != "energy_last_seen" and value is not None and value < 0:
                return None  # energy; a time may be anything
        guard.baseline = _finite(data.get("energy_last_raw"))
        guard.seen_at = _finite(data.get("energy_last_seen"))
        counted = None if guard.baseline is None else offset + guard.baseline
        stored = _finite(data.get("energy_total"))
        totals = [total for total in (counted, stored) if total is not None]
        guard.total = max(totals) if totals else None
        return guard
