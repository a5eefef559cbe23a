"""docs/ocpp-conformance.md and the tests it names stay in step.

Every OCPP 1.6J message has a row; every test a row names exists, runs
against the peer of its column (the MQ 200 simulator, or a charge point on
the ``ocpp`` library) and carries the row's OCA case in its name; every
conformance test is named by a row.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
MATRIX = ROOT / "docs" / "ocpp-conformance.md"
CONFORMANCE = ROOT / "tests" / "protocols" / "test_ocpp_conformance.py"

# OCPP 1.6 section 4 (charge point initiated) and 5 (central system initiated).
CP_TO_CS = {
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
}
CS_TO_CP = {
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
}
PROFILES = {
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
}
PEER_PARAMS = {"simulator": "mq200", "library": "ocpp_lib"}
RE_CASE = re.compile(r"^(TC_\d{3}(?:_\d)?) ")
RE_REF = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    message: str
    direction: str
    profile: str
    case: str
    does: str
    simulator: str
    library: str


def _table(heading: str) -> list[list[str]]:
    """The cells of the table under ``## heading``."""
    text = MATRIX.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@cache
def rows() -> tuple[Row, ...]:
    return tuple(Row(*cells) for cells in _table("Messages"))


@cache
def _functions(path: Path) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _resolve(ref: str) -> tuple[Path, str, str | None]:
    """``file::name[param]`` (file defaults to the conformance module)."""
    path, _, name = ref.rpartition("::")
    name, _, param = name.partition("[")
    return (ROOT / path if path else CONFORMANCE), name, param.rstrip("]") or None


def _uses(path: Path, needle: str) -> bool:
    return needle in path.read_text(encoding="utf-8")


def test_every_message_and_direction_has_a_row() -> None:
    seen = {(row.message, row.direction) for row in rows()}
    assert {(m, "CP→CS") for m in CP_TO_CS} <= seen
    assert {(m, "CS→CP") for m in CS_TO_CP} <= seen
    known = CP_TO_CS | CS_TO_CP | {"(unknown action)"}
    assert {row.message for row in rows()} <= known


def test_every_row_is_described_and_proven() -> None:
    for row in rows():
        assert row.profile in PROFILES | {"—"}, row
        assert len(row.does) > 20, row
        cells = (row.simulator, row.library)
        if "Not used" in row.does or "Not sent" in row.does:
            assert cells == ("—", "—"), row
            continue
        assert all(RE_REF.findall(cell) for cell in cells), row


@pytest.mark.parametrize("column", ["simulator", "library"])
def test_named_tests_exist_run_against_their_peer_and_follow_the_naming(
    column: str,
) -> None:
    for row in rows():
        case = RE_CASE.match(row.case)
        for ref in RE_REF.findall(getattr(row, column)):
            path, name, param = _resolve(ref)
            assert path.is_file(), ref
            assert name in _functions(path), f"{ref}: no such test"
            if path == CONFORMANCE:
                # The conformance tests run once per peer: the right run.
                assert param == PEER_PARAMS[column], ref
                function = _functions(path)[name]
                assert "peer" in {arg.arg for arg in function.args.args}, ref
                prefix = f"test_{case.group(1).lower()}_" if case else "test_msg_"
                assert name.startswith(prefix), f"{ref} does not name {row.case}"
            elif column == "simulator":
                assert _uses(path, "Mq200Simulator"), ref
            else:
                assert _uses(path, "ocpp_support"), ref


def test_every_conformance_test_is_in_the_matrix() -> None:
    named = {
        _resolve(ref)[1]
        for row in rows()
        for ref in RE_REF.findall(row.simulator + row.library)
    }
    tests = {name for name in _functions(CONFORMANCE) if name.startswith("test_")}
    assert tests - named == set(), "conformance tests missing from the matrix"
    assert all(re.match(r"test_(tc_\d{3}|msg)_", name) for name in tests)


def test_the_peers_are_the_simulator_and_the_library() -> None:
    text = CONFORMANCE.read_text(encoding="utf-8")
    assert 'PEERS = ("mq200", "ocpp_lib")' in text
    assert "@pytest.fixture(params=PEERS)" in text


def test_every_feature_profile_has_a_row() -> None:
    table = _table("Feature profiles")
    assert {cells[0] for cells in table} == PROFILES
    messages = {m.strip() for cells in table for m in cells[2].split(",")}
    assert messages == CP_TO_CS | CS_TO_CP
