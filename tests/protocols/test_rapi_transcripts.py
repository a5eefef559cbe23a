"""RAPI replies captured from real controllers and from the emulator.

Every frame is verified, and every reply to a command in our table is read
with ``parse_reply``. Where the emulator is known to differ from the firmware
(``deviations_from_firmware.json``), the test asserts that we refuse it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, Literal

import pytest

from custom_components.evse_local.protocols.errors import EvseProtocolError
from custom_components.evse_local.protocols.models import ChargerState, state_from_code
from custom_components.evse_local.protocols.rapi.commands import (
    COMMANDS,
    ReplyValues,
    parse_reply,
)
from custom_components.evse_local.protocols.rapi.frame import (
    RapiReply,
    additive_checksum,
    decode_reply,
    encode_command,
    xor_checksum,
)

from .loopback import split_sequence
from .peers import (
    DEVICE_SNIPPETS,
    EMULATOR_DIR,
    Exchange,
    cases,
    device_exchanges,
    device_frames,
    emulator_exchanges,
    emulator_lines,
    load_object,
)

NK: Final = "NK"
WRONG_FIELD_COUNT: Final = "wrong field count"
type Expected = ReplyValues | Literal["NK", "wrong field count"]

# --- real controllers (issue threads) ----------------------------------------

DEVICE_REPLIES: dict[str, ReplyValues] = {
    # openevse_esp32_firmware#102: sleeping, no voltmeter, one sensor.
    "$OK 0 -1^0C": {"milliamps": 0, "millivolts": -1},
    "$OK 340 -2560 -2560^37": {"temp1": 340, "temp2": -2560, "temp3": -2560},
    "$OK 63512 226594^1D": {"session_ws": 63512, "total_wh": 226594},
    "$OK 32 0001^20": {"amps": 32, "flags": 0x0001},
    "$OK 0 0 0^30": {"gfci": 0, "no_ground": 0, "stuck_relay": 0},
    "$OK fe 21 03 0500^26": {
        "state": 0xFE,
        "elapsed": 21,
        "pilot_state": 0x03,
        "vflags": 0x0500,
    },
    # openevse_esp32_firmware#193: sleeping with pilot state 00.
    "$OK fe 0 00 0701^15": {
        "state": 0xFE,
        "elapsed": 0,
        "pilot_state": 0x00,
        "vflags": 0x0701,
    },
    "$OK 285 280 -2560^29": {"temp1": 285, "temp2": 280, "temp3": -2560},
}


def _device_frames() -> Iterator[tuple[str, tuple[str, bool]]]:
    for case_id, frame, checksum_ok in device_frames():
        yield f"{case_id}:{frame}", (frame, checksum_ok)


@pytest.mark.parametrize("frame", cases(_device_frames))
def test_device_frame_checksum(frame: tuple[str, bool]) -> None:
    raw, checksum_ok = frame
    body, _, digits = raw.rpartition("^")
    assert (xor_checksum(body) == int(digits, 16)) is checksum_ok
    if not checksum_ok:
        with pytest.raises(EvseProtocolError, match="bad checksum"):
            decode_reply(raw)
    elif raw.startswith(("$OK", "$NK")):
        assert decode_reply(raw).checked is True
    else:
        # A command frame: the checksum passes, then it is not a reply.
        with pytest.raises(EvseProtocolError, match=r"neither \$OK nor \$NK"):
            decode_reply(raw)


def _device_exchanges() -> Iterator[tuple[str, Exchange]]:
    for exchange in device_exchanges():
        yield f"{exchange.source}:{exchange.tx}", exchange


@pytest.mark.parametrize("exchange", cases(_device_exchanges))
def test_device_reply_parses(exchange: Exchange) -> None:
    reply = decode_reply(exchange.rx)
    if exchange.code not in COMMANDS:
        # $SV (set voltage) and $FP (LCD text): not used by us, bare replies.
        assert exchange.code in {"SV", "FP"}
        assert reply.params == ()
        return
    assert reply.ok is True
    assert parse_reply(exchange.code, reply) == DEVICE_REPLIES[exchange.rx]


def test_device_snippets_derived_facts(peers: Path) -> None:
    """The values the thread posters pointed out, as our readers see them."""
    sleeping = parse_reply("GS", decode_reply("$OK fe 21 03 0500^26"))
    assert state_from_code(int(sleeping["state"])) is ChargerState.SLEEPING
    assert int(sleeping["vflags"]) & 0x0100  # EV_CONNECTED
    assert parse_reply("GE", decode_reply("$OK 32 0001^20"))["flags"] == 0x0001
    facts = load_object(DEVICE_SNIPPETS)["sessions"][0]["derived_facts"]
    assert "GG may return -1 for millivolts" in facts


def _parsed_only_sessions() -> Iterator[tuple[str, dict[str, Any]]]:
    for session in load_object(DEVICE_SNIPPETS)["sessions"]:
        if "parsed_values" in session:
            yield session["source"].rsplit("/", 3)[-3], session["parsed_values"]


@pytest.mark.parametrize("values", cases(_parsed_only_sessions))
def test_device_parsed_tokens(values: dict[str, Any]) -> None:
    """Sessions posted as tokens, not frames: read the tokens the same way."""

    def parse(code: str, tokens: list[str] | str) -> ReplyValues:
        params = (tokens,) if isinstance(tokens, str) else tuple(tokens)
        reply = RapiReply(ok=True, params=params, sequence=None, checked=True, raw="")
        return parse_reply(code, reply)

    if "GS_idle" in values:  # openevse_esp32_firmware#895, WiFi 5.x, 2024
        assert parse("GS", values["GS_idle"]) == {
            "state": 1,
            "elapsed": 0,
            "pilot_state": 1,
            "vflags": 0x0200,
        }
        charging = parse("GS", values["GS_charging"])
        assert charging == {
            "state": 3,
            "elapsed": 94,
            "pilot_state": 3,
            "vflags": 0x0540,
        }
        assert int(charging["vflags"]) & 0x0040  # CHARGING_ON
        assert parse("G0", values["G0_idle"]) == {"state": 0}
        assert parse("G0", values["G0_charging"]) == {"state": 1}
    else:  # tiramiseb/python-openevse#3: a client that kept the checksum
        leaked = values["GV"]["protocol"]
        assert leaked == "3.0.1^2E"
        reply = decode_reply(f"$OK {values['GV']['firmware']} {leaked}")
        assert parse_reply("GV", reply) == {"firmware": "4.8.0", "protocol": "3.0.1"}


# --- the emulator transcript ---------------------------------------------------

EMULATOR_REPLIES: dict[tuple[str, str], Expected] = {
    ("GV", "$OK 8.2.1 5.0.1^2F"): {"firmware": "8.2.1", "protocol": "5.0.1"},
    ("GV", "$NK^21"): NK,  # additive checksum refused (deviation)
    ("GS", "$OK 01 0 01 0000^10"): {
        "state": 0x01,
        "elapsed": 0,
        "pilot_state": 0x01,
        "vflags": 0x0000,
    },
    ("GS", "$OK 02 0 02 0100^11"): {
        "state": 0x02,
        "elapsed": 0,
        "pilot_state": 0x02,
        "vflags": 0x0100,
    },
    ("GS", "$OK 03 2 03 0140^17"): {
        "state": 0x03,
        "elapsed": 2,
        "pilot_state": 0x03,
        "vflags": 0x0140,
    },
    # Emulator sleeps/disables into FD, and trips GFCI into FE (deviations).
    ("GS", "$OK FD 8 03 0140^1C"): {
        "state": 0xFD,
        "elapsed": 8,
        "pilot_state": 0x03,
        "vflags": 0x0140,
    },
    ("GS", "$OK FD 10 03 0140^25"): {
        "state": 0xFD,
        "elapsed": 10,
        "pilot_state": 0x03,
        "vflags": 0x0140,
    },
    ("GS", "$OK FE 19 03 0141^2C"): {
        "state": 0xFE,
        "elapsed": 19,
        "pilot_state": 0x03,
        "vflags": 0x0141,
    },
    ("GS", "$OK 03 22 03 0140^25"): {
        "state": 0x03,
        "elapsed": 22,
        "pilot_state": 0x03,
        "vflags": 0x0140,
    },
    ("GE", "$OK 32 0^11"): {"amps": 32, "flags": 0},
    ("GE", "$OK 16 0^17"): {"amps": 16, "flags": 0},
    ("GC", "$OK 6 80 32 32^1E"): {
        "min_amps": 6,
        "max_amps": 80,
        "pilot_amps": 32,
        "saved_amps": 32,
    },
    # The emulator's $GG and $GP have 4 tokens; the firmware prints 2 and 3.
    ("GG", "$OK 0 240000 1 0^17"): WRONG_FIELD_COUNT,
    ("GG", "$OK 16000 240000 3 0^12"): WRONG_FIELD_COUNT,
    ("GG", "$OK 10000 240000 3 0^14"): WRONG_FIELD_COUNT,
    ("GP", "$OK 200 200 0 0^20"): WRONG_FIELD_COUNT,
    # Two tokens as in the firmware, but Wh then Ws (deviation): read as is.
    ("GU", "$OK 0 0^20"): {"session_ws": 0, "total_wh": 0},
    ("GU", "$OK 4 14400^25"): {"session_ws": 4, "total_wh": 14400},
    ("GF", "$OK 0 0 0^30"): {"gfci": 0, "no_ground": 0, "stuck_relay": 0},
    ("GF", "$OK 1 0 0^31"): {"gfci": 1, "no_ground": 0, "stuck_relay": 0},
    ("GH", "$OK 0^30"): {"kwh": 0},
    ("GI", "$OK OpenEVSE03AB12CD^35"): {"mcu_id": "OpenEVSE03AB12CD"},
    ("G0", "$NK^21"): NK,
    ("GD", "$NK^21"): NK,
    ("G3", "$NK^21"): NK,
    ("SC", "$OK^20"): {},
    ("SC", "$NK^21"): NK,
    ("S3", "$NK^21"): NK,
    ("FE", "$OK^20"): {},
    ("FS", "$OK^20"): {},
    ("FD", "$OK^20"): {},
    ("FR", "$OK^20"): {},
    ("SL", "$OK^20"): {},
    ("ST", "$OK^20"): {},
    ("SH", "$OK^20"): {},
}


def _emulator_rx() -> Iterator[tuple[str, str]]:
    for number, line in enumerate(emulator_lines(), start=1):
        if line["dir"] == "rx":
            yield f"line{number}:{line['raw']}", line["raw"]


@pytest.mark.parametrize("raw", cases(_emulator_rx))
def test_emulator_rx_checksum(raw: str) -> None:
    body, _, digits = raw.rpartition("^")
    assert len(digits) == 2
    assert xor_checksum(body) == int(digits, 16)
    if raw.startswith(("$OK", "$NK")):
        assert decode_reply(raw).checked is True
    else:
        # $AT state notifications are asynchronous, never a reply.
        assert raw.startswith("$AT ")
        with pytest.raises(EvseProtocolError, match=r"neither \$OK nor \$NK"):
            decode_reply(raw)


def _emulator_tx() -> Iterator[tuple[str, Exchange]]:
    for exchange in emulator_exchanges():
        yield f"{exchange.source}:{exchange.tx}", exchange


@pytest.mark.parametrize("exchange", cases(_emulator_tx))
def test_emulator_tx_frame(exchange: Exchange) -> None:
    """Our encoder writes the frames the transcript sent (bar the bad ones)."""
    tx = exchange.tx
    if "^" in tx:
        body, _, digits = tx.rpartition("^")
        if exchange.step == "GS bad checksum":
            assert xor_checksum(body) != int(digits, 16)
            return
        assert xor_checksum(body) == int(digits, 16)
        command, sequence = split_sequence(tx)
        code, _, rest = command[1:].partition(" ")
        params = tuple(rest.split(" ")) if rest else ()
        assert encode_command(code, params, sequence) == tx
    elif "*" in tx:
        body, _, digits = tx.rpartition("*")
        assert additive_checksum(body) == int(digits, 16)
    else:
        assert exchange.step == "GV no checksum"


def _emulator_replies() -> Iterator[tuple[str, Exchange]]:
    for exchange in emulator_exchanges():
        if exchange.code in COMMANDS:
            yield f"{exchange.source}:{exchange.step}", exchange


@pytest.mark.parametrize("exchange", cases(_emulator_replies))
def test_emulator_reply_parses(exchange: Exchange) -> None:
    expected = EMULATOR_REPLIES[(exchange.code, exchange.rx)]
    reply = decode_reply(exchange.rx)
    if expected == NK:
        assert reply.ok is False
        assert reply.params == ()
    elif expected == WRONG_FIELD_COUNT:
        with pytest.raises(EvseProtocolError, match="unexpected field count 4"):
            parse_reply(exchange.code, reply)
    else:
        assert reply.ok is True
        assert parse_reply(exchange.code, reply) == expected


def test_emulator_rejections_are_documented_deviations(peers: Path) -> None:
    """Each reply we refuse is one the deviations file says is wrong."""
    deviations = load_object(EMULATOR_DIR / "deviations_from_firmware.json")
    by_command = {row["cmd"]: row for row in deviations["deviations"]}
    for code, _ in (
        key for key, value in EMULATOR_REPLIES.items() if value == WRONG_FIELD_COUNT
    ):
        row = by_command[f"${code}"]
        assert "4 tokens" in row["emulator"]
        assert "(2 tokens" in row["firmware"] or "(3 tokens" in row["firmware"]


def test_emulator_states_that_are_deviations() -> None:
    """FD is no firmware state (reads as a fault); FE is sleeping, not GFCI."""
    assert state_from_code(0xFD) is ChargerState.FAULT
    assert state_from_code(0xFE) is ChargerState.SLEEPING
    assert state_from_code(0x06) is ChargerState.GFCI_FAULT


# --- reply shapes by firmware generation --------------------------------------


def _reply(frame_body: str) -> RapiReply:
    return decode_reply(frame_body, require_checksum=False)


@pytest.mark.parametrize(
    ("code", "body", "values"),
    [
        # RAPI <= 4.0.1: decimal state and elapsed only.
        ("GS", "$OK 254 3600", {"state": 254, "elapsed": 3600}),
        # RAPI 5.0.x: min, max, pilot.
        ("GC", "$OK 6 32 16", {"min_amps": 6, "max_amps": 32, "pilot_amps": 16}),
        # RAPI 1.x up to 4.x: min and max.
        ("GC", "$OK 6 80", {"min_amps": 6, "max_amps": 80}),
        # $SC answers the amps set from RAPI 3.0.1 on.
        ("SC", "$OK 16", {"amps": 16}),
        (
            "GD",
            "$OK 22 0 6 30",
            {
                "start_hour": 22,
                "start_minute": 0,
                "stop_hour": 6,
                "stop_minute": 30,
            },
        ),
        ("GF", "$OK ff 1a 0", {"gfci": 255, "no_ground": 26, "stuck_relay": 0}),
    ],
)
def test_parse_reply_shapes(code: str, body: str, values: ReplyValues) -> None:
    assert parse_reply(code, _reply(body)) == values


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("GS", "$OK 01 0 01"),
        ("GC", "$OK 6 80 32 32 1"),
        ("GV", "$OK 8.2.1"),
        ("SC", "$OK 16 32"),
    ],
)
def test_parse_reply_wrong_field_count(code: str, body: str) -> None:
    with pytest.raises(EvseProtocolError, match=f"\\${code}: unexpected field count"):
        parse_reply(code, _reply(body))


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        ("GE", "$OK 32 zz", "field flags='zz' is not hex"),
        ("GG", "$OK 1.5 -1", "field milliamps='1.5' is not dec"),
        ("GS", "$OK fe 21 03 05g0", "field vflags='05g0' is not hex"),
    ],
)
def test_parse_reply_bad_number(code: str, body: str, message: str) -> None:
    with pytest.raises(EvseProtocolError, match=message):
        parse_reply(code, _reply(body))
