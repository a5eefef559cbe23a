"""Energy controller: circuit, fallbacks, confirmations, meter, pauses, restarts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from custom_components.evse_local.energy import (
    Allocation,
    AllocationReason,
    Command,
    EnergyController,
    FallbackWrite,
    GroupSettings,
    MemberReading,
    Policy,
    SolarInputs,
    SolarMode,
    SolarSettings,
    SolarState,
)
from custom_components.evse_local.energy.controller import (
    REFUSALS_BEFORE_REPORT,
    RETRY_MAX,
)

R = AllocationReason
OFF = SolarSettings()


@dataclass(slots=True)
class Charger:
    """A charger that carries out commands the way the HA side does."""

    member_id: str
    setpoint: int = 32
    fallback: int | None = 6
    paused: bool = False
    car: bool = False
    online: bool = True
    blocked: bool = False
    max_current: int = 32
    car_limit: int = 32
    refuses: bool = False

    @property
    def current(self) -> float:
        if not (self.car and not self.paused):
            return 0.0
        return float(min(self.setpoint, self.car_limit))

    def reading(self, now: float = 0.0) -> MemberReading:
        return MemberReading(
            member_id=self.member_id,
            online=self.online,
            vehicle_connected=self.car,
            paused=self.paused,
            current_a=self.current if self.online else None,
            setpoint_a=self.setpoint if self.online else None,
            max_current=self.max_current,
            blocked=self.blocked,
            fallback_a=self.fallback if self.online else None,
            read_at=now,
        )

    def apply(self, command: Command) -> bool:
        if self.refuses or not self.online:
            return False
        if command.amps is not None:
            self.setpoint = command.amps
        if command.pause is not None:
            self.paused = command.pause
        return True


class Site:
    """A controller and its chargers; ``step`` runs, applies and reports."""

    def __init__(
        self,
        *ids: str,
        limit: int | None = 40,
        policy: Policy = Policy.UNIFORM,
        solar: SolarSettings = OFF,
        interval: float = 10.0,
        fallback: int = 6,
    ) -> None:
        self.chargers = {member_id: Charger(member_id) for member_id in ids}
        self.controller = EnergyController(
            GroupSettings(
                circuit_limit=limit,
                policy=policy,
                control_interval=interval,
                fallback_current=fallback,
            ),
            solar,
        )

    def __getitem__(self, member_id: str) -> Charger:
        return self.chargers[member_id]

    def readings(self, now: float) -> list[MemberReading]:
        return [charger.reading(now) for charger in self.chargers.values()]

    def step(
        self,
        now: float,
        *,
        load: float | None = None,
        solar: SolarInputs | None = None,
    ) -> tuple[dict[str, Allocation], list[Command]]:
        result = self.controller.step(
            now, self.readings(now), circuit_load_a=load, solar_inputs=solar
        )
        for write in result.fallback_writes:
            charger = self.chargers[write.member_id]
            ok = charger.online and not charger.refuses
            if ok:
                charger.fallback = write.amps
            self.controller.report(write.member_id, write, ok=ok, done_at=now)
        for command in result.commands:
            ok = self.chargers[command.member_id].apply(command)
            self.controller.report(command.member_id, command, ok=ok, done_at=now)
        return result.allocations, list(result.commands)


def amps(allocations: dict[str, Allocation]) -> dict[str, int]:
    return {member_id: item.amps for member_id, item in allocations.items()}


# ------------------------------------------------------------ sharing


def test_idle_member_is_turned_down_and_keeps_its_fallback_reserved() -> None:
    site = Site("a", "b")
    site["a"].car = True
    allocations, commands = site.step(0)
    # b has no car but would offer 32 A to one plugging in: turned down to
    # its 6 A fallback, which stays reserved; a gets 40 - 6 = 34 -> 32 A.
    assert allocations == {"a": Allocation(32, R.MAXIMUM), "b": Allocation(0, R.IDLE)}
    assert commands == [Command("b", 6, None, R.IDLE)]
    assert site["b"].setpoint == 6
    assert site.step(1)[1] == []


def test_two_cars_share_the_circuit_decrease_before_increase() -> None:
    site = Site("a", "b")
    site["a"].car = True
    site.step(0)
    site["b"].car = True
    allocations, commands = site.step(20)
    assert allocations == {"a": Allocation(20, R.SHARED), "b": Allocation(20, R.SHARED)}
    # b's increase needs a's decrease confirmed first: only a is told now.
    assert commands == [Command("a", 20, None, R.SHARED)]
    # The next reading confirms a at 20 A: now b goes up.
    allocations, commands = site.step(21)
    assert commands == [Command("b", 20, None, R.SHARED)]
    # Unplug one: it goes down to its fallback at once; the other gets
    # 40 - 6 -> 32 A once that is confirmed.
    site["a"].car = False
    allocations, commands = site.step(40)
    assert allocations["b"] == Allocation(32, R.MAXIMUM)
    assert commands == [Command("a", 6, None, R.IDLE)]
    assert site.step(41)[1] == [Command("b", 32, None, R.MAXIMUM)]
    assert site.step(60)[1] == []


def test_uniform_worked_example_with_fallback_floors() -> None:
    """The manual's 3 x 32 A on 60 A, with each charger keeping its 6 A fallback."""
    site = Site("a", "b", "c", limit=60)
    for member_id in "abc":
        site[member_id].setpoint = 6
    site["a"].car = True
    assert amps(site.step(0)[0]) == {"a": 32, "b": 0, "c": 0}
    site["b"].car = True
    site.step(20)
    # 60 - 6 reserved for c: 27 each (the manual, whose stations draw nothing
    # before they ask, prints 30 + 30).
    assert amps(site.step(40)[0]) == {"a": 27, "b": 27, "c": 0}
    site["c"].car = True
    assert amps(site.step(60)[0]) == {"a": 20, "b": 20, "c": 20}


