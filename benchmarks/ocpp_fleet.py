"""OCPP fleet benchmark: many Blink MQ 200s on one Home Assistant at once.

``python -m benchmarks.ocpp_fleet`` (defaults: 100 chargers for 60 s, then
50 unknown chargers arriving together beside 10 known ones) prints a
markdown table and writes it to ``benchmarks/ocpp_fleet.md``. A small run
for a smoke test: ``--chargers 3 --seconds 3 --discovery 3 --known 1
--no-write``; :func:`run` does the same from Python and returns the figures.

Method:

* The simulated chargers (:mod:`simulators.ocpp_mq200`, real ``ocpp``
  websocket clients, real-time clock, a car charging at 32 A, MeterValues
  every second) run in a **separate process** (this module with
  ``--simulators-only``), so their CPU is not Home Assistant's. They print
  JSON lines on stdout: when they started, when all were accepted, and at
  the end how many MeterValues each sent.
* Home Assistant (the harness of :mod:`benchmarks.in_hass`: phcc's test
  instance, outside pytest, no recorder) runs here with one config entry per
  charger, as if each had been approved (charge point id, password), on a
  free loopback port, and its meter interval option at 1 s (below the
  options form's 5 s minimum) so that the chargers send every second. Each
  charger connects from a loopback address of its own (127.0.x.y), as real
  chargers have their own IP.
* A frame's arrival is timed when aiohttp's websocket parser is fed the
  bytes that complete it (the parser is wrapped at the benchmark level:
  ``aiohttp.web_ws.WebSocketReader``), i.e. the first moment Python sees it.
  Its end is the ``state_changed`` event of that charger's lifetime energy
  sensor that shows the frame's energy register, as delivered to a state
  listener (the state machine's own ``last_updated`` is reported too). The
  register grows by about 2.1 Wh a second and is sent to 0.1 Wh, so every
  frame changes the state.
* With the **external listener** (``--listener-only``, a third process) the
  state is also followed the way a dashboard sees it: a websocket client of
  Home Assistant's own API (``http`` + ``websocket_api`` set up on a free
  loopback port, a long-lived token) subscribed to every ``state_changed``.
  Each frame's latency then ends when that process receives the event that
  shows its register value. Home Assistant now also serialises every state
  change for that subscriber: the load the targets are about. Every run is
  made with and without the listener.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import math
import os
import platform
import resource
import socket
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from itertools import islice
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
import aiohttp.web_ws
from aiohttp import WSMsgType
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_PORT, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.evse_local.const import (
    CONF_BIND_ADDRESS,
    CONF_CHARGE_POINT_ID,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_PROTOCOL,
    DOMAIN,
    PROTOCOL_OCPP,
)
from custom_components.evse_local.ocpp_server import running_server
from custom_components.evse_local.protocols.ocpp import CentralSystem
from custom_components.evse_local.protocols.ocpp.connection import OcppConnection
from simulators import ocpp_mq200
from simulators.ocpp_mq200 import Mq200Simulator, stop_fleet

from .in_hass import _MockConfigEntry, home_assistant

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "ocpp_fleet.md"

FLEET_PREFIX = "FLEET-"
KNOWN_PREFIX = "HOME-"
NEW_PREFIX = "NEW-"
ENERGY_REGISTER = "Energy.Active.Import.Register"
ENERGY_KEY = "lifetime_energy"
ENERGY_SUFFIX = f"_{ENERGY_KEY}"
METER_INTERVAL = 1
MAX_CURRENT = 32

TARGET_P99_MS = 50.0
TARGET_CPU_PERCENT = 12.0
TARGET_MB_PER_CHARGER = 0.8


def password_for(charge_point_id: str) -> str:
    """Each charger's own Basic Auth password."""
    return f"pw-{charge_point_id}"


def source_address(number: int) -> str:
    """A loopback address of its own for charger ``number`` (1 and up)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


def free_port() -> int:
    """A loopback port nobody listens on (the server binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes() -> int:
    """Resident set size of this process (``VmRSS``)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def cpu_seconds() -> float:
    """User + system CPU of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(slots=True)
class GcPauses:
    """Garbage collections of this process (they stop the event loop)."""

    pauses: list[tuple[float, int, float]] = field(default_factory=list)
    """(wall time at the end, generation, milliseconds)."""
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._started) * 1000
            self.pauses.append((time.time(), info["generation"], pause))

    def within(self, window: tuple[float, float]) -> list[tuple[int, float]]:
        """(generation, ms) of the collections in ``window``."""
        return [
            (gen, ms) for at, gen, ms in self.pauses if window[0] <= at <= window[1]
        ]


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# --------------------------------------------------------------- simulators


def _emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **data}), flush=True)


async def run_simulators(
    url: str,
    prefix: str,
    count: int,
    *,
    run_seconds: float,
    accept_timeout: float,
    spread: float = 0.0,
) -> None:
    """The simulator process: start, wait until accepted, run, report.

    ``spread`` > 0 starts the chargers one after the other over that many
    seconds (their meter clocks then tick out of step, as real chargers'
    do); 0 starts them all at once, so their MeterValues come in bursts.
    JSON lines on stdout: ``starting``, ``booted`` (every charger had an
    answer to its first BootNotification), ``accepted`` (``t``: when the
    last one was accepted), then ``done`` with per-charger counters.
    """
    started = time.time()
    cpu = time.process_time()
    sent_at: dict[str, float] = {}
    send = ocpp_mq200._Link.send  # noqa: SLF001

    async def timed_send(link: Any, text: str) -> None:
        # When the charger hands a MeterValues CALL to its socket, by unique id.
        if '"MeterValues"' in text and text.startswith("[2,"):
            sent_at[json.loads(text)[1]] = time.time()
        await send(link, text)

    ocpp_mq200._Link.send = timed_send  # type: ignore[assignment]  # noqa: SLF001
    _emit("starting")
    # Each charger from a loopback address of its own, as real chargers have
    # their own IP: the central system limits what one address may hold.
    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(source_address(number), 0))
        )
        for number in range(1, count + 1)
    ]
    sims = [
        Mq200Simulator(
            url,
            charge_point_id,
            password=password_for(charge_point_id),
            meter_interval=METER_INTERVAL,
            time_factor=1.0,
            validate_schemas=False,
            session=session,
        )
        for charge_point_id, session in (
            (f"{prefix}{number:03d}", sessions[number - 1])
            for number in range(1, count + 1)
        )
    ]
    for sim in sims:
        sim.model.plug_in()
    if spread <= 0:
        await asyncio.gather(*(sim.start() for sim in sims))
    else:
        for sim in sims:
            await sim.start(wait=False)
            await asyncio.sleep(spread / count)
        await asyncio.gather(*(sim.wait_connected(timeout=30) for sim in sims))
    _emit("booted")
    accepted_at: dict[str, float] = {}

    async def accepted(sim: Any) -> None:
        try:
            await sim.wait_accepted(timeout=accept_timeout)
        except TimeoutError:
            return
        accepted_at[sim.charge_point_id] = time.time()

    await asyncio.gather(*(accepted(sim) for sim in sims))
    _emit(
        "accepted",
        t=max(accepted_at.values(), default=time.time()),
        count=len(accepted_at),
        started=started,
    )
    # Run for ``run_seconds``, or until a line (or EOF) arrives on stdin.
    stop = asyncio.ensure_future(_stop_requested())
    try:
        await asyncio.wait([stop], timeout=run_seconds)
    finally:
        stop.cancel()
    # Connections before the fleet is stopped (stopping closes them all).
    links = {
        sim.charge_point_id: {"connects": sim.connects, "disconnects": sim.disconnects}
        for sim in sims
    }
    cpu_used = time.process_time() - cpu
    wall = time.time() - started
    await stop_fleet(sims)
    for session in sessions:
        await session.close()
    chargers = {
        sim.charge_point_id: {
            **links[sim.charge_point_id],
            "meter_values": sim.frames_sent["MeterValues"],
            "boots": sim.frames_sent["BootNotification"],
            "call_timeouts": sim.call_timeouts,
            "accepted_at": accepted_at.get(sim.charge_point_id),
        }
        for sim in sims
    }
    _emit("done", chargers=chargers, cpu_s=cpu_used, wall_s=wall, sent_at=sent_at)


