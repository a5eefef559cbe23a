"""``goe``: a go-e Charger over Modbus TCP, on pymodbus' asyncio server.

The register map is written here from the go-e document (``modbus-en.md``)
and the observed facts in ``peers/go-e``, independently of the integration's
table, so the client is tested against a second reading of the spec:

- unit 1, 0-based addresses, 32-bit values high word first;
- functions 3, 4 and 16 only: 6 (and every other function) is answered
  with exception 1, illegal function;
- 3 and 4 read the same memory (one map, holding values win where the
  document's 332..337 overlap the RFID energy counters);
- a read that spans 205..206 returns 0xFFFF for 206;
- POWER_Lx in 0.1 W, POWER_TOTAL in 0.01 W, currents in 0.1 A,
  ENERGY_TOTAL in 0.1 kWh, ENERGY_CHARGE in deca-watt-seconds;
- AMPERE_VOLATILE (299) is RAM, AMPERE_EEPROM (300) and the other settings
  are saved (``model.eeprom_writes`` counts every save); writing 300 also
  makes it the current in force.

Choices where the document is silent: undocumented addresses inside
100..371 read 0, addresses outside are exception 2; a write to a read-only
register is exception 2 and a value out of range exception 3 (nothing of a
refused write is applied); another unit id gets exception 11 (gateway target
failed to respond); the charger starts drawing as soon as a car is plugged in
and allowed to.

Example::

    async with start_simulator("goe") as sim:
        sim.model.plug_in()
        sim.advance(60)
        charger = await connect_goe(sim.host, port=sim.port)
        sim.inject(GoeFault.DROP)  # the next request loses its connection
        print(sim.transactions[3], sim.model.eeprom_writes)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import TracebackType
from typing import Any, Self

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
)
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from .starter import Starter

GOE_KIND = "goe"
DEFAULT_PORT = 8502
FIRMWARE = "60.4"

FIRST_ADDRESS = 100
LAST_ADDRESS = 371
SUPPORTED_FUNCTIONS = frozenset({3, 4, 16})
WRITE_MULTIPLE = 16

# Addresses (0-based), from the go-e document.
CAR_STATE = 100
PP_CABLE = 101
FWV = 105
ERROR = 107
VOLT_L1 = 108
AMP_L1 = 114
POWER_TOTAL = 120
ENERGY_TOTAL = 128
ENERGY_CHARGE = 132
VOLT_N = 144
POWER_L1 = 146
POWER_FACTOR_L1 = 152
POWER_FACTOR_N = 158
ALLOW = 200
ACCESS_STATE = 201
ADAPTER_INPUT = 202
UNLOCKED_BY = 203
CABLE_LOCK_MODE = 204
PHASES = 205
LED_BRIGHTNESS = 206
LED_SAVE_ENERGY = 207
ELECTRICITY_PRICES_HOURS = 208
ELECTRICITY_PRICES_FINISHED = 209
ELECTRICITY_PRICES_ZONE = 210
AMPERE_MAX = 211
AMPERE_L1 = 212
CLOUD_DISABLED = 217
NORWAY_MODE = 218
AMPERE_VOLATILE = 299
AMPERE_EEPROM = 300
MAC = 301
SNR = 304
HOSTNAME = 310
IP = 315
SUBNET = 319
GATEWAY = 323
RFID_CARD = 327
ENERGY_CARD0 = 332
PHASE_SWITCH_MODE = 332
ENERGY_LIMIT = 333
FORCE_STATE = 337

_FLAG = range(2)
_AMPS = range(6, 33)
_BUTTON = frozenset({0, *_AMPS})
_ANY = range(0x10000)

# What a write may set, and whether the charger saves it to EEPROM.
WRITABLE: dict[int, tuple[range | frozenset[int], bool]] = {
    ALLOW: (_FLAG, False),
    ACCESS_STATE: (range(4), True),
    CABLE_LOCK_MODE: (range(3), True),
    LED_BRIGHTNESS: (range(256), True),
    LED_SAVE_ENERGY: (_FLAG, True),
    ELECTRICITY_PRICES_HOURS: (range(25), True),
    ELECTRICITY_PRICES_FINISHED: (range(24), True),
    ELECTRICITY_PRICES_ZONE: (_FLAG, True),
    AMPERE_MAX: (_AMPS, True),
    **{AMPERE_L1 + level: (_BUTTON, True) for level in range(5)},
    CLOUD_DISABLED: (_FLAG, True),
    NORWAY_MODE: (_FLAG, True),
    AMPERE_VOLATILE: (_AMPS, False),
    AMPERE_EEPROM: (_AMPS, True),
    PHASE_SWITCH_MODE: (range(3), True),
    **{ENERGY_LIMIT + word: (_ANY, False) for word in range(4)},
    FORCE_STATE: (range(3), False),
}


def _float64(value: float) -> list[int]:
    raw = struct.pack(">d", value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 8, 2)]


def _ipv4(host: str) -> ipaddress.IPv4Address:
    """Return the address the IP registers report (0.0.0.0 for a name)."""
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        return ipaddress.IPv4Address(0)


def default_settings() -> dict[int, int]:
    """Return the holding registers of a new charger (16 A, 32 A max)."""
    return {
        ALLOW: 1,
        ACCESS_STATE: 0,
        CABLE_LOCK_MODE: 0,
        LED_BRIGHTNESS: 255,
        LED_SAVE_ENERGY: 0,
        ELECTRICITY_PRICES_HOURS: 2,
        ELECTRICITY_PRICES_FINISHED: 7,
        ELECTRICITY_PRICES_ZONE: 0,
        AMPERE_MAX: 32,
        # Push-button levels as a real charger reported them (al1..al5).
        AMPERE_L1: 10,
        AMPERE_L1 + 1: 16,
        AMPERE_L1 + 2: 20,
        AMPERE_L1 + 3: 24,
        AMPERE_L1 + 4: 32,
        CLOUD_DISABLED: 0,
        NORWAY_MODE: 0,
        AMPERE_VOLATILE: 16,
        AMPERE_EEPROM: 16,
        PHASE_SWITCH_MODE: 0,
        **dict(enumerate(_float64(math.inf), start=ENERGY_LIMIT)),
        FORCE_STATE: 0,
    }


PILOT_ERRORS = frozenset({1, 3, 8})
"""ERROR codes under which CAR_STATE still follows the car."""


class CarState(IntEnum):
    """CAR_STATE (100)."""

    UNKNOWN = 0
    IDLE = 1
    CHARGING = 2
    WAITING = 3
    COMPLETE = 4


@dataclass(frozen=True, slots=True)
class GoeIdentity:
    """Serial, MAC and host name of one simulated charger."""

    serial: str
    mac: str
    hostname: str

    @classmethod
    def create(cls, seed: int) -> GoeIdentity:
        """Derive a stable identity (by default the seed is the TCP port)."""
        serial = f"{seed % 1_000_000:06d}"
        octets = [0x02, 0x67, 0x65, (seed >> 16) & 0xFF, (seed >> 8) & 0xFF]
        octets.append(seed & 0xFF)
        # HOSTNAME has five registers: ten bytes.
        return cls(
            serial=serial,
            mac=":".join(f"{octet:02x}" for octet in octets),
            hostname=f"goe-{serial}",
        )


@dataclass
class GoeModel:
    """The charger's controller: settings, the car, the meter.

    Time only passes with :meth:`advance`. A plugged-in car draws the
    current in force (AMPERE_VOLATILE, capped by AMPERE_MAX and the cable)
    on ``car_phases`` phases while ALLOW is 1 and no error is set.
    """

    phases_available: int = 3
    car_phases: int = 3
    voltages: tuple[int, int, int] = (230, 231, 229)
    power_factor: int = 99
    cable_amps: int = 32
    firmware: str = FIRMWARE
    total_wh: float = 0.0
    settings: dict[int, int] = field(default_factory=default_settings)

    eeprom_writes: int = field(default=0, init=False)
    boots: int = field(default=0, init=False)
    clock: float = field(default=0.0, init=False)
    connected: bool = field(default=False, init=False)
    complete: bool = field(default=False, init=False)
    error: int = field(default=0, init=False)
    energy_wanted_wh: float | None = field(default=None, init=False)
    session_ws: float = field(default=0.0, init=False)
    adapter: int = field(default=0, init=False)
    unlocked_by: int = field(default=0, init=False)

    # ------------------------------------------------------------ state

    @property
    def allow(self) -> bool:
        """ALLOW: the pilot may offer current."""
        return bool(self.settings[ALLOW])

    @property
    def drawing(self) -> bool:
        """The contactor is closed and the car takes current."""
        return self.connected and self.allow and not self.complete and not self.error

    @property
    def car_state(self) -> CarState:
        """CAR_STATE as the firmware reports it: the pilot's view.

        RCCB (1), phase (3) and ground (8) errors stop the charge, but the
        pilot still sees the car; any other error (10, "internal") means the
        station itself is defective: 0.
        """
        if self.error and self.error not in PILOT_ERRORS:
            return CarState.UNKNOWN
        if not self.connected:
            return CarState.IDLE
        if self.complete:
            return CarState.COMPLETE
        return CarState.CHARGING if self.drawing else CarState.WAITING

    @property
    def phases_in_use(self) -> int:
        """Phases the car draws on right now."""
        return min(self.car_phases, self.phases_available) if self.drawing else 0

    @property
    def current(self) -> int:
        """Amps offered: the current in force, capped by AMPERE_MAX and cable."""
        return min(
            self.settings[AMPERE_VOLATILE], self.settings[AMPERE_MAX], self.cable_amps
        )

    def phase_current(self, phase: int) -> float:
        """Amps drawn on phase 0..2."""
        return float(self.current) if phase < self.phases_in_use else 0.0

    def phase_power(self, phase: int) -> float:
        """Watts drawn on phase 0..2."""
        volts = self.voltages[phase] if phase < self.phases_available else 0
        return volts * self.phase_current(phase) * self.power_factor / 100

    @property
    def power(self) -> float:
        """Total watts."""
        return sum(self.phase_power(phase) for phase in range(3))

    @property
    def session_wh(self) -> float:
        """Energy of this charging process in Wh."""
        return self.session_ws / 3600

    # ------------------------------------------------------------ the car

    def plug_in(self, energy_wanted_wh: float | None = None) -> None:
        """Plug a car in; it is full after ``energy_wanted_wh`` (None: never)."""
        if self.connected:
            return
        self.connected = True
        self.complete = False
        self.session_ws = 0.0
        self.energy_wanted_wh = energy_wanted_wh

    def unplug(self) -> None:
        """Unplug the car."""
        self.connected = False
        self.complete = False

    def finish(self) -> None:
        """Let the car be full: charging finished, car still connected."""
        if self.connected:
            self.complete = True

    def set_error(self, code: int) -> None:
        """Raise an ERROR (1 RCCB, 3 phase, 8 no ground, 10 internal)."""
        self.error = code

    def clear_error(self) -> None:
        """Clear the error."""
        self.error = 0

    def reset_session_energy(self) -> None:
        """ENERGY_CHARGE falls to 0 within a session (seen after a phase switch)."""
        self.session_ws = 0.0

    def reboot(self) -> None:
        """Restart: RAM settings go back to their saved or default values."""
        self.settings[AMPERE_VOLATILE] = self.settings[AMPERE_EEPROM]
        self.settings[ALLOW] = 1
        self.boots += 1

    def advance(self, seconds: float) -> None:
        """Move time on and count energy; a full car stops at the exact moment."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.clock += seconds
        watts = self.power
        if not self.drawing or watts <= 0:
            return
        step = seconds
        if self.energy_wanted_wh is not None:
            left_ws = self.energy_wanted_wh * 3600 - self.session_ws
            step = max(0.0, min(seconds, left_ws / watts))
        self.session_ws += watts * step
        self.total_wh += watts * step / 3600
        if step < seconds or (
            self.energy_wanted_wh is not None
            and self.session_ws >= self.energy_wanted_wh * 3600 - 1e-6
        ):
            self.complete = True

    # ------------------------------------------------------------ registers

    def accepts(self, address: int, value: int) -> bool | None:
        """None: not writable; else whether ``value`` is in range."""
        if address not in WRITABLE:
            return None
        return value in WRITABLE[address][0]

    def write(self, address: int, value: int) -> None:
        """Apply one accepted register write."""
        self.settings[address] = value
        if WRITABLE[address][1]:
            self.eeprom_writes += 1
        if address == AMPERE_EEPROM:
            # The saved current is the one in force from now on as well.
            self.settings[AMPERE_VOLATILE] = value

    def registers(self, identity: GoeIdentity, ip: str) -> dict[int, int]:
        """Every register's word, as the firmware would answer right now."""
        words: dict[int, int] = {}

        def put(address: int, *values: int) -> None:
            for offset, value in enumerate(values):
                words[address + offset] = value

        def u32(address: int, value: float) -> None:
            raw = max(0, round(value))
            put(address, (raw >> 16) & 0xFFFF, raw & 0xFFFF)

        def text(address: int, count: int, value: str) -> None:
            raw = value.encode("ascii")[: 2 * count].ljust(2 * count, b"\x00")
            put(
                address,
                *(int.from_bytes(raw[i : i + 2]) for i in range(0, 2 * count, 2)),
            )

        put(CAR_STATE, int(self.car_state), self.cable_amps if self.connected else 0)
        text(FWV, 2, self.firmware)
        put(ERROR, self.error)
        for phase in range(3):
            present = phase < self.phases_available
            u32(VOLT_L1 + 2 * phase, self.voltages[phase] if present else 0)
            u32(AMP_L1 + 2 * phase, self.phase_current(phase) * 10)
            u32(POWER_L1 + 2 * phase, self.phase_power(phase) * 10)
            drawing = phase < self.phases_in_use
            u32(POWER_FACTOR_L1 + 2 * phase, self.power_factor if drawing else 0)
        u32(POWER_TOTAL, self.power * 100)
        u32(ENERGY_TOTAL, self.total_wh // 100)
        u32(ENERGY_CHARGE, self.session_ws // 10)
        u32(VOLT_N, 0)
        u32(POWER_FACTOR_N, 0)
        before = (1 << self.phases_available) - 1
        after = (1 << self.phases_in_use) - 1
        put(ADAPTER_INPUT, self.adapter, self.unlocked_by)
        put(PHASES, before << 3 | after)
        mac = bytes(int(octet, 16) for octet in identity.mac.split(":"))
        put(MAC, *(int.from_bytes(mac[i : i + 2]) for i in range(0, 6, 2)))
        text(SNR, 6, identity.serial)
        text(HOSTNAME, 5, identity.hostname)
        put(IP, *_ipv4(ip).packed)
        put(SUBNET, 255, 0, 0, 0)
        put(GATEWAY, *ipaddress.IPv4Address("127.0.0.1").packed)
        put(RFID_CARD, 0, 0, 0, 0, 0)
        for card in range(10):
            put(ENERGY_CARD0 + 4 * card, *_float64(0.0))
        # One memory: the settings overlay the energy counters at 332..337.
        words.update(self.settings)
        return words


# ---------------------------------------------------------------- faults


class GoeFault(StrEnum):
    """What :meth:`GoeSimulator.inject` can do to the next requests."""

    EXCEPTION = "exception"
    """Answer with a Modbus exception (``code``, default 4)."""
    TIMEOUT = "timeout"
    """Do not answer (or only after ``delay`` seconds)."""
    DROP = "drop"
    """Close the connection instead of answering."""
    IGNORE_WRITE = "ignore_write"
    """Confirm a write but keep the old value."""
    INVALID = "invalid"
    """Register ``address`` reads ``value`` (default 0xFFFF)."""
    SHORT = "short"
    """Answer one register short (a read) or confirm one fewer (a write)."""
    WRONG_FUNCTION = "wrong_function"
    """Answer as if another function had been asked (3 and 4 swapped)."""
    WRONG_ID = "wrong_id"
    """Answer with another transaction id."""


_MANGLING = frozenset({GoeFault.SHORT, GoeFault.WRONG_FUNCTION, GoeFault.WRONG_ID})


def _mangle(response: ModbusPDU, fault: GoeFault) -> ModbusPDU:
    """Spoil a correct answer the way ``fault`` says."""
    if fault is GoeFault.SHORT:
        if response.function_code == WRITE_MULTIPLE:
            response.count -= 1
        else:
            response.registers = response.registers[:-1]
        return response
    if fault is GoeFault.WRONG_ID:
        response.transaction_id = response.transaction_id % 0xFFFF + 1
        return response
    other = (
        ReadHoldingRegistersResponse
        if response.function_code == 4
        else ReadInputRegistersResponse
    )
    return other(
        registers=response.registers or [0],
        dev_id=response.dev_id,
        transaction_id=response.transaction_id,
    )


@dataclass(slots=True)
class PendingFault:
    """A fault waiting for the requests it will hit."""

    fault: GoeFault
    remaining: int
    function: int | None = None
    address: int | None = None
    code: int = ExcCodes.DEVICE_FAILURE
    delay: float | None = None
    value: int = 0xFFFF


@dataclass(frozen=True, slots=True)
class ModbusRequest:
    """One request the simulator received."""

    function: int
    address: int
    count: int
    unit: int

    def covers(self, address: int) -> bool:
        """Whether the request touches ``address``."""
        return self.address <= address < self.address + self.count


def _describe(pdu: ModbusPDU) -> ModbusRequest:
    count = pdu.count if pdu.function_code in SUPPORTED_FUNCTIONS else 1
    return ModbusRequest(pdu.function_code, pdu.address, count, pdu.dev_id)


# ---------------------------------------------------------------- server


class _Connection(ServerRequestHandler):
    """One client connection: faults and quirks before the datastore."""

    def __init__(self, server: _GoeServer) -> None:
        super().__init__(server, None, None, None)  # type: ignore[no-untyped-call]
        self.sim = server.sim

    def _reply(self, pdu: ModbusPDU, code: int) -> None:
        response = ExceptionResponse(pdu.function_code, code)
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.server_send(response, self.last_addr)

    def server_send(self, pdu: ModbusPDU | None, addr: object) -> None:
        fault = self.sim.active_fault
        if (
            pdu is not None
            and not pdu.isError()
            and fault is not None
            and fault.fault in _MANGLING
        ):
            pdu = _mangle(pdu, fault.fault)
        super().server_send(pdu, addr)  # type: ignore[no-untyped-call]

    async def handle_request(self) -> None:
        pdu = self.last_pdu
        if pdu is None:  # pragma: no cover - pymodbus only calls with a PDU
            return
        request = _describe(pdu)
        fault = self.sim.receive(request)
        if fault is not None and fault.fault is GoeFault.TIMEOUT:
            if fault.delay is None:
                return
            await self.sim.stall(fault.delay)
            if self.last_pdu is not pdu or not self.transport:
                return
        if fault is not None and fault.fault is GoeFault.DROP:
            self.transport.close()
            return
        if fault is not None and fault.fault is GoeFault.EXCEPTION:
            self._reply(pdu, fault.code)
            return
        if pdu.function_code not in SUPPORTED_FUNCTIONS:
            self._reply(pdu, ExcCodes.ILLEGAL_FUNCTION)
            return
        if pdu.dev_id != self.sim.unit_id:
            self._reply(pdu, ExcCodes.GATEWAY_NO_RESPONSE)
            return
        self.sim.active_fault = fault
        try:
            await super().handle_request()  # type: ignore[no-untyped-call]
        finally:
            self.sim.active_fault = None


class _GoeServer(ModbusTcpServer):
    """pymodbus' TCP server with our connection handler."""

    def __init__(self, sim: GoeSimulator, device: SimDevice) -> None:
        super().__init__(device, address=(sim.ip, sim.port))
        self.sim = sim

    def callback_new_connection(self) -> ServerRequestHandler:
        return _Connection(self)


class GoeSimulator:
    """A simulated go-e Charger served over Modbus TCP on ``host:port``."""

    kind = GOE_KIND

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unit_id: int = 1,
        model: GoeModel | None = None,
        realtime: bool = False,
        tick_seconds: float = 1.0,
        reboot_seconds: float = 5.0,
        identity_seed: int | None = None,
    ) -> None:
        """Prepare (but do not start) a simulator.

        ``port=0`` picks a free port at the first start; later starts reuse
        it. ``realtime`` advances the model every ``tick_seconds``.
        """
        self.model = model if model is not None else GoeModel()
        self.unit_id = unit_id
        self.realtime = realtime
        self.tick_seconds = tick_seconds
        self.reboot_seconds = reboot_seconds
        self.transactions: Counter[int] = Counter()
        self.requests: list[ModbusRequest] = []
        self.active_fault: PendingFault | None = None
        self._faults: list[PendingFault] = []
        self._host = host
        self._port = port
        self._identity_seed = identity_seed
        self._identity: GoeIdentity | None = None
        self._server: _GoeServer | None = None
        self._stopping = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        """The address to connect to (the port is separate, as in Modbus)."""
        return self._host

    @property
    def ip(self) -> str:
        """The address the server listens on (same as ``host``)."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port (0 until the first start when left to the OS)."""
        return self._port

    @property
    def url(self) -> str:
        """Where to reach it, for humans."""
        return f"modbus://{self._host}:{self._port}"

    @property
    def serving(self) -> bool:
        """Whether connections are accepted right now."""
        return self._server is not None

    @property
    def identity(self) -> GoeIdentity:
        """Serial, MAC and host name (derived from the port by default)."""
        if self._identity is None:
            seed = self._identity_seed if self._identity_seed is not None else self.port
            self._identity = GoeIdentity.create(seed)
        return self._identity

    def describe(self) -> str:
        """One line about what this simulator pretends to be."""
        return (
            f"go-eCharger, firmware {self.model.firmware} "
            f"(Modbus TCP, unit {self.unit_id})"
        )

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving (on the same port as before after a stop)."""
        if self._server is not None:
            return
        device = SimDevice(
            id=self.unit_id,
            simdata=[
                SimData(
                    address=FIRST_ADDRESS,
                    count=LAST_ADDRESS - FIRST_ADDRESS + 1,
                    datatype=DataType.REGISTERS,
                )
            ],
            action=self._datastore,
        )
        server = _GoeServer(self, device)
        try:
            await server.serve_forever(background=True)
        except RuntimeError as err:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise OSError(f"cannot listen on {self._host}:{self._port}") from err
        self._port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._server = server
        self._stopping.clear()
        if self.realtime and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick_loop(), name=f"goe-sim-ticker-{self._port}"
            )

    async def stop(self) -> None:
        """Stop serving: connections are closed, new ones refused."""
        server = self._server
        if server is None:
            return
        self._server = None
        self._stopping.set()
        await server.shutdown()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Stop everything, including the ticker."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.stop()

    async def reboot(self, seconds: float | None = None) -> None:
        """Restart: unreachable for ``seconds``, RAM settings lost."""
        await self.stop()
        self.model.reboot()
        await asyncio.sleep(self.reboot_seconds if seconds is None else seconds)
        await self.start()

    async def __aenter__(self) -> Self:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close everything."""
        await self.close()

    # ------------------------------------------------------------ test hooks

    def inject(
        self,
        fault: GoeFault | str,
        count: int = 1,
        *,
        function: int | None = None,
        address: int | None = None,
        code: int = ExcCodes.DEVICE_FAILURE,
        delay: float | None = None,
        value: int = 0xFFFF,
    ) -> None:
        """Make the next ``count`` matching requests suffer ``fault``.

        ``function`` and ``address`` (a register the request touches)
        narrow which requests match; ``invalid`` needs ``address``.
        """
        fault = GoeFault(fault)
        if count < 1:
            raise ValueError("count must be at least 1")
        if fault is GoeFault.INVALID and address is None:
            raise ValueError("an invalid register needs its address")
        if fault is GoeFault.IGNORE_WRITE:
            function = WRITE_MULTIPLE
        self._faults.append(
            PendingFault(fault, count, function, address, code, delay, value)
        )

    def glitch_car_state(self, readings: int = 1) -> None:
        """Report CAR_STATE 0 ("unknown") for the next ``readings`` reads of it.

        Real chargers were seen reporting a lone 0 with the car still
        plugged in; the car and the meter carry on unchanged.
        """
        self.inject(GoeFault.INVALID, readings, address=CAR_STATE, value=0)

    def clear_faults(self) -> None:
        """Forget faults that have not fired yet."""
        self._faults.clear()

    def pending_faults(self) -> list[tuple[GoeFault, int]]:
        """Return what is still queued, as (fault, remaining count)."""
        return [(item.fault, item.remaining) for item in self._faults]

    def reset_counters(self) -> None:
        """Zero the transaction and EEPROM counters."""
        self.transactions.clear()
        self.requests.clear()
        self.model.eeprom_writes = 0

    @property
    def eeprom_writes(self) -> int:
        """Settings saved to EEPROM since the last reset."""
        return self.model.eeprom_writes

    @property
    def offered(self) -> int:
        """Amps offered to a car right now (0 while charging is not allowed)."""
        model = self.model
        return model.settings[AMPERE_VOLATILE] if model.allow else 0

    @property
    def could_offer(self) -> int:
        """The most it may offer without commands: now, or after a restart."""
        model = self.model
        return max(model.settings[AMPERE_VOLATILE], model.settings[AMPERE_EEPROM])

    def advance(self, seconds: float) -> None:
        """Shortcut for ``model.advance``."""
        self.model.advance(seconds)

    def snapshot(self) -> dict[str, Any]:
        """State and counters, for humans."""
        model = self.model
        return {
            "kind": GOE_KIND,
            "url": self.url,
            "serving": self.serving,
            "car_state": model.car_state.name.lower(),
            "allow": model.allow,
            "ampere_volatile": model.settings[AMPERE_VOLATILE],
            "ampere_eeprom": model.settings[AMPERE_EEPROM],
            "offered": self.offered,
            "could_offer": self.could_offer,
            "power_w": round(model.power, 1),
            "session_wh": round(model.session_wh, 3),
            "total_wh": round(model.total_wh, 3),
            "eeprom_writes": model.eeprom_writes,
            "transactions": {str(fc): n for fc, n in sorted(self.transactions.items())},
            "faults_pending": [
                {"fault": str(fault), "remaining": left}
                for fault, left in self.pending_faults()
            ],
        }

    # ------------------------------------------------------------ internals

    def receive(self, request: ModbusRequest) -> PendingFault | None:
        """Count a request; return (and consume) the fault it suffers."""
        self.transactions[request.function] += 1
        self.requests.append(request)
        for item in self._faults:
            if item.function is not None and item.function != request.function:
                continue
            if item.address is not None and not request.covers(item.address):
                continue
            if item.fault is GoeFault.INVALID and request.function == WRITE_MULTIPLE:
                continue
            item.remaining -= 1
            if item.remaining == 0:
                self._faults.remove(item)
            return item
        return None

    async def stall(self, seconds: float) -> None:
        """Hold an answer back, but let go at once when the server stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _datastore(  # noqa: PLR0917 - pymodbus calls it positionally
        self,
        function: int,
        start: int,
        address: int,
        count: int,
        memory: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Fill the memory from the model; check and apply writes."""
        for at, word in self.model.registers(self.identity, self._host).items():
            memory[at - start] = word
        fault = self.active_fault
        if not values:
            # Firmware 56.1: 206 comes back 0xFFFF when read together with 205.
            if address <= PHASES and address + count > LED_BRIGHTNESS:
                memory[LED_BRIGHTNESS - start] = 0xFFFF
            if fault is not None and fault.fault is GoeFault.INVALID:
                memory[(fault.address or 0) - start] = fault.value
            return None
        words = [int(value) for value in values]
        for offset, word in enumerate(words):
            verdict = self.model.accepts(address + offset, word)
            if verdict is None:
                return ExcCodes.ILLEGAL_ADDRESS
            if not verdict:
                return ExcCodes.ILLEGAL_VALUE
        if fault is not None and fault.fault is GoeFault.IGNORE_WRITE:
            return None
        for offset, word in enumerate(words):
            self.model.write(address + offset, word)
        return None

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.tick_seconds)
            now = loop.time()
            self.model.advance(now - last)
            last = now


GoeSimulatorStarter = Starter[GoeSimulator]