def test_fifs_gives_every_car_at_least_its_fallback() -> None:
    site = Site("a", "b", "c", limit=60, policy=Policy.FIRST_IN_FIRST_SERVE)
    site["b"].car = True
    site.step(0)
    site["a"].car = True
    site.step(20)
    site["c"].car = True
    allocations, _ = site.step(40)
    # c could draw its 6 A fallback anyway: it charges at 6 A instead of
    # waiting (the manual: 32 / 28 / 0).
    assert amps(allocations) == {"b": 32, "a": 22, "c": 6}
    assert not site["c"].paused


def test_meter_reduces_available_and_never_raises_it() -> None:
    site = Site("a")
    site["a"].car = True
    # House draws 25 A besides our 32 A: 40 - 25 = 15 A left for the car.
    result = site.controller.step(0, site.readings(0), circuit_load_a=57.0)
    assert result.available_a == 15
    assert result.allocations["a"] == Allocation(15, R.SHARED)
    result = site.controller.step(20, site.readings(20), circuit_load_a=3.0)
    assert result.available_a == 40


@pytest.mark.parametrize("load", [None, float("nan")])
def test_meter_unavailable_falls_back_to_static_limit(load: float | None) -> None:
    site = Site("a", "b", limit=30)
    site["a"].car = site["b"].car = True
    result = site.controller.step(0, site.readings(0), circuit_load_a=load)
    assert result.available_a == 30
    assert amps(result.allocations) == {"a": 15, "b": 15}


def test_house_above_the_limit_pauses_everyone_at_once() -> None:
    site = Site("a", "b")
    site["a"].car = site["b"].car = True
    site.step(0)
    site.step(1)
    # The house now takes 38 A of the 40 A: not even the floors fit.
    allocations, commands = site.step(2, load=38 + 40)
    assert {c.member_id for c in commands} == {"a", "b"}
    assert all(c.pause and c.amps == 6 for c in commands)
    assert allocations["a"] == Allocation(0, R.CIRCUIT_FULL)


def test_rate_limit_holds_increases_but_not_needed_decreases() -> None:
    site = Site("a", "b", interval=10)
    site["a"].car = True
    site.step(0, load=32)
    # The house draws 10 A more: 30 - 6 (b) = 24 A left, a drops at once.
    _, commands = site.step(1, load=42)
    assert commands == [Command("a", 24, None, R.SHARED)]
    # The load goes away: the increase waits for the interval.
    assert site.step(5, load=24)[1] == []
    _, commands = site.step(11, load=24)
    assert commands == [Command("a", 32, None, R.MAXIMUM)]


