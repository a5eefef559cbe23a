"""The energy controller: readings in, charger commands out.

One :class:`EnergyController` runs per charging group (or per charger with
solar inputs). Every :meth:`EnergyController.step` takes what the chargers
and meters report, works out the current available on the circuit, asks the
solar controller for its budget, shares it with :func:`allocate` and returns
the commands that bring each charger there. The caller carries the commands
out and tells :meth:`EnergyController.report` whether each charger
confirmed it.

What it promises the people around it:

- **the circuit invariant** (see :mod:`.safety`): the sum of what every
  member *could* draw — its confirmed set point, what it falls back to
  without Home Assistant, an unconfirmed increase, or its maximum where any
  of these is unknown — never exceeds the circuit limit. Decreases go out
  first and count only once a reading confirms them; an increase goes out
  only when it fits beside what the others could draw now (so an increase
  that needed someone else's decrease waits for that decrease's read-back)
  and counts from the moment it is sent. A refused or timed-out decrease
  keeps the old set point counted and the others share what is really
  left; a member that keeps refusing is reported (:attr:`refusing`);
- members without a car, or paused, are brought down to their fallback
  current, so a car that plugs in draws within the circuit from its first
  second;
- each member's persistent fallback (what it does without Home Assistant)
  is set to the group's fallback current, and written only when it differs
  (a new group, a new member, someone changed it on the charger), at most
  once per member and observed value while the member stays online;
- it only resumes chargers it paused itself; a charger paused by the user
  or by a session limit is left paused;
- current commands are volatile, so following the sun does not wear out the
  charger's EEPROM; a charger gets at most one non-urgent command per
  ``control_interval``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .allocation import (
    J1772_MIN_CURRENT,
    Allocation,
    AllocationReason,
    MemberState,
    Policy,
    allocate,
)
from .safety import Exposure, could_draw
from .solar import SolarController, SolarDecision, SolarInputs, SolarMode, SolarSettings

_STATE_VERSION = 2

# Reasons for which the controller never resumes nor raises the charger.
_HANDS_OFF = frozenset(
    {
        AllocationReason.IDLE,
        AllocationReason.OFFLINE,
        AllocationReason.PAUSED_BY_USER,
    }
)

# Consecutive failed commands after which a member counts as refusing.
REFUSALS_BEFORE_REPORT = 3
# The longest wait before a command is tried again after failures.
RETRY_MAX = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSettings:
    """The circuit: ``circuit_limit`` None = a single charger, solar only.

    ``fallback_current`` is what each member is set to fall back to without
    Home Assistant (its persistent setting), and what a member without a car
    is turned down to.
    """

    circuit_limit: int | None
    policy: Policy = Policy.UNIFORM
    fallback_current: int = J1772_MIN_CURRENT
    control_interval: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberReading:
    """What the caller read from one charger.

    ``setpoint_a`` is the current set point the charger confirmed (read
    back), None when unknown; ``fallback_a`` what it falls back to without
    Home Assistant (its persistent setting), None when it cannot be read;
    ``max_current`` its limit; ``read_at`` when it was read, on the clock
    of :meth:`EnergyController.report`'s ``now`` (any increasing stamp). ``blocked``: paused by a session limit or the user;
    never resume it.
    """

    member_id: str
    online: bool
    vehicle_connected: bool
    paused: bool
    current_a: float | None
    setpoint_a: int | None
    max_current: int
    blocked: bool = False
    fallback_a: int | None = None
    min_current: int = J1772_MIN_CURRENT
    read_at: float | None = None
    fallback_caps: bool = False
    """The fallback also caps every set point (current OpenEVSE firmware:
    a claim never exceeds ``max_current_soft``). Such a fallback follows the
    member's share of the circuit, rewritten when a car comes or goes."""
    plan_a: float | None = None
    """A charging plan's current now (0 = wait): a cap on the member's share,
    never a raise, so the circuit invariant and the command order hold; in
    solar mode *planned* the member's share of the surplus counts first.
    None: no plan."""


