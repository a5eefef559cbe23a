"""Where the peer captures live, and how tests turn them into cases.

The captures are not part of this repository: CI clones ``shared/`` beside
it, so they are found at ``<repo>/../shared/peers`` unless ``EVSE_PEERS``
points elsewhere. Without that folder every capture test is skipped with the
reason below; with it, a capture that is missing is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _peers_root() -> Path:
    override = os.environ.get("EVSE_PEERS")
    if override:
        return Path(override).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "peers").resolve()


PEERS = _peers_root()
PEERS_PRESENT = PEERS.is_dir()
SKIP_REASON = (
    f"peer captures not found at {PEERS}: clone shared/ beside the repository "
    "or set EVSE_PEERS to the peers folder"
)

RAPI_DIR = Path("openevse/rapi")
HTTP_FIXTURES = Path("openevse/http-fixtures")
WIFI_API = Path("openevse/wifi-firmware-api")
EMULATOR_DIR = Path("openevse/emulator")
V1_RESPONSES = RAPI_DIR / "http-r-fixtures/python-openevse-wifi/v1_responses"
V3_RESPONSES = RAPI_DIR / "http-r-fixtures/python-openevse-wifi/v3_responses"
EMULATOR_TRANSCRIPT = RAPI_DIR / "transcripts/openevse-emulator-22034b5_tcp.jsonl"
DEVICE_SNIPPETS = RAPI_DIR / "transcripts/real_device_snippets_from_issues.json"


def peer_path(relative: Path | str) -> Path:
    """Absolute path of a capture; a missing capture fails loudly."""
    path = PEERS / relative
    if not path.exists():
        raise FileNotFoundError(f"peer capture missing: {path}")
    return path


def peer_bytes(relative: Path | str) -> bytes:
    """The exact bytes of one capture (relative to the peers, or absolute)."""
    return peer_path(relative).read_bytes()


def load_json(relative: Path | str) -> Any:
    """Decode one JSON capture."""
    return json.loads(peer_path(relative).read_text(encoding="utf-8"))


def load_object(relative: Path | str) -> dict[str, Any]:
    """Decode one JSON capture that must be an object."""
    document = load_json(relative)
    assert isinstance(document, dict), relative
    return document


def peer_glob(relative: Path | str, pattern: str) -> list[Path]:
    """Captures matching ``pattern`` below ``relative``; none found is an error."""
    found = sorted(peer_path(relative).glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} under {PEERS / relative}")
    return found


def relative_id(path: Path) -> str:
    """A short test id for a capture file."""
    return path.relative_to(PEERS).as_posix()


def cases[T](build: Callable[[], Iterable[tuple[str, T]]]) -> list[Any]:
    """``pytest.param`` per capture, or one skipped case without the peers."""
    if not PEERS_PRESENT:
        return [
            pytest.param(None, id="peers-missing", marks=pytest.mark.skip(SKIP_REASON))
        ]
    params = [pytest.param(value, id=case_id) for case_id, value in build()]
    if not params:
        raise RuntimeError("a peer capture produced no test cases")
    return params


def require_peers() -> Path:
    """The peers folder, or skip the calling test."""
    if not PEERS_PRESENT:
        pytest.skip(SKIP_REASON)
    return PEERS


# --- RAPI transcripts -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command frame and the reply frame that answered it."""

    source: str
    tx: str
    rx: str
    step: str

    @property
    def code(self) -> str:
        """The two-letter command code of ``tx``."""
        return self.tx[1:3]


def emulator_lines() -> list[dict[str, Any]]:
    """Every line of the emulator transcript, in order."""
    text = peer_path(EMULATOR_TRANSCRIPT).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def emulator_exchanges() -> list[Exchange]:
    """Every tx in the emulator transcript paired with the rx that followed it.

    Asynchronous ``$AT`` lines that arrive on their own (after a REST call to
    the emulator) are not replies and are left out.
    """
    exchanges: list[Exchange] = []
    pending: dict[str, Any] | None = None
    for number, line in enumerate(emulator_lines(), start=1):
        if line["dir"] == "tx":
            pending = {**line, "number": number}
        elif line["dir"] == "rx" and pending is not None:
            exchanges.append(
                Exchange(
                    source=f"line{pending['number']}",
                    tx=pending["raw"],
                    rx=line["raw"],
                    step=line["step"],
                )
            )
            pending = None
    return exchanges


def device_exchanges() -> list[Exchange]:
    """Every tx/rx frame pair posted from real controllers in issue threads."""
    document = load_object(DEVICE_SNIPPETS)
    exchanges: list[Exchange] = []
    for session in document["sessions"]:
        issue = session["source"].rstrip("/").rsplit("/", 3)
        for index, exchange in enumerate(session.get("exchanges", []), start=1):
            exchanges.append(
                Exchange(
                    source=f"{issue[-3]}#{issue[-1]}-{index}",
                    tx=exchange["tx"]["frame"],
                    rx=exchange["rx"]["frame"],
                    step=session["context"],
                )
            )
    return exchanges


def device_frames() -> list[tuple[str, str, bool]]:
    """(id, frame, checksum_ok) for every tx and rx frame of the device snippets."""
    document = load_object(DEVICE_SNIPPETS)
    frames: list[tuple[str, str, bool]] = []
    for number, session in enumerate(document["sessions"], start=1):
        for index, exchange in enumerate(session.get("exchanges", []), start=1):
            for direction in ("tx", "rx"):
                frame = exchange[direction]
                frames.append(
                    (
                        f"s{number}-{index}-{direction}",
                        frame["frame"],
                        bool(frame["checksum_ok"]),
                    )
                )
    return frames


# --- /r fixtures of python-openevse-wifi -------------------------------------

_V1_COMMAND = re.compile(r"</form>(\$\w\w)<p>")


def r_fixture_command(path: Path) -> str:
    """The RAPI command a ``/r`` fixture answered (from the page or the JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.parent.name == "v1_responses":
        match = _V1_COMMAND.search(text)
        assert match is not None, path
        return match.group(1)
    command = json.loads(text)["cmd"]
    assert isinstance(command, str)
    return command


def v1_pages() -> dict[str, Path]:
    """One v1 ``/r`` page per command (a charging unit with a time limit set)."""
    return {
        r_fixture_command(path)[1:]: path
        for path in peer_glob(V1_RESPONSES, "*.txt")
        if "unplugged" not in path.name and "unset" not in path.name
    }


def v1_nk_page() -> Path:
    """The v1 page answering a command the RAPI 1.0.3 controller lacks."""
    return peer_path(V1_RESPONSES / "voltmeter_settings.txt")