def test_solar_decrease_waits_for_the_interval() -> None:
    site = Site("a", limit=None, solar=SolarSettings(mode=SolarMode.MIN_SOLAR))
    site["a"].car = True
    site["a"].setpoint = 20
    _, commands = site.step(
        0, solar=SolarInputs(grid_power_w=-3000, charging_power_w=4600)
    )
    assert commands == [Command("a", 32, None, R.MAXIMUM)]
    # The car draws 20 A of which the sun covers 10: the budget comes down
    # at once (10 A imported), the command waits for the interval.
    inputs = SolarInputs(grid_power_w=2300, charging_power_w=4600)
    assert site.step(3, solar=inputs)[1] == []
    assert site.step(10, solar=inputs)[1] == [Command("a", 10, None, R.SOLAR_LIMITED)]


def test_increase_waits_while_another_decrease_is_unconfirmed() -> None:
    site = Site("a", "b", limit=40, interval=10)
    site["a"].car = site["b"].car = True
    site.step(0)
    site.step(1)
    assert (site["a"].setpoint, site["b"].setpoint) == (20, 20)
    # a reports 30 A (someone changed it): a goes down at once, b (told to
    # stay at 20) is untouched; nothing is raised beside the 30 A.
    site["a"].setpoint = 30
    _, commands = site.step(20)
    assert commands == [Command("a", 20, None, R.SHARED)]


# ------------------------------------------------------------ faults


def test_failed_decrease_keeps_the_old_setpoint_counted() -> None:
    """Circuit 40 A, a at 32 A, b plugs in, a refuses to go down."""
    site = Site("a", "b")
    site["a"].car = True
    site.step(0)
    site["a"].refuses = True
    site["b"].car = True
    _, commands = site.step(10)
    assert commands == [Command("a", 20, None, R.SHARED)]
    # a still offers 32 A: b may not be raised to 20 A (52 A on 40 A).
    result = site.controller.step(11, site.readings(11))
    assert all(c.member_id != "b" or c.amps is None for c in result.commands)
    assert result.worst_case_a == 32 + 6
    assert result.worst_case_a <= 40


def test_member_that_keeps_refusing_is_reported_and_the_others_share_the_rest() -> None:
    site = Site("a", "b")
    site["a"].car = True
    site.step(0)
    site["a"].refuses = True
    site["b"].car = True
    now = 10.0
    while "a" not in site.controller.refusing:
        site.step(now)
        now += RETRY_MAX
    assert site.controller.refusing == {"a"}
    # a's 32 A are counted as what it really offers: b gets the 8 A left;
    # a is still asked for its 20 A now and then.
    allocations, commands = site.step(now)
    assert allocations["a"] == Allocation(20, R.SHARED)
    assert allocations["b"] == Allocation(8, R.SHARED)
    assert Command("b", 8, None, R.SHARED) in commands
    # a takes commands again: the report clears it.
    site["a"].refuses = False
    site.step(now + RETRY_MAX)
    site.step(now + 2 * RETRY_MAX)
    assert site.controller.refusing == frozenset()


def test_failed_commands_back_off() -> None:
    site = Site("a", "b")
    site["b"].refuses = True
    sent = 0
    for second in range(120):
        _, commands = site.step(second)
        sent += sum(c.member_id == "b" for c in commands)
    # 2 + 4 + 8 + 16 + 32 + 60 s: a handful of tries, not one per step.
    assert 4 <= sent <= 7
    assert site.controller.refusing == {"b"}
    assert sent >= REFUSALS_BEFORE_REPORT


def test_increase_counts_until_read_back_after_a_timeout() -> None:
    site = Site("a", "b")
    site["a"].car = True
    site["a"].setpoint = 10
    site["b"].setpoint = 6
    result = site.controller.step(0, site.readings(0))
    assert result.commands == (Command("a", 32, None, R.MAXIMUM),)
    # The command timed out: it may or may not have reached a.
    site.controller.report("a", result.commands[0], ok=False, done_at=1)
    # A reading taken before the command finished proves nothing: the 32 A
    # stay counted (worst case 32 + 6).
    result = site.controller.step(2, site.readings(0.5))
    assert result.exposure["a"].amps == 32
    # A reading after it: a is still at 10 A, so 10 A is what counts.
    result = site.controller.step(70, site.readings(70))
    assert result.exposure["a"].pending == 32  # re-sent, counted again
    assert site["a"].setpoint == 10


