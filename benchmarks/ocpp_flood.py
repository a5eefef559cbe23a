"""OCPP flood benchmark: strangers hammer the central system of a real Home Assistant.

``python -m benchmarks.ocpp_flood`` (defaults: 20 known MQ 200s charging,
60 s without and 60 s with the flood) prints a markdown table and writes it
to ``benchmarks/ocpp_flood.md``. A smoke run: ``--chargers 2 --seconds 5
--no-write``.

Method:

* Home Assistant (the harness of :mod:`benchmarks.in_hass`) runs here with
  one entry per known charger (meter interval 1 s), exactly as in
  :mod:`benchmarks.ocpp_fleet`; the known chargers run in their own process
  (:func:`benchmarks.ocpp_fleet.simulator_process`), each from a loopback
  address of its own, a car charging, MeterValues every second. Frame
  arrival -> ``state_changed`` latency is measured by the same
  instrumentation as the fleet benchmark.
* A window without the flood, then the same window with it. The flood runs
  in a third process (this module with ``--flood-only``), from
  :data:`ATTACKER_ADDRESSES` loopback addresses of its own, all four kinds
  at once for the whole window, each as fast as the central system lets it:
  charge point ids of 2,000 characters (raw upgrade requests), unknown ids
  that open a websocket, send a BootNotification and leave (a new id each
  time: announcements and discovery flows), 300 idle unknown-id websockets
  and 300 half-sent requests, each opened again 0.5 s after it was closed,
  refused or dropped.
* Every 0.25 s Home Assistant's side is sampled: discovery flows in
  progress, TCP connections open on the central system, unknown chargers
  waiting, chargers announced, RSS. After the flood the benchmark waits for
  the announcements to be withdrawn (``DISCOVERY_GRACE``) and counts the
  flows left.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant

from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.protocols.ocpp import CentralSystem
from custom_components.evse_local.protocols.ocpp.server import (
    DISCOVERY_GRACE,
    MAX_HANDSHAKES_PER_ADDRESS,
    MAX_PENDING,
    MAX_PENDING_PER_ADDRESS,
)

from .in_hass import home_assistant
from .ocpp_fleet import (
    ROOT,
    GcPauses,
    Latency,
    Probe,
    _import_platforms,
    _latency_cell,
    _ok,
    _p99,
    _server,
    _sleep_until,
    account,
    add_entries,
    cpu_seconds,
    free_port,
    instrumented,
    machine,
    rss_bytes,
    simulator_process,
    watch,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "ocpp_flood.md"
KNOWN_PREFIX = "KNOWN-"
ATTACKER_ADDRESSES = 4
"""The flood comes from this many loopback addresses (127.1.0.1 ...): idle
websockets from the first half, unknown chargers that boot from the other
(each half can hold its own places for unknown chargers), the rest from all."""
IDLE_SOCKETS = 300
HALF_SENT = 300
WORKERS = 8
REOPEN_DELAY = 0.5
"""Seconds before an idle or half-sent connection that ended is opened again."""
"""Concurrent senders of absurd ids, and of unknown ids that boot and leave."""
BOOT = '[2,"b","BootNotification",{"chargePointVendor":"X","chargePointModel":"Y"}]'
TARGET_P99_MS = 50.0


def attacker_address(number: int) -> str:
    """The flood's loopback address ``number`` (0 and up)."""
    return f"127.1.0.{1 + number % ATTACKER_ADDRESSES}"


