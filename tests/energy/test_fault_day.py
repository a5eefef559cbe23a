"""The fault-day benchmark's own pieces: the generated day, the measure, a short run."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.fault_day import (
    DAY_S,
    MEMBERS,
    PREROLL_S,
    FaultEpisode,
    FaultKind,
    Overshoot,
    Scenario,
    Session,
    generate_scenario,
    run_day,
)
from benchmarks.fault_rig import LIMIT_A


@pytest.mark.parametrize("seed", range(12))
def test_the_day_is_deterministic_and_plausible(seed: int) -> None:
    scenario = generate_scenario(seed)
    assert scenario == generate_scenario(seed)
    assert scenario != generate_scenario(seed + 100)
    for member_id in MEMBERS:
        sessions = [s for s in scenario.sessions if s.member_id == member_id]
        # One car at a time per charger, and every charger gets an evening car.
        for first, second in itertools.pairwise(sessions):
            assert first.leave_s is not None
            assert first.arrive_s < first.leave_s <= second.arrive_s
        assert sessions[-1].leave_s is None
        # Fault episodes of one charger never overlap.
        faults = [f for f in scenario.faults if f.member_id == member_id]
        for first_fault, second_fault in itertools.pairwise(faults):
            assert first_fault.start_s + first_fault.seconds <= second_fault.start_s
    assert scenario.outage is not None
    start, end = scenario.outage
    assert 17 * 3600 <= start < end <= DAY_S
    # While Home Assistant is gone a car arrives and another leaves; only
    # power blips (reboots) fall into the outage.
    assert any(start <= s.arrive_s < end for s in scenario.sessions)
    assert any(
        s.leave_s is not None and start <= s.leave_s < end for s in scenario.sessions
    )
    inside = [f for f in scenario.faults if start - 60 <= f.start_s <= end + 60]
    assert all(f.kind is FaultKind.REBOOT for f in inside)
    # The MQ 200 simulator cannot lose a call, the go-e one cannot lose an answer.
    kinds = {(f.member_id, f.kind) for f in scenario.faults}
    assert ("mq200", FaultKind.LOST) not in kinds
    assert ("goe", FaultKind.APPLIED) not in kinds


def test_overshoot_integrates_only_the_excess() -> None:
    overshoot = Overshoot()
    overshoot.add(0, {"a": 20, "b": LIMIT_A - 20})
    overshoot.add(1, {"a": 32, "b": 20})
    overshoot.add(2, {"a": 26, "b": 20}, away=True)
    overshoot.add(3, {"a": 6, "b": 6}, away=True)
    assert overshoot.ampere_seconds == 12 + 6
    assert overshoot.while_away == 6
    assert overshoot.seconds == 2
    assert overshoot.largest_a == 12
    assert (overshoot.first_s, overshoot.worst_s) == (1, 1)
    assert overshoot.worst_members == {"a": 32, "b": 20}


# Two cars charge; the OpenEVSE stops taking commands at 00:01, a car
# arrives at the MQ 200 at 00:01:40.
SHORT = Scenario(
    seed=0,
    sessions=(
        Session("openevse", -PREROLL_S, None, 50_000, 32),
        Session("goe", -PREROLL_S, None, 50_000, 32),
        Session("mq200", 100, None, 50_000, 32),
    ),
    faults=(FaultEpisode("openevse", FaultKind.REFUSING, 60, 600),),
    outage=None,
)


@pytest.mark.usefixtures("socket_enabled")
async def test_a_short_day_on_the_simulators_before_and_after() -> None:
    """Measured at the simulators: the old controller overloads, the new one not."""
    before = await run_day(SHORT, legacy=True, faults=True, until_s=200)
    after = await run_day(SHORT, legacy=False, faults=True, until_s=200)

    # Before: nothing bounds what the chargers fall back to (32 A each); once
    # the third car is there the refusing OpenEVSE keeps its 20 A (its car
    # draws 19.75) while the others are given 13 A each.
    assert before.could.largest_a == 3 * 32 - LIMIT_A
    assert before.could.seconds == 200
    assert before.drawn.largest_a == pytest.approx(19.75 + 13 + 13 - LIMIT_A)
    assert before.drawn.seconds == 100
    assert before.counters.fallback_writes == 0
    assert before.eeprom_writes == {"openevse": 0, "goe": 0, "mq200": 0}

    # After: never above the circuit, neither what they could draw nor what
    # the cars drew; the refusal is counted, and the others still charge.
    assert after.could.ampere_seconds == 0
    assert after.drawn.ampere_seconds == 0
    assert after.counters.failed_commands == 1
    # One fallback write per charger as the group is set up; the OpenEVSE's
    # (it caps the claims) then follows its share: 8, 17, then 13 A with the
    # third car, which also brings its claim down while /claims refuses.
    assert after.counters.fallback_writes == 5
    assert after.eeprom_writes == {"openevse": 3, "goe": 1, "mq200": 1}
    assert after.faults_injected == {"refusing": 1}
    assert all(kwh > 0 for kwh in after.energy_kwh.values())