def test_offline_member_keeps_what_it_could_draw_reserved() -> None:
    site = Site("a", "b", "c", limit=60)
    for charger in site.chargers.values():
        charger.car = True
    site.step(0)
    site.step(1)
    assert site["c"].setpoint == 20
    site["c"].online = False
    allocations, commands = site.step(20)
    assert allocations["c"] == Allocation(20, R.OFFLINE)
    assert allocations["a"].amps == 20
    assert commands == []
    # c was idle (at its 6 A fallback) when it dropped.
    site["c"].online = True
    site["c"].car = False
    site.step(40)
    site.step(41)  # the read-back confirms 6 A
    site["c"].online = False
    allocations, _ = site.step(60)
    assert allocations["c"] == Allocation(6, R.OFFLINE)
    assert allocations["a"].amps == 27


def test_offline_member_keeps_a_decrease_it_did_not_confirm() -> None:
    site = Site("a", "b", "c", limit=60)
    for charger in site.chargers.values():
        charger.car = True
    site.step(0)
    # c dropped before the decrease to 20 A reached it: it may still offer
    # 32 A, so 32 A stay reserved.
    site["c"].online = False
    site["c"].setpoint = 32
    site.controller._known["c"].setpoint = 32
    allocations, _ = site.step(20)
    assert allocations["c"] == Allocation(32, R.OFFLINE)
    assert allocations["a"].amps + allocations["b"].amps <= 60 - 32


def test_never_seen_offline_member_reserves_its_maximum() -> None:
    site = Site("a", "b")
    site["b"].online = False
    site["a"].car = True
    allocations, _ = site.step(0)
    assert allocations["b"] == Allocation(32, R.OFFLINE)
    assert allocations["a"] == Allocation(8, R.SHARED)


def test_unknown_setpoint_counts_as_the_maximum() -> None:
    controller = EnergyController(GroupSettings(circuit_limit=16), OFF)
    reading = MemberReading(
        member_id="a",
        online=True,
        vehicle_connected=True,
        paused=False,
        current_a=None,
        setpoint_a=None,
        max_current=32,
        fallback_a=6,
        read_at=0,
    )
    result = controller.step(0, [reading])
    assert result.exposure["a"].amps == 32
    # Lowering an unknown set point is a decrease: it goes out.
    assert result.commands == (Command("a", 16, None, R.SHARED),)


# ------------------------------------------------------------ fallbacks


def test_unknown_fallback_is_written_once_and_counted_at_the_maximum() -> None:
    site = Site("a", "b")
    site["a"].fallback = 32  # the charger's own saved current
    site["b"].fallback = None  # cannot be read (RAPI's EEPROM)
    result = site.controller.step(0, site.readings(0))
    assert result.fallback_writes == (FallbackWrite("a", 6), FallbackWrite("b", 6))
    assert result.worst_case_a == 64
    # Not confirmed yet: asked once, not at every step.
    assert site.controller.step(1, site.readings(1)).fallback_writes == ()
    site.controller.report("a", FallbackWrite("a", 6), ok=True, done_at=2)
    site.controller.report("b", FallbackWrite("b", 6), ok=True, done_at=2)
    site["a"].fallback = 6
    result = site.controller.step(3, site.readings(3))
    assert result.exposure["b"].fallback == 6
    assert result.fallback_writes == ()


def test_fallback_changed_on_the_charger_is_written_again_once() -> None:
    site = Site("a")
    site.step(0)
    assert site["a"].fallback == 6
    site["a"].fallback = 16  # someone set the saved current on the charger
    result = site.controller.step(10, site.readings(10))
    assert result.fallback_writes == (FallbackWrite("a", 6),)
    site["a"].refuses = True
    site.step(11)
    # Refused: not retried while it stays online at that value; counted.
    result = site.controller.step(20, site.readings(20))
    assert result.fallback_writes == ()
    assert result.exposure["a"].amps == 16
    # Back after an outage: one more try.
    site["a"].online = False
    site.step(30)
    site["a"].online = True
    assert site.controller.step(40, site.readings(40)).fallback_writes == (
        FallbackWrite("a", 6),
    )


def test_raising_the_fallback_waits_for_room() -> None:
    site = Site("a", "b", fallback=10)
    for charger in site.chargers.values():
        charger.setpoint = 6
    site["a"].car = True
    site["a"].setpoint = 34
    site["a"].max_current = 40
    result = site.controller.step(0, site.readings(0))
    # b's fallback would go 6 -> 10 beside a's 34 A: 44 A. a goes down first
    # (a's own write changes nothing: it could draw 34 A anyway).
    assert result.fallback_writes == (FallbackWrite("a", 10),)
    assert result.commands == (Command("a", 30, None, R.SHARED),)
    site["a"].setpoint = 30
    result = site.controller.step(1, site.readings(1))
    assert result.fallback_writes == (FallbackWrite("b", 10),)
    assert result.exposure["b"].amps == 10


