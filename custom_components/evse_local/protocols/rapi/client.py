"""A RAPI client over any transport that carries one frame and its reply."""

from __future__ import annotations

import asyncio
from typing import Protocol

from ..errors import (
    EvseCommandRejectedError,
    EvseProtocolError,
    EvseVehicleRequiredError,
)
from .commands import COMMANDS, ReplyValues, parse_reply
from .frame import RapiReply, decode_reply, encode_command


class RapiTransport(Protocol):
    """Carries one command frame and returns the raw reply frame."""

    async def exchange(self, frame: str) -> str:
        """Send ``frame`` and return the reply text (one frame)."""


class RapiClient:
    """Sends verified RAPI commands, one at a time.

    Every reply is checked (checksum, echoed sequence id, field count) before
    it is read. Firmware of the RAPI 1.x era replies without a checksum;
    :meth:`negotiate` finds that out once instead of trusting version strings.
    """

    def __init__(self, transport: RapiTransport) -> None:
        """Wrap a transport; checksums and sequence ids are on until negotiated."""
        self._transport = transport
        self._lock = asyncio.Lock()
        self._sequence = 0
        self.use_sequence = True
        self.require_checksum = True
        self.frames_sent = 0

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0xFF + 1
        return self._sequence

    async def negotiate(self) -> ReplyValues:
        """Probe with ``$GV``; learn whether checksums and sequence ids come back."""
        async with self._lock:
            sequence = self._next_sequence()
            raw = await self._send(encode_command("GV", (), sequence))
            reply = decode_reply(raw, require_checksum=False)
            if not reply.checked:
                # RAPI 1.x: no checksum, no sequence id in replies.
                self.require_checksum = False
                self.use_sequence = False
            elif reply.sequence is None:
                self.use_sequence = False
            elif reply.sequence != sequence:
                raise EvseProtocolError(f"sequence id mismatch in {raw!r}")
        if not reply.ok:
            raise EvseCommandRejectedError("$GV", reply.raw)
        return parse_reply("GV", reply)

    async def _send(self, frame: str) -> str:
        self.frames_sent += 1
        return await self._transport.exchange(frame)

    async def execute(self, code: str, *params: str | int) -> RapiReply:
        """Send one command; raise if the reply is refused or malformed."""
        command = COMMANDS[code]
        async with self._lock:
            sequence = self._next_sequence() if self.use_sequence else None
            raw = await self._send(encode_command(code, params, sequence))
            reply = decode_reply(
                raw, sequence=sequence, require_checksum=self.require_checksum
            )
        if not reply.ok:
            if command.needs_vehicle:
                raise EvseVehicleRequiredError(f"${code}", reply.raw)
            raise EvseCommandRejectedError(f"${code}", reply.raw)
        return reply

    async def query(self, code: str) -> ReplyValues:
        """Send a get command and return its named reply values."""
        return parse_reply(code, await self.execute(code))

    async def set_current(self, amps: int, *, persist: bool) -> int | None:
        """``$SC amps [V]``: volatile unless ``persist`` (EEPROM wear).

        Returns the amps the controller actually set when it says so. A value
        out of range is clamped by the firmware and answered with ``$NK``.
        """
        params: tuple[str | int, ...] = (amps,) if persist else (amps, "V")
        reply = await self.execute("SC", *params)
        values = parse_reply("SC", reply)
        amps_set = values.get("amps")
        return amps_set if isinstance(amps_set, int) else None
