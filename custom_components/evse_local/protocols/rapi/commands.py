"""The RAPI commands we use and the shapes of their replies, as one table.

Reply shapes changed across firmware (see ``rapi_reply_format_evolution``):
``$GS`` was ``%d %ld`` up to RAPI 4.0.1 and is ``%02x %ld %02x %04x`` from
5.0.0 on; ``$GC`` grew from two to four fields. A reply is matched to a shape
by its field count; any other count is a protocol error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import EvseProtocolError
from .frame import RapiReply


class Kind(Enum):
    """How one reply field is written."""

    DEC = 10
    HEX = 16
    TEXT = 0


DEC, HEX, TEXT = Kind.DEC, Kind.HEX, Kind.TEXT


@dataclass(frozen=True, slots=True)
class ReplyShape:
    """One accepted layout of a reply's parameters."""

    fields: tuple[tuple[str, Kind], ...]


@dataclass(frozen=True, slots=True)
class RapiCommand:
    """A RAPI command and the reply shapes it may produce."""

    code: str
    summary: str
    shapes: tuple[ReplyShape, ...] = (ReplyShape(()),)
    needs_vehicle: bool = False


def _shape(*fields: tuple[str, Kind]) -> ReplyShape:
    return ReplyShape(tuple(fields))


COMMANDS: dict[str, RapiCommand] = {
    command.code: command
    for command in (
        # Get commands.
        RapiCommand(
            "GS",
            "state and elapsed time",
            (
                _shape(("state", DEC), ("elapsed", DEC)),
                _shape(
                    ("state", HEX),
                    ("elapsed", DEC),
                    ("pilot_state", HEX),
                    ("vflags", HEX),
                ),
            ),
        ),
        RapiCommand(
            "GC",
            "current capacity range",
            (
                _shape(("min_amps", DEC), ("max_amps", DEC)),
                _shape(("min_amps", DEC), ("max_amps", DEC), ("pilot_amps", DEC)),
                # hmaxamps is the hardware limit $SC clamps to; cmaxamps is the
                # capacity saved in EEPROM, not a limit.
                _shape(
                    ("min_amps", DEC),
                    ("max_amps", DEC),
                    ("pilot_amps", DEC),
                    ("saved_amps", DEC),
                ),
            ),
        ),
        RapiCommand("GE", "settings", (_shape(("amps", DEC), ("flags", HEX)),)),
        RapiCommand(
            "GF",
            "fault counters",
            (_shape(("gfci", HEX), ("no_ground", HEX), ("stuck_relay", HEX)),),
        ),
        RapiCommand(
            "GG",
            "current and voltage",
            (_shape(("milliamps", DEC), ("millivolts", DEC)),),
        ),
        RapiCommand(
            "GP",
            "temperatures",
            (_shape(("temp1", DEC), ("temp2", DEC), ("temp3", DEC)),),
        ),
        RapiCommand(
            "GU",
            "energy usage",
            (_shape(("session_ws", DEC), ("total_wh", DEC)),),
        ),
        RapiCommand(
            "GV",
            "firmware version",
            (_shape(("firmware", TEXT), ("protocol", TEXT)),),
        ),
        RapiCommand("GI", "MCU id", (_shape(("mcu_id", TEXT)),)),
        RapiCommand("G0", "vehicle connect state", (_shape(("state", DEC)),)),
        RapiCommand("G3", "session time limit", (_shape(("count", DEC)),)),
        RapiCommand("GH", "session energy limit", (_shape(("kwh", DEC)),)),
        RapiCommand(
            "GD",
            "delay timer",
            (
                _shape(
                    ("start_hour", DEC),
                    ("start_minute", DEC),
                    ("stop_hour", DEC),
                    ("stop_minute", DEC),
                ),
            ),
        ),
        # Functions and set commands.
        RapiCommand("FE", "enable"),
        RapiCommand("FS", "sleep (pause, keeps the session)"),
        RapiCommand("FD", "disable (error state)"),
        RapiCommand("FR", "restart the controller"),
        # $SC answers the resulting amps from RAPI 3.0.1 on, nothing before.
        RapiCommand("SC", "set current", (_shape(), _shape(("amps", DEC)))),
        RapiCommand("SL", "set service level"),
        RapiCommand("S3", "set session time limit", needs_vehicle=True),
        RapiCommand("SH", "set session energy limit", needs_vehicle=True),
        RapiCommand("ST", "set delay timer"),
    )
}

type ReplyValues = dict[str, int | str]


def parse_reply(code: str, reply: RapiReply) -> ReplyValues:
    """Read a verified reply into named values, by the command's shapes."""
    command = COMMANDS[code]
    for shape in command.shapes:
        if len(shape.fields) != len(reply.params):
            continue
        values: ReplyValues = {}
        for (name, kind), token in zip(shape.fields, reply.params, strict=True):
            if kind is TEXT:
                values[name] = token
                continue
            try:
                values[name] = int(token, kind.value)
            except ValueError as err:
                raise EvseProtocolError(
                    f"${code}: field {name}={token!r} is not {kind.name.lower()}"
                ) from err
        return values
    raise EvseProtocolError(
        f"${code}: unexpected field count {len(reply.params)} in {reply.raw!r}"
    )
