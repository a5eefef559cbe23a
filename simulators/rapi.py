"""RAPI as the controller firmware speaks it: framing, checksums, commands.

The simulator parses every incoming frame itself, as the real controller does
(``rapi_proc.cpp``), rather than trusting the client library:

* ``$cc p1 p2[ :ss]^xk``: ``xk`` is the XOR of every byte before ``^``;
  ``*ck`` (8-bit sum) is the legacy form and a frame without a checksum is
  accepted too. A checksum that does not match gives ``$NK^21``.
* ``:ss`` is a sequence id (hex, ``00`` is reserved); the reply echoes it as
  `` :SS`` before the checksum.
* Replies always carry an upper-case XOR checksum (``$OK 220 0^20`` even to a
  command sent without one, as the real captures show).
* Frames longer than the controller's 32-byte buffer, or not starting with
  ``$``, are dropped without a reply (the WiFi module then reports a timeout).

What each command answers depends on the :class:`RapiDialect` (RAPI 4.0.1,
GoPlug's RAPI 5 form, or current RAPI 5.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from .model import (
    TEMP_NOT_INSTALLED,
    DelayTimer,
    EvseModel,
    Feature,
    Mode,
    ServiceLevel,
)

# ESRAPI_BUFLEN: the controller silently drops anything longer.
MAX_FRAME_LENGTH = 32
# The tokenizer gives up beyond this many tokens.
MAX_TOKENS = 10

_CHECKSUM = re.compile(r"[0-9A-Fa-f]{2}")
_SEQUENCE = re.compile(r":([0-9A-Fa-f]{1,2})")
_DECIMAL = re.compile(r"-?[0-9]+")


def xor_checksum(body: str) -> int:
    """XOR of every byte of ``body`` (the RAPI ``^`` checksum)."""
    value = 0
    for byte in body.encode("latin-1"):
        value ^= byte
    return value


def additive_checksum(body: str) -> int:
    """8-bit sum of every byte of ``body`` (the legacy ``*`` checksum)."""
    return sum(body.encode("latin-1")) & 0xFF


@dataclass(frozen=True, slots=True)
class RapiCommand:
    """A parsed, checksum-verified command frame."""

    code: str
    params: tuple[str, ...]
    sequence: int | None


@dataclass(frozen=True, slots=True)
class RapiReply:
    """A reply before it is rendered to ``$OK ...^XX``."""

    ok: bool
    params: tuple[str, ...] = ()
    sequence: int | None = None
    checksum_offset: int = 0

    def render(self) -> str:
        """Format the frame as the firmware prints it (without the CR)."""
        body = "$OK" if self.ok else "$NK"
        if self.params:
            body += " " + " ".join(self.params)
        if self.sequence is not None:
            body += f" :{self.sequence:02X}"
        checksum = (xor_checksum(body) + self.checksum_offset) & 0xFF
        return f"{body}^{checksum:02X}"

    def with_bad_checksum(self) -> RapiReply:
        """Return the same reply with a checksum that does not match."""
        return replace(self, checksum_offset=1)

    def as_nk(self) -> RapiReply:
        """Return a bare ``$NK`` (still echoing the sequence id)."""
        return RapiReply(ok=False, sequence=self.sequence)

    def with_wrong_field_count(self) -> RapiReply:
        """One field fewer, or one extra field when there were none."""
        params = self.params[:-1] if self.params else ("0",)
        return replace(self, params=params)


class RapiParseError(Exception):
    """The frame is malformed or its checksum is wrong: reply ``$NK^21``."""


class RapiDroppedError(Exception):
    """The controller never sees this frame, so nothing is answered."""


def parse_frame(raw: str) -> RapiCommand:
    """Parse and verify one command frame as the controller firmware does."""
    frame = raw.rstrip("\r\n")
    if not frame.startswith("$") or len(frame) >= MAX_FRAME_LENGTH:
        raise RapiDroppedError(raw)
    body = frame
    for marker, checksum in (("^", xor_checksum), ("*", additive_checksum)):
        if marker in frame:
            body, _, digits = frame.rpartition(marker)
            if not _CHECKSUM.fullmatch(digits):
                raise RapiParseError(f"malformed checksum in {raw!r}")
            if int(digits, 16) != checksum(body):
                raise RapiParseError(f"bad checksum in {raw!r}")
            break
    tokens = body[1:].split()
    if not tokens or len(tokens) > MAX_TOKENS:
        raise RapiParseError(f"no command in {raw!r}")
    sequence: int | None = None
    if len(tokens) > 1 and tokens[-1].startswith(":"):
        match = _SEQUENCE.fullmatch(tokens[-1])
        if match is None:
            raise RapiParseError(f"malformed sequence id in {raw!r}")
        # 00 is the firmware's "no sequence id" value: never echoed.
        sequence = int(match.group(1), 16) or None
        tokens = tokens[:-1]
    return RapiCommand(code=tokens[0], params=tuple(tokens[1:]), sequence=sequence)


@dataclass(frozen=True, slots=True)
class RapiDialect:
    """What a firmware generation answers, and how it formats the replies."""

    name: str
    firmware: str
    protocol: str
    gs_hex: bool
    gc_fields: int
    commands: frozenset[str]


_COMMON = frozenset(
    {
        "F0", "FB", "FD", "FE", "FF", "FP", "FR", "FS",
        "S1", "S2", "S3", "SA", "SC", "SH", "SK", "SL", "SM", "ST",
        "G0", "G3", "GA", "GC", "GD", "GE", "GF", "GG", "GH", "GM", "GP", "GS",
        "GT", "GU", "GV",
    }
)  # fmt: skip

# Controller 5.0.1 (RAPI 4.0.1): decimal $GS, 2-field $GC, no $GI yet (5.1.4).
RAPI_4_0_1 = RapiDialect(
    name="RAPI 4.0.1",
    firmware="5.0.1",
    protocol="4.0.1",
    gs_hex=False,
    gc_fields=2,
    commands=_COMMON | {"F1", "S0", "SV"},
)

# GoPlug Pro 32 (seed 000): RAPI 5 $GS, 3-field $GC, auth lock, no $SV.
RAPI_GOPLUG = RapiDialect(
    name="GoPlug RAPI",
    firmware="E6.4.0",
    protocol="6.0.0",
    gs_hex=True,
    gc_fields=3,
    commands=_COMMON | {"S4", "G4", "GI"},
)

# open_evse 8.2.3 (RAPI 5.2.1): 4-field $GC, $GI, $GO.
RAPI_5_2_1 = RapiDialect(
    name="RAPI 5.2.1",
    firmware="8.2.3",
    protocol="5.2.1",
    gs_hex=True,
    gc_fields=4,
    commands=_COMMON | {"F1", "S0", "SV", "GI", "GO"},
)

_Handler = Callable[[tuple[str, ...]], RapiReply]


def _ok(*params: object) -> RapiReply:
    return RapiReply(ok=True, params=tuple(str(param) for param in params))


_NK = RapiReply(ok=False)


def _ints(params: tuple[str, ...], count: int) -> list[int] | None:
    """Parse exactly ``count`` decimal parameters, or None."""
    if len(params) != count or not all(_DECIMAL.fullmatch(p) for p in params):
        return None
    return [int(param) for param in params]


class RapiProcessor:
    """Executes verified RAPI commands against an :class:`EvseModel`."""

    def __init__(
        self,
        model: EvseModel,
        dialect: RapiDialect,
        *,
        lowercase_hex: bool = True,
        extra_commands: frozenset[str] = frozenset(),
    ) -> None:
        """Bind to ``model``; ``lowercase_hex`` mimics printf ``%x`` output."""
        self.model = model
        self.dialect = dialect
        self.lowercase_hex = lowercase_hex
        self.ignore_commands = False
        """Answer set commands ``$OK`` without applying them (a controller
        that answers polls but ignores its gateway)."""
        supported = dialect.commands | extra_commands
        self._handlers: dict[str, _Handler] = {
            code: handler
            for code, handler in self._all_handlers().items()
            if code in supported
        }

    def process(self, raw: str) -> RapiReply | None:
        """Answer one raw frame; None when the controller would stay silent."""
        try:
            command = parse_frame(raw)
        except RapiDroppedError:
            return None
        except RapiParseError:
            return _NK
        if self.ignore_commands and not command.code.startswith("G"):
            # Acknowledged, not applied: $SC answers the capacity in force.
            params = (str(self.model.current_capacity),) if command.code == "SC" else ()
            return RapiReply(ok=True, params=params, sequence=command.sequence)
        handler = self._handlers.get(command.code)
        reply = handler(command.params) if handler else _NK
        if command.code == "FR" and reply.ok:
            # The reply leaves before the controller restarts.
            self.model.reboot()
        return replace(reply, sequence=command.sequence)

    def _hex(self, value: int, width: int = 0) -> str:
        text = f"{value:0{width}x}"
        return text if self.lowercase_hex else text.upper()

    def _all_handlers(self) -> dict[str, _Handler]:
        return {
            "F0": self._no_op,
            "F1": self._f1,
            "FB": self._no_op,
            "FD": self._fd,
            "FE": self._fe,
            "FF": self._ff,
            "FP": self._no_op,
            "FR": self._no_op,
            "FS": self._fs,
            "S0": self._s0,
            "S1": self._s1,
            "S2": self._no_op,
            "S3": self._s3,
            "S4": self._s4,
            "SA": self._sa,
            "SC": self._sc,
            "SH": self._sh,
            "SK": self._sk,
            "SL": self._sl,
            "SM": self._sm,
            "ST": self._st,
            "SV": self._sv,
            "G0": lambda _: _ok(self.model.connect_state),
            "G3": lambda _: _ok(self.model.time_limit_15),
            "G4": lambda _: _ok(int(self.model.auth_locked)),
            "GA": lambda _: _ok(*self.model.ammeter_calibration),
            "GC": self._gc,
            "GD": self._gd,
            "GE": lambda _: _ok(
                self.model.current_capacity, self._hex(self.model.setting_flags, 4)
            ),
            "GF": self._gf,
            "GG": lambda _: _ok(
                self.model.measured_milliamps, self.model.measured_millivolts
            ),
            "GH": lambda _: _ok(self.model.charge_limit_kwh),
            "GI": self._gi,
            "GM": self._gm,
            "GO": lambda _: _ok(650, 650),
            "GP": self._gp,
            "GS": self._gs,
            "GT": self._gt,
            "GU": lambda _: _ok(int(self.model.session_ws), int(self.model.total_wh)),
            "GV": lambda _: _ok(self.dialect.firmware, self.dialect.protocol),
        }

    # ------------------------------------------------------------ functions

    @staticmethod
    def _no_op(_params: tuple[str, ...]) -> RapiReply:
        return _ok()

    def _f1(self, _params: tuple[str, ...]) -> RapiReply:
        self.model.button()
        return _ok()

    def _fd(self, _params: tuple[str, ...]) -> RapiReply:
        self.model.set_mode(Mode.DISABLED)
        return _ok()

    def _fe(self, _params: tuple[str, ...]) -> RapiReply:
        self.model.enable()
        return _ok()

    def _fs(self, _params: tuple[str, ...]) -> RapiReply:
        self.model.set_mode(Mode.SLEEP)
        return _ok()

    def _ff(self, params: tuple[str, ...]) -> RapiReply:
        if len(params) != 2 or params[1] not in ("0", "1"):
            return _NK
        try:
            feature = Feature(params[0])
        except ValueError:
            return _NK
        self.model.set_feature(feature, params[1] == "1")
        return _ok()

    # ------------------------------------------------------------ setters

    def _s0(self, params: tuple[str, ...]) -> RapiReply:
        if params not in (("0",), ("1",)):
            return _NK
        self.model.mono_lcd = params[0] == "0"
        self.model.eeprom_write()
        return _ok()

    def _s1(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 6)
        if values is None:
            return _NK
        year, month, day, hour, minute, second = values
        try:
            moment = datetime(
                2000 + year,
                month,
                day,
                hour,
                minute,
                second,
                tzinfo=self.model.rtc_start.tzinfo,
            )
        except ValueError:
            return _NK
        self.model.set_rtc(moment)
        return _ok()

    def _s3(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 1)
        if values is None or not 0 <= values[0] <= 255:
            return _NK
        return _ok() if self.model.set_time_limit(values[0]) else _NK

    def _s4(self, params: tuple[str, ...]) -> RapiReply:
        if params not in (("0",), ("1",)):
            return _NK
        self.model.set_auth_lock(params[0] == "1")
        return _ok()

    def _sa(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 2)
        if values is None:
            return _NK
        self.model.ammeter_calibration = (values[0], values[1])
        self.model.eeprom_write()
        return _ok()

    def _sm(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 2)
        if values is None or not self.model.has_voltmeter:
            return _NK
        self.model.voltmeter_calibration = (values[0], values[1])
        self.model.eeprom_write()
        return _ok()

    def _sc(self, params: tuple[str, ...]) -> RapiReply:
        if not 1 <= len(params) <= 2 or not _DECIMAL.fullmatch(params[0]):
            return _NK
        amps = int(params[0])
        volatile = len(params) == 2 and params[1] in ("V", "v")
        ok, amps_set = self.model.set_current(amps, volatile=volatile)
        return RapiReply(ok=ok, params=(str(amps_set),))

    def _sh(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 1)
        if values is None or values[0] < 0:
            return _NK
        return _ok() if self.model.set_charge_limit(values[0]) else _NK

    def _sk(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 1)
        if values is None or values[0] < 0:
            return _NK
        self.model.set_total_wh(values[0])
        return _ok()

    def _sl(self, params: tuple[str, ...]) -> RapiReply:
        if len(params) != 1:
            return _NK
        try:
            level = ServiceLevel(params[0].upper())
        except ValueError:
            return _NK
        self.model.set_service_level(level)
        return _ok()

    def _st(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 4)
        if values is None:
            return _NK
        start_hour, start_minute, end_hour, end_minute = values
        if not (
            0 <= start_hour <= 23
            and 0 <= end_hour <= 23
            and 0 <= start_minute <= 59
            and 0 <= end_minute <= 59
        ):
            return _NK
        self.model.set_timer(DelayTimer(start_hour, start_minute, end_hour, end_minute))
        return _ok()

    def _sv(self, params: tuple[str, ...]) -> RapiReply:
        values = _ints(params, 1)
        # Only builds without a voltmeter take the voltage from outside.
        if values is None or self.model.has_voltmeter or values[0] <= 0:
            return _NK
        self.model.set_voltage(values[0] / 1000)
        return _ok()

    # ------------------------------------------------------------ getters

    def _gc(self, _params: tuple[str, ...]) -> RapiReply:
        model = self.model
        fields = [model.min_current, model.max_current]
        if self.dialect.gc_fields >= 3:
            fields.append(model.current_capacity)
        if self.dialect.gc_fields >= 4:
            fields.append(model.eeprom_current)
        return _ok(*fields)

    def _gd(self, _params: tuple[str, ...]) -> RapiReply:
        timer = self.model.timer
        return _ok(
            timer.start_hour, timer.start_minute, timer.end_hour, timer.end_minute
        )

    def _gf(self, _params: tuple[str, ...]) -> RapiReply:
        model = self.model
        return _ok(
            self._hex(model.gfci_count),
            self._hex(model.no_ground_count),
            self._hex(model.stuck_relay_count),
        )

    def _gi(self, _params: tuple[str, ...]) -> RapiReply:
        return _ok(self.model.mcu_id) if self.model.mcu_id else _NK

    def _gm(self, _params: tuple[str, ...]) -> RapiReply:
        if not self.model.has_voltmeter:
            return _NK
        return _ok(*self.model.voltmeter_calibration)

    def _gp(self, _params: tuple[str, ...]) -> RapiReply:
        return _ok(
            *(
                TEMP_NOT_INSTALLED if temp is None else temp
                for temp in self.model.temperatures
            )
        )

    def _gs(self, _params: tuple[str, ...]) -> RapiReply:
        model = self.model
        elapsed = int(model.elapsed)
        if not self.dialect.gs_hex:
            return _ok(int(model.state), elapsed)
        return _ok(
            self._hex(model.state, 2),
            elapsed,
            self._hex(model.pilot_state, 2),
            self._hex(model.vflags, 4),
        )

    def _gt(self, _params: tuple[str, ...]) -> RapiReply:
        now = self.model.rtc
        return _ok(now.year % 100, now.month, now.day, now.hour, now.minute, now.second)
