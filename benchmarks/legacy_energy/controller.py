"""The energy controller: readings in, charger commands out.

One :class:`EnergyController` runs per charging group (or per charger with
solar inputs). Every :meth:`EnergyController.step` takes what the chargers
and meters report, works out the current available on the circuit, asks the
solar controller for its budget, shares the smaller of the two with
:func:`allocate` and returns the commands that bring each charger there.

What it promises the people around it:

- it only resumes chargers it paused itself; a charger paused by the user
  or by a session limit is left alone;
- current commands are volatile (the caller uses
  ``set_max_current(amps, persist=False)``), so following the sun does not
  wear out the charger's EEPROM;
- a charger gets at most one command per ``control_interval``, except a
  decrease the circuit needs, which goes out at once;
- commands come in a safe order: decreases first, and an increase only when
  the circuit has room for it with every other charger at its set point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .allocation import Allocation, AllocationReason, MemberState, Policy, allocate
from .solar import SolarController, SolarDecision, SolarInputs, SolarMode, SolarSettings

_STATE_VERSION = 1

# Reasons for which the controller sends nothing to the charger.
_HANDS_OFF = frozenset(
    {
        AllocationReason.IDLE,
        AllocationReason.OFFLINE,
        AllocationReason.PAUSED_BY_USER,
    }
)

# When solar is what limits, the circuit reasons read as solar ones.
_SOLAR_REASONS = {
    AllocationReason.SHARED: AllocationReason.SOLAR_LIMITED,
    AllocationReason.CIRCUIT_FULL: AllocationReason.SOLAR_PAUSED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSettings:
    """The circuit: ``circuit_limit`` None = a single charger, solar only."""

    circuit_limit: int | None
    policy: Policy = Policy.UNIFORM
    fallback_current: int = 6
    control_interval: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberReading:
    """What the caller read from one charger.

    ``setpoint_a`` is the current set point the charger reports
    (``snapshot.max_current``); ``max_current`` its limit (or the user's cap).
    ``blocked``: paused by a session limit or the user; never resume it.
    """

    member_id: str
    online: bool
    vehicle_connected: bool
    paused: bool
    current_a: float | None
    setpoint_a: int | None
    max_current: int
    blocked: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """What to send to one charger.

    ``amps``: the new volatile set point (None = leave it); ``pause``: True =
    pause, False = resume, None = leave it. A pause never carries amps; a
    resume may, and the amps go first so the car restarts at the new value.
    """

    member_id: str
    amps: int | None
    pause: bool | None
    reason: AllocationReason


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One step's outcome; execute ``commands`` in order.

    ``available_a`` is what the circuit has for the chargers (None without a
    circuit); ``solar`` the solar decision (None when solar mode is off and
    no solar inputs were given).
    """

    commands: tuple[Command, ...]
    allocations: dict[str, Allocation]
    available_a: float | None
    solar: SolarDecision | None


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
        self._last_allocation: dict[str, int] = {}
        self._last_command_at: dict[str, float] = {}

    # ------------------------------------------------------------ public

    def paused_by_us(self, member_id: str) -> bool:
        """Whether the controller paused this charger (and may resume it)."""
        return member_id in self._paused_by_us

    def export_state(self) -> dict[str, Any]:
        """Return what must survive a restart, as JSON-ready data."""
        return {
            "version": _STATE_VERSION,
            "sequence": self._sequence,
            "plug_order": dict(self._plug_order),
            "paused_by_us": sorted(self._paused_by_us),
            "limited_by_us": sorted(self._limited_by_us),
            "last_allocation": dict(self._last_allocation),
        }

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Take back :meth:`export_state` data; anything malformed is skipped."""
        if data.get("version") != _STATE_VERSION:
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
        last = data.get("last_allocation")
        if isinstance(last, Mapping):
            self._last_allocation.update(
                (str(key), value)
                for key, value in last.items()
                if isinstance(value, int)
            )

    def step(
        self,
        now: float,
        members: Sequence[MemberReading],
        *,
        circuit_load_a: float | None = None,
        solar_inputs: SolarInputs | None = None,
    ) -> ControlResult:
        """Decide what every charger should do at ``now`` (monotonic seconds).

        ``circuit_load_a``: the circuit meter, chargers included (per phase);
        None when there is no meter or it is unavailable: then the static
        circuit limit applies.
        """
        self._track_plugs(members)
        user_paused = self._user_paused(now, members)
        circuit = self._circuit_available(members, circuit_load_a)
        states = [self._member_state(reading, user_paused) for reading in members]
        decision = self._solar_decision(now, members, states, solar_inputs)
        solar_amps = decision.amps if decision is not None else None
        budget = circuit if solar_amps is None else min(circuit, float(solar_amps))
        allocations = allocate(states, available=budget, policy=self.group.policy)
        solar_binds = (
            decision is not None
            and self.solar.settings.mode in (SolarMode.SOLAR, SolarMode.MIN_SOLAR)
            and budget < circuit
        )
        for reading in members:
            item = allocations[reading.member_id]
            if reading.member_id in user_paused:
                allocations[reading.member_id] = Allocation(
                    0, AllocationReason.PAUSED_BY_USER
                )
            elif solar_binds and item.reason in _SOLAR_REASONS:
                allocations[reading.member_id] = Allocation(
                    item.amps, _SOLAR_REASONS[item.reason]
                )
        commands = self._commands(
            now, members, allocations, circuit, hands_off=math.isinf(budget)
        )
        for reading in members:
            if reading.online:
                # What it may draw if it drops now: a lower allocation is
                # only real once the charger confirms it (the command can
                # fail), so the confirmed set point and the measured current
                # count too.
                # An idle charger gets the manual's fallback reserve.
                drawing = reading.vehicle_connected and not reading.paused
                confirmed = (reading.setpoint_a or 0) if drawing else 0
                measured = math.ceil(reading.current_a or 0.0) if drawing else 0
                self._last_allocation[reading.member_id] = max(
                    allocations[reading.member_id].amps, confirmed, measured
                )
        return ControlResult(
            commands=commands,
            allocations=allocations,
            available_a=None if math.isinf(circuit) else max(0.0, circuit),
            solar=decision,
        )

    # ------------------------------------------------------------ readings

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
        if limit is None:
            return math.inf
        if circuit_load_a is None or math.isnan(circuit_load_a):
            return float(limit)
        ours = sum(
            reading.current_a or 0.0
            for reading in members
            if reading.online and reading.current_a is not None
        )
        # The meter sees our chargers too; only the rest of the house takes
        # from the limit, and never gives back more than the limit itself.
        return limit - max(0.0, circuit_load_a - ours)

    def _member_state(
        self, reading: MemberReading, user_paused: set[str]
    ) -> MemberState:
        member_id = reading.member_id
        # An offline charger cannot be turned down, so it may keep drawing
        # what it had: its fallback current, or more if it was allocated
        # more when it dropped.
        reserve = max(
            self.group.fallback_current, self._last_allocation.get(member_id, 0)
        )
        return MemberState(
            member_id=member_id,
            online=reading.online,
            demanding=reading.online
            and reading.vehicle_connected
            and member_id not in user_paused,
            plugged_in_order=self._plug_order.get(member_id),
            max_current=reading.max_current,
            reserved_when_offline=reserve,
        )

    def _solar_decision(
        self,
        now: float,
        members: Sequence[MemberReading],
        states: Sequence[MemberState],
        solar_inputs: SolarInputs | None,
    ) -> SolarDecision | None:
        settings = self.solar.settings
        if solar_inputs is None:
            if settings.mode is SolarMode.OFF:
                return None
            drawn = sum(r.current_a or 0.0 for r in members if r.online)
            solar_inputs = SolarInputs(
                grid_power_w=None,
                charging_power_w=drawn * settings.voltage * settings.phases,
            )
        return self.solar.update(
            now, solar_inputs, vehicle_waiting=any(s.demanding for s in states)
        )

    # ------------------------------------------------------------ commands

    def _commands(
        self,
        now: float,
        members: Sequence[MemberReading],
        allocations: Mapping[str, Allocation],
        circuit: float,
        *,
        hands_off: bool,
    ) -> tuple[Command, ...]:
        # What each charger may draw right now (its set point while a car is
        # connected and it is not paused); offline ones their reserve.
        projected: dict[str, float] = {}
        for reading in members:
            item = allocations[reading.member_id]
            if not reading.online:
                projected[reading.member_id] = item.amps
            elif reading.vehicle_connected and not reading.paused:
                projected[reading.member_id] = (
                    reading.setpoint_a
                    if reading.setpoint_a is not None
                    else reading.max_current
                )
        decreases: list[Command] = []
        increases: list[Command] = []
        for reading in members:
            item = allocations[reading.member_id]
            if not reading.online or item.reason in _HANDS_OFF:
                continue
            command = (
                self._restore(reading)
                if hands_off
                else self._command_for(reading, item)
            )
            if command is None:
                continue
            new = 0 if command.pause else item.amps
            if new < projected.get(reading.member_id, 0.0):
                decreases.append(command)
            else:
                increases.append(command)

        sent: list[Command] = []
        over = sum(projected.values()) > circuit
        for command in decreases:
            # A decrease that keeps the circuit within its limit goes out at
            # once, rate limit or not: safety before gentleness.
            if over or not self._recently_commanded(now, command.member_id):
                sent.append(command)
                projected[command.member_id] = (
                    0 if command.pause else allocations[command.member_id].amps
                )
        for command in increases:
            if self._recently_commanded(now, command.member_id):
                continue
            amps = allocations[command.member_id].amps
            others = sum(
                value
                for member_id, value in projected.items()
                if member_id != command.member_id
            )
            if others + amps > circuit:
                # Wait until a held-back decrease elsewhere has made room.
                continue
            sent.append(command)
            projected[command.member_id] = amps
        for command in sent:
            self._apply(now, command)
        return tuple(sent)

    def _command_for(self, reading: MemberReading, item: Allocation) -> Command | None:
        member_id = reading.member_id
        if item.amps == 0:
            if reading.paused:
                return None
            return Command(member_id, None, True, item.reason)
        amps = item.amps if reading.setpoint_a != item.amps else None
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
        """Remember what we did, assuming the caller carries it out."""
        member_id = command.member_id
        self._last_command_at[member_id] = now
        if command.pause:
            self._paused_by_us.add(member_id)
        elif command.pause is False:
            self._paused_by_us.discard(member_id)
        if command.amps is not None:
            self._limited_by_us.add(member_id)
