"""The fault day's rig: three simulated chargers and a stand-in for Home Assistant.

Each *side* is one real simulator (a server on loopback, or for the MQ 200 a
websocket client of our own central system) plus what the benchmark does to
it: cars plugging in and out, faults, and the truth it is measured by (what
the charger could offer without being commanded, what the car draws, the
energy meter, the EEPROM counter).

:class:`Home` stands in for Home Assistant without importing it: it reads
every charger through the integration's own protocol adapters into
``MemberReading``s, runs the energy controller, and carries the commands out
the way ``energy_manager.py`` does (after the change) or did (before it). It
can crash and start again; the controller's memory survives only as far as
the energy manager saves it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from custom_components.evse_local.energy import (
    Command,
    EnergyController,
    FallbackWrite,
    GroupSettings,
    MemberReading,
    Policy,
    SolarSettings,
)
from custom_components.evse_local.protocols.charger import Charger
from custom_components.evse_local.protocols.detect import connect_charger
from custom_components.evse_local.protocols.errors import EvseError
from custom_components.evse_local.protocols.goe_modbus import registers as goe_reg
from custom_components.evse_local.protocols.goe_modbus.charger import (
    GoeCharger,
    device_info,
    read_blocks,
)
from custom_components.evse_local.protocols.goe_modbus.client import GoeModbusClient
from custom_components.evse_local.protocols.models import Capability, ChargerSnapshot
from custom_components.evse_local.protocols.ocpp import CentralSystem, OcppCharger
from custom_components.evse_local.protocols.ocpp.station import OcppStation
from simulators import (
    EvseModel,
    Fault,
    GoeFault,
    GoeModel,
    GoeSimulator,
    Mq200Model,
    Mq200Quirks,
    Mq200Simulator,
    ProfileRefusal,
    Simulator,
)
from simulators.goe import AMPERE_EEPROM, AMPERE_VOLATILE, WRITE_MULTIPLE
from simulators.ocpp_mq200 import ChargingProfile

from . import legacy_energy as legacy
from .common import CURRENT_OPTIONS, IDENTITY_SEED

LIMIT_A = 40
FALLBACK_A = 6
STATION_MAX_A = 32
CONTROL_INTERVAL_S = 10
VOLTAGE = 230.0

# energy_manager.FALLBACK_STATION_MAX: an offline charger counts at 32 A.
FALLBACK_STATION_MAX = 32
# energy_manager.ENERGY_SAVE_DELAY: the controller's memory is saved this
# long after it changed (and at once before an increase is sent).
ENERGY_SAVE_DELAY_S = 60
# A step re-runs at once when a read-back after its commands changed what a
# charger reports (a coordinator with always_update=False notifies its
# listeners, the energy manager schedules one more step). A guard only.
MAX_RERUNS = 10

# Wall-clock timeouts: only the injected faults should ever reach them.
GOE_TIMEOUT_S = 1.0
HTTP_TIMEOUT_S = 10.0
# A charger that went away is tried again at the next poll (the real
# clients back off in wall-clock time, which would mean hours here).
GOE_RECONNECT_S = 0.001
MQ200_RECONNECT_S = 0.02
# The MQ 200 talks to the central system with these intervals: the group
# uses states and set points, not the meter (no circuit meter), so a
# MeterValues a minute keeps the day fast without changing a decision.
OCPP_METER_INTERVAL_S = 60
OCPP_HEARTBEAT_INTERVAL_S = 300
CHARGE_POINT_ID = "MQ200-FAULTDAY"

# The OCPP central system runs these as tasks after a boot or a new
# transaction; a step must not start before they finished (determinism).
_OCPP_TASKS = ("ocpp configure", "ocpp session", "ocpp boot")
# A charger's persistent profiles: what the MQ 200 stores (its "EEPROM").
_STORED_PURPOSES = frozenset({"TxDefaultProfile", "ChargePointMaxProfile"})
# Far more requests than a day sends: "until told otherwise".
_FOREVER = 1_000_000


async def settle_ocpp() -> None:
    """Wait for the central system's follow-up tasks (profiles after a boot)."""
    while True:
        pending = [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith(_OCPP_TASKS)
        ]
        if not pending:
            return
        await asyncio.wait(pending)


# ------------------------------------------------------------------ sides