@dataclass(frozen=True, slots=True)
class Command:
    """What to send to one charger.

    ``amps``: the new volatile set point (None = leave it); ``pause``: True =
    pause, False = resume, None = leave it. The caller sends a pause first,
    then the amps, then a resume, so the car restarts at the new value.
    """

    member_id: str
    amps: int | None
    pause: bool | None
    reason: AllocationReason


@dataclass(frozen=True, slots=True)
class FallbackWrite:
    """Write ``amps`` into a member's persistent setting (what it falls back to)."""

    member_id: str
    amps: int


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One step's outcome; carry out ``fallback_writes`` and ``commands`` in order.

    ``available_a`` is what the circuit has for the chargers (None without a
    circuit); ``solar`` the solar decision (None when solar mode is off and
    no solar inputs were given); ``exposure`` what each member could draw
    once the commands are sent, counting increases as applied and decreases
    as not yet confirmed. ``shares`` is the circuit's share of each member
    when every car with a need charges at once, before the sun and the plans
    (what a plan can count on).
    """

    commands: tuple[Command, ...]
    allocations: dict[str, Allocation]
    available_a: float | None
    solar: SolarDecision | None
    exposure: dict[str, Exposure] = field(default_factory=dict)
    fallback_writes: tuple[FallbackWrite, ...] = ()
    shares: dict[str, Allocation] = field(default_factory=dict)

    @property
    def worst_case_a(self) -> int:
        """What the members could draw together (the invariant's left side)."""
        return sum(item.amps for item in self.exposure.values())


@dataclass(slots=True)
class _Known:
    """The last confirmed facts about a member (kept while it is offline)."""

    setpoint: int | None
    fallback: int | None
    maximum: int
    minimum: int


@dataclass(slots=True)
class _Pending:
    """An increase sent but not read back: it may be in force."""

    amps: int
    sent_at: float
    done_at: float | None = None


class EnergyController:
    """Load sharing and solar charging for a group of chargers."""

    def __init__(self, group: GroupSettings, solar: SolarSettings) -> None:
        """Start with no history (see :meth:`restore_state` after a restart)."""
        self.group = group
        self.solar = SolarController(solar)
        self._sequence = 0
        self._plug_order: dict[str, float] = {}
        self._connected: dict[str, bool] = {}
        self._paused_by_us: set[str] = set()
        self._limited_by_us: set[str] = set()
        self._last_command_at: dict[str, float] = {}
        self._known: dict[str, _Known] = {}
        self._pending: dict[str, _Pending] = {}
        self._written: dict[str, int] = {}
        self._fallback_tried: dict[str, tuple[int | None, int]] = {}
        self._fallback_wanted: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._now = 0.0
        self._circuit_is_static = True

    # ------------------------------------------------------------ public

    def paused_by_us(self, member_id: str) -> bool:
        """Whether the controller paused this charger (and may resume it)."""
        return member_id in self._paused_by_us

    @property
    def refusing(self) -> frozenset[str]:
        """Members whose last few commands all failed (a repair issue each)."""
        return frozenset(
            member_id
            for member_id, count in self._failures.items()
            if count >= REFUSALS_BEFORE_REPORT
        )

    def fallback_target(self, reading: MemberReading) -> int:
        """Return the fallback current this member is set to (within its range)."""
        maximum = reading.max_current
        return max(min(self.group.fallback_current, maximum), reading.min_current)

    def exposure(self, member_id: str) -> Exposure:
        """Return what a member could draw now, from what it confirmed so far."""
        known = self._known.get(member_id)
        pending = self._pending.get(member_id)
        if known is None:
            return could_draw(setpoint=None, fallback=None, maximum=0)
        return could_draw(
            setpoint=known.setpoint,
            fallback=known.fallback,
            maximum=known.maximum,
            pending=None if pending is None else pending.amps,
        )

    def report(
        self,
        member_id: str,
        command: Command | FallbackWrite,
        *,
        ok: bool,
        done_at: float,
    ) -> None:
        """Note whether a member confirmed a command, carried out at ``done_at``.

        ``done_at`` is on the clock of the readings' ``read_at``: only a
        reading taken later tells what is in force. A failure backs off
        further commands to the member (on ``step``'s clock).

        A failed command may still have reached the charger: an increase
        stays counted until a reading taken after ``now`` says what is in
        force. A written fallback counts once the charger accepted it.
        """
        pending = self._pending.get(member_id)
        if pending is not None and pending.done_at is None:
            pending.done_at = done_at
        if ok:
            self._failures.pop(member_id, None)
            self._retry_at.pop(member_id, None)
            if isinstance(command, FallbackWrite):
                self._written[member_id] = command.amps
                if (known := self._known.get(member_id)) is not None:
                    known.fallback = command.amps
        else:
            if isinstance(command, FallbackWrite):
                # Not written: sent again after the back-off (a charger whose
                # fallback caps its current would stay at the old cap).
                self._fallback_tried.pop(member_id, None)
            failures = self._failures.get(member_id, 0) + 1
            self._failures[member_id] = failures
            # Every failed command makes a reading and another step: back off
            # (2, 4, 8 ... up to 60 s) rather than hammer a charger that says no.
            self._retry_at[member_id] = self._now + min(2.0**failures, RETRY_MAX)

    def export_state(self) -> dict[str, Any]:
        """Return what must survive a restart, as JSON-ready data."""
        return {
            "version": _STATE_VERSION,
            "sequence": self._sequence,
            "plug_order": dict(self._plug_order),
            "paused_by_us": sorted(self._paused_by_us),
            "limited_by_us": sorted(self._limited_by_us),
            "known": {
                member_id: [
                    known.setpoint,
                    known.fallback,
                    known.maximum,
                    known.minimum,
                ]
                for member_id, known in self._known.items()
            },
            # Whether an unconfirmed increase reached the charger is unknown
            # until it is read again, also after a restart.
            "pending": {
                member_id: pending.amps for member_id, pending in self._pending.items()
            },
            "fallback_written": dict(self._written),
        }

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Take back :meth:`export_state` data; anything malformed is skipped."""
        version = data.get("version")
        if version not in (1, _STATE_VERSION):
            return
        sequence = data.get("sequence")
        if isinstance(sequence, int):
            self._sequence = max(self._sequence, sequence)
        order = data.get("plug_order")
        if isinstance(order, Mapping):
            self._plug_order.update(
                (str(key), float(value))
                for key, value in order.items()
                if isinstance(value, int | float)
            )
        for key, target in (
            ("paused_by_us", self._paused_by_us),
            ("limited_by_us", self._limited_by_us),
        ):
            ids = data.get(key)
            if isinstance(ids, list):
                target.update(str(item) for item in ids)
        self._restore_known(data.get("known"))
        pending = data.get("pending")
        if isinstance(pending, Mapping):
            for key, amps in pending.items():
                if _is_amps(amps):
                    # Sent before the restart: cleared by the first reading.
                    self._pending[str(key)] = _Pending(amps, -math.inf, -math.inf)
        written = data.get("fallback_written")
        if isinstance(written, Mapping):
            self._written.update(
                (str(key), amps) for key, amps in written.items() if _is_amps(amps)
            )

    def _restore_known(self, known: object) -> None:
        if not isinstance(known, Mapping):
            return
        for key, value in known.items():
            if (
                isinstance(value, list)
                and len(value) == 4
                and all(item is None or _is_amps(item) for item in value[:2])
                and all(_is_amps(item) for item in value[2:])
            ):
                self._known[str(key)] = _Known(*value)

    def step(
        self,
        now: float,
        members: Sequence[MemberReading],
        *,
        circuit_load_a: float | None = None,
        solar_inputs: SolarInputs | None = None,
    ) -> ControlResult:
        """Decide what every charger should do at ``now`` (seconds).

        ``circuit_load_a``: the circuit meter, chargers included (per phase);
        None when there is no meter or it is unavailable: then the static
        circuit limit applies.
        """
        self._now = now
        self._learn(members)
        self._track_plugs(members)
        user_paused = self._user_paused(now, members)
        circuit = self._circuit_available(members, circuit_load_a)
        exposure = {
            reading.member_id: self.exposure(reading.member_id) for reading in members
        }
        states = [
            self._member_state(reading, user_paused, exposure) for reading in members
        ]
        allocations = allocate(states, available=circuit, policy=self.group.policy)
        self._fallback_wanted = self._capping_fallbacks(members, states, allocations)
        refusing = self.refusing & {r.member_id for r in members if r.online}
        if refusing:
            # The others share what the refusing ones really leave; these
            # are still asked (now and then) for what they should have.
            wanted = allocate(
                [
                    self._member_state(reading, user_paused, exposure, as_is=False)
                    for reading in members
                ],
                available=circuit,
                policy=self.group.policy,
            )
            allocations.update((key, wanted[key]) for key in refusing)
        shares = dict(allocations)
        with_plan = {r.member_id for r in members if r.plan_a is not None}
        decision = self._solar_decision(
            now, members, states, solar_inputs, with_plan=with_plan
        )
        sun: dict[str, Allocation] | None = None
        if decision is not None and decision.amps is not None:
            if self.solar.settings.mode is SolarMode.PLANNED:
                sun = self._solar_shares(states, decision.amps, with_plan)
            else:
                self._apply_solar(states, allocations, decision.amps)
        for reading in members:
            if reading.member_id in user_paused:
                allocations[reading.member_id] = Allocation(
                    0, AllocationReason.PAUSED_BY_USER
                )
        planned = _apply_plans(members, allocations, sun)
        # A lone charger is left alone unless the sun or a plan has a say
        # (in solar mode planned the sun speaks only through the plans).
        hands_off = (
            math.isinf(circuit)
            and (
                decision is None
                or decision.amps is None
                or self.solar.settings.mode is SolarMode.PLANNED
            )
            and not planned
        )
        commands = self._commands(
            now, members, allocations, exposure, circuit, hands_off=hands_off
        )
        return ControlResult(
            commands=commands,
            allocations=allocations,
            available_a=None if math.isinf(circuit) else max(0.0, circuit),
            solar=decision,
            exposure=exposure,
            fallback_writes=self._fallback_writes(now, members, exposure),
            shares=shares,
        )

    # ------------------------------------------------------------ readings

    def _learn(self, members: Sequence[MemberReading]) -> None:
        """Take what online members confirm; offline ones keep their last facts."""
        for reading in members:
            member_id = reading.member_id
            if not reading.online:
                # Its next fallback write may be tried again once it is back.
                self._fallback_tried.pop(member_id, None)
                if member_id not in self._known:
                    # Never seen (nor restored): it could draw its maximum.
                    self._known[member_id] = _Known(
                        None, None, reading.max_current, reading.min_current
                    )
                continue
            fallback = reading.fallback_a
            if fallback is None:
                # Unreadable (RAPI keeps it in EEPROM): what we wrote and the
                # charger accepted.
                fallback = self._written.get(member_id)
            elif self._written.get(member_id) != fallback:
                self._written.pop(member_id, None)
            self._known[member_id] = _Known(
                setpoint=reading.setpoint_a,
                fallback=fallback,
                maximum=reading.max_current,
                minimum=reading.min_current,
            )
            pending = self._pending.get(member_id)
            if (
                pending is not None
                and pending.done_at is not None
                and reading.read_at is not None
                and reading.read_at > pending.done_at
            ):
                # Read after the command was carried out: the set point in
                # the reading is what is in force.
                del self._pending[member_id]

    def _track_plugs(self, members: Sequence[MemberReading]) -> None:
        for reading in members:
            if not reading.online:
                # Unknown while offline: keep its place in the queue.
                continue
            member_id = reading.member_id
            was = self._connected.get(member_id)
            self._connected[member_id] = reading.vehicle_connected
            if not reading.vehicle_connected:
                self._plug_order.pop(member_id, None)
            elif was is False or member_id not in self._plug_order:
                # A plug-in edge, or a car already there when we first look
                # (without restored state): it queues behind those we know.
                self._plug_order[member_id] = float(self._sequence)
                self._sequence += 1

    def _user_paused(self, now: float, members: Sequence[MemberReading]) -> set[str]:
        """Members paused by someone else; forget our pauses others undid."""
        result: set[str] = set()
        for reading in members:
            member_id = reading.member_id
            if not reading.online:
                continue
            if reading.blocked:
                # A session limit or the user stopped it: never resume it.
                self._paused_by_us.discard(member_id)
                result.add(member_id)
            elif reading.paused and member_id not in self._paused_by_us:
                result.add(member_id)
            elif (
                not reading.paused
                and member_id in self._paused_by_us
                and not self._recently_commanded(now, member_id)
            ):
                # Someone resumed it; a reading just after our own pause
                # command may still be stale, hence the grace period.
                self._paused_by_us.discard(member_id)
        return result

    def _recently_commanded(self, now: float, member_id: str) -> bool:
        last = self._last_command_at.get(member_id)
        return last is not None and now - last < self.group.control_interval

    def _circuit_available(
        self, members: Sequence[MemberReading], circuit_load_a: float | None
    ) -> float:
        limit = self.group.circuit_limit
        self._circuit_is_static = True
        if limit is None:
            return math.inf
        if circuit_load_a is None or math.isnan(circuit_load_a):
            return float(limit)
        self._circuit_is_static = False
        ours = sum(
            reading.current_a or 0.0
            for reading in members
            if reading.online and reading.current_a is not None
        )
        # The meter sees our chargers too; only the rest of the house takes
        # from the limit, and never gives back more than the limit itself.
        return limit - max(0.0, circuit_load_a - ours)

    def _floor_exposure(
        self, reading: MemberReading, exposure: Exposure, *, as_is: bool
    ) -> int:
        """Return what a member could draw once turned down to its fallback current."""
        if exposure.fallback is None:
            return exposure.maximum
        # A capping fallback is lowered with the member's share; any other
        # stays what the charger keeps.
        floor = (
            self.fallback_target(reading)
            if reading.fallback_caps
            else max(self.fallback_target(reading), exposure.fallback)
        )
        if as_is and reading.member_id in self.refusing:
            # It does not take commands: what it could draw now stays.
            return max(floor, exposure.amps)
        return floor

    def _member_state(
        self,
        reading: MemberReading,
        user_paused: set[str],
        exposure: Mapping[str, Exposure],
        *,
        as_is: bool = True,
    ) -> MemberState:
        member_id = reading.member_id
        item = exposure[member_id]
        circuit = self.group.circuit_limit is not None
        return MemberState(
            member_id=member_id,
            online=reading.online,
            demanding=reading.online
            and reading.vehicle_connected
            and member_id not in user_paused,
            plugged_in_order=self._plug_order.get(member_id),
            max_current=reading.max_current,
            # An offline charger cannot be turned down: what it could draw
            # when it dropped stays reserved.
            reserved_when_offline=item.amps,
            # Without a circuit there is nothing to keep a floor for.
            floor=self._floor_exposure(reading, item, as_is=as_is)
            if circuit and reading.online
            else 0,
            min_current=reading.min_current,
        )

    def _solar_decision(
        self,
        now: float,
        members: Sequence[MemberReading],
        states: Sequence[MemberState],
        solar_inputs: SolarInputs | None,
        *,
        with_plan: set[str],
    ) -> SolarDecision | None:
        settings = self.solar.settings
        planned = settings.mode is SolarMode.PLANNED
        if solar_inputs is None:
            # Without a grid meter the sun cannot be followed; a plan then
            # buys all it needs.
            if settings.mode is SolarMode.OFF or planned:
                return None
            drawn = sum(r.current_a or 0.0 for r in members if r.online)
            solar_inputs = SolarInputs(
                grid_power_w=None,
                charging_power_w=drawn * settings.voltage * settings.phases,
            )
        return self.solar.update(
            now,
            solar_inputs,
            vehicle_waiting=any(
                s.demanding and (not planned or s.member_id in with_plan)
                for s in states
            ),
        )

    def _solar_shares(
        self,
        states: Sequence[MemberState],
        budget: int,
        among: set[str] | None = None,
    ) -> dict[str, Allocation]:
        """Share the solar budget among the demanding members (or ``among``).

        The budget is about what the cars draw, so it is shared without the
        floors the circuit keeps.
        """
        unfloored = [
            MemberState(
                member_id=s.member_id,
                online=s.online,
                demanding=s.demanding,
                plugged_in_order=s.plugged_in_order,
                max_current=s.max_current,
                min_current=s.min_current,
            )
            for s in states
            if s.demanding and (among is None or s.member_id in among)
        ]
        return allocate(unfloored, available=budget, policy=self.group.policy)

    def _apply_solar(
        self,
        states: Sequence[MemberState],
        allocations: dict[str, Allocation],
        budget: int,
    ) -> None:
        """Cap the circuit's shares by the solar budget: the smaller share wins."""
        solar = self._solar_shares(states, budget)
        binds = self.solar.settings.mode in (SolarMode.SOLAR, SolarMode.MIN_SOLAR)
        for member_id, share in solar.items():
            circuit = allocations[member_id]
            if share.amps >= circuit.amps:
                continue
            if not binds:
                allocations[member_id] = share
            elif share.amps == 0:
                allocations[member_id] = Allocation(0, AllocationReason.SOLAR_PAUSED)
            else:
                allocations[member_id] = Allocation(
                    share.amps, AllocationReason.SOLAR_LIMITED
                )

    # ------------------------------------------------------------ commands

    def _capping_fallbacks(
        self,
        members: Sequence[MemberReading],
        states: Sequence[MemberState],
        allocations: Mapping[str, Allocation],
    ) -> dict[str, int]:
        """Fallbacks that cap a member follow its share of the static circuit.

        The share is that of the circuit limit alone (not the meter, not the
        sun): it changes when a car comes or goes, not at every step, so the
        charger's memory is written a few times a day at most.
        """
        limit = self.group.circuit_limit
        capping = [r for r in members if r.online and r.fallback_caps]
        if limit is None or not capping:
            return {}
        static = (
            allocations
            if self._circuit_is_static
            else allocate(states, available=float(limit), policy=self.group.policy)
        )
        return {
            reading.member_id: max(
                static[reading.member_id].amps, self.fallback_target(reading)
            )
            for reading in capping
        }

    def _fallback_writes(
        self,
        now: float,
        members: Sequence[MemberReading],
        exposure: dict[str, Exposure],
    ) -> tuple[FallbackWrite, ...]:
        """List the persistent fallbacks that differ from the group's, once each.

        A lower fallback counts once it is confirmed; a higher one (the
        group's fallback current was raised) only goes out when it fits,
        and counts from the moment it is sent. A write the charger did not
        confirm is sent again after the member's back-off; one it confirmed
        but does not keep is not repeated (EEPROM wear).
        """
        limit = self.group.circuit_limit
        if limit is None:
            return ()
        writes: list[FallbackWrite] = []
        for reading in members:
            member_id = reading.member_id
            if not reading.online or now < self._retry_at.get(member_id, now):
                continue
            target = self._fallback_wanted.get(member_id, self.fallback_target(reading))
            known = self._known[member_id].fallback
            if known == target:
                continue
            if self._fallback_tried.get(member_id) == (known, target):
                # Tried for this value already; the invariant counts what the
                # charger really keeps (its maximum when unknown).
                continue
            mine = exposure[member_id]
            if known is not None and target > mine.amps:
                others = sum(
                    item.amps for key, item in exposure.items() if key != member_id
                )
                if others + target > limit:
                    # Room comes once the others are turned down.
                    continue
                exposure[member_id] = could_draw(
                    setpoint=mine.setpoint,
                    fallback=mine.fallback,
                    maximum=mine.maximum,
                    pending=target,
                )
                self._pending[member_id] = _Pending(max(target, mine.pending or 0), now)
            self._fallback_tried[member_id] = (known, target)
            writes.append(FallbackWrite(member_id, target))
        return tuple(writes)

    def _commands(
        self,
        now: float,
        members: Sequence[MemberReading],
        allocations: Mapping[str, Allocation],
        exposure: dict[str, Exposure],
        circuit: float,
        *,
        hands_off: bool,
    ) -> tuple[Command, ...]:
        limit = (
            math.inf
            if self.group.circuit_limit is None
            else float(self.group.circuit_limit)
        )
        decreases: list[Command] = []
        increases: list[Command] = []
        for reading in members:
            if not reading.online or now < self._retry_at.get(reading.member_id, now):
                # Offline, or its last command failed: back off (what it
                # could draw stays counted meanwhile).
                continue
            item = allocations[reading.member_id]
            command = (
                self._restore(reading)
                if hands_off
                else self._command_for(reading, item)
            )
            if command is None:
                continue
            if command.amps is not None and _raises(reading, command.amps):
                increases.append(command)
            else:
                decreases.append(command)
        # A decrease goes out at once when the chargers may draw more than
        # the (metered) circuit has, or when an increase waits for room;
        # otherwise changes are rate limited.
        drawing = sum(
            reading.setpoint_a
            if reading.setpoint_a is not None
            else reading.max_current
            for reading in members
            if reading.online and reading.vehicle_connected and not reading.paused
        )
        offline = sum(
            exposure[reading.member_id].amps
            for reading in members
            if not reading.online
        )
        urgent = (
            drawing + offline > circuit
            or sum(item.amps for item in exposure.values()) > limit
            or any(
                not self._fits(c.member_id, c.amps or 0, exposure, limit)
                for c in increases
            )
        )
        sent = [
            command
            for command in decreases
            if urgent
            or command.reason in _HANDS_OFF
            or command.pause is not None
            or not self._recently_commanded(now, command.member_id)
        ]
        for command in increases:
            member_id = command.member_id
            amps = command.amps or 0
            if self._recently_commanded(now, member_id):
                continue
            if not self._fits(member_id, amps, exposure, limit):
                # No room until a decrease elsewhere is confirmed by its
                # read-back; a resume can still go out at the set point that
                # is counted already.
                if command.pause is False:
                    sent.append(Command(member_id, None, False, command.reason))
                continue
            sent.append(command)
            mine = exposure[member_id]
            pending = max(amps, mine.pending or 0)
            exposure[member_id] = could_draw(
                setpoint=mine.setpoint,
                fallback=mine.fallback,
                maximum=mine.maximum,
                pending=pending,
            )
            self._pending[member_id] = _Pending(pending, now)
        for command in sent:
            self._apply(now, command)
        return tuple(sent)

    @staticmethod
    def _fits(
        member_id: str, amps: int, exposure: Mapping[str, Exposure], limit: float
    ) -> bool:
        """Whether raising a member to ``amps`` fits beside what the others could draw."""
        others = sum(item.amps for key, item in exposure.items() if key != member_id)
        return others + max(amps, exposure[member_id].amps) <= limit

    def _setpoint_floor(self, reading: MemberReading) -> int:
        return self.fallback_target(reading)

    def _command_for(self, reading: MemberReading, item: Allocation) -> Command | None:
        member_id = reading.member_id
        if item.reason in _HANDS_OFF:
            # No car, or paused by someone else: never resumed nor raised,
            # but turned down to the fallback current, so that a car
            # plugging in (or a resume at the charger) stays within the
            # circuit. Without a circuit it is left alone.
            if self.group.circuit_limit is None:
                return None
            floor = self._setpoint_floor(reading)
            if reading.setpoint_a is not None and reading.setpoint_a <= floor:
                return None
            return Command(member_id, floor, None, item.reason)
        if item.amps == 0:
            floor = self._setpoint_floor(reading)
            lower = (
                floor
                if self.group.circuit_limit is not None
                and (reading.setpoint_a is None or reading.setpoint_a > floor)
                else None
            )
            if reading.paused and lower is None:
                return None
            return Command(
                member_id, lower, None if reading.paused else True, item.reason
            )
        target = item.amps
        cap = self._known[member_id].fallback if reading.fallback_caps else None
        if cap is not None and target > cap:
            # Above what the charger allows until its fallback is raised
            # (a write of its own, once there is room).
            target = max(cap, reading.min_current)
        amps = target if reading.setpoint_a != target else None
        resume = reading.paused and member_id in self._paused_by_us
        if amps is None and not resume:
            return None
        return Command(member_id, amps, False if resume else None, item.reason)

    def _restore(self, reading: MemberReading) -> Command | None:
        """No limit applies: undo what we did, touch nothing else."""
        member_id = reading.member_id
        amps: int | None = None
        if member_id in self._limited_by_us:
            if reading.setpoint_a == reading.max_current:
                self._limited_by_us.discard(member_id)
            else:
                amps = reading.max_current
        resume = reading.paused and member_id in self._paused_by_us
        if amps is None and not resume:
            return None
        return Command(
            member_id, amps, False if resume else None, AllocationReason.MAXIMUM
        )

    def _apply(self, now: float, command: Command) -> None:
        """Remember what we asked for (the caller reports whether it worked)."""
        member_id = command.member_id
        if command.reason not in _HANDS_OFF:
            # Turning an idle charger down is no reason to keep its car
            # waiting once it plugs in: only allocations are rate limited.
            self._last_command_at[member_id] = now
        if command.pause:
            self._paused_by_us.add(member_id)
        elif command.pause is False:
            self._paused_by_us.discard(member_id)
        if command.amps is not None:
            self._limited_by_us.add(member_id)


def _apply_plans(
    members: Sequence[MemberReading],
    allocations: dict[str, Allocation],
    sun: Mapping[str, Allocation] | None,
) -> bool:
    """Cap the shares by the members' plans; whether any member has a plan.

    ``sun``: each planned member's share of the solar budget (solar mode
    *planned*). It counts first: the member draws the larger of its sun
    share and what its plan buys now, never more than the circuit gives it.
    """
    planned = False
    for reading in members:
        if reading.plan_a is None:
            continue
        planned = True
        item = allocations[reading.member_id]
        if item.reason in _HANDS_OFF:
            continue
        amps = math.floor(reading.plan_a)
        if amps < reading.min_current:
            amps = 0
        share = None if sun is None else sun.get(reading.member_id)
        if share is not None and share.amps > amps:
            if share.amps < item.amps:
                allocations[reading.member_id] = Allocation(
                    share.amps, AllocationReason.SOLAR_LIMITED
                )
            continue
        if amps >= item.amps:
            continue
        allocations[reading.member_id] = (
            Allocation(amps, AllocationReason.PLAN_LIMITED)
            if amps
            else Allocation(0, AllocationReason.PLAN_PAUSED)
        )
    return planned


def _raises(reading: MemberReading, amps: int) -> bool:
    """Whether ``amps`` is above the confirmed set point (unknown: never)."""
    return reading.setpoint_a is not None and amps > reading.setpoint_a


def _is_amps(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
