"""RAPI framing: ``$cc p1 p2[ :ss]^xk`` with XOR checksum and sequence id.

Replies are verified before anything reads them: the checksum (XOR after
``^`` or the legacy 8-bit sum after ``*``) must match, a sequence id we sent
must be echoed, and the reply must start with ``$OK`` or ``$NK``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import EvseProtocolError

_MAX_FRAME = 64
# The firmware prints checksums and sequence ids with %02X: exactly two digits
# (int(x, 16) alone would also take "+C", " C", "0x2A" or "2_A").
_TWO_HEX = re.compile(r"[0-9A-Fa-f]{2}")


def xor_checksum(body: str) -> int:
    """XOR of every byte of ``body`` (everything before ``^``)."""
    value = 0
    for byte in body.encode("ascii"):
        value ^= byte
    return value


def additive_checksum(body: str) -> int:
    """8-bit sum of every byte of ``body`` (legacy ``*`` checksum)."""
    return sum(body.encode("ascii")) & 0xFF


def encode_command(
    command: str, params: tuple[str | int, ...] = (), sequence: int | None = None
) -> str:
    """Build a command frame with XOR checksum (without the trailing CR)."""
    if len(command) != 2 or not command.isalnum():
        raise ValueError(f"not a RAPI command: {command!r}")
    body = "$" + command
    if params:
        body += " " + " ".join(str(param) for param in params)
    if sequence is not None:
        if not 0 < sequence <= 0xFF:
            raise ValueError("sequence id must be 1..255 (00 is reserved)")
        body += f" :{sequence:02X}"
    return f"{body}^{xor_checksum(body):02X}"


@dataclass(frozen=True, slots=True)
class RapiReply:
    """A verified reply: ``$OK``/``$NK`` and its parameters."""

    ok: bool
    params: tuple[str, ...]
    sequence: int | None
    checked: bool
    raw: str


def _split_checksum(frame: str) -> tuple[str, int | None, bool]:
    """Return (body, checksum value or None, checksum is XOR)."""
    for marker, is_xor in (("^", True), ("*", False)):
        if marker in frame:
            body, _, digits = frame.rpartition(marker)
            if not _TWO_HEX.fullmatch(digits):
                raise EvseProtocolError(f"malformed checksum in {frame!r}")
            return body, int(digits, 16), is_xor
    return frame, None, True


def decode_reply(
    raw: str, *, sequence: int | None = None, require_checksum: bool = True
) -> RapiReply:
    """Verify and split one reply frame.

    ``sequence`` is the id we sent: the reply must echo it. Replies without a
    checksum are only accepted when ``require_checksum`` is false (RAPI 1.x
    firmware never sends one).
    """
    frame = raw.strip()
    if not frame.startswith("$") or len(frame) > _MAX_FRAME:
        raise EvseProtocolError(f"not a RAPI reply: {raw!r}")
    try:
        frame.encode("ascii")
    except UnicodeEncodeError as err:
        raise EvseProtocolError(f"non-ASCII RAPI reply: {raw!r}") from err
    body, checksum, is_xor = _split_checksum(frame)
    if checksum is None:
        if require_checksum:
            raise EvseProtocolError(f"reply without checksum: {raw!r}")
    else:
        expected = xor_checksum(body) if is_xor else additive_checksum(body)
        if expected != checksum:
            raise EvseProtocolError(f"bad checksum in {raw!r}: expected {expected:02X}")
    tokens = body[1:].split()
    if not tokens or tokens[0] not in ("OK", "NK"):
        raise EvseProtocolError(f"reply is neither $OK nor $NK: {raw!r}")
    echoed: int | None = None
    if len(tokens) > 1 and tokens[-1].startswith(":"):
        if not _TWO_HEX.fullmatch(tokens[-1][1:]):
            raise EvseProtocolError(f"malformed sequence id in {raw!r}")
        echoed = int(tokens[-1][1:], 16)
        tokens = tokens[:-1]
    if sequence is not None and echoed is not None and echoed != sequence:
        raise EvseProtocolError(f"sequence id mismatch in {raw!r}: sent {sequence:02X}")
    if sequence is not None and echoed is None and checksum is not None:
        raise EvseProtocolError(f"reply does not echo sequence id: {raw!r}")
    return RapiReply(
        ok=tokens[0] == "OK",
        params=tuple(tokens[1:]),
        sequence=echoed,
        checked=checksum is not None,
        raw=frame,
    )