async def _stop_requested() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    await reader.readline()


@dataclass(slots=True)
class SimulatorProcess:
    """The simulator process seen from Home Assistant's side."""

    process: asyncio.subprocess.Process
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        """Collect the JSON lines."""
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - started with a pipe
            return
        async for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self.events[str(message["event"])] = message
            self.arrived.set()
        self.arrived.set()

    async def stop(self) -> None:
        """Ask the chargers to stop now (they report ``done``)."""
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing() or self.process.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            stdin.write(b"stop\n")
            await stdin.drain()

    async def wait_for(self, event: str, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        """The first line of ``event``."""
        async with asyncio.timeout(timeout):
            while event not in self.events:
                if self.process.returncode is not None:
                    raise RuntimeError(
                        f"simulators exited ({self.process.returncode}) before {event}"
                    )
                self.arrived.clear()
                await self.arrived.wait()
        return self.events[event]


@asynccontextmanager
async def simulator_process(
    port: int,
    prefix: str,
    count: int,
    *,
    run_seconds: float,
    accept_timeout: float,
    spread: float = 0.0,
) -> AsyncIterator[SimulatorProcess]:
    """Start the chargers in their own Python process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ocpp_fleet",
        "--simulators-only",
        "--url",
        f"ws://127.0.0.1:{port}/ocpp",
        "--prefix",
        prefix,
        "--chargers",
        str(count),
        "--run-seconds",
        str(run_seconds),
        "--accept-timeout",
        str(accept_timeout),
        "--spread",
        str(spread),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # ``done`` carries every MeterValues send time on one line.
        limit=64 * 1024 * 1024,
    )
    sims = SimulatorProcess(process)
    reader = asyncio.create_task(sims.read())
    try:
        yield sims
        await sims.stop()
        await asyncio.wait_for(process.wait(), timeout=60)
        await reader
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        reader.cancel()


# --------------------------------------------------------------- listener


async def run_listener(url: str, token: str, *, coalesce: bool = True) -> None:
    """The external listener: follow ``state_changed`` like a dashboard does.

    JSON lines on stdout: ``ready`` once subscribed, then ``done`` (after a
    line on stdin) with every lifetime energy state it received and when.
    """
    received: list[tuple[str, str, float]] = []
    started, cpu = time.time(), time.process_time()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError("the listener was not let in")
        if coalesce:
            # What Home Assistant's frontend asks for first.
            await ws.send_json(
                {
                    "id": 1,
                    "type": "supported_features",
                    "features": {"coalesce_messages": 1},
                }
            )
            await ws.receive_json()
        await ws.send_json(
            {"id": 2, "type": "subscribe_events", "event_type": EVENT_STATE_CHANGED}
        )
        await ws.receive_json()
        _emit("ready")
        stop = asyncio.ensure_future(_stop_requested())
        while not stop.done():
            reader = asyncio.ensure_future(ws.receive())
            await asyncio.wait([reader, stop], return_when=asyncio.FIRST_COMPLETED)
            if not reader.done():
                reader.cancel()
                break
            message = reader.result()
            now = time.time()
            if message.type is not WSMsgType.TEXT:
                break
            decoded = json.loads(message.data)
            for item in decoded if isinstance(decoded, list) else [decoded]:
                data = item.get("event", {}).get("data", {})
                entity_id = str(data.get("entity_id", ""))
                new_state = data.get("new_state")
                if entity_id.endswith(ENERGY_SUFFIX) and new_state:
                    received.append((entity_id, str(new_state["state"]), now))
    _emit(
        "done",
        received=received,
        cpu_s=time.process_time() - cpu,
        wall_s=time.time() - started,
    )


async def _websocket_api(hass: HomeAssistant) -> tuple[int, str]:
    """Serve Home Assistant's websocket API on loopback; a token for it."""
    port = free_port()
    http = {"server_host": "127.0.0.1", "server_port": port}
    if not await async_setup_component(hass, "http", {"http": http}):
        raise RuntimeError("http did not set up")
    if not await async_setup_component(hass, "websocket_api", {}):
        raise RuntimeError("websocket_api did not set up")
    await hass.http.start()
    user = await hass.auth.async_create_user("benchmark", group_ids=["system-admin"])
    refresh = await hass.auth.async_create_refresh_token(
        user,
        client_name="benchmark listener",
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=1),
    )
    return port, hass.auth.async_create_access_token(refresh)


