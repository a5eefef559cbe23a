"""Load sharing: the manual's worked examples, exactly, and the edges."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from custom_components.evse_local.energy import (
    J1772_MIN_CURRENT,
    Allocation,
    AllocationReason,
    MemberState,
    Policy,
    allocate,
)

MAXIMUM = AllocationReason.MAXIMUM
SHARED = AllocationReason.SHARED
FULL = AllocationReason.CIRCUIT_FULL
OFFLINE = AllocationReason.OFFLINE
IDLE = AllocationReason.IDLE

FALLBACK = 10  # the examples' fallback current


def car(member_id: str, order: float | None, max_current: int = 32) -> MemberState:
    """An online station with a car asking for current."""
    return MemberState(
        member_id=member_id,
        online=True,
        demanding=True,
        plugged_in_order=order,
        max_current=max_current,
    )


def empty(member_id: str, max_current: int = 32) -> MemberState:
    """An online station without a car."""
    return MemberState(
        member_id=member_id,
        online=True,
        demanding=False,
        plugged_in_order=None,
        max_current=max_current,
    )


def offline(member_id: str, reserve: int = FALLBACK) -> MemberState:
    """An unreachable station keeping ``reserve`` amps."""
    return MemberState(
        member_id=member_id,
        online=False,
        demanding=False,
        plugged_in_order=None,
        max_current=32,
        reserved_when_offline=reserve,
    )


def amps(result: dict[str, Allocation]) -> dict[str, int]:
    return {member_id: item.amps for member_id, item in result.items()}


def uniform(members: list[MemberState], available: float) -> dict[str, Allocation]:
    return allocate(members, available=available, policy=Policy.UNIFORM)


def fifs(members: list[MemberState], available: float) -> dict[str, Allocation]:
    return allocate(members, available=available, policy=Policy.FIRST_IN_FIRST_SERVE)


# ------------------------------------------------------- Uniform Distribution


def test_example_1_three_32a_stations_on_60a() -> None:
    one = uniform([car("a", 1), empty("b"), empty("c")], 60)
    assert one == {
        "a": Allocation(32, MAXIMUM),
        "b": Allocation(0, IDLE),
        "c": Allocation(0, IDLE),
    }
    two = uniform([car("a", 1), car("b", 2), empty("c")], 60)
    assert amps(two) == {"a": 30, "b": 30, "c": 0}
    assert two["a"].reason is SHARED
    three = uniform([car("a", 1), car("b", 2), car("c", 3)], 60)
    assert three == dict.fromkeys("abc", Allocation(20, SHARED))


def test_example_2_two_32a_and_one_16a_station_on_60a() -> None:
    assert amps(uniform([car("a", 1), empty("b"), empty("c", 16)], 60)) == {
        "a": 32,
        "b": 0,
        "c": 0,
    }
    assert amps(uniform([car("a", 1), car("b", 2), empty("c", 16)], 60)) == {
        "a": 30,
        "b": 30,
        "c": 0,
    }
    # Same fraction of each maximum: 24/24/12, not an equal 22/22/16 split.
    three = uniform([car("a", 1), car("b", 2), car("c", 3, 16)], 60)
    assert three == {
        "a": Allocation(24, SHARED),
        "b": Allocation(24, SHARED),
        "c": Allocation(12, SHARED),
    }


def test_example_3_five_stations_two_offline_on_80a() -> None:
    down = [offline("d"), offline("e")]
    one = uniform([car("a", 1), empty("b"), empty("c"), *down], 80)
    assert amps(one) == {"a": 32, "b": 0, "c": 0, "d": 10, "e": 10}
    assert one["d"] == Allocation(10, OFFLINE)
    two = uniform([car("a", 1), car("b", 2), empty("c"), *down], 80)
    assert amps(two) == {"a": 30, "b": 30, "c": 0, "d": 10, "e": 10}
    three = uniform([car("a", 1), car("b", 2), car("c", 3), *down], 80)
    assert amps(three) == {"a": 20, "b": 20, "c": 20, "d": 10, "e": 10}


def test_uniform_drops_the_last_plugged_until_shares_reach_6a() -> None:
    # 20 A over four 32 A cars is 5 A each: the last plugged waits, the
    # other three get floor(6.67) = 6 A.
    members = [car("late", 4), car("a", 1), car("b", 2), car("c", 3)]
    result = uniform(members, 20)
    assert result == {
        "a": Allocation(6, SHARED),
        "b": Allocation(6, SHARED),
        "c": Allocation(6, SHARED),
        "late": Allocation(0, FULL),
    }
    # 17 A: three cars would get 5 A, so two wait and two get 8 A.
    result = uniform(members, 17)
    assert amps(result) == {"a": 8, "b": 8, "c": 0, "late": 0}


def test_uniform_share_exactly_6a_is_offered() -> None:
    result = uniform([car("a", 1), car("b", 2)], 12)
    assert amps(result) == {"a": 6, "b": 6}


def test_uniform_tiny_circuit_pauses_everyone() -> None:
    result = uniform([car("a", 1), car("b", 2)], 5.9)
    assert result == dict.fromkeys("ab", Allocation(0, FULL))


def test_uniform_many_cars() -> None:
    members = [car(f"car{i:02}", i) for i in range(20)]
    result = uniform(members, 125)
    # 20 x 6.25 A: floor gives 6 A to all twenty (120 A used).
    assert set(amps(result).values()) == {6}
    result = uniform(members, 100)
    # 16 cars fit at 6.25 -> 6 A; the four plugged last wait.
    served = {k for k, v in result.items() if v.amps}
    assert served == {f"car{i:02}" for i in range(16)}
    assert sum(item.amps for item in result.values()) <= 100


def test_uniform_fractions_are_floored_exactly() -> None:
    # 61 A over 32+32+16: f = 61/80; 24.4 -> 24, 12.2 -> 12.
    result = uniform([car("a", 1), car("b", 2), car("c", 3, 16)], 61)
    assert amps(result) == {"a": 24, "b": 24, "c": 12}
    # A float budget that is "exactly" 30 per car must not floor to 29.
    result = uniform([car("a", 1), car("b", 2)], 0.1 * 600)
    assert amps(result) == {"a": 30, "b": 30}
    # Fractional available current.
    result = uniform([car("a", 1), car("b", 2)], 45.5)
    assert amps(result) == {"a": 22, "b": 22}


def test_uniform_never_exceeds_station_maximum() -> None:
    result = uniform([car("a", 1, 16), car("b", 2, 20)], 200)
    assert result == {"a": Allocation(16, MAXIMUM), "b": Allocation(20, MAXIMUM)}


# ------------------------------------------------------- First In First Serve


def test_example_a_three_32a_stations_on_60a() -> None:
    assert amps(fifs([car("a", 1), empty("b"), empty("c")], 60)) == {
        "a": 32,
        "b": 0,
        "c": 0,
    }
    two = fifs([car("a", 1), car("b", 2), empty("c")], 60)
    assert two == {
        "a": Allocation(32, MAXIMUM),
        "b": Allocation(28, SHARED),
        "c": Allocation(0, IDLE),
    }
    three = fifs([car("a", 1), car("b", 2), car("c", 3)], 60)
    assert three == {
        "a": Allocation(32, MAXIMUM),
        "b": Allocation(28, SHARED),
        "c": Allocation(0, FULL),
    }
    # The first car leaves: the second gets 32 A, the third 28 A.
    left = fifs([empty("a"), car("b", 2), car("c", 3)], 60)
    assert amps(left) == {"a": 0, "b": 32, "c": 28}


def test_example_b_five_stations_two_offline_on_100a() -> None:
    down = [offline("d"), offline("e")]
    one = fifs([car("a", 1), empty("b"), empty("c"), *down], 100)
    assert amps(one) == {"a": 32, "b": 0, "c": 0, "d": 10, "e": 10}
    two = fifs([car("a", 1), car("b", 2), empty("c"), *down], 100)
    assert amps(two) == {"a": 32, "b": 32, "c": 0, "d": 10, "e": 10}
    three = fifs([car("a", 1), car("b", 2), car("c", 3), *down], 100)
    assert amps(three) == {"a": 32, "b": 32, "c": 16, "d": 10, "e": 10}
    assert three["c"].reason is SHARED


def test_fifs_follows_plug_order_not_list_order() -> None:
    result = fifs([car("z", 3), car("y", 1), car("x", 2)], 40)
    assert amps(result) == {"y": 32, "x": 8, "z": 0}


def test_fifs_remainder_below_6a_pauses() -> None:
    result = fifs([car("a", 1), car("b", 2)], 37.9)
    assert result == {"a": Allocation(32, MAXIMUM), "b": Allocation(0, FULL)}
    result = fifs([car("a", 1), car("b", 2)], 38)
    assert amps(result) == {"a": 32, "b": 6}


def test_fifs_unknown_order_comes_last_ties_by_id() -> None:
    result = fifs([car("b", None), car("a", None), car("c", 5)], 40)
    assert amps(result) == {"c": 32, "a": 8, "b": 0}


# ------------------------------------------------------- both policies


@pytest.mark.parametrize("policy", list(Policy))
def test_offline_reserve_keeps_last_allocation(policy: Policy) -> None:
    # A station that dropped while allocated 20 A may still draw 20 A.
    result = allocate(
        [car("a", 1), offline("gone", reserve=20)], available=40, policy=policy
    )
    assert result == {
        "a": Allocation(20, SHARED),
        "gone": Allocation(20, OFFLINE),
    }


@pytest.mark.parametrize("policy", list(Policy))
def test_reserves_larger_than_the_circuit_leave_nothing(policy: Policy) -> None:
    result = allocate(
        [car("a", 1), offline("b", 30), offline("c", 30)],
        available=50,
        policy=policy,
    )
    assert result["a"] == Allocation(0, FULL)
    assert result["b"] == Allocation(30, OFFLINE)


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize("available", [-5.0, 0.0, math.nan, -math.inf])
def test_nothing_available_pauses(policy: Policy, available: float) -> None:
    result = allocate([car("a", 1)], available=available, policy=policy)
    assert result == {"a": Allocation(0, FULL)}


@pytest.mark.parametrize("policy", list(Policy))
def test_unlimited_gives_every_station_its_maximum(policy: Policy) -> None:
    result = allocate([car("a", 1, 16), car("b", 2)], available=math.inf, policy=policy)
    assert result == {"a": Allocation(16, MAXIMUM), "b": Allocation(32, MAXIMUM)}


@pytest.mark.parametrize("policy", list(Policy))
def test_station_that_cannot_offer_the_minimum_is_paused(policy: Policy) -> None:
    result = allocate([car("a", 1, 5), car("b", 2)], available=60, policy=policy)
    assert result == {"a": Allocation(0, FULL), "b": Allocation(32, MAXIMUM)}


@pytest.mark.parametrize("policy", list(Policy))
def test_members_dropping_mid_session(policy: Policy) -> None:
    members = [car("a", 1), car("b", 2), car("c", 3)]
    before = allocate(members, available=60, policy=policy)
    assert sum(item.amps for item in before.values()) <= 60
    # b goes offline while allocated: its share stays reserved.
    reserve = before["b"].amps
    members[1] = offline("b", reserve=max(FALLBACK, reserve))
    after = allocate(members, available=60, policy=policy)
    assert after["b"] == Allocation(max(FALLBACK, reserve), OFFLINE)
    assert sum(item.amps for item in after.values()) <= 60


def test_custom_minimum_current() -> None:
    result = allocate(
        [car("a", 1), car("b", 2)],
        available=15,
        policy=Policy.UNIFORM,
        min_current=8,
    )
    assert amps(result) == {"a": 15, "b": 0}
    assert J1772_MIN_CURRENT == 6


def test_empty_group() -> None:
    assert allocate([], available=60, policy=Policy.UNIFORM) == {}


@pytest.mark.parametrize("policy", list(Policy))
def test_random_groups_respect_every_rule(policy: Policy) -> None:
    """Seeded random groups: never above the budget, never 1-5 A, never above max."""
    rng = random.Random(4711)  # noqa: S311 - reproducible, not secret
    for _ in range(2000):
        members = []
        for index in range(rng.randrange(1, 9)):
            kind = rng.random()
            if kind < 0.15:
                members.append(offline(f"m{index}", rng.choice([0, 6, 10, 20])))
            elif kind < 0.3:
                members.append(empty(f"m{index}"))
            else:
                members.append(
                    car(f"m{index}", rng.random(), rng.choice([6, 10, 16, 32, 40]))
                )
        available = rng.uniform(0, 150)
        result = allocate(members, available=available, policy=policy)
        reserved = sum(m.reserved_when_offline for m in members if not m.online)
        served = sum(
            item.amps for item in result.values() if item.reason is not OFFLINE
        )
        assert served <= max(0.0, available - reserved) + 1e-9
        for member in members:
            item = result[member.member_id]
            assert item.amps == 0 or item.amps >= J1772_MIN_CURRENT or not member.online
            if member.online:
                assert item.amps <= member.max_current


# ------------------------------------------------------- fallback floors


def floored(
    member_id: str, order: float | None, floor: int, max_current: int = 32
) -> MemberState:
    """A car at a station that falls back to ``floor`` amps by itself."""
    return replace(car(member_id, order, max_current), floor=floor)


def test_idle_stations_keep_their_floor_reserved() -> None:
    idle = replace(empty("b"), floor=6)
    assert amps(uniform([car("a", 1), idle], 40)) == {"a": 32, "b": 0}
    assert amps(uniform([car("a", 1, 40), idle], 40)) == {"a": 34, "b": 0}


def test_uniform_never_offers_less_than_a_floor() -> None:
    # 40 A for three: 13 each (floor of 40/96 * 32) would leave the 16 A
    # floor of c short; c gets its floor, a and b share the rest.
    result = uniform([floored("a", 1, 6), floored("b", 2, 6), floored("c", 3, 16)], 40)
    assert amps(result) == {"a": 12, "b": 12, "c": 16}


def test_fifs_keeps_every_floor_before_serving_in_order() -> None:
    result = fifs([floored("a", 1, 6), floored("b", 2, 6), floored("c", 3, 6)], 60)
    assert amps(result) == {"a": 32, "b": 22, "c": 6}


@pytest.mark.parametrize("policy", list(Policy))
def test_floors_above_the_budget_pause_the_last_plugged(policy: Policy) -> None:
    members = [floored("a", 1, 10), floored("b", 2, 10), floored("c", 3, 10)]
    result = allocate(members, available=25, policy=policy)
    assert result["c"] == Allocation(0, FULL)
    assert amps(result)["a"] + amps(result)["b"] <= 25
    assert min(amps(result)["a"], amps(result)["b"]) >= 10


def test_per_station_minimum() -> None:
    member = replace(car("a", 1), min_current=10)
    assert uniform([member], 8) == {"a": Allocation(0, FULL)}
    assert uniform([member], 12) == {"a": Allocation(12, SHARED)}
