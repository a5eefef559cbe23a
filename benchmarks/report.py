"""Turn the measurements into the Markdown table (and plain data for JSON)."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from typing import Any

from custom_components.evse_local.const import DEFAULT_SCAN_INTERVAL

from .common import PushWindow, Timing, Traffic, Unavailable
from .evse_local import EvseLocalKind
from .fault_day import FaultDayResults, fault_day_section
from .goe import RATIO_TARGET, TRANSACTIONS_TARGET, GoeResults, ModbusTraffic
from .in_hass import HassLatency
from .planner import PlannerResults, planner_section
from .reference import (
    CORE_POLL_SECONDS,
    HACS_POLL_SECONDS,
    Compatibility,
    ReferenceKind,
)
from .solar_day import SolarDayResults, solar_day_section

LATENCY_TARGET_MS = 1000.0
LEGACY_INTERVAL_TARGET_S = 10.0
NA = "n/a"


@dataclass(slots=True)
class Results:
    """Everything one run measured."""

    started: str
    duration_s: float
    versions: dict[str, str]
    settings: dict[str, int]
    evse_local: dict[str, EvseLocalKind]
    reference: dict[str, ReferenceKind]
    compatibility: Compatibility
    push: dict[str, PushWindow]
    push_alone: dict[str, PushWindow]
    refresh: dict[str, dict[str, Traffic | Unavailable]]
    hass_latency: dict[str, dict[str, HassLatency | Unavailable]]
    goe: GoeResults
    solar_day: SolarDayResults | None = None
    fault_day: FaultDayResults | None = None
    planner: PlannerResults | None = None


@dataclass(slots=True)
class Row:
    """One line of the table."""

    metric: str
    evse_local: str
    reference: str
    target: str = "—"
    met: str = "—"


# ------------------------------------------------------------------ formatting


def _num(value: float, digits: int = 2) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _paths(item: Traffic) -> str:
    per_op = (
        f"{path} x{_num(count / item.operations)}" for path, count in item.paths.items()
    )
    return ", ".join(per_op) or "none"


def _unavailable(item: Unavailable) -> str:
    return item.short or f"{NA}: {item.reason}"


def _requests(item: Traffic | Unavailable) -> str:
    if isinstance(item, Unavailable):
        return _unavailable(item)
    return f"{_num(item.requests_per_op)} ({_paths(item)})"


def _bytes(item: Traffic | Unavailable) -> str:
    if isinstance(item, Unavailable):
        return _unavailable(item)
    return f"{_num(item.bytes_down_per_op, 0)} / {_num(item.bytes_up_per_op, 0)}"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _timing(item: Timing | Unavailable, *, requests: bool = True) -> str:
    if isinstance(item, Unavailable):
        return _unavailable(item)
    if not item.samples_ms:
        return f"{NA}: no sample ({item.failures} failures)"
    text = f"{_ms(item.median_ms)} / {_ms(item.p95_ms)} ms"
    if requests:
        text += f" ({_num(item.requests / len(item.samples_ms))} req)"
    return text


def _yes(condition: bool | None) -> str:
    if condition is None:
        return NA
    return "yes" if condition else "**no**"


def _met(ours: bool | None, theirs: bool | None) -> str:
    return f"{_yes(ours)} / {_yes(theirs)}"


def _fast(item: Timing | Unavailable) -> bool | None:
    if isinstance(item, Unavailable) or not item.samples_ms:
        return None
    return item.p95_ms < LATENCY_TARGET_MS


# ------------------------------------------------------------------ rows


def _poll_rows(results: Results) -> list[Row]:
    ours, theirs = results.evse_local, results.reference
    interval = DEFAULT_SCAN_INTERVAL.total_seconds()
    rows = [
        Row(
            "Poll interval (default)",
            f"{_num(interval)} s on every kind; on current the websocket "
            "replaces polling while it is up",
            f"{CORE_POLL_SECONDS} s, websocket or not (core `openevse`); "
            f"{HACS_POLL_SECONDS} s (HACS `firstof9/openevse`)",
            f"legacy: a poll every ≤ {_num(LEGACY_INTERVAL_TARGET_S)} s",
            _met(
                interval <= LEGACY_INTERVAL_TARGET_S,
                CORE_POLL_SECONDS <= LEGACY_INTERVAL_TARGET_S,
            ),
        ),
        Row(
            "HTTP requests per steady poll — current",
            _requests(ours["current"].poll),
            _requests(theirs["current"].poll),
        ),
    ]
    legacy_ref = theirs["legacy"].poll
    rows.append(
        Row(
            "HTTP requests per steady poll — legacy",
            _requests(ours["legacy"].poll),
            _requests(legacy_ref),
            "≤ 2",
            _met(
                ours["legacy"].poll.requests_per_op <= 2,
                None
                if isinstance(legacy_ref, Unavailable)
                else legacy_ref.requests_per_op <= 2,
            ),
        )
    )
    goplug = ours["goplug"].poll
    rows.append(
        Row(
            "RAPI frames per steady poll — goplug (one HTTP request each)",
            f"{_num(goplug.frames_per_op)} ({_paths(goplug)})",
            NA if isinstance(theirs["goplug"].poll, Unavailable) else "?",
            "≤ 4",
            _met(goplug.frames_per_op <= 4, None),
        )
    )
    rows.extend(
        Row(
            f"Bytes per steady poll, received / sent (on the wire) — {kind}",
            _bytes(ours[kind].poll),
            _bytes(theirs[kind].poll),
        )
        for kind in ours
    )
    for kind in ("current", "legacy", "goplug"):
        refresh = results.refresh
        rows.append(
            Row(
                f"HTTP requests per coordinator refresh inside Home Assistant — {kind}"
                + (" (push up)" if kind == "current" else ""),
                _requests(refresh["evse_local"][kind]),
                _requests(refresh["openevse"][kind]),
            )
        )
    return rows


def _per_hour(results: Results) -> Row:
    ours = results.evse_local["legacy"].poll
    theirs = results.reference["legacy"].poll
    interval = DEFAULT_SCAN_INTERVAL.total_seconds()
    ref = (
        NA
        if isinstance(theirs, Unavailable)
        else f"{_num(theirs.requests_per_op * 3600 / CORE_POLL_SECONDS)} "
        f"(state up to {CORE_POLL_SECONDS} s old)"
    )
    return Row(
        "HTTP requests per hour while charging, default interval — legacy "
        "(per-poll x polls per hour)",
        f"{_num(ours.requests_per_op * 3600 / interval)} "
        f"(state at most {_num(interval)} s old)",
        ref,
    )


def _push_rows(results: Results) -> list[Row]:
    ours, theirs = results.push["evse_local"], results.push["openevse"]
    minutes = _num(ours.simulated_minutes)

    def requests(window: PushWindow) -> str:
        text = f"{_num(window.traffic.requests)}"
        if window.traffic.requests:
            text += f" ({_paths_total(window.traffic)})"
        return text + f" = {_num(window.requests_per_minute)}/min"

    return [
        Row(
            f"HTTP requests while push is healthy — current, {minutes} simulated "
            "min of charging, inside Home Assistant",
            requests(ours),
            requests(theirs),
            "0",
            _met(ours.traffic.requests == 0, theirs.traffic.requests == 0),
        ),
        Row(
            "… the same with the library alone (no Home Assistant, no periodic poll)",
            requests(results.push_alone["evse_local"]),
            requests(results.push_alone["openevse"]),
            "0",
            _met(
                results.push_alone["evse_local"].traffic.requests == 0,
                results.push_alone["openevse"].traffic.requests == 0,
            ),
        ),
        Row(
            f"Websocket frames received in those {minutes} min",
            f"{_num(ours.ws_frames)} ({_num(ours.frames_per_minute)}/min)",
            f"{_num(theirs.ws_frames)} ({_num(theirs.frames_per_minute)}/min)",
        ),
        Row(
            f"Bytes received / sent in those {minutes} min (on the wire)",
            f"{_num(ours.traffic.bytes_down)} / {_num(ours.traffic.bytes_up)}",
            f"{_num(theirs.traffic.bytes_down)} / {_num(theirs.traffic.bytes_up)}",
        ),
    ]


def _paths_total(item: Traffic) -> str:
    return ", ".join(f"{path} x{count}" for path, count in item.paths.items())


def _latency_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    ours, theirs = results.evse_local, results.reference
    for label, attr in (("Pause", "pause"), ("Max-current change", "max_current")):
        for kind, mine in ours.items():
            timing: Timing = getattr(mine, attr)
            cell = "command + refresh: " + _timing(timing)
            push: Timing | None = getattr(mine, f"push_{attr}")
            if push is not None:
                cell += "; command → pushed frame: " + _timing(push)
            other: Timing | Unavailable = getattr(theirs[kind], attr)
            rows.append(
                Row(
                    f"{label} → state visible, protocol level, median / p95 — {kind}",
                    cell,
                    ("command → pushed message: " if kind == "current" else "")
                    + _timing(other),
                    "< 1 s",
                    _met(_fast(timing), _legacy_slow(other)),
                )
            )
    for label, attr in (("Pause", "pause"), ("Max-current change", "max_current")):
        for kind in ours:
            mine_hass = results.hass_latency["evse_local"][kind]
            other_hass = results.hass_latency["openevse"][kind]
            mine_timing = (
                mine_hass
                if isinstance(mine_hass, Unavailable)
                else getattr(mine_hass, attr)
            )
            other_timing: Timing | Unavailable = (
                other_hass
                if isinstance(other_hass, Unavailable)
                else getattr(other_hass, attr)
            )
            rows.append(
                Row(
                    f"{label} → entity state, through Home Assistant, "
                    f"median / p95 — {kind}",
                    _timing(mine_timing),
                    _timing(other_timing)
                    + (
                        " on sensor current_capacity; the charge_rate number never "
                        "shows it"
                        if attr == "max_current"
                        and kind == "current"
                        and not isinstance(other_timing, Unavailable)
                        else ""
                    ),
                    "< 1 s",
                    _met(_fast(mine_timing), _legacy_slow(other_timing)),
                )
            )
    return rows


def _legacy_slow(item: Timing | Unavailable) -> bool | None:
    """Measured: p95 < 1 s; shows only at the next poll: no; otherwise n/a."""
    if isinstance(item, Unavailable):
        return False if item.next_poll else None
    return _fast(item)


def _wear_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    ours, theirs = results.evse_local, results.reference
    changes = results.settings["changes"]
    for kind, mine in ours.items():
        other = theirs[kind]
        their_writes = (
            NA
            if other.eeprom_writes is None or isinstance(other.eeprom, Unavailable)
            else _num(other.eeprom_writes)
            + (f" ({other.eeprom.errors} failed)" if other.eeprom.errors else "")
        )
        rows.append(
            Row(
                f"EEPROM writes in {_num(changes)} automated current changes — {kind}",
                _num(mine.eeprom_writes)
                + (f" ({mine.eeprom.errors} failed)" if mine.eeprom.errors else ""),
                their_writes,
                "0",
                _met(
                    mine.eeprom_writes == 0 and not mine.eeprom.errors,
                    None if other.eeprom_writes is None else other.eeprom_writes == 0,
                ),
            )
        )
    rows.extend(
        Row(
            f"HTTP requests per current change — {kind}",
            _requests(mine.eeprom),
            _requests(theirs[kind].eeprom),
        )
        for kind, mine in ours.items()
    )
    return rows


def _setup_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    for kind in results.evse_local:
        ours = results.hass_latency["evse_local"][kind]
        theirs = results.hass_latency["openevse"][kind]
        ours_setup = None if isinstance(ours, Unavailable) else ours.setup
        theirs_setup = None if isinstance(theirs, Unavailable) else theirs.setup
        rows.append(
            Row(
                f"HTTP requests to set up the config entry in Home Assistant — {kind}",
                NA if ours_setup is None else _paths_and_total(ours_setup),
                (
                    _unavailable(theirs)
                    if isinstance(theirs, Unavailable)
                    else NA
                    if theirs_setup is None
                    else _paths_and_total(theirs_setup)
                ),
            )
        )
    return rows


def _paths_and_total(item: Traffic) -> str:
    return f"{_num(item.requests)} ({_paths_total(item)})"


def rows(results: Results) -> list[Row]:
    """Every row, in table order."""
    return [
        *_poll_rows(results),
        _per_hour(results),
        *_push_rows(results),
        *_latency_rows(results),
        *_wear_rows(results),
        *_setup_rows(results),
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: Results) -> str:
    """The Markdown table."""
    lines = [
        "| Metric | EVSE Local | python-openevse-http | Target | Met? (EVSE Local / reference) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        "| "
        + " | ".join(
            _cell(value)
            for value in (
                row.metric,
                row.evse_local,
                row.reference,
                row.target,
                row.met,
            )
        )
        + " |"
        for row in rows(results)
    )
    return "\n".join(lines)


def notes(results: Results) -> list[str]:
    """What the reader needs to know about how the numbers were made."""
    settings = results.settings
    lines = [
        (
            "- Every count is exact and comes from the simulator (`sim.requests`, "
            "`sim.rapi_frames`, `sim.ws_frames_sent`, `model.eeprom_writes`). "
            "Bytes are counted on the wire by a loopback relay between client and "
            "simulator (HTTP headers and websocket framing included), received / "
            "sent as seen from the client. Times are wall-clock on loopback: "
            "reported, never asserted."
        ),
        (
            f"- Steady poll: after setup and a first refresh, {settings['polls']} "
            "polls with the simulated car charging and the model 10 s further on "
            "before each. EVSE Local: `charger.poll()` (what its coordinator "
            "calls); python-openevse-http: `OpenEVSE.update()` (what the "
            "coordinators of both its integrations call), websocket not started."
        ),
        (
            "- Refresh inside Home Assistant: the same with "
            "`coordinator.async_refresh()` on a real config entry, so requests "
            "that entities make because of an update count too (core "
            "`openevse`'s override_state select reads GET /override after every "
            "coordinator update, pushed ones included)."
        ),
        (
            f"- Push: {settings['minutes']} simulated minutes in 10-s steps inside "
            "Home Assistant. Each step advances the model (so `current` pushes a "
            "status delta) and waits until client and entities are quiet. The "
            "coordinator's own poll timer is replayed on simulated time (EVSE "
            f"Local: none while push is up; core `openevse`: every "
            f"{CORE_POLL_SECONDS} s). The same again with each library alone "
            "(EVSE Local `listen()`, python-openevse-http `ws_start()`), no Home "
            "Assistant and no poll. Websocket heartbeats (ping/pong frames, not "
            "HTTP requests) run on real time and so do not appear."
        ),
        (
            f"- Latency: {settings['reps']} repetitions of each. Protocol level, "
            "EVSE Local: the adapter's command, then `poll()` until the snapshot "
            "shows it (the integration refreshes at once after every command); "
            "on current also command → first pushed snapshot that shows it. "
            "python-openevse-http: its command, then the websocket message that "
            "shows it (it never refreshes after a command). Through Home "
            "Assistant: a blocking service call, then until `hass.states` shows "
            "the new value. Pauses alternate with an untimed resume; the current "
            "alternates between 16 A and 20 A."
        ),
        (
            f"- Wear: {_num(settings['changes'])} calls cycling through 6…32 A: "
            "EVSE Local `set_max_current(amps)` (volatile by default), "
            "python-openevse-http `set_current(amps)` as its number entity "
            "calls it."
        ),
        (
            "- Core `openevse` ran on the installed python-openevse-http "
            f"{results.versions.get('python-openevse-http', '?')} although its "
            "manifest asks for "
            f"{results.versions.get('core openevse manifest requirement', '?')} "
            "(the test instance of Home Assistant installs no requirements)."
        ),
        (
            "- The `current` simulator runs with `empty_as_404=False` for both "
            "clients (GET /override and GET /limit answer 200 {} when empty, as "
            "firmware HEAD does); the compatibility line below says why."
        ),
    ]
    for kind, item in results.reference.items():
        lines.extend(f"- python-openevse-http on {kind}: {note}" for note in item.notes)
    for domain, by_kind in results.hass_latency.items():
        for kind, latency in by_kind.items():
            if isinstance(latency, Unavailable):
                continue
            lines.extend(
                f"- {domain} in Home Assistant on {kind}: {note}"
                for note in latency.notes
            )
    reasons: dict[str, None] = {}
    for missing in _unavailables(results):
        reasons.setdefault(missing.reason)
    lines.extend(f"- Behind an n/a or ≤ 300 s cell: {reason}." for reason in reasons)
    lines.append(
        "- python-openevse-http compatibility on the unmodified simulators: "
        + "; ".join(
            f"{case} → {outcome}"
            for case, outcome in results.compatibility.findings.items()
        )
        + "."
    )
    return lines


def _unavailables(value: object) -> list[Unavailable]:
    """Every ``Unavailable`` in the results, in order."""
    if isinstance(value, Unavailable):
        return [value]
    if is_dataclass(value) and not isinstance(value, type):
        return [
            found
            for item in fields(value)
            for found in _unavailables(getattr(value, item.name))
        ]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _unavailables(item)]
    return []


# ------------------------------------------------------------------ go-e


def _functions(item: ModbusTraffic) -> str:
    per_op = (
        f"function {function} x{_num(count / item.operations)}"
        for function, count in item.functions.items()
    )
    return ", ".join(per_op)


def _transactions(item: ModbusTraffic) -> str:
    return f"{_num(item.transactions_per_op)} ({_functions(item)})"


def _modbus_bytes(item: ModbusTraffic) -> str:
    return f"{_num(item.bytes_down_per_op, 0)} / {_num(item.bytes_up_per_op, 0)}"


def goe_rows(goe: GoeResults, changes: int) -> list[Row]:
    """The go-e table: EVSE Local next to one read per entity."""
    poll, steady, entity = goe.poll, goe.steady, goe.per_entity
    return [
        Row(
            "Modbus transactions per steady poll",
            _transactions(steady)
            + f"; {_num(poll.transactions_per_op)} on average (a settings block "
            f"every {goe.settings_every}th poll)",
            _transactions(entity) + f": {goe.entities} entities, one read each",
            f"≤ {TRANSACTIONS_TARGET}",
            _yes(steady.operations > 0 and steady.transactions_per_op <= 1),
        ),
        Row(
            "Fewer transactions than one read per entity",
            f"{_num(goe.ratio, 1)}x",
            "1x",
            f"≥ {RATIO_TARGET}x",
            _yes(goe.ratio >= RATIO_TARGET),
        ),
        Row(
            "Bytes per steady poll, received / sent (on the wire)",
            _modbus_bytes(steady) + f" (on average {_modbus_bytes(poll)})",
            _modbus_bytes(entity),
        ),
        Row(
            "Modbus transactions to connect (identity, settings) and first refresh",
            _transactions(goe.setup),
            "n/a",
        ),
        Row(
            "Pause → state visible, protocol level, median / p95",
            "command + refresh: " + _timing(goe.pause),
            "n/a",
            "< 1 s",
            _yes(_fast(goe.pause)),
        ),
        Row(
            "Max-current change → state visible, protocol level, median / p95",
            "command + refresh: " + _timing(goe.max_current),
            "n/a",
            "< 1 s",
            _yes(_fast(goe.max_current)),
        ),
        Row(
            f"EEPROM writes in {_num(changes)} automated current changes",
            _num(goe.eeprom_writes)
            + (f" ({goe.changes.errors} failed)" if goe.changes.errors else ""),
            f"one value to 299: {_num(goe.yaml_function_6.errors)} of "
            f"{_num(changes)} refused (function 6 not implemented); a list to "
            f"300: {_num(goe.yaml_function_16_eeprom_writes)} EEPROM writes",
            "0",
            _yes(goe.eeprom_writes == 0 and not goe.changes.errors),
        ),
        Row(
            "Modbus transactions per current change (write, read back)",
            _transactions(goe.changes),
            _transactions(goe.yaml_function_6),
        ),
    ]


def goe_notes(goe: GoeResults, settings: dict[str, int]) -> list[str]:
    """How the go-e numbers were made."""
    return [
        (
            f"- Steady poll: {settings['polls']} polls of `GoeCharger.poll()` "
            "with the simulated car charging and the model 10 s further on before "
            "each, after `connect_goe()` and a first refresh; a steady poll is "
            "one that reads only the input block (the others add one settings "
            "block; the averages are over all polls). Transactions per "
            "function code are counted by the simulator; bytes on the wire by "
            "the same relay as above (Modbus TCP frames: 7-byte MBAP header + "
            "PDU). The client's own byte counters "
            + ("match the wire exactly." if goe.client_estimate_exact else "differ.")
        ),
        (
            f"- One read per entity: the {goe.entities} registers behind the "
            "snapshot fields EVSE Local fills, each read on its own per scan "
            "(function 3 for holding, 4 for input registers), as a `modbus:` "
            "YAML configuration with one entity per register does. Its "
            "`virtual_count` option shares one read among values of the same "
            "data type, scale and unit only (such as the three phase voltages)."
        ),
        (
            f"- Writes: {_num(settings['changes'])} calls cycling through 6…32 A. "
            "EVSE Local: `set_max_current(amps)` writes AMPERE_VOLATILE (299) "
            "with function 16 and reads it back. YAML: the `modbus.write_register` "
            "action sends one value with function 6, which the charger answers "
            "with exception 1; a list goes out as function 16, and on "
            "AMPERE_EEPROM (300) each one is an EEPROM write (about 100 000 in "
            "the charger's life)."
        ),
        (
            "- Latency: the command, then polls until the snapshot shows it; the "
            "verified write already puts it in the snapshot, the poll is the "
            "coordinator's refresh after every command."
        ),
    ]


def goe_section(results: Results) -> list[str]:
    """The go-e part of ``results.md``."""
    lines = [
        "## go-e Charger over Modbus TCP",
        "",
        (
            "EVSE Local against the `goe` simulator, side by side with how a "
            "hand-written Home Assistant `modbus:` YAML setup reads and writes "
            "the same values. Met? is given for EVSE Local."
        ),
        "",
        "| Metric | EVSE Local | YAML Modbus, one read per entity | Target | Met? |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        "| "
        + " | ".join(
            _cell(value)
            for value in (
                row.metric,
                row.evse_local,
                row.reference,
                row.target,
                row.met,
            )
        )
        + " |"
        for row in goe_rows(results.goe, results.settings["changes"])
    )
    return [*lines, "", *goe_notes(results.goe, results.settings)]


def markdown(results: Results) -> str:
    """The whole ``results.md``."""
    versions = ", ".join(
        f"{name} {version}"
        for name, version in results.versions.items()
        if name != "core openevse manifest requirement"
    )
    return "\n".join(
        [
            "# Benchmarks: EVSE Local vs python-openevse-http",
            "",
            (
                f"Measured {results.started} against the simulators in "
                f"`simulators/` (`python -m benchmarks`, {results.duration_s:.0f} s). "
                f"{versions}."
            ),
            "",
            (
                "Chargers: **current** = OpenEVSE WiFi 5.1.2 (JSON API + "
                "websocket), **legacy** = OpenEVSE WiFi 2.9.1 (/status + RAPI "
                "over /r), **goplug** = GoPlug Pro 32 (RAPI over /r only). "
                "python-openevse-http is driven the way Home Assistant's core "
                "`openevse` integration drives it (the HACS `firstof9/openevse` "
                f"polls the same way, every {HACS_POLL_SECONDS} s). Met? is "
                "given for EVSE Local / python-openevse-http."
            ),
            "",
            table(results),
            "",
            "## How the numbers were obtained",
            "",
            *notes(results),
            "",
            *goe_section(results),
            "",
            *(
                [*solar_day_section(results.solar_day), ""]
                if results.solar_day is not None
                else []
            ),
            *(
                fault_day_section(results.fault_day)
                if results.fault_day is not None
                else []
            ),
            *(
                [*planner_section(results.planner), ""]
                if results.planner is not None
                else []
            ),
        ]
    )


def plain(value: object) -> object:
    """Dataclasses and friends as JSON-ready data."""
    if isinstance(value, Timing):
        return {
            **value.summary(),
            "samples_ms": [round(sample, 3) for sample in value.samples_ms],
        }
    if isinstance(value, Unavailable):
        return {"unavailable": value.reason}
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {
            item.name: plain(getattr(value, item.name)) for item in fields(value)
        }
        if isinstance(value, ModbusTraffic):
            data["per_operation"] = {
                "transactions": value.transactions_per_op,
                "bytes_down": value.bytes_down_per_op,
                "bytes_up": value.bytes_up_per_op,
            }
        if isinstance(value, Traffic):
            data["per_operation"] = {
                "requests": value.requests_per_op,
                "rapi_frames": value.frames_per_op,
                "bytes_down": value.bytes_down_per_op,
                "bytes_up": value.bytes_up_per_op,
            }
        return data
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