def test_no_circuit_no_fallback() -> None:
    site = Site("a", limit=None, solar=SolarSettings(mode=SolarMode.FAST))
    site["a"].fallback = None
    result = site.controller.step(0, site.readings(0))
    assert result.fallback_writes == ()


# ------------------------------------------------------------ pauses


def test_user_pause_is_respected_and_its_setpoint_lowered() -> None:
    site = Site("a", "b")
    site["a"].car = site["b"].car = True
    site["b"].paused = True  # the user switched charging off
    allocations, commands = site.step(0)
    assert allocations["b"] == Allocation(0, R.PAUSED_BY_USER)
    # b could be resumed at the charger: its set point goes down, its pause
    # stays.
    assert Command("b", 6, None, R.PAUSED_BY_USER) in commands
    assert site["b"].paused
    assert not site.controller.paused_by_us("b")


def test_blocked_member_we_paused_is_never_resumed() -> None:
    site = Site("a", "b", limit=40)
    site["a"].car = site["b"].car = True
    site.step(0)
    site.step(1, load=40 + 30)  # the house takes 30 A: room for one floor
    assert site["b"].paused
    assert site.controller.paused_by_us("b")
    site["b"].blocked = True
    allocations, commands = site.step(40)
    assert allocations["b"] == Allocation(0, R.PAUSED_BY_USER)
    assert all(c.pause is not False for c in commands)
    assert not site.controller.paused_by_us("b")


def test_someone_else_resuming_our_pause_is_noticed_after_grace() -> None:
    site = Site("a", "b", limit=40)
    site["a"].car = site["b"].car = True
    site.step(0)
    site.step(1, load=40 + 30)
    assert site.controller.paused_by_us("b")
    site["b"].paused = False
    site.controller.step(2, site.readings(2), circuit_load_a=40 + 30)
    assert site.controller.paused_by_us("b")
    allocations, commands = site.step(40, load=40 + 30)
    assert Command("b", None, True, R.CIRCUIT_FULL) in commands
    assert allocations["b"].reason is R.CIRCUIT_FULL


# ------------------------------------------------------------ restarts


def test_restart_state_round_trip() -> None:
    site = Site("a", "b", "c", limit=40, policy=Policy.FIRST_IN_FIRST_SERVE)
    site["c"].car = True
    site.step(0)
    site["a"].car = True
    site.step(20)
    site["b"].car = True
    site.step(40)
    site.step(41)
    state = site.controller.export_state()
    assert state["known"]["a"] == [site["a"].setpoint, 6, 32, 6]

    fresh = EnergyController(site.controller.group, OFF)
    fresh.restore_state(state)
    # Before any reading everything is offline: what they confirmed counts.
    offline = [replace(r, online=False) for r in site.readings(100)]
    result = fresh.step(100, offline)
    assert result.worst_case_a == sum(c.setpoint for c in site.chargers.values())
    result = fresh.step(101, site.readings(101))
    # The plug-in order survived: c, a, b.
    assert amps(result.allocations) == amps(site.step(102)[0])
    assert fresh.export_state()["sequence"] == state["sequence"]


def test_restore_takes_version_1_and_counts_pending_until_read() -> None:
    controller = EnergyController(GroupSettings(circuit_limit=40), OFF)
    controller.restore_state({"version": 1, "paused_by_us": ["a"]})
    assert controller.paused_by_us("a")
    controller = EnergyController(GroupSettings(circuit_limit=40), OFF)
    controller.restore_state(
        {"version": 2, "known": {"a": [10, 6, 32, 6]}, "pending": {"a": 20}}
    )
    offline = replace(Charger("a").reading(), online=False)
    assert controller.step(0, [offline]).exposure["a"].amps == 20
    assert (
        controller.step(1, [Charger("a", setpoint=10).reading(1)]).exposure["a"].pending
        is None
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 99, "paused_by_us": ["x"]},
        {"version": 2, "plug_order": ["a"], "known": [3], "pending": [1]},
        {
            "version": 2,
            "sequence": "x",
            "plug_order": {"a": "late"},
            "paused_by_us": "x",
            "known": {"a": [1.5, 6, 32, 6], "b": [1, 2], "c": "x"},
            "pending": {"a": -1, "b": True},
            "fallback_written": {"a": "6"},
        },
    ],
)
def test_restore_ignores_malformed_state(data: dict[str, object]) -> None:
    controller = EnergyController(GroupSettings(circuit_limit=40), OFF)
    controller.restore_state(data)
    assert controller.export_state() == {
        "version": 2,
        "sequence": 0,
        "plug_order": {},
        "paused_by_us": [],
        "limited_by_us": [],
        "known": {},
        "pending": {},
        "fallback_written": {},
    }