def _upgrade(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: cs\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()


# --------------------------------------------------------------- the flood


@dataclass(slots=True)
class Flood:
    """What the flood process did (and what it was answered)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, what: str) -> None:
        self.counts[what] += 1


async def _absurd_ids(port: int, worker: int, until: float, flood: Flood) -> None:
    """Upgrade requests with 2,000-character ids, one after the other."""
    for number in itertools.count():
        if time.monotonic() >= until:
            return
        local = (attacker_address(worker + number), 0)
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=local
            )
        except OSError:
            flood.add("absurd: connect failed")
            continue
        writer.write(_upgrade(f"/ocpp/{worker}-{number}-" + "x" * 2000))
        try:
            reply = await asyncio.wait_for(reader.read(), 30)
            flood.add(f"absurd: HTTP {reply.split(b' ', 2)[1].decode()}")
        except OSError, TimeoutError, IndexError:
            flood.add("absurd: dropped")
        writer.close()


async def _unknown_ids(
    sessions: list[aiohttp.ClientSession],
    port: int,
    worker: int,
    until: float,
    flood: Flood,
) -> None:
    """Websockets with a new unknown id each: boot, get Pending, leave."""
    for number in itertools.count():
        if time.monotonic() >= until:
            return
        half = len(sessions) // 2
        session = sessions[half + (worker + number) % (len(sessions) - half)]
        try:
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{port}/ocpp/FLOOD-{worker}-{number:06d}",
                protocols=("ocpp1.6",),
            )
        except aiohttp.WSServerHandshakeError as refused:
            flood.add(f"unknown: HTTP {refused.status}")
            await asyncio.sleep(0.05)  # a refused stranger tries again at once
            continue
        except aiohttp.ClientError, OSError:
            flood.add("unknown: dropped")
            continue
        flood.add("unknown: HTTP 101")
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            await ws.send_str(BOOT)
            reply = await ws.receive_json(timeout=30)
            flood.add(f"unknown: boot {reply[2].get('status')}")
        await ws.close()


async def _idle_slot(
    session: aiohttp.ClientSession,
    port: int,
    slot: int,
    until: float,
    flood: Flood,
) -> None:
    """One idle unknown-id websocket, reopened whenever it ends."""
    for number in itertools.count():
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        try:
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{port}/ocpp/IDLE-{slot}-{number}",
                protocols=("ocpp1.6",),
            )
        except aiohttp.WSServerHandshakeError as refused:
            flood.add(f"idle: HTTP {refused.status}")
            await asyncio.sleep(REOPEN_DELAY)
            continue
        except aiohttp.ClientError, OSError:
            flood.add("idle: dropped")
            continue
        flood.add("idle: HTTP 101")
        with contextlib.suppress(TimeoutError):
            await ws.receive(timeout=remaining)  # silence until they hang up
            flood.add("idle: closed by the central system")
        await ws.close()
        await asyncio.sleep(REOPEN_DELAY)


async def _half_sent_slot(port: int, slot: int, until: float, flood: Flood) -> None:
    """One request that never ends, reopened whenever it is dropped."""
    for number in itertools.count():
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(attacker_address(slot), 0)
            )
        except OSError:
            flood.add("half-sent: connect failed")
            await asyncio.sleep(REOPEN_DELAY)
            continue
        writer.write(
            f"GET /ocpp/HALF-{slot}-{number} HTTP/1.1\r\nHost: cs\r\n".encode()
        )
        flood.add("half-sent: opened")
        try:
            await asyncio.wait_for(reader.read(), remaining)
            flood.add("half-sent: dropped by the central system")
        except OSError:
            flood.add("half-sent: dropped by the central system")
        except TimeoutError:
            pass
        writer.close()
        # Kept up, not a connection-rate flood (which no rule on the server
        # side avoids: each attempt costs an accept and an abort).
        await asyncio.sleep(REOPEN_DELAY)


async def run_flood(port: int, seconds: float) -> None:
    """The flood process: every kind at once for ``seconds``, then a report."""
    until = time.monotonic() + seconds
    flood = Flood()
    cpu = time.process_time()
    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                local_addr=(attacker_address(number), 0), limit=0
            )
        )
        for number in range(ATTACKER_ADDRESSES)
    ]
    print(json.dumps({"event": "flooding", "t": time.time()}), flush=True)
    try:
        await asyncio.gather(
            *(_absurd_ids(port, worker, until, flood) for worker in range(WORKERS)),
            *(
                _unknown_ids(sessions, port, worker, until, flood)
                for worker in range(WORKERS)
            ),
            *(
                _idle_slot(
                    sessions[slot % (len(sessions) // 2)], port, slot, until, flood
                )
                for slot in range(IDLE_SOCKETS)
            ),
            *(_half_sent_slot(port, slot, until, flood) for slot in range(HALF_SENT)),
        )
    finally:
        for session in sessions:
            await session.close()
    print(
        json.dumps(
            {
                "event": "done",
                "t": time.time(),
                "counts": dict(flood.counts),
                "cpu_s": time.process_time() - cpu,
            }
        ),
        flush=True,
    )


@asynccontextmanager
async def flood_process(port: int, seconds: float) -> AsyncIterator[dict[str, Any]]:
    """Run the flood in its own process; yields its report once it is done."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ocpp_flood",
        "--flood-only",
        "--port",
        str(port),
        "--seconds",
        str(seconds),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    report: dict[str, Any] = {}
    try:
        yield report
        stdout, _ = await asyncio.wait_for(process.communicate(), seconds + 120)
        for line in stdout.decode().splitlines():
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                report[str(message["event"])] = message
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --------------------------------------------------------------- Home Assistant


@dataclass(slots=True)
class Samples:
    """Home Assistant's side, sampled every 0.25 s."""

    flows: list[int] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)
    handshakes: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)