@asynccontextmanager
async def listener_process(port: int, token: str) -> AsyncIterator[SimulatorProcess]:
    """Start the external listener in its own Python process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ocpp_fleet",
        "--listener-only",
        "--url",
        f"ws://127.0.0.1:{port}/api/websocket",
        "--token",
        token,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )
    listener = SimulatorProcess(process)
    reader = asyncio.create_task(listener.read())
    try:
        await listener.wait_for("ready", timeout=30)
        yield listener
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        reader.cancel()


# --------------------------------------------------------------- probes


class _TimedReader:
    """aiohttp's websocket parser, noting when each text frame is complete."""

    def __init__(self, real: Callable[..., Any], queue: Any, *args: Any, **kw: Any):
        self._reader = real(queue, *args, **kw)
        self._buffer: deque[tuple[Any, int]] = queue._buffer  # noqa: SLF001
        self.arrivals: deque[float] = deque()

    def feed_data(self, data: bytes) -> Any:
        now = time.time()
        buffer = self._buffer
        before = len(buffer)
        result = self._reader.feed_data(data)
        self.arrivals.extend(
            now
            for message, _size in islice(buffer, before, None)
            if message.type is WSMsgType.TEXT
        )
        return result

    def feed_eof(self) -> None:
        self._reader.feed_eof()


@dataclass(slots=True)
class Probe:
    """What the instrumentation saw in Home Assistant's process."""

    frames: list[tuple[str, float, str]] = field(default_factory=list)
    """MeterValues CALLs: (charge point id, arrival, frame)."""
    untimed: int = 0
    """Frames whose arrival the parser wrapper missed (timed at routing)."""
    states: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    """Per charger: (state, written, delivered) of its lifetime energy sensor."""
    updates: dict[str, int] = field(default_factory=dict)
    """Per charger: coordinator listener calls."""
    outside: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    """Per charger: (state, received) as the external listener got them."""


@asynccontextmanager
async def instrumented(probe: Probe) -> AsyncIterator[None]:
    """Time frames on arrival; no production code is edited."""
    real_reader = aiohttp.web_ws.WebSocketReader  # type: ignore[attr-defined]
    route_message = OcppConnection.route_message

    def reader(queue: Any, *args: Any, **kw: Any) -> _TimedReader:
        return _TimedReader(real_reader, queue, *args, **kw)

    async def timed_route(self: OcppConnection, raw_msg: str) -> None:
        parser = getattr(self.transport.ws, "_parser", None)
        if isinstance(parser, _TimedReader) and parser.arrivals:
            arrival = parser.arrivals.popleft()
        else:
            arrival = time.time()
            probe.untimed += 1
        if '"MeterValues"' in raw_msg and raw_msg.lstrip().startswith("[2"):
            probe.frames.append((self.id, arrival, raw_msg))
        await route_message(self, raw_msg)

    with (
        patch.object(aiohttp.web_ws, "WebSocketReader", reader),
        patch.object(OcppConnection, "route_message", timed_route),
    ):
        yield


def _entry_data(port: int, charge_point_id: str) -> dict[str, Any]:
    return {
        CONF_PROTOCOL: PROTOCOL_OCPP,
        CONF_CHARGE_POINT_ID: charge_point_id,
        CONF_PORT: port,
        CONF_BIND_ADDRESS: "127.0.0.1",
        CONF_MAX_CURRENT: MAX_CURRENT,
        CONF_PASSWORD: password_for(charge_point_id),
    }


