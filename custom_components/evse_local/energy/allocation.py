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
    PLAN_LIMITED = "plan_limited"
    """A charging plan asks for less than its share."""
    PLAN_PAUSED = "plan_paused"
    """A charging plan waits for a cheaper slot: paused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberState:
    """One station as :func:`allocate` sees it.

    ``reserved_when_offline`` is what stays reserved while the station is
    offline: we cannot lower its current, so it may go on drawing what it
    could draw when it dropped. The caller works that out (see
    ``EnergyController``).

    ``floor`` is the current a station can offer without being given a share:
    what it falls back to without Home Assistant. A station without a car
    keeps it reserved (a car may plug in at any moment and draw it), a
    station with a car gets at least it whenever the circuit allows, and the
    policy shares only what is left above the floors. The manual's stations
    ask the gateway before they charge, which is ``floor`` 0.
    ``min_current`` overrides the call's minimum for this station.
    """

    member_id: str
    online: bool
    demanding: bool
    plugged_in_order: float | None
    max_current: int
    reserved_when_offline: int = 0
    floor: int = 0
    min_current: int | None = None


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


def _floor(member: MemberState) -> int:
    return min(max(0, member.floor), member.max_current)


def _minimum(member: MemberState, min_current: int) -> int:
    return min_current if member.min_current is None else member.min_current


def _uniform_shares(queue: list[MemberState], budget: Fraction) -> dict[str, int]:
    """Give the same fraction of every maximum, never below a station's floor.

    Stations whose share would fall below their floor get the floor; the
    rest share what is left, until nobody else falls below. With floors 0
    this is the manual's ``floor(fraction * max)``.
    """
    fixed: set[str] = set()
    while True:
        rest = budget - sum(_floor(m) for m in queue if m.member_id in fixed)
        free = [m for m in queue if m.member_id not in fixed]
        total = sum(m.max_current for m in free)
        fraction = (
            Fraction(0) if total == 0 or rest <= 0 else min(Fraction(1), rest / total)
        )
        # Fractions keep 60 A * 32 / 64 at exactly 30, where floats may floor
        # a hair below to 29.
        shares = {m.member_id: math.floor(fraction * m.max_current) for m in free}
        below = {m.member_id for m in free if shares[m.member_id] < _floor(m)}
        if not below:
            shares.update(
                (m.member_id, _floor(m)) for m in queue if m.member_id in fixed
            )
            return shares
        fixed |= below


def _uniform(
    queue: list[MemberState], budget: Fraction, min_current: int
) -> dict[str, Allocation]:
    result: dict[str, Allocation] = {}
    while queue:
        shares = _uniform_shares(queue, budget)
        if all(
            shares[member.member_id] >= _minimum(member, min_current)
            for member in queue
        ):
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
    # Every station's floor is kept for it; the order decides what is above.
    left = budget - sum(_floor(member) for member in queue)
    for member in queue:
        floor = _floor(member)
        extra = math.floor(
            min(Fraction(member.max_current - floor), max(left, Fraction(0)))
        )
        amps = floor + extra
        if amps < _minimum(member, min_current):
            result[member.member_id] = Allocation(0, AllocationReason.CIRCUIT_FULL)
            continue
        result[member.member_id] = _served(amps, member.max_current)
        left -= extra
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
    get 0 (``IDLE``) and keep their floor reserved; demanding members share
    what is left by ``policy``. When what is left cannot even cover their
    floors, the last plugged in are paused (``CIRCUIT_FULL``) until it does.
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
            reserved += _floor(member)
            result[member.member_id] = Allocation(0, AllocationReason.IDLE)
        elif member.max_current < _minimum(member, min_current):
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
    while queue and sum(_floor(member) for member in queue) > budget:
        # The rest of the house takes more than the floors: a paused station
        # draws nothing, the last plugged in waits first.
        dropped = queue.pop()
        result[dropped.member_id] = Allocation(0, AllocationReason.CIRCUIT_FULL)
    share = _uniform if policy is Policy.UNIFORM else _first_in_first_serve
    result.update(share(queue, budget, min_current))
    return result