def _flows(hass: HomeAssistant) -> int:
    return len(hass.config_entries.flow.async_progress_by_handler(DOMAIN))


async def _sample(hass: HomeAssistant, server: CentralSystem, samples: Samples) -> None:
    while True:
        samples.flows.append(_flows(hass))
        samples.connections.append(server.open_connections)
        samples.handshakes.append(server.handshakes)
        samples.pending.append(len(server.pending_chargers()))
        samples.announced.append(len(server.announced))
        samples.rss.append(rss_bytes())
        await asyncio.sleep(0.25)


@dataclass(slots=True)
class FloodResult:
    """Both windows and the flood's account."""

    chargers: int
    seconds: float
    calm: Latency
    flooded: Latency
    lost: int
    sent: int
    disconnects: int
    calm_cpu_percent: float
    flood_cpu_percent: float
    rss_calm: int
    samples: Samples
    rss_after: int
    flows_at_end: int
    flows_after: int
    after_s: float
    stats: dict[str, int]
    counts: dict[str, int]
    attacker_cpu_percent: float
    gc_longest_ms: float


async def flood(chargers: int, seconds: float, warmup: float) -> FloodResult:
    """Known chargers charging; a calm window, then a flooded one."""
    probe = Probe()
    port = free_port()
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    async with instrumented(probe), home_assistant() as hass:
        await _import_platforms()
        entries = await add_entries(hass, port, KNOWN_PREFIX, chargers)
        server = _server(hass, entries[0])
        unsubscribe = watch(hass, entries, probe)
        samples = Samples()
        try:
            async with simulator_process(
                port,
                KNOWN_PREFIX,
                chargers,
                run_seconds=warmup + 3 * seconds + DISCOVERY_GRACE + 120,
                accept_timeout=60,
            ) as sims:
                accepted = await sims.wait_for("accepted", timeout=120)
                if accepted["count"] != chargers:
                    raise RuntimeError(f"only {accepted['count']} were accepted")
                await _sleep_until(accepted["t"] + warmup)
                calm = (time.time(), cpu_seconds())
                await asyncio.sleep(seconds)
                calm_end = (time.time(), cpu_seconds())
                rss_calm = rss_bytes()
                stats_before = asdict(server.stats)
                sampler = asyncio.create_task(_sample(hass, server, samples))
                async with flood_process(port, seconds) as report:
                    await asyncio.sleep(seconds)
                flood_end = (time.time(), cpu_seconds())
                flows_at_end = _flows(hass)
                sampler.cancel()
                stats = {
                    key: value - stats_before.get(key, 0)
                    for key, value in asdict(server.stats).items()
                }
                # The strangers left: their announcements end after the grace.
                clock = time.monotonic()
                deadline = clock + DISCOVERY_GRACE + 30
                while _flows(hass) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.25)
                after_s = time.monotonic() - clock
                flows_after = _flows(hass)
                gc.collect()
                rss_after = rss_bytes()
                await sims.stop()
                done = await sims.wait_for("done", timeout=60)
            await hass.async_block_till_done()
        finally:
            unsubscribe()
            gc.callbacks.remove(pauses)
    sent = {cp: int(item["meter_values"]) for cp, item in done["chargers"].items()}
    sent_at = {str(k): float(v) for k, v in done["sent_at"].items()}
    calm_frames = account(probe, sent, (calm[0], calm_end[0]), sent_at)
    flood_frames = account(probe, sent, (calm_end[0], flood_end[0]), sent_at)
    flood_done = report.get("done", {})
    return FloodResult(
        chargers=chargers,
        seconds=seconds,
        calm=calm_frames.window,
        flooded=flood_frames.window,
        lost=calm_frames.lost,
        sent=calm_frames.sent,
        disconnects=sum(int(item["disconnects"]) for item in done["chargers"].values()),
        calm_cpu_percent=100 * (calm_end[1] - calm[1]) / (calm_end[0] - calm[0]),
        flood_cpu_percent=100
        * (flood_end[1] - calm_end[1])
        / (flood_end[0] - calm_end[0]),
        rss_calm=rss_calm,
        samples=samples,
        rss_after=rss_after,
        flows_at_end=flows_at_end,
        flows_after=flows_after,
        after_s=after_s,
        stats=stats,
        counts={str(k): int(v) for k, v in flood_done.get("counts", {}).items()},
        attacker_cpu_percent=100 * float(flood_done.get("cpu_s", 0.0)) / seconds,
        gc_longest_ms=max(
            (ms for _, ms in pauses.within((calm_end[0], flood_end[0]))), default=0.0
        ),
    )