async def add_entries(
    hass: HomeAssistant, port: int, prefix: str, count: int
) -> list[ConfigEntry[Any]]:
    """One loaded config entry per accepted charger (not connected yet)."""
    entries: list[ConfigEntry[Any]] = []
    for number in range(1, count + 1):
        charge_point_id = f"{prefix}{number:03d}"
        entry: Any = _MockConfigEntry(
            domain=DOMAIN,
            title=charge_point_id,
            unique_id=charge_point_id,
            data=_entry_data(port, charge_point_id),
            # One MeterValues a second: below the options form's 5 s minimum.
            options={CONF_METER_INTERVAL: METER_INTERVAL},
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        entries.append(entry)
    await hass.async_block_till_done()
    for entry in entries:
        if entry.state is not ConfigEntryState.LOADED:
            raise RuntimeError(f"{entry.title} did not load: {entry.state}")
    return entries


def watch(
    hass: HomeAssistant, entries: Sequence[ConfigEntry[Any]], probe: Probe
) -> Callable[[], None]:
    """Record energy sensor states and coordinator updates; returns unsubscribe.

    The energy sensor only exists once its charger has reported energy, so
    state changes are watched by entity id, each looked up once.
    """
    registry = er.async_get(hass)
    charger_of = {
        entry.entry_id: str(entry.data[CONF_CHARGE_POINT_ID]) for entry in entries
    }
    energy: dict[str, str | None] = {}
    unsubscribes: list[Callable[[], None]] = []
    for entry in entries:
        charge_point_id = charger_of[entry.entry_id]
        probe.states[charge_point_id] = []
        probe.updates[charge_point_id] = 0

        def updated(charge_point_id: str = charge_point_id) -> None:
            probe.updates[charge_point_id] += 1

        unsubscribes.append(entry.runtime_data.coordinator.async_add_listener(updated))

    def charger_for(entity_id: str) -> str | None:
        if entity_id not in energy:
            item = registry.async_get(entity_id)
            energy[entity_id] = (
                charger_of.get(item.config_entry_id or "")
                if item is not None and item.translation_key == ENERGY_KEY
                else None
            )
        return energy[entity_id]

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        delivered = time.time()
        charge_point_id = charger_for(event.data["entity_id"])
        new = event.data["new_state"]
        if charge_point_id is not None and new is not None:
            probe.states[charge_point_id].append(
                (new.state, new.last_updated_timestamp, delivered)
            )

    unsubscribes.append(hass.bus.async_listen(EVENT_STATE_CHANGED, changed))

    def unsubscribe() -> None:
        for undo in unsubscribes:
            undo()

    return unsubscribe


# --------------------------------------------------------------- analysis


@dataclass(slots=True)
class Latency:
    """Frame arrival to the entity's state, in milliseconds."""

    delivered_ms: list[float] = field(default_factory=list)
    """Parser fed -> ``state_changed`` delivered to a listener."""
    written_ms: list[float] = field(default_factory=list)
    """Parser fed -> the state machine's ``last_updated``."""
    from_send_ms: list[float] = field(default_factory=list)
    """The charger's send (other process, same clock) -> delivered."""

    def summary(self, which: str = "delivered") -> dict[str, float | int]:
        """p50, p95, p99, max and count."""
        samples = sorted(
            {
                "delivered": self.delivered_ms,
                "written": self.written_ms,
                "from_send": self.from_send_ms,
            }[which]
        )
        if not samples:
            return {"count": 0}
        return {
            "count": len(samples),
            "p50": percentile(samples, 0.50),
            "p95": percentile(samples, 0.95),
            "p99": percentile(samples, 0.99),
            "max": samples[-1],
        }


@dataclass(slots=True)
class FrameAccount:
    """Where every MeterValues frame ended up."""

    sent: int = 0
    received: int = 0
    shown: int = 0
    unchanged: int = 0
    """Frames repeating the previous register value (no state change due)."""
    not_shown: int = 0
    coordinator_updates: int = 0
    window: Latency = field(default_factory=Latency)
    everything: Latency = field(default_factory=Latency)
    largest_burst: int = 0
    """Most frames arriving within 100 ms of each other (in the window)."""
    seen_outside: int = 0
    """Frames whose register value reached the external listener."""
    outside: Latency = field(default_factory=Latency)
    """In the window: arrival (and the charger's send) -> the external
    listener received the state (``delivered_ms``/``from_send_ms``)."""
    delivered_spans: list[tuple[float, float]] = field(default_factory=list)
    """In the window: (arrival, delivered to a listener on the bus)."""
    outside_spans: list[tuple[float, float]] = field(default_factory=list)
    """In the window: (arrival, received by the external listener)."""

    @property
    def lost(self) -> int:
        """Sent, but never shown by the energy sensor (and not a repeat)."""
        return self.sent - self.shown - self.unchanged

    @property
    def lost_outside(self) -> int:
        """Sent, but never received by the external listener (not a repeat)."""
        return self.sent - self.seen_outside - self.unchanged


def _register_wh(raw: str) -> float | None:
    try:
        payload = json.loads(raw)[3]
        for meter_value in payload.get("meterValue", []):
            for sample in meter_value.get("sampledValue", []):
                if sample.get("measurand") == ENERGY_REGISTER:
                    return float(sample["value"])
    except ValueError, TypeError, KeyError, IndexError:
        return None
    return None


def _wh(state: str) -> float | None:
    try:
        return round(float(state) * 1000, 1)
    except ValueError:
        return None


def account(
    probe: Probe,
    sent: dict[str, int],
    window: tuple[float, float],
    sent_at: dict[str, float],
) -> FrameAccount:
    """Match each frame to the state that shows its energy register."""
    result = FrameAccount(
        sent=sum(sent.values()),
        received=len(probe.frames),
        coordinator_updates=sum(probe.updates.values()),
    )
    shown_at: dict[str, dict[float, tuple[float, float]]] = {}
    for charge_point_id, states in probe.states.items():
        by_value: dict[float, tuple[float, float]] = {}
        for state, written, delivered in states:
            if (wh := _wh(state)) is not None:
                by_value.setdefault(wh, (written, delivered))
        shown_at[charge_point_id] = by_value
    outside_at: dict[str, dict[float, float]] = {}
    for charge_point_id, received in probe.outside.items():
        by_value_outside: dict[float, float] = {}
        for state, at in received:
            if (wh := _wh(state)) is not None:
                by_value_outside.setdefault(wh, at)
        outside_at[charge_point_id] = by_value_outside
    previous: dict[str, float | None] = {}
    arrivals: list[float] = []
    for charge_point_id, arrival, raw in probe.frames:
        if window[0] <= arrival <= window[1]:
            arrivals.append(arrival)
        register = _register_wh(raw)
        value = None if register is None else round(register, 1)
        seen = shown_at.get(charge_point_id, {}).get(value) if value else None
        outside = outside_at.get(charge_point_id, {}).get(value) if value else None
        if outside is not None:
            result.seen_outside += 1
            if window[0] <= arrival <= window[1]:
                result.outside.delivered_ms.append((outside - arrival) * 1000)
                result.outside_spans.append((arrival, outside))
                if (sent_time := sent_at.get(_unique_id(raw))) is not None:
                    result.outside.from_send_ms.append((outside - sent_time) * 1000)
        if seen is None:
            if value is not None and previous.get(charge_point_id) == value:
                result.unchanged += 1
            else:
                result.not_shown += 1
        else:
            result.shown += 1
            written, delivered = seen
            if window[0] <= arrival <= window[1]:
                result.delivered_spans.append((arrival, delivered))
            for latency in (
                (result.everything, result.window)
                if window[0] <= arrival <= window[1]
                else (result.everything,)
            ):
                latency.delivered_ms.append((delivered - arrival) * 1000)
                latency.written_ms.append((written - arrival) * 1000)
                if (sent_time := sent_at.get(_unique_id(raw))) is not None:
                    latency.from_send_ms.append((delivered - sent_time) * 1000)
        previous[charge_point_id] = value
    arrivals.sort()
    first = 0
    for last, arrival in enumerate(arrivals):
        while arrival - arrivals[first] > 0.1:
            first += 1
        result.largest_burst = max(result.largest_burst, last - first + 1)
    return result


def held_by_collections(
    spans: Sequence[tuple[float, float]],
    pauses: Sequence[tuple[float, int, float]],
    *,
    fraction: float = 0.01,
    shortest_ms: float = 10.0,
) -> tuple[int, int]:
    """Of the slowest ``fraction`` of frames, how many a collection held up.

    ``spans``: (arrival, state seen); ``pauses``: (wall time at the end,
    generation, ms). A frame was held up when a pause of at least
    ``shortest_ms`` fell between its arrival and its state being seen.
    Returns (slowest frames, of them held up).
    """
    if not spans:
        return 0, 0
    count = max(1, math.ceil(fraction * len(spans)))
    slowest = sorted(spans, key=lambda span: span[1] - span[0])[-count:]
    stalls = [(end - ms / 1000, end) for end, _gen, ms in pauses if ms >= shortest_ms]
    held = sum(
        1
        for arrival, seen in slowest
        if any(start < seen and end > arrival for start, end in stalls)
    )
    return count, held


def _unique_id(raw: str) -> str:
    try:
        return str(json.loads(raw)[1])
    except ValueError, IndexError:
        return ""


# --------------------------------------------------------------- the runs


@dataclass(slots=True)
class FleetResult:
    """The steady-load run."""

    chargers: int
    seconds: float
    frames: FrameAccount
    cpu_percent: float
    window_s: float
    rss_baseline: int
    rss_entries: int
    rss_running: int
    setup_s: float
    connect_s: float
    sim_cpu_percent: float
    disconnects: int
    untimed: int
    server_closes: int
    spread: float
    window_cpu_s: float
    gc_count: int
    gc_total_ms: float
    gc_longest_ms: float
    external: bool = False
    """An external listener followed every state change over the websocket."""
    listener_cpu_percent: float = 0.0
    tail: tuple[int, int] = (0, 0)
    """The slowest 1 % of the frames (the listener's when there is one), and
    how many of them a garbage collection of 10 ms or more held up."""

    @property
    def cpu_ms_per_frame(self) -> float:
        """Home Assistant CPU per MeterValues frame in the window."""
        frames = len(self.frames.window.delivered_ms)
        return 1000 * self.window_cpu_s / frames if frames else math.nan

    @property
    def bytes_per_charger(self) -> float:
        """RSS growth per charger: entries, entities, connection, state."""
        return (self.rss_running - self.rss_baseline) / self.chargers


async def fleet(
    chargers: int,
    seconds: float,
    warmup: float,
    *,
    spread: float = 0.0,
    external: bool = False,
    profile: Path | None = None,
) -> FleetResult:
    """``chargers`` accepted chargers sending MeterValues every second.

    ``external``: a separate process follows every state change over Home
    Assistant's websocket API meanwhile.
    """
    probe = Probe()
    port = free_port()
    collections = GcPauses()
    gc.callbacks.append(collections)
    async with (
        instrumented(probe),
        home_assistant() as hass,
        contextlib.AsyncExitStack() as stack,
    ):
        listener: SimulatorProcess | None = None
        if external:
            api_port, token = await _websocket_api(hass)
            listener = await stack.enter_async_context(
                listener_process(api_port, token)
            )
        # Everything imported and running, no charger yet.
        await _import_platforms()
        rss_baseline = rss_bytes()
        clock = time.perf_counter()
        entries = await add_entries(hass, port, FLEET_PREFIX, chargers)
        setup_s = time.perf_counter() - clock
        server = _server(hass, entries[0])
        closes_before = server.stats.closes
        unsubscribe = watch(hass, entries, probe)
        rss_entries = rss_bytes()
        try:
            async with simulator_process(
                port,
                FLEET_PREFIX,
                chargers,
                run_seconds=warmup + seconds + 30,
                accept_timeout=60,
                spread=spread,
            ) as sims:
                accepted = await sims.wait_for("accepted", timeout=120)
                if accepted["count"] != chargers:
                    raise RuntimeError(
                        f"only {accepted['count']} of {chargers} were accepted"
                    )
                connect_s = accepted["t"] - accepted["started"]
                await _sleep_until(accepted["t"] + warmup)
                profiler = cProfile.Profile() if profile is not None else None
                window_start, cpu_start = time.time(), cpu_seconds()
                if profiler is not None:
                    profiler.enable()
                await asyncio.sleep(seconds)
                if profiler is not None:
                    profiler.disable()
                window_end, cpu_end = time.time(), cpu_seconds()
                if profiler is not None and profile is not None:
                    profiler.dump_stats(profile)
                rss_running = rss_bytes()
                await sims.stop()
                done = await sims.wait_for("done", timeout=60)
            # Frames still in flight when the chargers stopped.
            await hass.async_block_till_done()
            await asyncio.sleep(0.5)
            listener_cpu = 0.0
            if listener is not None:
                await listener.stop()
                heard = await listener.wait_for("done", timeout=60)
                probe.outside = _by_charger(hass, entries, heard["received"])
                listener_cpu = 100 * float(heard["cpu_s"]) / float(heard["wall_s"])
        finally:
            unsubscribe()
            gc.callbacks.remove(collections)
        report = done["chargers"]
        pauses = collections.within((window_start, window_end))
        frames = account(
            probe,
            {cp: int(item["meter_values"]) for cp, item in report.items()},
            (window_start, window_end),
            {str(key): float(value) for key, value in done["sent_at"].items()},
        )
        tail = held_by_collections(
            frames.outside_spans if external else frames.delivered_spans,
            collections.pauses,
        )
        return FleetResult(
            chargers=chargers,
            seconds=seconds,
            frames=frames,
            cpu_percent=100 * (cpu_end - cpu_start) / (window_end - window_start),
            window_s=window_end - window_start,
            rss_baseline=rss_baseline,
            rss_entries=rss_entries,
            rss_running=rss_running,
            setup_s=setup_s,
            connect_s=connect_s,
            sim_cpu_percent=100 * float(done["cpu_s"]) / float(done["wall_s"]),
            disconnects=sum(int(item["disconnects"]) for item in report.values()),
            untimed=probe.untimed,
            server_closes=server.stats.closes - closes_before,
            spread=spread,
            window_cpu_s=cpu_end - cpu_start,
            gc_count=len(pauses),
            gc_total_ms=sum(ms for _, ms in pauses),
            gc_longest_ms=max((ms for _, ms in pauses), default=0.0),
            external=external,
            listener_cpu_percent=listener_cpu,
            tail=tail,
        )


def _by_charger(
    hass: HomeAssistant, entries: Sequence[ConfigEntry[Any]], received: list[Any]
) -> dict[str, list[tuple[str, float]]]:
    """The listener's states, by charge point id (through the registry)."""
    registry = er.async_get(hass)
    charger_of = {
        entry.entry_id: str(entry.data[CONF_CHARGE_POINT_ID]) for entry in entries
    }
    chargers: dict[str, str | None] = {}
    result: dict[str, list[tuple[str, float]]] = {}
    for entity_id, state, at in received:
        if entity_id not in chargers:
            item = registry.async_get(entity_id)
            chargers[entity_id] = (
                charger_of.get(item.config_entry_id or "") if item else None
            )
        if (charge_point_id := chargers[entity_id]) is not None:
            result.setdefault(charge_point_id, []).append((state, float(at)))
    return result


async def _import_platforms() -> None:
    """Import the integration's platforms before the memory baseline."""
    # Importing is what the first entry would do; it is not per charger.
    for platform_name in (
        "binary_sensor",
        "button",
        "number",
        "select",
        "sensor",
        "switch",
        "time",
        "config_flow",
    ):
        __import__(f"custom_components.evse_local.{platform_name}")
    await asyncio.sleep(0)


def _server(hass: HomeAssistant, entry: ConfigEntry[Any]) -> CentralSystem:
    server = running_server(hass, entry.data)
    if server is None:
        raise RuntimeError("no central system is running")
    return server


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


@dataclass(slots=True)
class DiscoveryResult:
    """Unknown chargers arriving together, each approved once."""

    known: int
    arriving: int
    flows: int
    approvals: int
    created: int
    accepted: int
    all_flows_s: float
    approving_s: float
    all_accepted_s: float | None
    server_closes: int
    server_connections: int
    disconnects_known: int
    disconnects_new: int
    boots_new: int


def _new_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if str(flow["context"].get("unique_id", "")).startswith(NEW_PREFIX)
    ]


