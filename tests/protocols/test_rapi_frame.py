"""RAPI framing: checksums, sequence ids and reply verification."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from custom_components.evse_local.protocols.errors import EvseProtocolError
from custom_components.evse_local.protocols.rapi.frame import (
    RapiReply,
    additive_checksum,
    decode_reply,
    encode_command,
    xor_checksum,
)

from .loopback import rapi_frame
from .peers import RAPI_DIR, cases, load_object

CHECKSUM_VECTORS = RAPI_DIR / "rapi_checksum_vectors.json"


def _vectors() -> Iterator[tuple[str, dict[str, Any]]]:
    for vector in load_object(CHECKSUM_VECTORS)["vectors"]:
        yield vector["frame"], vector


def _corrupt(frame: str) -> str:
    """The same frame with the last checksum digit changed."""
    last = frame[-1]
    return frame[:-1] + ("0" if last != "0" else "1")


# --- every documented checksum example, from rapi_proc.h of every tag -------


@pytest.mark.parametrize("vector", cases(_vectors))
def test_checksum_vector(vector: dict[str, Any]) -> None:
    body: str = vector["body"]
    documented = int(vector["documented"], 16)
    if vector["checksum_type"] == "xor":
        assert vector["frame"] == f"{body}^{vector['documented']}"
        assert xor_checksum(body) == documented
    else:
        assert vector["checksum_type"] == "additive"
        assert vector["frame"] == f"{body}*{vector['documented']}"
        assert additive_checksum(body) == documented


@pytest.mark.parametrize("vector", cases(_vectors))
def test_checksum_vector_passes_reply_verification(vector: dict[str, Any]) -> None:
    """``decode_reply`` accepts the checksum, then refuses a command frame.

    The vectors are command frames: a correct checksum gets as far as the
    ``$OK``/``$NK`` check, a corrupted one stops at the checksum.
    """
    with pytest.raises(EvseProtocolError, match=r"neither \$OK nor \$NK"):
        decode_reply(vector["frame"])
    with pytest.raises(EvseProtocolError, match="bad checksum"):
        decode_reply(_corrupt(vector["frame"]))


def _xor_vectors() -> Iterator[tuple[str, dict[str, Any]]]:
    for case_id, vector in _vectors():
        if vector["checksum_type"] == "xor" and " :" not in vector["body"]:
            yield case_id, vector


@pytest.mark.parametrize("vector", cases(_xor_vectors))
def test_encode_command_reproduces_vector(vector: dict[str, Any]) -> None:
    body: str = vector["body"]
    code, _, rest = body[1:].partition(" ")
    params = tuple(rest.split(" ")) if rest else ()
    assert encode_command(code, params) == vector["frame"]


# --- encode_command ---------------------------------------------------------


def test_encode_command_with_params_and_sequence() -> None:
    assert encode_command("SC", (16, "V")) == "$SC 16 V^65"
    assert encode_command("GS", (), 0x2A) == "$GS :2A^59"
    assert encode_command("ST", (0, 0, 0, 0)) == "$ST 0 0 0 0^23"
    assert encode_command("GV", (), 0xFF) == rapi_frame("$GV", 0xFF)


@pytest.mark.parametrize("command", ["G", "GSX", "G$", "", "G "])
def test_encode_command_rejects_bad_codes(command: str) -> None:
    with pytest.raises(ValueError, match="not a RAPI command"):
        encode_command(command)


@pytest.mark.parametrize("sequence", [0, 256, -1])
def test_encode_command_rejects_reserved_sequence_ids(sequence: int) -> None:
    with pytest.raises(ValueError, match=r"sequence id must be 1\.\.255"):
        encode_command("GS", (), sequence)


# --- decode_reply: what a verified reply looks like -------------------------


def test_decode_checked_reply_with_sequence_echo() -> None:
    raw = rapi_frame("$OK 8.2.3 5.2.1", 0x2A) + "\r"
    reply = decode_reply(raw, sequence=0x2A)
    assert reply == RapiReply(
        ok=True,
        params=("8.2.3", "5.2.1"),
        sequence=0x2A,
        checked=True,
        raw=raw.strip(),
    )


def test_decode_sequence_mismatch_is_rejected() -> None:
    with pytest.raises(EvseProtocolError, match="sequence id mismatch"):
        decode_reply(rapi_frame("$OK 01 0 01 0000", 0x2B), sequence=0x2A)


def test_decode_checked_reply_without_sequence_echo_is_rejected() -> None:
    with pytest.raises(EvseProtocolError, match="does not echo sequence id"):
        decode_reply("$OK 01 0 01 0000^10", sequence=0x2A)


def test_decode_unchecked_reply_without_echo_is_accepted_when_allowed() -> None:
    """RAPI 1.x sends neither checksum nor sequence id."""
    reply = decode_reply("$OK 3 568", sequence=0x05, require_checksum=False)
    assert reply.params == ("3", "568")
    assert reply.sequence is None
    assert reply.checked is False


def test_decode_reply_without_checksum_is_rejected_by_default() -> None:
    with pytest.raises(EvseProtocolError, match="reply without checksum"):
        decode_reply("$OK 3 568")


def test_decode_sequence_we_did_not_ask_for_is_stripped() -> None:
    reply = decode_reply(rapi_frame("$OK 32 0001", 0x07))
    assert reply.params == ("32", "0001")
    assert reply.sequence == 0x07


def test_decode_bad_checksum_is_rejected() -> None:
    with pytest.raises(EvseProtocolError, match=r"bad checksum.*expected 0C"):
        decode_reply("$OK 0 -1^0D")


@pytest.mark.parametrize(
    ("raw", "params"),
    [("$NK^21", ()), (rapi_frame("$NK 6"), ("6",)), ("$NK ", ())],
)
def test_decode_nk(raw: str, params: tuple[str, ...]) -> None:
    reply = decode_reply(raw, require_checksum=False)
    assert reply.ok is False
    assert reply.params == params


def test_decode_non_ascii_is_rejected() -> None:
    with pytest.raises(EvseProtocolError, match="non-ASCII"):
        decode_reply("$OK 20 \u00b0C^20")


def test_decode_length_limit() -> None:
    longest = rapi_frame("$OK " + "1" * 57)
    assert len(longest) == 64
    assert decode_reply(longest).params == ("1" * 57,)
    with pytest.raises(EvseProtocolError, match="not a RAPI reply"):
        decode_reply(rapi_frame("$OK " + "1" * 58))


@pytest.mark.parametrize(
    "raw", ["OK 3 568^10", "", "   ", "<p>$OK^20", "RAPI_RESPONSE_TIMEOUT"]
)
def test_decode_without_dollar_is_rejected(raw: str) -> None:
    with pytest.raises(EvseProtocolError, match="not a RAPI reply"):
        decode_reply(raw)


@pytest.mark.parametrize(
    "raw", ["$", "$^24", "$AT 02 02 16 0100^37", rapi_frame("$OKAY")]
)
def test_decode_neither_ok_nor_nk(raw: str) -> None:
    with pytest.raises(EvseProtocolError, match=r"neither \$OK nor \$NK"):
        decode_reply(raw, require_checksum=False)


@pytest.mark.parametrize(
    "raw", ["$OK^2", "$OK^200", "$OK^ZZ", "$OK^", "$OK*B", "$OK*G0", "$OK^0x"]
)
def test_decode_malformed_checksum_digits(raw: str) -> None:
    with pytest.raises(EvseProtocolError, match="malformed checksum"):
        decode_reply(raw)


@pytest.mark.parametrize(
    "raw",
    # xor("$OK 0 -1") is 0x0C: the value matches, only the digits are wrong.
    ["$OK 0 -1^+C", "$OK 0 -1^ C"],
)
def test_decode_rejects_checksum_that_is_not_two_hex_digits(raw: str) -> None:
    """BUG: ``int(digits, 16)`` accepts a sign or a space as a digit.

    The firmware always prints ``%02X``; ``^+C`` is not a checksum.
    """
    with pytest.raises(EvseProtocolError, match="malformed checksum"):
        decode_reply(raw)


@pytest.mark.parametrize("token", [":ZZ", ":", ":2A2Z"])
def test_decode_malformed_sequence_id(token: str) -> None:
    with pytest.raises(EvseProtocolError, match="malformed sequence id"):
        decode_reply(rapi_frame(f"$OK 1 {token}"), sequence=0x2A)


@pytest.mark.parametrize("token", [":+2A", ":0x2A", ":2_A"])
def test_decode_rejects_sequence_id_that_is_not_two_hex_digits(token: str) -> None:
    """BUG: the echoed id is read with ``int(.., 16)`` too (``%02X`` on the wire)."""
    with pytest.raises(EvseProtocolError, match="malformed sequence id"):
        decode_reply(rapi_frame(f"$OK 1 {token}"), sequence=0x2A)


def test_decode_additive_checksum_reply() -> None:
    """The legacy ``*`` checksum is the 8-bit sum."""
    assert additive_checksum("$OK") == 0xBE
    reply = decode_reply("$OK*BE")
    assert reply.ok is True
    assert reply.checked is True
    assert reply.params == ()
    with pytest.raises(EvseProtocolError, match="bad checksum in '\\$OK\\*BF'"):
        decode_reply("$OK*BF")


def test_decode_lower_case_checksum_digits_are_accepted() -> None:
    """Firmware prints upper case; lower case is still the same number."""
    assert decode_reply("$OK 0 -1^0c").params == ("0", "-1")


def test_decode_strips_line_endings_and_keeps_raw_frame() -> None:
    reply = decode_reply("\r\n$OK^20\r")
    assert reply.raw == "$OK^20"
    assert reply.params == ()
