"""What a charger could draw: the quantity the circuit invariant is about.

**The invariant.** At every moment, the sum over a group's members of the
current each charger *could* draw never exceeds what the circuit has
available. A charger could draw the largest of:

- its last set point that the charger confirmed (read back), because that is
  what it offers now and keeps offering if Home Assistant goes away;
- what it falls back to without Home Assistant (after a reboot, an unplug, a
  released claim, a lost connection): its persistent setting;
- a set point we sent that may have been applied but was not read back yet
  (a command that timed out may still have reached the charger);

and its maximum where the set point or the fallback is unknown. A pause does
not lower it: a pause can be undone at the charger, and a reboot forgets it.

The controller keeps the invariant by construction: decreases go out first
and count only once a reading confirms them; an increase goes out only when
it fits beside what every other member could draw, and counts from the
moment it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Exposure:
    """What one charger could draw, and why."""

    amps: int
    setpoint: int | None
    fallback: int | None
    pending: int | None
    maximum: int

    @property
    def known(self) -> bool:
        """Whether the set point and the fallback are both known."""
        return self.setpoint is not None and self.fallback is not None


def could_draw(
    *,
    setpoint: int | None,
    fallback: int | None,
    maximum: int,
    pending: int | None = None,
) -> Exposure:
    """Return what a charger could draw (see the module docstring)."""
    if setpoint is None or fallback is None:
        amps = maximum
    else:
        amps = max(setpoint, fallback, pending or 0)
    return Exposure(
        amps=amps,
        setpoint=setpoint,
        fallback=fallback,
        pending=pending,
        maximum=maximum,
    )