# --------------------------------------------------------------- report


def markdown(result: FloodResult, took_s: float) -> str:
    """The table and how it was made."""
    r = result
    mib = 1024 * 1024
    s = r.samples
    counts = r.counts

    def total(prefix: str) -> int:
        return sum(value for key, value in counts.items() if key.startswith(prefix))

    growth = (max(s.rss, default=r.rss_calm) - r.rss_calm) / mib
    calm, flooded = r.calm.summary(), r.flooded.summary()
    handshakes_bound = ATTACKER_ADDRESSES * MAX_HANDSHAKES_PER_ADDRESS
    unknown_bound = min(MAX_PENDING, ATTACKER_ADDRESSES * MAX_PENDING_PER_ADDRESS)
    rows = [
        "| Figure | Target | Measured | Met |",
        "|---|---|---|---|",
        (
            f"| Discovery flows: most at once during the flood / when it stopped / "
            f"{r.after_s:.0f} s later | ≤ {MAX_PENDING} / - / 0 | "
            f"{max(s.flows, default=0)} / {r.flows_at_end} / {r.flows_after} | "
            f"{_ok(max(s.flows, default=0) <= MAX_PENDING and r.flows_after == 0)} |"
        ),
        (
            f"| Connections still sending their request, most at once | "
            f"≤ {handshakes_bound} ({ATTACKER_ADDRESSES} addresses x "
            f"{MAX_HANDSHAKES_PER_ADDRESS}) | {max(s.handshakes, default=0)} | "
            f"{_ok(max(s.handshakes, default=0) <= handshakes_bound)} |"
        ),
        (
            f"| Unknown chargers let in to wait / announced, most at once | "
            f"≤ {unknown_bound} / ≤ {MAX_PENDING} | {max(s.pending, default=0)} / "
            f"{max(s.announced, default=0)} | "
            f"{_ok(max(s.pending, default=0) <= unknown_bound)} |"
        ),
        (
            f"| TCP connections open, most at once: {r.chargers} known, the two "
            f"rows above, and refused requests being answered at that instant "
            f"| - | {max(s.connections, default=0)} | |"
        ),
        (
            f"| Home Assistant RSS: growth during the flood / after it | bounded | "
            f"+{growth:.1f} MiB / {(r.rss_after - r.rss_calm) / mib:+.1f} MiB "
            f"({r.rss_calm / mib:.0f} MiB before) | "
            f"{_ok(growth < 100)} |"
        ),
        (
            f"| Known chargers: frame arrival → entity state, p50 / p95 / p99 / max, "
            f"without the flood | p99 < {TARGET_P99_MS:g} ms | {_latency_cell(calm)} "
            f"| {_ok(_p99(calm) < TARGET_P99_MS)} |"
        ),
        (
            f"| … during the flood | p99 < {TARGET_P99_MS:g} ms | "
            f"{_latency_cell(flooded)} | {_ok(_p99(flooded) < TARGET_P99_MS)} |"
        ),
        (
            f"| Known chargers: frames lost / disconnections | 0 / 0 | "
            f"{r.lost} of {r.sent} / {r.disconnects} | "
            f"{_ok(r.lost == 0 and r.disconnects == 0)} |"
        ),
        (
            f"| Home Assistant CPU without / with the flood | - | "
            f"{r.calm_cpu_percent:.0f} % / {r.flood_cpu_percent:.0f} % of one core | |"
        ),
    ]
    stats = r.stats
    lines = [
        "# OCPP flood benchmark",
        "",
        (
            f"`python -m benchmarks.ocpp_flood --chargers {r.chargers} --seconds "
            f"{r.seconds:g}` (took {took_s:.0f} s)."
        ),
        "",
        (
            f"## {r.chargers} known chargers charging, {r.seconds:g} s calm, "
            f"then {r.seconds:g} s of flood"
        ),
        "",
        *rows,
        "",
        (
            f"- **The flood** ({ATTACKER_ADDRESSES} addresses, its own process, "
            f"{r.attacker_cpu_percent:.0f} % of a core): "
            f"{total('absurd: HTTP')} upgrade requests with 2,000-character ids "
            f"({counts.get('absurd: HTTP 400', 0)} answered HTTP 400); "
            f"{counts.get('unknown: HTTP 101', 0)} unknown ids let in to boot "
            f"and leave ({counts.get('unknown: HTTP 429', 0)} refused with HTTP "
            f"429, {counts.get('unknown: HTTP 503', 0)} with 503); "
            f"{IDLE_SOCKETS} idle websockets kept up: "
            f"{counts.get('idle: HTTP 101', 0)} opened, "
            f"{counts.get('idle: closed by the central system', 0)} closed by the "
            f"central system for silence, {total('idle: HTTP 4') + total('idle: HTTP 5')} "
            f"refused; {HALF_SENT} half-sent requests kept up: "
            f"{counts.get('half-sent: opened', 0)} opened, "
            f"{counts.get('half-sent: dropped by the central system', 0)} dropped."
        ),
        (
            f"- **The central system's counters** during the flood: "
            f"{stats.get('refused', 0)} unknown ids refused before the upgrade, "
            f"{stats.get('handshakes_dropped', 0)} handshakes dropped (the oldest "
            f"over an address's {MAX_HANDSHAKES_PER_ADDRESS}), "
            f"{stats.get('handshakes_timed_out', 0)} timed out, "
            f"{stats.get('connections', 0)} websockets accepted, "
            f"{stats.get('closes', 0)} closed by the central system."
        ),
        (
            "- **The issue's figures** (before these limits): 3,000 unknown ids "
            "made 3,000 discovery flows in 103 s, each costlier than the last, "
            "never expiring; 300 idle websockets and 300 half-sent requests were "
            "all still open after 90 s."
        ),
        (
            f"- The longest garbage collection during the flood: "
            f"{r.gc_longest_ms:.0f} ms. Known chargers' send → state, p99: "
            f"{_p99(r.calm.summary('from_send')):.1f} ms calm, "
            f"{_p99(r.flooded.summary('from_send')):.1f} ms flooded."
        ),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine().items()),
        "",
        "## How each figure is measured",
        "",
        (
            "See the module docstring of `benchmarks/ocpp_flood.py`; latency, "
            "frames lost, CPU and RSS as in `benchmarks/ocpp_fleet.md`. Everything "
            "runs on one machine: the flood process takes CPU from Home Assistant."
        ),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ocpp_flood", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chargers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--no-write", action="store_true", help="print only, leave --output alone"
    )
    parser.add_argument("--flood-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, internally, the flood process)."""
    args = build_parser().parse_args(argv)
    if args.flood_only:
        asyncio.run(run_flood(args.port, args.seconds))
        return 0
    clock = time.perf_counter()
    result = asyncio.run(flood(args.chargers, args.seconds, args.warmup))
    table = markdown(result, time.perf_counter() - clock)
    print(table)
    if not args.no_write:
        args.output.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