async def discovery(known: int, arriving: int, settle: float) -> DiscoveryResult:
    """``arriving`` unknown chargers start at once next to ``known`` running ones.

    Each discovery flow is approved once, in the order Home Assistant lists
    them, with the password that charger presents; nothing is retried.
    """
    port = free_port()
    async with home_assistant() as hass, contextlib.AsyncExitStack() as stack:
        # The first entry starts the central system (its charger may be absent).
        entries = await add_entries(hass, port, KNOWN_PREFIX, max(known, 1))
        server = _server(hass, entries[0])
        home: SimulatorProcess | None = None
        if known:
            home = await stack.enter_async_context(
                simulator_process(
                    port, KNOWN_PREFIX, known, run_seconds=600, accept_timeout=60
                )
            )
            await home.wait_for("accepted", timeout=60)
        closes_before = server.stats.closes
        connections_before = server.stats.connections
        async with simulator_process(
            port, NEW_PREFIX, arriving, run_seconds=settle, accept_timeout=120
        ) as sims:
            started = float((await sims.wait_for("starting", timeout=30))["t"])
            async with asyncio.timeout(60):
                while len(_new_flows(hass)) < arriving:  # noqa: ASYNC110 - no event
                    await asyncio.sleep(0.01)
            all_flows_s = time.time() - started
            approvals = created = 0
            approved: set[str] = set()
            clock = time.perf_counter()
            for flow in _new_flows(hass):
                unique_id = str(flow["context"]["unique_id"])
                if unique_id in approved:
                    continue
                approved.add(unique_id)
                approvals += 1
                result = await hass.config_entries.flow.async_configure(
                    flow["flow_id"],
                    {
                        CONF_MAX_CURRENT: MAX_CURRENT,
                        CONF_PASSWORD: password_for(unique_id),
                    },
                )
                if result["type"] is FlowResultType.CREATE_ENTRY:
                    created += 1
            approving_s = time.perf_counter() - clock
            accepted = await sims.wait_for("accepted", timeout=150)
            done = await sims.wait_for("done", timeout=60)
            left_over = len(_new_flows(hass))
        await hass.async_block_till_done()
        closes = server.stats.closes - closes_before
        connections = server.stats.connections - connections_before
        known_report: dict[str, Any] = {}
        if home is not None:
            await home.stop()
            known_report = (await home.wait_for("done", timeout=60))["chargers"]
    report = done["chargers"]
    accepted_times = [
        float(item["accepted_at"])
        for item in report.values()
        if item["accepted_at"] is not None
    ]
    return DiscoveryResult(
        known=known,
        arriving=arriving,
        flows=approvals + left_over,
        approvals=approvals,
        created=created,
        accepted=int(accepted["count"]),
        all_flows_s=all_flows_s,
        approving_s=approving_s,
        all_accepted_s=(max(accepted_times) - started)
        if len(accepted_times) == arriving
        else None,
        server_closes=closes,
        server_connections=connections,
        disconnects_known=sum(
            int(item["disconnects"]) for item in known_report.values()
        ),
        disconnects_new=sum(int(item["disconnects"]) for item in report.values()),
        boots_new=sum(int(item["boots"]) for item in report.values()),
    )