class Side(Protocol):
    """One simulated charger as the fault day drives and measures it."""

    member_id: str

    async def start(self) -> None:
        """Start the simulator (the MQ 200 needs the central system up)."""

    async def close(self) -> None:
        """Stop the simulator."""

    @property
    def could_offer(self) -> float:
        """The most it may offer a car without being commanded (amps)."""

    @property
    def drawn_a(self) -> float:
        """What the car draws right now (amps)."""

    @property
    def total_wh(self) -> float:
        """The charger's energy meter."""

    @property
    def eeprom_writes(self) -> int:
        """Writes to the charger's persistent memory so far."""

    async def advance(self, seconds: float) -> None:
        """Let simulated time pass."""

    async def plug_in(self, car_max_a: int) -> None:
        """A car arrives (and wants to charge)."""

    async def unplug(self) -> None:
        """The car leaves."""

    async def car_full(self) -> None:
        """The car stops taking current (it stays plugged in)."""

    def lose_next_write(self, *, fallback: bool) -> bool:
        """The next command (or fallback write) is lost: no answer, not applied.

        False when the simulator cannot do that.
        """

    def answer_lost_after_next_write(self, *, fallback: bool) -> bool:
        """The next command (or fallback write) is applied, its answer lost."""

    async def refuse_commands(self, refusing: bool) -> None:
        """Answer polls but refuse (or ignore) every command, or stop doing so."""

    async def go_offline(self, *, reboot: bool) -> None:
        """Drop off the network; with ``reboot`` also restart (RAM lost)."""

    async def come_back(self) -> None:
        """Be reachable again."""


class OpenEvseSide:
    """OpenEVSE, current WiFi firmware (JSON API, claims), a 32 A unit."""

    member_id = "openevse"

    def __init__(self) -> None:
        self.sim = Simulator(
            "current",
            identity_seed=IDENTITY_SEED,
            options=CURRENT_OPTIONS,
            model=EvseModel(max_hw_current=STATION_MAX_A, voltage=VOLTAGE),
        )

    async def start(self) -> None:
        await self.sim.start()

    async def close(self) -> None:
        await self.sim.close()

    async def connect(self, session: aiohttp.ClientSession) -> Charger:
        return await connect_charger(session, self.sim.host, timeout=HTTP_TIMEOUT_S)

    @property
    def could_offer(self) -> float:
        return self.sim.could_offer

    @property
    def drawn_a(self) -> float:
        return self.sim.model.measured_milliamps / 1000

    @property
    def total_wh(self) -> float:
        return self.sim.model.total_wh

    @property
    def eeprom_writes(self) -> int:
        return self.sim.model.eeprom_writes

    async def advance(self, seconds: float) -> None:
        self.sim.model.advance(seconds)

    async def plug_in(self, car_max_a: int) -> None:
        model = self.sim.model
        model.ev_max_current = car_max_a
        model.set_ev_ready(True)
        model.plug_in()

    async def unplug(self) -> None:
        self.sim.model.unplug()

    async def car_full(self) -> None:
        self.sim.model.set_ev_ready(False)

    def lose_next_write(self, *, fallback: bool) -> bool:
        # Refused before the handler runs: nothing applied.
        self.sim.inject(Fault.HTTP_500, path=_path(fallback=fallback))
        return True

    def answer_lost_after_next_write(self, *, fallback: bool) -> bool:
        # The handler runs, then the connection is cut half-way through.
        self.sim.inject(Fault.DROP, path=_path(fallback=fallback))
        return True

    async def refuse_commands(self, refusing: bool) -> None:
        if refusing:
            self.sim.inject(Fault.HTTP_500, _FOREVER, path="/claims")
        else:
            self.sim.clear_faults()

    async def go_offline(self, *, reboot: bool) -> None:
        await self.sim.stop()
        if reboot:
            # What Simulator.reboot does, without its wall-clock sleep.
            self.sim.device.gateway_boot()
            self.sim.model.reboot()

    async def come_back(self) -> None:
        await self.sim.start()


def _path(*, fallback: bool) -> str:
    """Claims carry the set point, ``/config`` the saved current (and its read)."""
    return "/config" if fallback else "/claims"


