"""Fuzzing every parser and push path: a valid snapshot or an EvseError.

Property tests (hypothesis, derandomized): RAPI frames and replies, the
``/status`` ``/config`` ``/limit`` documents, ``/ws`` frames through a real
loopback websocket, go-e registers, OCPP sampled values, MeterValues frames
through the central system's frame router, station events, and the lifetime
energy guard. Nothing but ``EvseError`` may come out, and what comes out
of the guard never decreases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from custom_components.evse_local.protocols.energy_guard import (
    LifetimeEnergyGuard,
)
from custom_components.evse_local.protocols.errors import EvseError
from custom_components.evse_local.protocols.goe_modbus import registers as reg
from custom_components.evse_local.protocols.goe_modbus.charger import snapshot_from
from custom_components.evse_local.protocols.models import (
    ChargerSnapshot,
    OcppStatus,
)
from custom_components.evse_local.protocols.ocpp import OcppStation
from custom_components.evse_local.protocols.ocpp.connection import (
    CentralSystemStats,
    OcppConnection,
    WebSocketTransport,
)
from custom_components.evse_local.protocols.ocpp.measurands import summarise
from custom_components.evse_local.protocols.openevse_http.json_api import (
    OpenEvseJsonCharger,
)
from custom_components.evse_local.protocols.openevse_http.status import (
    status_fields,
)
from custom_components.evse_local.protocols.openevse_http.transport import (
    parse_json,
)
from custom_components.evse_local.protocols.rapi.charger import RapiCharger
from custom_components.evse_local.protocols.rapi.client import RapiClient
from custom_components.evse_local.protocols.rapi.commands import (
    COMMANDS,
    parse_reply,
)
from custom_components.evse_local.protocols.rapi.frame import decode_reply
from tests.fuzz import (
    FUZZ,
    FUZZ_SLOW,
    assert_sane,
    documents,
    dump,
    json_values,
    numbers,
)

from .fakes import GOPLUG
from .loopback import FakeModule, Loopback, rapi_frame
from .test_openevse_json import INFO

STATUS_KEYS = [
    "state",
    "amp",
    "voltage",
    "power",
    "session_energy",
    "total_energy",
    "watthour",
    "wattsec",
    "session_elapsed",
    "elapsed",
    "temp1",
    "temp2",
    "temp3",
    "pilot",
    "gfcicount",
    "nogndcount",
    "stuckcount",
    "srssi",
    "vehicle",
    "config_version",
    "limit_version",
    "limit",
]
CONFIG_KEYS = ["service", "min_current_hard", "max_current_hard", "max_current_soft"]
LIMIT_KEYS = ["type", "value"]

# Mostly plausible status documents (so reading goes deep), with wild values.
plausible_status = st.fixed_dictionaries(
    {"state": st.one_of(st.integers(0, 255), numbers)},
    optional={
        key: st.one_of(st.integers(-3000, 100_000), numbers, json_values)
        for key in STATUS_KEYS[1:]
    },
)


def _outcome[T](read: Callable[[], T]) -> T | None:
    """Run ``read``; an EvseError is an accepted outcome, anything else fails."""
    try:
        return read()
    except EvseError:
        return None


# --- OpenEVSE JSON: /status, /config, /limit ---------------------------------


@FUZZ
@given(document=st.one_of(plausible_status, documents(STATUS_KEYS)))
def test_status_document(document: dict[str, Any]) -> None:
    fields = _outcome(lambda: status_fields(document))
    if fields is not None:
        assert_sane(ChargerSnapshot(**fields))


@FUZZ
@given(
    status=plausible_status,
    config=documents(CONFIG_KEYS),
    limit=st.one_of(st.none(), documents(LIMIT_KEYS)),
)
def test_json_charger_snapshot(
    status: dict[str, Any], config: dict[str, Any], limit: dict[str, Any] | None
) -> None:
    charger = OpenEvseJsonCharger(None, INFO, config=config, status=status)  # type: ignore[arg-type]
    snapshot = _outcome(lambda: charger._build(status, config, limit))
    if snapshot is not None:
        assert_sane(snapshot)


@FUZZ
@given(text=st.one_of(st.text(max_size=60), json_values.map(dump)))
def test_json_text(text: str) -> None:
    _outcome(lambda: parse_json("/status", text))


@FUZZ_SLOW
@given(
    frames=st.lists(
        st.one_of(
            plausible_status.map(dump),
            documents(STATUS_KEYS).map(dump),
            json_values.map(dump),
            st.text(max_size=30),
        ),
        max_size=4,
    ),
    config=st.one_of(st.none(), documents(CONFIG_KEYS).map(dump), st.text(max_size=20)),
)
async def test_pushed_frames(
    loopback: Loopback, frames: list[str], config: str | None
) -> None:
    """Frames over a real websocket, with /config re-read (or broken) on the way.

    ``listen`` ends normally or with an EvseError; every update it delivers
    is sane, and the status it keeps still reads.
    """
    module = FakeModule(
        status=b'{"state": 1}',
        config=None if config is None else config.encode(),
        websocket=frames,
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config={},
        status={"state": 2, "config_version": 1},
    )
    updates: list[ChargerSnapshot] = []
    with contextlib.suppress(EvseError):
        await charger.listen(updates.append)
    for update in updates:
        assert_sane(update)
    assert_sane(charger._build(charger._status, charger._config, charger._limit))


# --- RAPI --------------------------------------------------------------------


tokens = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.integers(0, 0xFFFF).map(lambda n: f"{n:x}"),
    st.integers(-(10**40), 10**40).map(str),
    st.text(alphabet="0123456789abcdefABCDEF-+_.x", min_size=1, max_size=8),
)


def _reply(params: list[str], ok: bool = True) -> str:
    return rapi_frame(" ".join(["$OK" if ok else "$NK", *params]))


@FUZZ
@given(
    raw=st.one_of(
        st.text(max_size=70),
        st.lists(tokens, max_size=5).map(_reply),
        st.builds(
            lambda p, s: _reply([*p, f":{s:02X}"]),
            st.lists(tokens, max_size=3),
            st.integers(0, 255),
        ),
    ),
    code=st.sampled_from(sorted(COMMANDS)),
    sequence=st.one_of(st.none(), st.integers(1, 255)),
    checksum=st.booleans(),
)
def test_rapi_reply(raw: str, code: str, sequence: int | None, checksum: bool) -> None:
    reply = _outcome(
        lambda: decode_reply(raw, sequence=sequence, require_checksum=checksum)
    )
    if reply is not None:
        _outcome(lambda: parse_reply(code, reply))


_POLLED = ("GS", "GG", "GU", "GE", "GC", "GP", "GF", "GD", "G3", "GH")


@FUZZ
@given(
    replies=st.fixed_dictionaries(
        {code: st.lists(tokens, max_size=5) for code in _POLLED}
    ),
    refused=st.sets(st.sampled_from(_POLLED)),
)
async def test_rapi_charger(replies: dict[str, list[str]], refused: set[str]) -> None:
    """Checksummed replies of any shape and content to every polled command."""

    async def exchange(frame: str) -> str:
        code = frame[1:3]
        return _reply(replies[code], ok=code not in refused)

    transport = type("Transport", (), {"exchange": staticmethod(exchange)})()
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    try:
        await charger.setup()
        snapshot = await charger.poll()
    except EvseError:
        return
    assert_sane(snapshot)


# --- go-e Modbus -------------------------------------------------------------


_ADDRESSES = sorted(
    {
        a
        for block in (*reg.POLL_BLOCKS, *reg.ROTATION_BLOCKS)
        for a in range(block.address, block.end)
    }
)


@FUZZ
@given(
    words=st.dictionaries(
        st.sampled_from(_ADDRESSES),
        st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0, 0xFFFF, 0x7FFF])),
    ),
    stray=st.lists(st.integers(-(2**20), 2**20), max_size=4),
)
def test_goe_registers(words: dict[int, int], stray: list[int]) -> None:
    """Any words in any register: decoding never raises, the snapshot is sane."""
    readings = reg.Readings()
    for address, word in words.items():
        readings.update(address, [word])
    for register in reg.REGISTERS:
        reg.decode(register, stray[: register.count] or [0] * register.count)
    assert_sane(snapshot_from(readings))


# --- OCPP --------------------------------------------------------------------

measurand_names = st.sampled_from(
    [
        "Energy.Active.Import.Register",
        "Energy.Active.Export.Register",
        "Current.Import",
        "Current.Offered",
        "Voltage",
        "Power.Active.Import",
        "Temperature",
        "SoC",
    ]
)
sampled_values = st.one_of(
    st.fixed_dictionaries(
        {"value": st.one_of(numbers.map(str), numbers, st.text(max_size=6))},
        optional={
            "measurand": st.one_of(measurand_names, json_values),
            "unit": st.one_of(
                st.sampled_from(
                    ["Wh", "kWh", "A", "Amp", "V", "W", "kW", "K", "Fahrenheit"]
                ),
                json_values,
            ),
            "phase": st.one_of(
                st.sampled_from(["L1", "L2", "L3", "L1-N", "N"]), json_values
            ),
            "location": st.sampled_from(["Outlet", "EV", "Body"]),
            "format": st.sampled_from(["Raw", "SignedData"]),
        },
    ),
    json_values,
)
meter_values = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {
                "sampledValue": st.one_of(
                    st.lists(sampled_values, max_size=5), json_values
                )
            },
            optional={
                "timestamp": st.one_of(st.just("2026-11-21T04:40:11Z"), json_values)
            },
        ),
        max_size=3,
    ),
    json_values,
)


@FUZZ
@given(meter=meter_values)
def test_sampled_values(meter: Any) -> None:
    sample = summarise(meter)
    for name in (
        "energy_wh",
        "current",
        "offered_current",
        "voltage",
        "power",
        "temperature",
    ):
        value = getattr(sample, name)
        assert value is None or math.isfinite(value), (name, value)
    assert sample.energy_wh is None or sample.energy_wh >= 0


events = st.one_of(
    st.tuples(st.just("meter"), meter_values),
    st.tuples(
        st.just("status"),
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(
                [
                    "Available",
                    "Preparing",
                    "Charging",
                    "SuspendedEV",
                    "SuspendedEVSE",
                    "Finishing",
                    "Reserved",
                    "Unavailable",
                    "Faulted",
                ]
            ),
            st.text(max_size=20),
        ),
    ),
    st.tuples(st.just("start"), st.one_of(numbers, json_values)),
    st.tuples(
        st.just("stop"),
        st.fixed_dictionaries(
            {"transaction_id": st.one_of(st.integers(0, 3), json_values)},
            optional={
                "meter_stop": st.one_of(numbers, json_values),
                "transaction_data": meter_values,
            },
        ),
    ),
    st.tuples(st.just("heartbeat"), st.none()),
)


@FUZZ
@given(script=st.lists(events, max_size=12))
def test_station_events(script: list[tuple[str, Any]]) -> None:
    """Any sequence of charger events: sane snapshots, sessions never shrink."""
    station = OcppStation("FUZZ")
    session: float | None = None
    for kind, payload in script:
        if kind == "meter":
            station.handle_meter_values({"meter_value": payload})
        elif kind == "status":
            connector, status, error = payload
            station.handle_status(connector, status, error, {})
        elif kind == "start":
            station.handle_start_transaction(1, "TAG", payload, {})
            session = None
        elif kind == "stop":
            station.handle_stop_transaction(payload)
        else:
            station.handle_heartbeat()
        snapshot = station.snapshot
        assert_sane(snapshot)
        if snapshot.transaction_id is not None and snapshot.session_energy is not None:
            assert session is None or snapshot.session_energy >= session
            session = snapshot.session_energy
        elif snapshot.transaction_id is None:
            session = None
        assert snapshot.ocpp_status is None or isinstance(
            snapshot.ocpp_status, OcppStatus
        )


class _Socket:
    closed = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = True


@FUZZ
@given(
    frames=st.lists(
        st.one_of(
            meter_values.map(
                lambda m: dump(
                    [2, "id", "MeterValues", {"connectorId": 1, "meterValue": m}]
                )
            ),
            json_values.map(lambda p: dump([2, "id", "MeterValues", p])),
        ),
        min_size=1,
        max_size=5,
    )
)
async def test_meter_values_frames(frames: list[str]) -> None:
    """MeterValues frames through the router: each answered, state sane."""
    station = OcppStation("FUZZ")
    socket = _Socket()
    connection = OcppConnection(
        "FUZZ",
        WebSocketTransport(socket, CentralSystemStats(), 60),  # type: ignore[arg-type]
        response_timeout=1,
        heartbeat_interval=60,
        pending_retry_interval=10,
        presented_username=None,
        presented_password=None,
        on_pending_boot=lambda _: True,
    )
    station.attach(connection, accepted=True)
    for frame in frames:
        await connection.route_message(frame)
    assert len(socket.sent) == len(frames)
    for reply in socket.sent:
        assert json.loads(reply)[0] in (3, 4)
    assert_sane(station.snapshot)
    # Closing cancels what the connection started (the reconnect recovery).
    await connection.close("fuzzed")
    await asyncio.sleep(0)


# --- the lifetime energy guard -------------------------------------------------


@FUZZ
@given(
    steps=st.lists(
        st.tuples(
            st.one_of(st.none(), numbers, st.floats(0, 1e7)),
            st.floats(-100, 10_000, allow_nan=False),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 60_000)
            ),
        ),
        max_size=30,
    ),
    restart_at=st.integers(0, 30),
)
def test_lifetime_energy_never_decreases(
    steps: list[tuple[Any, float, float]], restart_at: int
) -> None:
    """Whatever the readings, gaps and ratings: finite, never backwards.

    Half-way, the guard is saved and restored as across a restart.
    """
    guard = LifetimeEnergyGuard()
    now = 0.0
    published: list[float] = []
    for index, (reading, gap, power) in enumerate(steps):
        if index == restart_at:
            restored = LifetimeEnergyGuard.restore(
                json.loads(json.dumps(guard.export()))
            )
            assert restored is not None
            assert restored.total == guard.total
            guard = restored
        now += gap
        total = guard.update(reading, now, power)
        if total is not None:
            assert math.isfinite(total)
            assert not published or total >= published[-1]
            published.append(total)
