"""A RAPI transport that returns canned strings (no HTTP at this level)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from custom_components.evse_local.protocols.models import ApiGeneration, DeviceInfo

from .loopback import rapi_frame, split_sequence

GOPLUG = DeviceInfo(
    serial="OpenEVSE03AB12CD",
    manufacturer="GoPlug",
    model="GoPlug Pro 32",
    generation=ApiGeneration.RAPI,
)

# openevse_esp32_firmware#102 (RAPI 5, sleeping, no voltmeter), plus the
# emulator's frames where it matches the firmware ($GV, $GC, $GH, $GI, $NK).
ISSUE_102: dict[str, str] = {
    "$GS": "$OK fe 21 03 0500^26",
    "$GG": "$OK 0 -1^0C",
    "$GU": "$OK 63512 226594^1D",
    "$GP": "$OK 340 -2560 -2560^37",
    "$GE": "$OK 32 0001^20",
    "$GF": "$OK 0 0 0^30",
    "$GC": "$OK 6 80 32 32^1E",
    "$GH": "$OK 0^30",
    "$GV": "$OK 8.2.1 5.0.1^2F",
}


class ScriptedTransport:
    """Answers each frame from a table keyed by the frame without checksum.

    Keys are command bodies as sent (``"$SC 16 V"``); a sequence id in the
    frame is ignored for the lookup. With ``echo_sequence`` the reply gets the
    command's sequence id and a fresh checksum, as RAPI 5 firmware answers.
    Unknown commands get ``$NK^21``.
    """

    def __init__(
        self,
        replies: Mapping[str, str] | Callable[[str], str],
        *,
        echo_sequence: bool = False,
    ) -> None:
        """Answer from ``replies`` (a table or a function of the frame)."""
        self._replies = replies
        self.echo_sequence = echo_sequence
        self.frames: list[str] = []

    async def exchange(self, frame: str) -> str:
        """Record ``frame`` and return the scripted reply."""
        self.frames.append(frame)
        if callable(self._replies):
            return self._replies(frame)
        body, sequence = split_sequence(frame)
        reply = self._replies.get(body, "$NK^21")
        if self.echo_sequence and sequence is not None and "^" in reply:
            reply = rapi_frame(reply.rpartition("^")[0], sequence)
        return reply
