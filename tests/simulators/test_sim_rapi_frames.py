"""RAPI framing as the controller parses it: checksums, sequence ids, limits."""

from __future__ import annotations

import aiohttp
import pytest

from simulators import start_simulator
from simulators.rapi import (
    RapiCommand,
    RapiDroppedError,
    RapiParseError,
    RapiReply,
    additive_checksum,
    parse_frame,
    xor_checksum,
)

# Vectors from the rapi_proc.h examples and real captures (checksums verified).
XOR_VECTORS = {
    "$GS": 0x30,
    "$GE": 0x26,
    "$SC 24": 0x12,
    "$SC 24 V": 0x64,
    "$OK 6 80": 0x1E,
    "$OK fe 21 03 0500": 0x26,
    "$OK 0 -1": 0x0C,
    "$GS :2A": 0x59,
}
ADDITIVE_VECTORS = {"$FD": 0xAE, "$FE": 0xAF, "$GA": 0xAC, "$FB 7": 0x03}


@pytest.mark.parametrize(("body", "expected"), XOR_VECTORS.items())
def test_xor_checksum_vectors(body: str, expected: int) -> None:
    assert xor_checksum(body) == expected


@pytest.mark.parametrize(("body", "expected"), ADDITIVE_VECTORS.items())
def test_additive_checksum_vectors(body: str, expected: int) -> None:
    assert additive_checksum(body) == expected


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("$GS^30", RapiCommand("GS", (), None)),
        ("$GS^30\r", RapiCommand("GS", (), None)),
        ("$SC 24 V^64", RapiCommand("SC", ("24", "V"), None)),
        ("$FD*AE", RapiCommand("FD", (), None)),
        ("$GV", RapiCommand("GV", (), None)),
        ("$GS :2A^59", RapiCommand("GS", (), 0x2A)),
        ("$GS :2a", RapiCommand("GS", (), 0x2A)),
        # 00 is reserved: "no sequence id", never echoed.
        ("$GS :00", RapiCommand("GS", (), None)),
        # Checksum digits may be lower case.
        ("$OK fe 21 03 0500^26", RapiCommand("OK", ("fe", "21", "03", "0500"), None)),
    ],
)
def test_parse_valid(frame: str, expected: RapiCommand) -> None:
    assert parse_frame(frame) == expected


@pytest.mark.parametrize(
    "frame",
    [
        "$GS^00",  # wrong XOR
        "$GS^3",  # one digit
        "$GS^3G",  # not hex
        "$GS^+3",
        "$FD*AF",  # wrong sum
        "$GS :zz^00",
        "$GS :123",
        "$",  # no command
        "$A B C D E F G H I J K",  # 11 tokens
    ],
)
def test_parse_rejects(frame: str) -> None:
    with pytest.raises(RapiParseError):
        parse_frame(frame)


@pytest.mark.parametrize(
    "frame", ["GS^30", "", "$FP 0 0 this text is much too long for it"]
)
def test_parse_drops(frame: str) -> None:
    with pytest.raises(RapiDroppedError):
        parse_frame(frame)


def test_reply_rendering() -> None:
    assert RapiReply(ok=True).render() == "$OK^20"
    assert RapiReply(ok=False).render() == "$NK^21"
    assert RapiReply(ok=True, params=("6", "80")).render() == "$OK 6 80^1E"
    assert RapiReply(ok=True, sequence=0x2A).render() == "$OK :2A^49"


def test_reply_fault_variants() -> None:
    reply = RapiReply(ok=True, params=("6", "80"), sequence=0x2A)
    bad = reply.with_bad_checksum().render()
    body, _, checksum = bad.rpartition("^")
    assert body == "$OK 6 80 :2A"
    assert int(checksum, 16) != xor_checksum(body)
    assert reply.as_nk().render() == "$NK :2A^48"
    assert reply.with_wrong_field_count().params == ("6",)
    assert RapiReply(ok=True).with_wrong_field_count().params == ("0",)


def test_interop_with_integration_frame_codec() -> None:
    """Frames built by the integration parse here; our replies verify there."""
    frame = pytest.importorskip("custom_components.evse_local.protocols.rapi.frame")
    command = frame.encode_command("SC", (16, "V"), sequence=0x11)
    assert parse_frame(command) == RapiCommand("SC", ("16", "V"), 0x11)
    reply = RapiReply(ok=True, params=("16",), sequence=0x11).render()
    decoded = frame.decode_reply(reply, sequence=0x11)
    assert decoded.ok
    assert decoded.params == ("16",)


async def test_rapi_over_post_form(socket_enabled: None) -> None:
    """Clients that POST the frame as a form get the same reply as GET."""
    async with (
        start_simulator("legacy") as sim,
        aiohttp.ClientSession() as session,
        session.post(f"{sim.url}/r", data={"json": "1", "rapi": "$GV^35"}) as response,
    ):
        assert response.status == 200
        document = await response.json(content_type=None)
    body = "$OK 5.0.1 4.0.1"
    assert document == {"cmd": "$GV^35", "ret": f"{body}^{xor_checksum(body):02X}"}
    assert sim.rapi_commands["GV"] == 1
