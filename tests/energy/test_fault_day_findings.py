"""What the fault day (``benchmarks/fault_day.py``) found in the controller.

Each test is the finding's reproducer, fixed since: it failed before the fix.
"""

from __future__ import annotations

import itertools

from custom_components.evse_local.energy import (
    EnergyController,
    FallbackWrite,
    GroupSettings,
    MemberReading,
    SolarSettings,
)

_STAMPS = itertools.count(1)


def _reading(member_id: str, *, car: bool, caps: bool) -> MemberReading:
    """A charger holding 6 A set point and 6 A fallback (as the group left it)."""
    return MemberReading(
        member_id=member_id,
        online=True,
        vehicle_connected=car,
        paused=False,
        current_a=6.0 if car else 0.0,
        setpoint_a=6,
        max_current=32,
        fallback_a=6,
        read_at=next(_STAMPS),
        fallback_caps=caps,
    )


def test_a_lost_raise_of_a_capping_fallback_is_tried_again() -> None:
    """A capping fallback (current OpenEVSE firmware) that failed to go up.

    Fault day seed 20261010, 12:49: the OpenEVSE's ``max_current_soft``
    raise 6 -> 17 A got HTTP 500 once and was never sent again while the
    charger stayed online, so its car charged at 6 A for its whole hour. The
    claim is capped at the fallback: until the raise is written the car gets
    the fallback current only. A failed write is sent again after the back-off.
    """
    controller = EnergyController(
        GroupSettings(circuit_limit=40, fallback_current=6), SolarSettings()
    )

    def readings() -> list[MemberReading]:
        return [
            _reading("openevse", car=True, caps=True),
            _reading("goe", car=False, caps=False),
            _reading("mq200", car=False, caps=False),
        ]

    first = controller.step(0.0, readings())
    # The other two keep their 6 A reserved: 28 A for the car, above the cap.
    assert first.fallback_writes == (FallbackWrite("openevse", 28),)
    controller.report(
        "openevse", first.fallback_writes[0], ok=False, done_at=next(_STAMPS)
    )
    again = [
        write
        for now in range(10, 600, 10)
        for write in controller.step(float(now), readings()).fallback_writes
    ]
    assert FallbackWrite("openevse", 28) in again