# --------------------------------------------------------------- report


@dataclass(slots=True)
class Results:
    """Every run and where they ran."""

    fleet: FleetResult
    """In step, nothing following Home Assistant from outside."""
    fleet_outside: FleetResult | None
    """In step, with the external websocket listener."""
    staggered: FleetResult | None
    staggered_outside: FleetResult | None
    discovery: DiscoveryResult
    machine: dict[str, str]
    took_s: float


async def run(
    chargers: int = 100,
    seconds: float = 120,
    *,
    discovery_chargers: int = 100,
    known: int = 10,
    warmup: float = 3.0,
    spread: float = 1.0,
    listener: bool = True,
    profile: Path | None = None,
) -> Results:
    """Measure every claim (the smoke test calls this with small numbers).

    The fleet runs with all chargers started at once (their MeterValues
    arrive in one burst a second: the worst case, and the one that counts)
    and, with ``spread`` > 0, started over ``spread`` seconds (out of step,
    like real chargers); each without and (``listener``) with the external
    websocket listener. ``profile`` profiles the first run with the listener.
    """
    clock = time.perf_counter()
    fleet_result = await fleet(chargers, seconds, warmup)
    fleet_outside = (
        await fleet(chargers, seconds, warmup, external=True, profile=profile)
        if listener
        else None
    )
    staggered = staggered_outside = None
    if spread > 0:
        staggered = await fleet(chargers, seconds, warmup, spread=spread)
        if listener:
            staggered_outside = await fleet(
                chargers, seconds, warmup, spread=spread, external=True
            )
    discovery_result = await discovery(known, discovery_chargers, settle=2.0)
    return Results(
        fleet=fleet_result,
        fleet_outside=fleet_outside,
        staggered=staggered,
        staggered_outside=staggered_outside,
        discovery=discovery_result,
        machine=machine(),
        took_s=time.perf_counter() - clock,
    )