class GoeSide:
    """go-e Charger over Modbus TCP, installed with 32 A saved (register 300)."""

    member_id = "goe"

    def __init__(self) -> None:
        model = GoeModel(car_phases=1, voltages=(230, 230, 230))
        model.settings[AMPERE_EEPROM] = model.settings[AMPERE_VOLATILE] = 32
        self.sim = GoeSimulator(identity_seed=IDENTITY_SEED, model=model)

    async def start(self) -> None:
        await self.sim.start()

    async def close(self) -> None:
        await self.sim.close()

    @property
    def refused(self) -> bool:
        """Whether a connection attempt would be refused right now."""
        return not self.sim.serving

    async def connect(self) -> Charger:
        # connect_goe() with a reconnect back-off on the simulated clock's
        # scale (see GOE_RECONNECT_S).
        client = GoeModbusClient(
            self.sim.host,
            port=self.sim.port,
            timeout=GOE_TIMEOUT_S,
            reconnect_delay=GOE_RECONNECT_S,
            reconnect_delay_max=GOE_RECONNECT_S,
        )
        readings = goe_reg.Readings()
        try:
            await client.connect()
            await read_blocks(client, readings, goe_reg.SETUP_BLOCKS)
        except EvseError:
            await client.close()
            raise
        return GoeCharger(client, device_info(readings), readings=readings)

    @property
    def could_offer(self) -> float:
        return self.sim.could_offer

    @property
    def drawn_a(self) -> float:
        return self.sim.model.phase_current(0)

    @property
    def total_wh(self) -> float:
        return self.sim.model.total_wh

    @property
    def eeprom_writes(self) -> int:
        return self.sim.model.eeprom_writes

    async def advance(self, seconds: float) -> None:
        self.sim.model.advance(seconds)

    async def plug_in(self, car_max_a: int) -> None:
        model = self.sim.model
        # The car's on-board charger limits the draw like a cable would.
        model.cable_amps = car_max_a
        model.plug_in()

    async def unplug(self) -> None:
        self.sim.model.unplug()

    async def car_full(self) -> None:
        self.sim.model.finish()

    def lose_next_write(self, *, fallback: bool) -> bool:
        # Registers 299 and 300 alike: whichever write comes next.
        self.sim.inject(GoeFault.TIMEOUT, function=WRITE_MULTIPLE)
        return True

    def answer_lost_after_next_write(self, *, fallback: bool) -> bool:
        # The Modbus simulator has no "applied, then unanswered" fault.
        return False

    async def refuse_commands(self, refusing: bool) -> None:
        if refusing:
            # Confirms the write, keeps the old value: caught by the read-back.
            self.sim.inject(GoeFault.IGNORE_WRITE, _FOREVER)
        else:
            self.sim.clear_faults()

    async def go_offline(self, *, reboot: bool) -> None:
        await self.sim.stop()
        if reboot:
            self.sim.model.reboot()

    async def come_back(self) -> None:
        await self.sim.start()


class Mq200Side:
    """Blink MQ 200 (OCPP 1.6J), a client of the in-process central system."""

    member_id = "mq200"

    def __init__(self, central_port: int) -> None:
        self.sim = Mq200Simulator(
            f"ws://127.0.0.1:{central_port}/ocpp",
            CHARGE_POINT_ID,
            model=Mq200Model(max_current=STATION_MAX_A, voltage=VOLTAGE),
            quirks=Mq200Quirks(),
            time_factor=0,
            # The ocpp library checks schemas in a thread pool: off for speed
            # (our central system checks what it receives, as in Home Assistant).
            validate_schemas=False,
            reconnect_delay=MQ200_RECONNECT_S,
            reboot_seconds=MQ200_RECONNECT_S,
        )
        self.station: OcppStation | None = None
        """Our central system's view of it, while Home Assistant runs."""
        self.offline = False
        self._stored: list[ChargingProfile] = []
        self._stored_writes = 0

    async def start(self) -> None:
        # It keeps dialling until the central system (Home.start) is up.
        await self.sim.start(wait=False)

    async def close(self) -> None:
        await self.sim.stop()

    async def wait_ready(self) -> None:
        """Wait for the boot and the central system's follow-up (if it runs)."""
        await self.sim.wait_accepted()
        await settle_ocpp()

    async def sync(self) -> None:
        """Send what a change calls for now, and wait for what follows."""
        await self.sim.sync()
        await settle_ocpp()

    @property
    def could_offer(self) -> float:
        return self.sim.could_offer

    @property
    def drawn_a(self) -> float:
        return self.sim.model.current

    @property
    def total_wh(self) -> float:
        return self.sim.model.energy_wh

    @property
    def eeprom_writes(self) -> int:
        self._count_stored_profiles()
        return self._stored_writes

    def _count_stored_profiles(self) -> None:
        """Count every stored profile the charger installed (it keeps them)."""
        stored = [
            profile
            for profile in self.sim.model.profiles
            if profile.purpose in _STORED_PURPOSES
        ]
        self._stored_writes += sum(
            1 for new in stored if not any(new is old for old in self._stored)
        )
        self._stored = stored

    async def advance(self, seconds: float) -> None:
        self._count_stored_profiles()
        await self.sim.advance(seconds)

    async def plug_in(self, car_max_a: int) -> None:
        self.sim.model.ev_max_current = car_max_a
        self.sim.model.plug_in()
        await self.sync()

    async def unplug(self) -> None:
        self.sim.model.unplug()
        await self.sync()

    async def car_full(self) -> None:
        self.sim.model.car_full()
        await self.sync()

    def lose_next_write(self, *, fallback: bool) -> bool:
        # The MQ 200 simulator answers every call it receives.
        return False

    def answer_lost_after_next_write(self, *, fallback: bool) -> bool:
        return False

    async def refuse_commands(self, refusing: bool) -> None:
        self.sim.quirks.refuse_profiles = ProfileRefusal.REJECTED if refusing else None
        if not refusing and not self.offline and self.sim.connected:
            # The central system asks again after a new boot: Smart
            # Charging comes back with a restart of the charger.
            await self.go_offline(reboot=False)
            await self.come_back()

    async def go_offline(self, *, reboot: bool) -> None:
        if reboot:
            if self.station is not None and self.sim.connected:
                # A reset: the session ends, profiles stay, it boots again.
                self.sim.request_reset("Hard")
                await self.sync()
                await self.wait_ready()
            return
        self.offline = True
        connection = None if self.station is None else self.station.connection
        await self.sim.kill(reconnect=False)
        if connection is not None:
            # The central system notices the dropped socket.
            async with asyncio.timeout(5):
                await connection.ended.wait()

    async def come_back(self) -> None:
        if not self.offline:
            return
        self.offline = False
        await self.sim.reconnect()
        if self.station is not None:
            await self.wait_ready()


