"""Share one circuit among chargers: the two policies of local load management.

The policies and their worked examples come from the Blink MQ 200 manual
(section 7.5.3):

- **Uniform Distribution**: every demanding station gets the same fraction
  of its own maximum, ``floor(min(1, available / sum(max)) * max)``. This is
  what the manual prints for mixed stations (32/32/16 A on 60 A gives
  24/24/12 A, not an equal 22/22/16 A split).
- **First In First Serve**: in plug-in order, each station gets as much as
  it can take of what is left.

A share below the J1772 minimum (6 A) cannot be signalled on the pilot, so
such a station is paused instead of being offered it. Offline stations keep
their reserve (see :class:`MemberState`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

# The lowest current a J1772 pilot can offer (10 % duty cycle).
J1772_MIN_CURRENT = 6


class Policy(StrEnum):
    """How the available current is shared."""

    UNIFORM = "uniform"
    FIRST_IN_FIRST_SERVE = "first_in_first_serve"


class AllocationReason(StrEnum):
    """Why a member got what it got."""

    IDLE = "idle"
    """No car, or the car is not asking: not commanded."""
    MAXIMUM = "maximum"
    """It gets its station maximum."""
    SHARED = "shared"
    """It gets a share of the circuit."""
    CIRCUIT_FULL = "circuit_full"
    """Its share would be below the minimum: paused."""
    SOLAR_LIMITED = "solar_limited"
    """The solar budget is what limits it."""
    SOLAR_PAUSED = "solar_paused"
    """Solar mode without enough surplus: paused."""
    OFFLINE = "offline"
    """Unreachable; current stays reserved for it."""
    PAUSED_BY_USER = "paused_by_user"
    """Paused by someone else (the user, a session limit): left alone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberState:
    """One station as :func:`allocate` sees it.

    ``reserved_when_offline`` is what stays reserved while the station is
    offline: we cannot lower its current, so it may go on drawing what it
    had (its fallback current, or more if it was allocated more when it
    dropped). The caller works that out (see ``EnergyController``).
    """

    member_id: str
    online: bool
    demanding: bool
    plugged_in_order: float | None
    max_current: int
    reserved_when_offline: int = 0


@dataclass(frozen=True, slots=True)
class Allocation:
    """What one member gets: ``amps`` 0 means paused (or idle)."""

    amps: int
    reason: AllocationReason


def _plug_order(member: MemberState) -> tuple[bool, float, str]:
    # Unknown order sorts last; the id makes ties deterministic.
    order = member.plugged_in_order
    return (order is None, 0.0 if order is None else order, member.member_id)


def _served(amps: int, maximum: int) -> Allocation:
    if amps >= maximum:
        return Allocation(maximum, AllocationReason.MAXIMUM)
    return Allocation(amps, AllocationReason.SHARED)


def _uniform(
    queue: list[MemberState], budget: Fraction, min_current: int
) -> dict[str, Allocation]:
    result: dict[str, Allocation] = {}
    while queue:
        total = sum(member.max_current for member in queue)
        fraction = min(Fraction(1), budget / total)
        # Fractions keep 60 A * 32 / 64 at exactly 30, where floats may floor
        # a hair below to 29.
        shares = {
            member.member_id: math.floor(fraction * member.max_current)
            for member in queue
        }
        if all(share >= min_current for share in shares.values()):
            for member in queue:
                result[member.member_id] = _served(
                    shares[member.member_id], member.max_current
                )
            break
        # The car that came last waits, so the others keep a usable share.
        dropped = queue.pop()
        result[dropped.member_id] = Allocation(0, AllocationReason.CIRCUIT_FULL)
    return result


def _first_in_first_serve(
    queue: list[MemberState], budget: Fraction, min_current: int
) -> dict[str, Allocation]:
    result: dict[str, Allocation] = {}
    left = budget
    for member in queue:
        amps = math.floor(min(Fraction(member.max_current), left))
        if amps < min_current:
            result[member.member_id] = Allocation(0, AllocationReason.CIRCUIT_FULL)
            continue
        result[member.member_id] = _served(amps, member.max_current)
        left -= amps
    return result


def allocate(
    members: Sequence[MemberState],
    *,
    available: float,
    policy: Policy,
    min_current: int = J1772_MIN_CURRENT,
) -> dict[str, Allocation]:
    """Share ``available`` amps (per phase) among ``members``.

    ``available`` may be ``math.inf`` (no circuit: every demanding station
    gets its maximum); NaN or a negative value means nothing is available.

    Returns one :class:`Allocation` per member id. Offline members get their
    reserve (reason ``OFFLINE``); online members that do not demand current
    get 0 (``IDLE``); demanding members share what is left by ``policy``.
    """
    result: dict[str, Allocation] = {}
    reserved = 0
    queue: list[MemberState] = []
    for member in members:
        if not member.online:
            reserve = max(0, member.reserved_when_offline)
            reserved += reserve
            result[member.member_id] = Allocation(reserve, AllocationReason.OFFLINE)
        elif not member.demanding:
            result[member.member_id] = Allocation(0, AllocationReason.IDLE)
        elif member.max_current < min_current:
            # A station that cannot even offer the minimum never gets a share.
            result[member.member_id] = Allocation(0, AllocationReason.CIRCUIT_FULL)
        else:
            queue.append(member)
    queue.sort(key=_plug_order)
    if available == math.inf:
        # No circuit (a lone charger in solar mode, or no limit at all).
        budget = Fraction(sum(member.max_current for member in queue))
    elif math.isnan(available) or available <= reserved:
        budget = Fraction(0)
    else:
        budget = Fraction(available) - reserved
    share = _uniform if policy is Policy.UNIFORM else _first_in_first_serve
    result.update(share(queue, budget, min_current))
    return result