# ------------------------------------------------------------ solar


def test_single_charger_solar_pauses_follows_and_restores() -> None:
    solar = SolarSettings(mode=SolarMode.SOLAR, start_delay=30, stop_delay=60)
    site = Site("a", limit=None, solar=solar)
    site["a"].car = True
    cloudy = SolarInputs(grid_power_w=500, charging_power_w=0)
    allocations, commands = site.step(0, solar=cloudy)
    assert commands == [Command("a", None, True, R.SOLAR_PAUSED)]
    assert site.controller.paused_by_us("a")
    sunny = SolarInputs(grid_power_w=-2300, charging_power_w=0)
    site.step(10, solar=sunny)
    result = site.controller.step(
        40, site.readings(40), solar_inputs=sunny, circuit_load_a=99
    )
    assert result.solar is not None
    assert result.solar.state is SolarState.FOLLOWING
    assert result.available_a is None
    assert result.commands == (Command("a", 10, False, R.SOLAR_LIMITED),)
    site["a"].apply(result.commands[0])
    site.controller.solar.settings = OFF
    allocations, commands = site.step(60)
    assert commands == [Command("a", 32, None, R.MAXIMUM)]
    assert allocations["a"] == Allocation(32, R.MAXIMUM)
    assert site.step(80)[1] == []


def test_solar_off_resumes_what_we_paused_only() -> None:
    solar = SolarSettings(mode=SolarMode.SOLAR)
    site = Site("a", "b", limit=None, solar=solar)
    site["a"].car = site["b"].car = True
    site["b"].paused = True  # the user's pause
    site.step(0, solar=SolarInputs(grid_power_w=100, charging_power_w=0))
    assert site["a"].paused
    site.controller.solar.settings = OFF
    _, commands = site.step(20)
    assert commands == [Command("a", None, False, R.MAXIMUM)]
    assert site["b"].paused


def test_solar_mode_without_inputs_treats_grid_as_unknown() -> None:
    site = Site("a", limit=None, solar=SolarSettings(mode=SolarMode.SOLAR))
    site["a"].car = True
    result = site.controller.step(0, site.readings(0))
    assert result.solar is not None
    assert result.solar.state is SolarState.WAITING
    assert result.allocations["a"] == Allocation(0, R.SOLAR_PAUSED)


def test_solar_off_without_inputs_reports_no_solar() -> None:
    site = Site("a")
    assert site.controller.step(0, site.readings(0)).solar is None


def test_group_solar_budget_is_shared_and_capped_by_circuit() -> None:
    solar = SolarSettings(mode=SolarMode.MIN_SOLAR, max_current=64)
    site = Site("a", "b", limit=40, solar=solar)
    site["a"].car = site["b"].car = True
    allocations, _ = site.step(
        0, solar=SolarInputs(grid_power_w=-24 * 230, charging_power_w=0)
    )
    assert allocations == {
        "a": Allocation(12, R.SOLAR_LIMITED),
        "b": Allocation(12, R.SOLAR_LIMITED),
    }
    allocations, _ = site.step(
        20, solar=SolarInputs(grid_power_w=-30000, charging_power_w=0)
    )
    assert allocations == {"a": Allocation(20, R.SHARED), "b": Allocation(20, R.SHARED)}
    # The minimum alone (6 A) cannot feed both: the later one waits, its set
    # point down at its fallback.
    allocations, commands = site.step(
        40, solar=SolarInputs(grid_power_w=3000, charging_power_w=0)
    )
    assert allocations == {
        "a": Allocation(6, R.SOLAR_LIMITED),
        "b": Allocation(0, R.SOLAR_PAUSED),
    }
    assert Command("b", 6, True, R.SOLAR_PAUSED) in commands