# ------------------------------------------------------------------ Home Assistant


@dataclass(slots=True)
class Counters:
    """What Home Assistant sent over a day."""

    commands: int = 0
    failed_commands: int = 0
    fallback_writes: int = 0
    per_member: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Disk:
    """What survives Home Assistant: the energy manager's and the charger's store."""

    controller: dict[str, Any] | None = None
    ocpp_station: dict[str, Any] | None = None


@dataclass(slots=True)
class _Member:
    """One charger as a coordinator holds it."""

    side: Side
    charger: Charger | None = None
    snapshot: ChargerSnapshot | None = None
    """The last successful read (a coordinator's ``data``)."""
    online: bool = False
    """Whether the last read succeeded (``last_update_success``)."""
    read_at: int | None = None


_STAMPS = itertools.count(1)


def next_stamp() -> int:
    """coordinator.next_stamp(): one increasing clock for reads and commands."""
    return next(_STAMPS)


def reading_after(member: _Member) -> MemberReading:
    """energy_manager.EnergyManager._reading, without Home Assistant."""
    snapshot = member.snapshot
    member_id = member.side.member_id
    if snapshot is None or not member.online:
        return MemberReading(
            member_id=member_id,
            online=False,
            vehicle_connected=False,
            paused=False,
            current_a=None,
            setpoint_a=None,
            max_current=FALLBACK_STATION_MAX,
        )
    return MemberReading(
        member_id=member_id,
        online=True,
        vehicle_connected=bool(snapshot.vehicle_connected),
        paused=bool(snapshot.paused),
        current_a=snapshot.charging_current,
        setpoint_a=snapshot.max_current,
        max_current=snapshot.max_current_limit or FALLBACK_STATION_MAX,
        fallback_a=snapshot.fallback_current,
        min_current=snapshot.min_current_limit or FALLBACK_A,
        read_at=member.read_at,
        fallback_caps=Capability.FALLBACK_CAPS_CURRENT in snapshot.capabilities,
    )


def reading_before(member: _Member) -> legacy.MemberReading:
    """The energy manager's ``_reading`` at commit 3ca180d."""
    snapshot = member.snapshot
    member_id = member.side.member_id
    if snapshot is None or not member.online:
        return legacy.MemberReading(
            member_id=member_id,
            online=False,
            vehicle_connected=False,
            paused=False,
            current_a=None,
            setpoint_a=None,
            max_current=FALLBACK_STATION_MAX,
        )
    return legacy.MemberReading(
        member_id=member_id,
        online=True,
        vehicle_connected=bool(snapshot.vehicle_connected),
        paused=bool(snapshot.paused),
        current_a=snapshot.charging_current,
        setpoint_a=snapshot.max_current,
        max_current=snapshot.max_current_limit or FALLBACK_STATION_MAX,
    )


