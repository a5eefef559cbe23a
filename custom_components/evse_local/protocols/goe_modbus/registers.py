"""The go-e Charger Modbus register map as one table, and reads planned from it.

Source: ``modbus-en.md`` of go-eCharger-API-v2 (63 registers, 0-based wire
addresses), corrected by what users measured on real chargers:

- POWER_L1..L3 count 0.1 W although the document says 0.1 kW; POWER_TOTAL
  counts 0.01 W (the document was corrected for it in 2023 only).
- The firmware treats functions 3 and 4 alike: input and holding registers
  are one address space, so a read block may mix both.
- A read spanning 205..206 answers 0xFFFF for 206 (firmware 56.1), so 206
  always starts a block.
- 32-bit values are two registers, high word first.

Nothing here talks to a charger: :func:`plan_reads` turns a set of registers
into Modbus read blocks, :class:`Readings` keeps the words that came back and
decodes them through the table.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_READ = 125
"""Registers one Modbus read may return (the protocol's limit)."""
MAX_GAP = 10
"""Undocumented registers a block may read over to save a transaction.

The steady input block 100..159 reads over 134..143, the widest such gap.
"""
INVALID_16 = 0xFFFF
INVALID_32 = 0xFFFFFFFF


class Table(StrEnum):
    """Where the document lists a register (the charger reads both alike)."""

    INPUT = "input"
    HOLDING = "holding"


class DataType(StrEnum):
    """How a register's words encode its value."""

    UINT16 = "uint16"
    UINT32 = "uint32"
    FLOAT64 = "float64"
    ASCII = "ascii"
    MAC = "mac"
    """Six bytes, binary."""
    IPV4 = "ipv4"
    """Four registers, one octet each."""
    BYTES = "bytes"


class Poll(StrEnum):
    """When the charger adapter reads a register."""

    EVERY = "every"
    """In the input block read at every poll."""
    ROTATION = "rotation"
    """A setting: one settings block per poll, in turn."""
    SETUP = "setup"
    """Identity, read once at setup."""
    NEVER = "never"


_WORDS = {
    DataType.UINT16: 1,
    DataType.UINT32: 2,
    DataType.FLOAT64: 4,
    DataType.MAC: 3,
    DataType.IPV4: 4,
}

type Value = int | float | str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """One documented register (or run of registers holding one value).

    ``valid`` holds the raw values the charger may report or accept; a raw
    value outside it decodes to ``None`` and is refused for writing.
    ``scale`` turns the raw value into ``unit``.
    """

    name: str
    address: int
    table: Table
    type: DataType
    count: int = 1
    scale: float = 1
    unit: str | None = None
    writable: bool = False
    poll: Poll
    valid: range | frozenset[int] | None = None
    starts_block: bool = False
    """Reading this register together with the one before it corrupts it."""

    def __post_init__(self) -> None:
        """Catch a table typo at import time rather than on the wire."""
        words = _WORDS.get(self.type)
        if words is not None and words != self.count:
            raise ValueError(f"{self.name}: {self.type} takes {words} registers")

    @property
    def end(self) -> int:
        """First address after this register."""
        return self.address + self.count

    @property
    def addresses(self) -> range:
        """Every address this register occupies."""
        return range(self.address, self.end)


def _u16(
    name: str,
    address: int,
    *,
    table: Table = Table.HOLDING,
    poll: Poll = Poll.ROTATION,
    valid: range | frozenset[int] | None = None,
    unit: str | None = None,
    starts_block: bool = False,
) -> Register:
    return Register(
        name=name,
        address=address,
        table=table,
        type=DataType.UINT16,
        unit=unit,
        writable=table is Table.HOLDING,
        poll=poll,
        valid=valid,
        starts_block=starts_block,
    )


def _measured(
    name: str,
    address: int,
    *,
    unit: str,
    scale: float = 1,
    valid: range | None = None,
) -> Register:
    return Register(
        name=name,
        address=address,
        table=Table.INPUT,
        type=DataType.UINT32,
        count=2,
        scale=scale,
        unit=unit,
        poll=Poll.EVERY,
        valid=valid,
    )


_FLAG = range(2)
_AMPS = range(6, 33)
_BUTTON_AMPS = frozenset({0, *_AMPS})
"""0 skips the push-button level."""
_VOLTS = range(1001)
_TENTH_AMPS = range(1001)
_PERCENT = range(101)
# 100 kW: a sanity bound far above any go-e (22 kW), not a rating.
_HUNDREDTH_WATTS = range(10_000_001)
_TENTH_WATTS = range(1_000_001)

# --- input registers read at every poll (one block, 100..159) ---------------
CAR_STATE = _u16("CAR_STATE", 100, table=Table.INPUT, poll=Poll.EVERY, valid=range(5))
PP_CABLE = _u16(
    "PP_CABLE",
    101,
    table=Table.INPUT,
    poll=Poll.EVERY,
    valid=frozenset({0, *range(13, 33)}),
    unit="A",
)
FWV = Register(
    name="FWV",
    address=105,
    table=Table.INPUT,
    type=DataType.ASCII,
    count=2,
    poll=Poll.SETUP,
)
ERROR = _u16("ERROR", 107, table=Table.INPUT, poll=Poll.EVERY)
VOLT_L1 = _measured("VOLT_L1", 108, unit="V", valid=_VOLTS)
VOLT_L2 = _measured("VOLT_L2", 110, unit="V", valid=_VOLTS)
VOLT_L3 = _measured("VOLT_L3", 112, unit="V", valid=_VOLTS)
AMP_L1 = _measured("AMP_L1", 114, unit="A", scale=0.1, valid=_TENTH_AMPS)
AMP_L2 = _measured("AMP_L2", 116, unit="A", scale=0.1, valid=_TENTH_AMPS)
AMP_L3 = _measured("AMP_L3", 118, unit="A", scale=0.1, valid=_TENTH_AMPS)
POWER_TOTAL = _measured(
    "POWER_TOTAL", 120, unit="W", scale=0.01, valid=_HUNDREDTH_WATTS
)
ENERGY_TOTAL = _measured("ENERGY_TOTAL", 128, unit="kWh", scale=0.1)
# Deca-watt-seconds; may fall back to ~0 within a session (after a phase
# switch, firmware 57.1).
ENERGY_CHARGE = _measured("ENERGY_CHARGE", 132, unit="Ws", scale=10)
VOLT_N = _measured("VOLT_N", 144, unit="V", valid=_VOLTS)
# Measured 0.1 W (25000 at 2.5 kW on firmware 055.5); the document says 0.1 kW.
POWER_L1 = _measured("POWER_L1", 146, unit="W", scale=0.1, valid=_TENTH_WATTS)
POWER_L2 = _measured("POWER_L2", 148, unit="W", scale=0.1, valid=_TENTH_WATTS)
POWER_L3 = _measured("POWER_L3", 150, unit="W", scale=0.1, valid=_TENTH_WATTS)
POWER_FACTOR_L1 = _measured("POWER_FACTOR_L1", 152, unit="%", valid=_PERCENT)
POWER_FACTOR_L2 = _measured("POWER_FACTOR_L2", 154, unit="%", valid=_PERCENT)
POWER_FACTOR_L3 = _measured("POWER_FACTOR_L3", 156, unit="%", valid=_PERCENT)
POWER_FACTOR_N = _measured("POWER_FACTOR_N", 158, unit="%", valid=_PERCENT)

# --- settings, read in rotation (200..205, 206..218, 299..300) --------------
ALLOW = _u16("ALLOW", 200, valid=_FLAG)
# The document lists ALLOW twice; functions 3 and 4 read the same memory, so
# the holding entry covers this one.
ALLOW_INPUT = _u16("ALLOW", 200, table=Table.INPUT, poll=Poll.NEVER, valid=_FLAG)
ACCESS_STATE = _u16("ACCESS_STATE", 201, valid=range(4))
ADAPTER_INPUT = _u16("ADAPTER_INPUT", 202, table=Table.INPUT, valid=_FLAG)
UNLOCKED_BY = _u16("UNLOCKED_BY", 203, table=Table.INPUT)
CABLE_LOCK_MODE = _u16("CABLE_LOCK_MODE", 204, valid=range(3))
# Bits 5..3: L3, L2, L1 before the contactor; bits 2..0: after it.
PHASES = _u16("PHASES", 205, table=Table.INPUT, valid=range(64))
LED_BRIGHTNESS = _u16("LED_BRIGHTNESS", 206, valid=range(256), starts_block=True)
LED_SAVE_ENERGY = _u16("LED_SAVE_ENERGY", 207, valid=_FLAG)
ELECTRICITY_PRICES_HOURS = _u16("ELECTRICITY_PRICES_HOURS", 208, unit="h")
ELECTRICITY_PRICES_FINISHED = _u16(
    "ELECTRICITY_PRICES_FINISHED", 209, valid=range(24), unit="h"
)
ELECTRICITY_PRICES_ZONE = _u16("ELECTRICITY_PRICES_ZONE", 210)
AMPERE_MAX = _u16("AMPERE_MAX", 211, valid=_AMPS, unit="A")
AMPERE_L1 = _u16("AMPERE_L1", 212, valid=_BUTTON_AMPS, unit="A")
AMPERE_L2 = _u16("AMPERE_L2", 213, valid=_BUTTON_AMPS, unit="A")
AMPERE_L3 = _u16("AMPERE_L3", 214, valid=_BUTTON_AMPS, unit="A")
AMPERE_L4 = _u16("AMPERE_L4", 215, valid=_BUTTON_AMPS, unit="A")
AMPERE_L5 = _u16("AMPERE_L5", 216, valid=_BUTTON_AMPS, unit="A")
CLOUD_DISABLED = _u16("CLOUD_DISABLED", 217, valid=_FLAG)
NORWAY_MODE = _u16("NORWAY_MODE", 218, valid=_FLAG)
# Not saved: back to AMPERE_EEPROM at the next boot. For automation.
AMPERE_VOLATILE = _u16("AMPERE_VOLATILE", 299, valid=_AMPS, unit="A")
# Saved to EEPROM, which lasts about 100 000 writes: only on explicit request.
AMPERE_EEPROM = _u16("AMPERE_EEPROM", 300, valid=_AMPS, unit="A")

# --- identity, read once ----------------------------------------------------
MAC = Register(
    name="MAC",
    address=301,
    table=Table.INPUT,
    type=DataType.MAC,
    count=3,
    poll=Poll.SETUP,
)
SNR = Register(
    name="SNR",
    address=304,
    table=Table.INPUT,
    type=DataType.ASCII,
    count=6,
    poll=Poll.SETUP,
)
# The length column says 6 (12 bytes), but only 310..314 are listed and IP
# starts at 315: 5 registers.
HOSTNAME = Register(
    name="HOSTNAME",
    address=310,
    table=Table.INPUT,
    type=DataType.ASCII,
    count=5,
    poll=Poll.SETUP,
)
# IP, SUBNET and GATEWAY are typed "ascii", "uint64" and "ascii" in the
# document, but all three say "1 byte per register".
IP = Register(
    name="IP",
    address=315,
    table=Table.INPUT,
    type=DataType.IPV4,
    count=4,
    poll=Poll.SETUP,
)
SUBNET = Register(
    name="SUBNET",
    address=319,
    table=Table.INPUT,
    type=DataType.IPV4,
    count=4,
    poll=Poll.SETUP,
)
GATEWAY = Register(
    name="GATEWAY",
    address=323,
    table=Table.INPUT,
    type=DataType.IPV4,
    count=4,
    poll=Poll.SETUP,
)

# --- never read: 327..371 ----------------------------------------------------
# Since firmware 55.5 the holding registers 332..337 (PHASE_SWITCH_MODE,
# ENERGY_LIMIT, FORCE_STATE) overlap the input registers ENERGY_CARD0/1
# (332..339), while functions 3 and 4 read the same memory: no read of this
# area can be trusted. Session limits are enforced by the integration instead.
RFID_CARD = Register(
    name="RFID_CARD",
    address=327,
    table=Table.INPUT,
    type=DataType.BYTES,
    count=5,
    poll=Poll.NEVER,
)
PHASE_SWITCH_MODE = _u16("PHASE_SWITCH_MODE", 332, poll=Poll.NEVER, valid=range(3))
ENERGY_LIMIT = Register(
    name="ENERGY_LIMIT",
    address=333,
    table=Table.HOLDING,
    type=DataType.FLOAT64,
    count=4,
    unit="Wh",
    writable=True,
    poll=Poll.NEVER,
)
FORCE_STATE = _u16("FORCE_STATE", 337, poll=Poll.NEVER, valid=range(3))
# Documented "in W"; an energy, so Wh (questioned upstream, unresolved).
ENERGY_CARDS = tuple(
    Register(
        name=f"ENERGY_CARD{card}",
        address=332 + 4 * card,
        table=Table.INPUT,
        type=DataType.FLOAT64,
        count=4,
        unit="Wh",
        poll=Poll.NEVER,
    )
    for card in range(10)
)

REGISTERS: tuple[Register, ...] = (
    CAR_STATE,
    PP_CABLE,
    FWV,
    ERROR,
    VOLT_L1,
    VOLT_L2,
    VOLT_L3,
    AMP_L1,
    AMP_L2,
    AMP_L3,
    POWER_TOTAL,
    ENERGY_TOTAL,
    ENERGY_CHARGE,
    VOLT_N,
    POWER_L1,
    POWER_L2,
    POWER_L3,
    POWER_FACTOR_L1,
    POWER_FACTOR_L2,
    POWER_FACTOR_L3,
    POWER_FACTOR_N,
    ALLOW,
    ALLOW_INPUT,
    ACCESS_STATE,
    ADAPTER_INPUT,
    UNLOCKED_BY,
    CABLE_LOCK_MODE,
    PHASES,
    LED_BRIGHTNESS,
    LED_SAVE_ENERGY,
    ELECTRICITY_PRICES_HOURS,
    ELECTRICITY_PRICES_FINISHED,
    ELECTRICITY_PRICES_ZONE,
    AMPERE_MAX,
    AMPERE_L1,
    AMPERE_L2,
    AMPERE_L3,
    AMPERE_L4,
    AMPERE_L5,
    CLOUD_DISABLED,
    NORWAY_MODE,
    AMPERE_VOLATILE,
    AMPERE_EEPROM,
    MAC,
    SNR,
    HOSTNAME,
    IP,
    SUBNET,
    GATEWAY,
    RFID_CARD,
    PHASE_SWITCH_MODE,
    ENERGY_LIMIT,
    FORCE_STATE,
    *ENERGY_CARDS,
)

BUTTON_LEVELS = (AMPERE_L1, AMPERE_L2, AMPERE_L3, AMPERE_L4, AMPERE_L5)
PHASE_VOLTAGES = (VOLT_L1, VOLT_L2, VOLT_L3)
PHASE_CURRENTS = (AMP_L1, AMP_L2, AMP_L3)
PHASE_POWERS = (POWER_L1, POWER_L2, POWER_L3)
PHASE_POWER_FACTORS = (POWER_FACTOR_L1, POWER_FACTOR_L2, POWER_FACTOR_L3)

_DOCUMENTED = frozenset(address for reg in REGISTERS for address in reg.addresses)
_BLOCK_STARTS = frozenset(reg.address for reg in REGISTERS if reg.starts_block)


# ---------------------------------------------------------------- decoding


def _scaled(raw: int, scale: float) -> int | float:
    if scale == 1:
        return raw
    if scale < 1:
        # Divide by the power of ten: 3 / 10 is 0.3, 3 * 0.1 is not.
        return raw / round(1 / scale)
    return raw * scale


def _as_bytes(words: Sequence[int]) -> bytes:
    return b"".join(word.to_bytes(2, "big") for word in words)


def _text(words: Sequence[int]) -> str | None:
    raw = _as_bytes(words)
    if raw and all(byte == 0xFF for byte in raw):
        return None
    raw = raw.split(b"\x00", 1)[0]
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def decode(register: Register, words: Sequence[int]) -> Value:
    """Decode ``register`` from its raw words; ``None`` if unusable.

    Missing words, 0xFFFF (0xFFFFFFFF), NaN and raw values outside
    ``register.valid`` all mean "no value": a charger's garbage never raises.
    """
    if len(words) != register.count or any(not 0 <= w <= 0xFFFF for w in words):
        return None
    kind = register.type
    if kind is DataType.ASCII:
        return _text(words)
    if kind is DataType.MAC:
        raw = _as_bytes(words)
        if raw in (b"\x00" * 6, b"\xff" * 6):
            return None
        return ":".join(f"{byte:02x}" for byte in raw)
    if kind is DataType.IPV4:
        if any(word > 0xFF for word in words):
            return None
        return ".".join(str(word) for word in words)
    if kind is DataType.BYTES:
        raw = _as_bytes(words)
        return None if all(byte == 0xFF for byte in raw) else raw.hex()
    if kind is DataType.FLOAT64:
        number: float = struct.unpack(">d", _as_bytes(words))[0]
        # +inf is meaningful (ENERGY_LIMIT: no limit); NaN is not.
        return None if math.isnan(number) else number
    if kind is DataType.UINT32:
        raw_value = words[0] << 16 | words[1]
        if raw_value == INVALID_32:
            return None
    else:
        raw_value = words[0]
        if raw_value == INVALID_16:
            return None
    if register.valid is not None and raw_value not in register.valid:
        return None
    return _scaled(raw_value, register.scale)


def encode(register: Register, value: int) -> list[int]:
    """Return the words that write ``value``; ValueError if refused."""
    if not register.writable:
        raise ValueError(f"{register.name} is read-only")
    if register.type is not DataType.UINT16:
        raise ValueError(f"{register.name}: writing {register.type} is not supported")
    if isinstance(value, bool) or not 0 <= value < INVALID_16:
        raise ValueError(f"{register.name}: {value!r} is not a 16-bit value")
    if register.valid is not None and value not in register.valid:
        raise ValueError(f"{register.name}: {value} is out of range")
    return [value]


class Readings:
    """The raw words last read from a charger, decoded through the table."""

    def __init__(self) -> None:
        """Start with nothing read."""
        self.words: dict[int, int] = {}

    def update(self, address: int, words: Sequence[int]) -> None:
        """Remember ``words`` read from ``address`` on."""
        for offset, word in enumerate(words):
            self.words[address + offset] = word

    def forget(self, register: Register) -> None:
        """Drop ``register``: its value is unknown until it is read again."""
        for address in register.addresses:
            self.words.pop(address, None)

    def raw(self, register: Register) -> list[int] | None:
        """Return the words of ``register``; None until all were read."""
        words = [self.words.get(address) for address in register.addresses]
        if any(word is None for word in words):
            return None
        return [word for word in words if word is not None]

    def value(self, register: Register) -> Value:
        """Decode ``register`` (None until read or if unusable)."""
        words = self.raw(register)
        return None if words is None else decode(register, words)

    def integer(self, register: Register) -> int | None:
        """Return a whole-number value (flags, modes, amps)."""
        value = self.value(register)
        return value if isinstance(value, int) else None

    def number(self, register: Register) -> float | None:
        """Return a measured value in ``register.unit``."""
        value = self.value(register)
        return None if value is None or isinstance(value, str) else float(value)

    def text(self, register: Register) -> str | None:
        """Return a text value (firmware, serial, addresses)."""
        value = self.value(register)
        return value if isinstance(value, str) else None


# ---------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One Modbus read: ``count`` registers from ``address`` with ``function``."""

    address: int
    count: int
    function: int
    registers: tuple[Register, ...]

    @property
    def end(self) -> int:
        """First address after the block."""
        return self.address + self.count


def _undocumented(start: int, stop: int) -> int:
    return sum(1 for address in range(start, stop) if address not in _DOCUMENTED)


def _block(registers: list[Register]) -> ReadBlock:
    start = registers[0].address
    end = max(reg.end for reg in registers)
    # Function 3 reads both tables on this firmware; 4 when nothing is holding.
    holding = any(reg.table is Table.HOLDING for reg in registers)
    return ReadBlock(start, end - start, 3 if holding else 4, tuple(registers))


def plan_reads(
    registers: Iterable[Register],
    *,
    max_count: int = MAX_READ,
    max_gap: int = MAX_GAP,
) -> tuple[ReadBlock, ...]:
    """Merge ``registers`` into as few read blocks as the charger allows.

    A block holds at most ``max_count`` registers, reads over at most
    ``max_gap`` undocumented ones at a time, and never reads a
    ``starts_block`` register together with the one before it.
    """
    unique: dict[tuple[int, int], Register] = {}
    ordered = sorted(
        registers, key=lambda reg: (reg.address, reg.table is not Table.HOLDING)
    )
    for reg in ordered:
        # One entry per address range (ALLOW is listed twice): holding wins.
        unique.setdefault((reg.address, reg.count), reg)
    blocks: list[ReadBlock] = []
    current: list[Register] = []
    for reg in unique.values():
        if current:
            start = current[0].address
            end = max(r.end for r in current)
            fits = (
                reg.end - start <= max_count
                and _undocumented(end, reg.address) <= max_gap
                and not any(start < x < reg.end for x in _BLOCK_STARTS)
            )
            if fits:
                current.append(reg)
                continue
            blocks.append(_block(current))
        current = [reg]
    if current:
        blocks.append(_block(current))
    return tuple(blocks)


POLL_BLOCKS = plan_reads(reg for reg in REGISTERS if reg.poll is Poll.EVERY)
"""Read at every poll: the input block 100..159."""
ROTATION_BLOCKS = plan_reads(reg for reg in REGISTERS if reg.poll is Poll.ROTATION)
"""One of these per poll, in turn: every setting is fresh within a few polls."""
SETUP_BLOCKS = plan_reads(
    reg for reg in REGISTERS if reg.poll in (Poll.EVERY, Poll.ROTATION, Poll.SETUP)
)
"""Everything worth reading, once, when connecting."""