def test_fast_mode_reasons_stay_circuit_reasons() -> None:
    site = Site("a", "b", limit=64, solar=SolarSettings(mode=SolarMode.FAST))
    site["a"].car = site["b"].car = True
    allocations, _ = site.step(0, solar=SolarInputs(grid_power_w=0, charging_power_w=0))
    assert allocations == {"a": Allocation(16, R.SHARED), "b": Allocation(16, R.SHARED)}


def test_capping_fallback_follows_the_share_a_few_writes_per_car() -> None:
    """Current OpenEVSE firmware: max_current_soft caps every claim."""
    site = Site("a", "b")
    for charger in site.chargers.values():
        charger.setpoint = 6
    readings = site.readings

    def capped(now: float) -> list[MemberReading]:
        return [replace(r, fallback_caps=r.member_id == "a") for r in readings(now)]

    site.readings = capped  # type: ignore[method-assign]
    site["a"].car = True
    result = site.controller.step(0, capped(0))
    # a's share is 34 -> 32 A, above its 6 A cap: the cap is raised first,
    # and no claim above the cap is sent (the charger would clamp it).
    assert result.fallback_writes == (FallbackWrite("a", 32),)
    assert result.commands == ()
    site["a"].fallback = 32
    site.controller.report("a", result.fallback_writes[0], ok=True, done_at=0.5)
    _, commands = site.step(1)
    assert commands == [Command("a", 32, None, R.MAXIMUM)]
    # b's car arrives: a's share is 20 A; the claim goes down first, then
    # the cap (a decrease each), then b rises.
    site["b"].car = True
    result = site.controller.step(20, capped(20))
    assert result.fallback_writes == (FallbackWrite("a", 20),)
    assert Command("a", 20, None, R.SHARED) in result.commands
    # The car leaves: the cap goes back to the group's fallback.
    site["a"].car = False
    site["a"].setpoint = 20
    site["a"].fallback = 20
    result = site.controller.step(40, capped(40))
    assert result.fallback_writes == (FallbackWrite("a", 6),)
    # Not again while the charger still reports the old value.
    assert site.controller.step(41, capped(41)).fallback_writes == ()


# ------------------------------------------------------------ plans


def test_plan_pauses_caps_and_resumes_a_single_charger() -> None:
    site = Site("a", limit=None)
    site["a"].car = True
    readings = [replace(site["a"].reading(0), plan_a=0.0)]
    result = site.controller.step(0, readings)
    assert result.allocations["a"] == Allocation(0, R.PLAN_PAUSED)
    assert result.commands == (Command("a", None, True, R.PLAN_PAUSED),)
    site["a"].apply(result.commands[0])
    site.controller.report("a", result.commands[0], ok=True, done_at=0)
    readings = [replace(site["a"].reading(20), plan_a=16.7)]
    result = site.controller.step(20, readings)
    assert result.allocations["a"] == Allocation(16, R.PLAN_LIMITED)
    assert result.commands == (Command("a", 16, False, R.PLAN_LIMITED),)
    site["a"].apply(result.commands[0])
    site.controller.report("a", result.commands[0], ok=True, done_at=20)
    # The plan ends (None): back to the maximum, as without a plan.
    assert site.step(40)[1] == [Command("a", 32, None, R.MAXIMUM)]


def test_plan_never_raises_a_share_and_leaves_user_pauses_alone() -> None:
    site = Site("a", "b", limit=20)
    site["a"].car = site["b"].car = True
    site["b"].paused = True  # the user's pause
    readings = [replace(r, plan_a=32.0) for r in site.readings(0)]
    result = site.controller.step(0, readings)
    assert result.allocations["a"].amps <= 20
    assert result.allocations["a"].reason is not R.PLAN_LIMITED
    assert result.allocations["b"] == Allocation(0, R.PAUSED_BY_USER)
    readings = [replace(r, plan_a=3.0) for r in site.readings(1)]
    result = site.controller.step(1, readings)
    assert result.allocations["a"] == Allocation(0, R.PLAN_PAUSED)


def test_no_plan_and_no_circuit_sends_nothing() -> None:
    site = Site("a", limit=None)
    site["a"].car = True
    site["a"].setpoint = 10
    assert site.step(0)[1] == []


# ------------------------------------------------------------ plans and the sun

PLANNED = SolarSettings(mode=SolarMode.PLANNED, start_delay=30, stop_delay=60)