def _raises(command: Command, setpoints: Mapping[str, int | None]) -> bool:
    """energy_manager._raises: whether a command raises a confirmed set point."""
    setpoint = setpoints.get(command.member_id)
    return command.amps is not None and (setpoint is None or command.amps > setpoint)


def _increase(command: legacy.Command, setpoints: Mapping[str, int | None]) -> bool:
    """The old energy manager's sort key: pauses and decreases first."""
    if command.pause:
        return False
    setpoint = setpoints.get(command.member_id)
    return not (
        command.amps is not None and setpoint is not None and command.amps < setpoint
    )


class Home:
    """Home Assistant with a 40 A charging group of the three sides.

    ``legacy``: the controller before issue 10 (``benchmarks/legacy_energy``),
    driven as its energy manager did; otherwise today's controller, driven
    as ``energy_manager.py`` drives it.
    """

    def __init__(
        self,
        sides: list[Side],
        mq200: Mq200Side,
        central_port: int,
        disk: Disk,
        counters: Counters,
        *,
        legacy_controller: bool,
    ) -> None:
        self.sides = sides
        self.mq200 = mq200
        self.central_port = central_port
        self.disk = disk
        self.counters = counters
        self.legacy = legacy_controller
        self.members = [_Member(side) for side in sides]
        self.controller = EnergyController(
            GroupSettings(
                circuit_limit=LIMIT_A,
                policy=Policy.UNIFORM,
                fallback_current=FALLBACK_A,
                control_interval=CONTROL_INTERVAL_S,
            ),
            SolarSettings(),
        )
        self.legacy_controller = legacy.EnergyController(
            legacy.GroupSettings(
                circuit_limit=LIMIT_A,
                policy=legacy.Policy.UNIFORM,
                fallback_current=FALLBACK_A,
                control_interval=CONTROL_INTERVAL_S,
            ),
            legacy.SolarSettings(),
        )
        self.central: CentralSystem | None = None
        self.session: aiohttp.ClientSession | None = None
        self.refusing_seen: set[str] = set()
        self._save_due: float | None = None
        self._updated = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Home Assistant starts: the central system, the chargers, the memory."""
        self.session = aiohttp.ClientSession()
        central = CentralSystem(
            host="127.0.0.1",
            port=self.central_port,
            meter_interval=OCPP_METER_INTERVAL_S,
            heartbeat_interval=OCPP_HEARTBEAT_INTERVAL_S,
        )
        await central.start()
        self.central = central
        station = central.add_station(
            CHARGE_POINT_ID, password=None, max_current_limit=STATION_MAX_A
        )
        ocpp = OcppCharger(station, max_current=STATION_MAX_A)
        if self.disk.ocpp_station is not None:
            ocpp.restore_state(self.disk.ocpp_station)
        self.mq200.station = station
        for member in self.members:
            if member.side is self.mq200:
                member.charger = ocpp
        if self.disk.controller is not None:
            if self.legacy:
                self.legacy_controller.restore_state(self.disk.controller)
            else:
                self.controller.restore_state(self.disk.controller)
        if not self.mq200.offline:
            await self.mq200.wait_ready()

    async def crash(self) -> None:
        """Home Assistant stops without warning: only the disk survives."""
        for member in self.members:
            if isinstance(member.charger, OcppCharger):
                self.disk.ocpp_station = member.charger.export_state()
            elif member.charger is not None:
                await member.charger.close()
            member.charger = None
        if self.central is not None:
            await self.central.stop()
            self.central = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        self.mq200.station = None

    # ------------------------------------------------------------ reading

    async def _connect(self, member: _Member) -> Charger | None:
        side = member.side
        try:
            if isinstance(side, OpenEvseSide) and self.session is not None:
                return await side.connect(self.session)
            if isinstance(side, GoeSide):
                return await side.connect()
        except EvseError:
            return None
        return None

    async def refresh(self, member: _Member) -> None:
        """A coordinator refresh: poll, or become unavailable."""
        side = member.side
        if isinstance(side, GoeSide) and side.refused:
            # Connection refused, without asking pymodbus: it spends 0.1 s of
            # wall-clock time on every refused attempt (minutes here).
            member.online = False
            return
        if member.charger is None:
            member.charger = await self._connect(member)
            if member.charger is None:
                member.online = False
                return
        try:
            snapshot = await member.charger.poll()
        except EvseError:
            self._updated |= member.online
            member.online = False
            return
        self._updated |= snapshot != member.snapshot or not member.online
        member.snapshot = snapshot
        member.online = True
        member.read_at = next_stamp()

    # ------------------------------------------------------------ control

    async def control(self, now: float) -> None:
        """One control interval: every coordinator polls, then the group steps."""
        for member in self.members:
            await self.refresh(member)
        for _ in range(1 + MAX_RERUNS):
            self._updated = False
            await (self._step_before(now) if self.legacy else self._step(now))
            if not self._updated:
                break
        self._schedule_save(now)

    def _member(self, member_id: str) -> _Member:
        return next(m for m in self.members if m.side.member_id == member_id)

    async def _step(self, now: float) -> None:
        """energy_manager.EnergyManager._async_step."""
        readings = [reading_after(member) for member in self.members]
        result = self.controller.step(now, readings)
        setpoints = {reading.member_id: reading.setpoint_a for reading in readings}
        if result.fallback_writes or any(
            _raises(command, setpoints) for command in result.commands
        ):
            # Write-ahead, as the energy manager does.
            self.save_now()
        for write in result.fallback_writes:
            await self._write_fallback(write)
        for command in result.commands:
            await self._execute(command)
        self.refusing_seen |= self.controller.refusing

    async def _write_fallback(self, write: FallbackWrite) -> None:
        """energy_manager.EnergyManager._async_write_fallback."""
        member = self._member(write.member_id)
        if member.charger is None:
            return
        ok = False
        try:
            await member.charger.set_fallback_current(write.amps)
            ok = True
        except EvseError, ValueError:
            pass
        else:
            self.counters.fallback_writes += 1
        done = next_stamp()
        await self.refresh(member)
        self.controller.report(write.member_id, write, ok=ok, done_at=done)

    async def _execute(self, command: Command) -> None:
        """energy_manager.EnergyManager._async_execute."""
        member = self._member(command.member_id)
        if member.charger is None:
            self.controller.report(
                command.member_id, command, ok=False, done_at=next_stamp()
            )
            return
        ok = await self._carry_out(member, command.pause, command.amps)
        done = next_stamp()
        await self.refresh(member)
        snapshot = member.snapshot
        if (
            ok
            and command.amps is not None
            and snapshot is not None
            and snapshot.max_current != command.amps
        ):
            # Answered but not applied (read back): a refusal.
            ok = False
        self.counters.failed_commands += not ok
        self.controller.report(command.member_id, command, ok=ok, done_at=done)

    async def _carry_out(
        self, member: _Member, pause: bool | None, amps: int | None
    ) -> bool:
        """Pause, then the volatile current, then resume; False on any error."""
        charger = member.charger
        if charger is None:
            return False
        self.counters.commands += 1
        key = member.side.member_id
        self.counters.per_member[key] = self.counters.per_member.get(key, 0) + 1
        try:
            if pause:
                await charger.set_paused(True)
            if amps is not None:
                await charger.set_max_current(amps, persist=False)
            if pause is False:
                await charger.set_paused(False)
        except EvseError, ValueError:
            return False
        return True

    async def _step_before(self, now: float) -> None:
        """The energy manager's ``_async_step`` at commit 3ca180d."""
        readings = [reading_before(member) for member in self.members]
        result = self.legacy_controller.step(now, readings)
        setpoints = {reading.member_id: reading.setpoint_a for reading in readings}
        # Relieve the circuit before anything is given more current; errors
        # are logged and forgotten, nothing is read back into the decision.
        for command in sorted(
            result.commands, key=lambda command: _increase(command, setpoints)
        ):
            member = self._member(command.member_id)
            if member.charger is None:
                continue
            ok = await self._carry_out(member, command.pause, command.amps)
            self.counters.failed_commands += not ok
            await self.refresh(member)

    # ------------------------------------------------------------ memory

    def _state(self) -> dict[str, Any]:
        if self.legacy:
            return self.legacy_controller.export_state()
        return self.controller.export_state()

    def save_now(self) -> None:
        """The store written at once (write-ahead before an increase)."""
        self.disk.controller = self._state()
        self._save_due = None

    def _schedule_save(self, now: float) -> None:
        """energy_manager._save_state: a delayed save once the memory changed."""
        if self._save_due is None and self._state() != self.disk.controller:
            self._save_due = now + ENERGY_SAVE_DELAY_S

    def tick(self, now: float) -> None:
        """The delayed save falls due."""
        if self._save_due is not None and now >= self._save_due:
            self.save_now()