def machine() -> dict[str, str]:
    """CPU, Python and the versions that matter."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    found = {
        "CPUs": f"{os.cpu_count()} x {model}",
        "Python": platform.python_version(),
        "OS": platform.platform(),
    }
    for name in ("homeassistant", "aiohttp", "ocpp", "ulid-transform"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _ok(met: bool) -> str:
    return "yes" if met else "**no**"


def _latency_cell(summary: dict[str, float | int]) -> str:
    if not summary.get("count"):
        return "no samples"
    values = " / ".join(f"{summary[key]:.1f}" for key in ("p50", "p95", "p99", "max"))
    return f"{values} ms (n = {summary['count']})"


def _p99(summary: dict[str, float | int]) -> float:
    return float(summary.get("p99", math.inf))


def _pair(plain: str, outside: str | None) -> str:
    return f"{plain} | {outside if outside is not None else 'not run'}"


def _fleet_rows(
    plain: FleetResult, outside: FleetResult | None, label: str
) -> list[str]:
    """Rows without and with the external listener; met: with it (if run)."""
    judged = outside or plain
    lost = judged.frames.lost_outside if outside else plain.frames.lost
    arrival = (outside.frames.outside if outside else plain.frames.window).summary()
    send = (outside.frames.outside if outside else plain.frames.window).summary(
        "from_send"
    )
    plain_frames = plain.frames
    lost_cell = None
    if outside is not None:
        lost_cell = (
            f"{outside.frames.lost_outside} of {outside.frames.sent} "
            f"({outside.frames.seen_outside} received by the listener, "
            f"{outside.frames.shown} shown by the sensor)"
        )
    return [
        (
            f"| {label}: frames lost | 0 | "
            + _pair(
                f"{plain_frames.lost} of {plain_frames.sent} "
                f"({plain_frames.received} reached the central system, "
                f"{plain_frames.shown} shown by the energy sensor, "
                f"{plain_frames.unchanged} repeated a value)",
                lost_cell,
            )
            + f" | {_ok(lost == 0)} |"
        ),
        (
            f"| {label}: frame arrival → state, p50 / p95 / p99 / max "
            f"| p99 < {TARGET_P99_MS:g} ms | "
            + _pair(
                _latency_cell(plain_frames.window.summary()),
                _latency_cell(outside.frames.outside.summary()) if outside else None,
            )
            + f" | {_ok(_p99(arrival) < TARGET_P99_MS)} |"
        ),
        (
            f"| {label}: charger's send → state, p50 / p95 / p99 / max "
            f"| (p99 < {TARGET_P99_MS:g} ms) | "
            + _pair(
                _latency_cell(plain_frames.window.summary("from_send")),
                _latency_cell(outside.frames.outside.summary("from_send"))
                if outside
                else None,
            )
            + f" | {_ok(_p99(send) < TARGET_P99_MS)} |"
        ),
        (
            f"| {label}: Home Assistant CPU | < {TARGET_CPU_PERCENT:g} % of one core | "
            + _pair(
                f"{plain.cpu_percent:.1f} % ({plain.cpu_ms_per_frame:.2f} ms "
                "per MeterValues)",
                f"{outside.cpu_percent:.1f} % ({outside.cpu_ms_per_frame:.2f} ms "
                "per MeterValues)"
                if outside
                else None,
            )
            + f" | {_ok(judged.cpu_percent < TARGET_CPU_PERCENT)} |"
        ),
    ]


def markdown(results: Results) -> str:
    """The tables and how they were made."""
    f = results.fleet
    fo = results.fleet_outside
    g = results.staggered
    go = results.staggered_outside
    d = results.discovery
    mib = 1024 * 1024
    spread = " --spread 0" if g is None else f" --spread {g.spread:g}"
    listener = "" if fo is not None else " --no-listener"
    synchronised = "in step"
    rows = _fleet_rows(f, fo, synchronised)
    if g is not None:
        rows += _fleet_rows(g, go, "out of step")
    judged = fo or f
    rows.append(
        f"| Memory per charger (RSS, {synchronised} run) "
        f"| ≤ {TARGET_MB_PER_CHARGER:g} MB | "
        + _pair(
            f"{f.bytes_per_charger / 1e6:.2f} MB ({f.bytes_per_charger / mib:.2f} MiB)",
            f"{fo.bytes_per_charger / 1e6:.2f} MB "
            f"({fo.bytes_per_charger / mib:.2f} MiB)"
            if fo
            else None,
        )
        + f" | {_ok(judged.bytes_per_charger <= TARGET_MB_PER_CHARGER * 1e6)} |"
    )
    details = [
        (
            f"- **In step**: all {f.chargers} chargers started at once and were "
            f"accepted within {f.connect_s:.1f} s, so their meter clocks tick "
            f"together: up to {f.frames.largest_burst} MeterValues arrived within "
            "100 ms. Every frame waits for the ones ahead of it in the burst, so "
            "p99 ≈ burst x CPU per frame."
        ),
    ]
    if g is not None:
        details.append(
            f"- **Out of step**: the chargers connected one after the other over "
            f"{g.spread:g} s (as real chargers, booted at different times, "
            f"do): at most {g.frames.largest_burst} frames within 100 ms."
        )
    for name, run_result in (
        ("in step", f),
        ("in step, with the listener", fo),
        ("out of step", g),
        ("out of step, with the listener", go),
    ):
        if run_result is None:
            continue
        latency = run_result.frames
        outside_note = (
            f"listener process {run_result.listener_cpu_percent:.0f} % of a core; "
            if run_result.external
            else ""
        )
        details.append(
            f"- {name}: to the state machine's own `last_updated`: "
            f"{_latency_cell(latency.window.summary('written'))}; to a listener "
            f"on the bus: {_latency_cell(latency.window.summary())}; every frame, "
            f"connect phase included: {_latency_cell(latency.everything.summary())}; "
            f"coordinator updates {latency.coordinator_updates}; disconnections "
            f"{run_result.disconnects}; closes by the central system "
            f"{run_result.server_closes}; frames timed at routing instead of the "
            f"parser {run_result.untimed}; simulator process "
            f"{run_result.sim_cpu_percent:.0f} % of a core; {outside_note}"
            f"{run_result.gc_count} garbage collections in the window, "
            f"{run_result.gc_total_ms:.0f} ms in all, the longest "
            f"{run_result.gc_longest_ms:.0f} ms (the event loop stands still "
            f"meanwhile); of the slowest 1 % ({run_result.tail[0]} frames), "
            f"{run_result.tail[1]} waited on a collection of 10 ms or more."
        )
    details.append(
        f"- RSS ({'with' if fo else 'without'} the listener): "
        f"{judged.rss_baseline / mib:.1f} MiB with Home Assistant running and "
        f"the integration imported; {judged.rss_entries / mib:.1f} MiB with "
        f"{judged.chargers} entries set up but no charger connected "
        f"({(judged.rss_entries - judged.rss_baseline) / judged.chargers / 1024:.0f}"
        f" KiB each); {judged.rss_running / mib:.1f} MiB at the end of the window "
        f"({(judged.rss_running - judged.rss_entries) / judged.chargers / 1024:.0f}"
        " KiB more each: connection, station, entities, states)."
    )
    accepted = (
        f"{d.all_accepted_s:.1f} s" if d.all_accepted_s is not None else "not all"
    )
    closes_met = d.server_closes == 0 and d.disconnects_new + d.disconnects_known == 0
    lines = [
        "# OCPP fleet benchmark",
        "",
        (
            f"`python -m benchmarks.ocpp_fleet --chargers {f.chargers} --seconds "
            f"{f.seconds:g} --discovery {d.arriving} --known {d.known}{spread}"
            f"{listener}` (took {results.took_s:.0f} s)."
        ),
        "",
        f"## {f.chargers} chargers, MeterValues every second for {f.seconds:g} s",
        "",
        (
            "Side by side: Home Assistant alone, and with an external process "
            "following every `state_changed` over its websocket API (a "
            "dashboard); the targets are met with the listener."
        ),
        "",
        "| Figure | Target | Without listener | With the external listener | Met |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *details,
        "",
        (
            f"## {d.arriving} unknown chargers arriving together "
            f"({d.known} accepted chargers already running)"
        ),
        "",
        "| Figure | Target | Measured | Met |",
        "|---|---|---|---|",
        (
            f"| Approvals | {d.arriving} (one per charger) | {d.approvals} "
            f"({d.created} created an entry; {d.flows} flows shown) "
            f"| {_ok(d.approvals == d.arriving and d.created == d.arriving)} |"
        ),
        (
            f"| Chargers accepted | {d.arriving} | {d.accepted} "
            f"| {_ok(d.accepted == d.arriving)} |"
        ),
        (
            f"| Connections closed | 0 | {d.server_closes} by the central system; "
            f"the chargers saw {d.disconnects_new} (new) + {d.disconnects_known} "
            f"(already running) disconnections | {_ok(closes_met)} |"
        ),
        (
            f"| Reconnections | 0 | {d.server_connections - d.arriving} "
            f"({d.server_connections} websocket connections for {d.arriving} "
            f"chargers) | {_ok(d.server_connections == d.arriving)} |"
        ),
        (f"| Time until all accepted | - | {accepted} after the chargers started | |"),
        "",
        (
            f"Every discovery flow was there {d.all_flows_s:.1f} s after the "
            f"chargers started; the {d.approvals} approvals, one after the other "
            f"with no human delay, took {d.approving_s:.1f} s; the new chargers "
            f"made {d.server_connections} websocket connections and sent "
            f"{d.boots_new} BootNotifications (one answered Pending, one "
            "Accepted after the approval's TriggerMessage)."
        ),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in results.machine.items()),
        "",
        "## How each figure is measured",
        "",
        (
            "- **Chargers**: `simulators.ocpp_mq200` MQ 200s (real `ocpp` "
            "websocket clients, schema checks off, real-time clock, a car "
            "charging at 32 A), all in one separate process started by this "
            "module (`--simulators-only`) on the same machine. Home Assistant "
            "(phcc's test instance, as in `benchmarks/in_hass.py`; no recorder, "
            "no frontend) runs in the benchmark's process with one config entry "
            "per charger (accepted, own password) on a loopback port, each "
            "connecting from a loopback address of its own (127.0.x.y). Each "
            "entry's meter interval option is 1 s (set in the entry: the form's "
            "minimum is 5 s), so the chargers are configured to send "
            "MeterValues every second."
        ),
        (
            "- **Frames lost** = MeterValues the chargers sent (their own "
            "counters, read after they stopped) - frames whose energy register "
            "value became the state of that charger's lifetime energy sensor - "
            "frames repeating the previous value. Frames reaching the central "
            "system are counted apart (a loss on the wire would show there)."
        ),
        (
            "- **Frame arrival → entity state**: a frame is timed when aiohttp's "
            "websocket parser is fed the bytes that complete it "
            "(`aiohttp.web_ws.WebSocketReader` is wrapped at the benchmark "
            "level), the first moment Python sees it; it ends when the "
            "`state_changed` event showing that frame's register value reaches "
            "a listener on the bus. Only frames that arrived in the window "
            "count (the connect phase and a warm-up are left out). "
            "**Charger's send → entity state** starts instead when the "
            "simulator hands the frame to its socket (`time.time()` in the "
            "other process, same clock): it adds the time the bytes wait in "
            "the kernel while Home Assistant's event loop is busy, which the "
            "parser timestamp cannot see."
        ),
        (
            "- **With the external listener**: a third process (this module "
            "with `--listener-only`) connects to Home Assistant's websocket API "
            "(`http` and `websocket_api` set up on a loopback port, a "
            "long-lived access token), asks for `coalesce_messages` as the "
            "frontend does, and subscribes to every `state_changed`. A frame's "
            "latency then ends when that process receives the event showing "
            "its register value (`time.time()` there, same clock); a frame "
            "counts as lost when the listener never received its value. Home "
            "Assistant's CPU then includes serialising and sending every state "
            "change; the memory baseline is taken after the API is set up."
        ),
        (
            "- **CPU**: `getrusage(RUSAGE_SELF)` user + system time of the "
            "Home Assistant process (event loop and executor threads) over the "
            "window, divided by the window's wall time; per frame: that CPU "
            "time / MeterValues frames in the window. It includes the "
            "benchmark's instrumentation (a few appends per frame)."
        ),
        (
            "- **Memory per charger**: (VmRSS at the end of the window - VmRSS "
            "with Home Assistant running and the integration's modules "
            "imported, before any entry) / chargers: entries, devices, "
            "entities, states, coordinators, stations and websocket sessions."
        ),
        (
            "- **Discovery**: the unknown chargers start together in their own "
            "process against a central system already serving the known ones; "
            "every discovery flow is approved once with "
            "`hass.config_entries.flow.async_configure` (maximum current and "
            "the charger's password). Closes are the central system's counter "
            "(`stats.closes`) and the chargers' own disconnect counts, read "
            "before they are stopped; the time runs from the simulator "
            "process's start to the last BootNotification answered Accepted."
        ),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ocpp_fleet", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chargers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--discovery", type=int, default=100, help="unknown chargers arriving"
    )
    parser.add_argument(
        "--known", type=int, default=10, help="accepted chargers already running"
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=1.0,
        help="seconds over which the chargers of the second, out-of-step fleet "
        "run connect (0: skip that run)",
    )
    parser.add_argument(
        "--no-listener",
        action="store_true",
        help="skip the runs with the external websocket listener",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile the window of the first run with the listener into this file",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--no-write", action="store_true", help="print only, leave --output alone"
    )
    parser.add_argument(
        "--simulators-only", action="store_true", help=argparse.SUPPRESS
    )
    parser.add_argument("--listener-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default=FLEET_PREFIX, help=argparse.SUPPRESS)
    parser.add_argument("--run-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--accept-timeout", type=float, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, internally, the simulator process)."""
    args = build_parser().parse_args(argv)
    if args.listener_only:
        asyncio.run(run_listener(args.url, args.token))
        return 0
    if args.simulators_only:
        asyncio.run(
            run_simulators(
                args.url,
                args.prefix,
                args.chargers,
                run_seconds=args.run_seconds,
                accept_timeout=args.accept_timeout,
                spread=args.spread,
            )
        )
        return 0
    results = asyncio.run(
        run(
            chargers=args.chargers,
            seconds=args.seconds,
            discovery_chargers=args.discovery,
            known=args.known,
            warmup=args.warmup,
            spread=args.spread,
            listener=not args.no_listener,
            profile=args.profile,
        )
    )
    table = markdown(results)
    print(table)
    if not args.no_write:
        args.output.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