def planned_step(
    site: Site,
    now: float,
    plans: dict[str, float | None],
    solar: SolarInputs | None,
    *,
    load: float | None = None,
) -> tuple[dict[str, Allocation], list[Command]]:
    """Step with each member's plan current, carrying out the commands."""
    readings = [
        replace(reading, plan_a=plans.get(reading.member_id))
        for reading in site.readings(now)
    ]
    result = site.controller.step(
        now, readings, solar_inputs=solar, circuit_load_a=load
    )
    for command in result.commands:
        ok = site[command.member_id].apply(command)
        site.controller.report(command.member_id, command, ok=ok, done_at=now)
    return result.allocations, list(result.commands)


def test_planned_sun_counts_first_while_the_plan_waits() -> None:
    site = Site("a", limit=None, solar=PLANNED)
    site["a"].car = True
    sunny = SolarInputs(grid_power_w=-10 * 230, charging_power_w=0)
    # The plan waits for the night; the sun's start delay runs meanwhile.
    allocations, commands = planned_step(site, 0, {"a": 0.0}, sunny)
    assert allocations["a"] == Allocation(0, R.PLAN_PAUSED)
    assert commands == [Command("a", None, True, R.PLAN_PAUSED)]
    allocations, commands = planned_step(site, 40, {"a": 0.0}, sunny)
    # Ten amperes of surplus: the car takes them although the plan waits.
    assert allocations["a"] == Allocation(10, R.SOLAR_LIMITED)
    assert commands == [Command("a", 10, False, R.SOLAR_LIMITED)]
    # A planned slot that buys more than the sun gives: the plan wins.
    drawing = SolarInputs(grid_power_w=0, charging_power_w=10 * 230)
    allocations, commands = planned_step(site, 60, {"a": 16.0}, drawing)
    assert allocations["a"] == Allocation(16, R.PLAN_LIMITED)
    assert commands == [Command("a", 16, None, R.PLAN_LIMITED)]
    # More sun than the slot buys: the sun wins.
    bright = SolarInputs(grid_power_w=-20 * 230, charging_power_w=16 * 230)
    allocations, _ = planned_step(site, 80, {"a": 16.0}, bright)
    assert allocations["a"] == Allocation(32, R.MAXIMUM)


def test_planned_sun_never_raises_beyond_the_circuit_share() -> None:
    site = Site("a", "b", limit=20, solar=PLANNED)
    site["a"].car = site["b"].car = True
    sunny = SolarInputs(grid_power_w=-40 * 230, charging_power_w=0)
    planned_step(site, 0, {"a": 0.0, "b": 0.0}, sunny)
    allocations, _ = planned_step(site, 40, {"a": 0.0, "b": 0.0}, sunny)
    # Forty amperes of sun, a twenty-ampere circuit: the circuit's shares.
    assert amps(allocations) == {"a": 10, "b": 10}
    assert {item.reason for item in allocations.values()} == {R.SHARED}


def test_planned_without_a_plan_or_a_meter_leaves_the_sun_out() -> None:
    site = Site("a", limit=None, solar=PLANNED)
    site["a"].car = True
    site["a"].setpoint = 10
    sunny = SolarInputs(grid_power_w=-20 * 230, charging_power_w=0)
    # No target: left alone as in mode off, sun or not.
    assert planned_step(site, 0, {}, sunny)[1] == []
    assert planned_step(site, 40, {}, sunny)[1] == []
    # No grid meter: the sun cannot be followed, the plan buys all.
    allocations, _ = planned_step(site, 60, {"a": 0.0}, None)
    assert allocations["a"] == Allocation(0, R.PLAN_PAUSED)


def test_planned_sun_is_shared_among_the_plans_only() -> None:
    site = Site("a", "b", limit=None, solar=PLANNED)
    site["a"].car = site["b"].car = True
    sunny = SolarInputs(grid_power_w=-8 * 230, charging_power_w=0)
    planned_step(site, 0, {"a": 0.0}, sunny)
    allocations, _ = planned_step(site, 40, {"a": 0.0}, sunny)
    # b has no plan: it keeps what it has, and none of the sun.
    assert allocations["a"] == Allocation(8, R.SOLAR_LIMITED)
    assert allocations["b"].reason is R.MAXIMUM
    result = site.controller.step(
        50, [replace(r, plan_a=0.0) for r in site.readings(50)], solar_inputs=sunny
    )
    assert result.solar is not None
    assert result.shares["a"].reason is R.MAXIMUM
