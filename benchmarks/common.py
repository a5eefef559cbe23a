"""What every measurement shares: simulators, result records, small helpers."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from simulators import DeviceOptions, Simulator, start_simulator

from .wire import WireTap

KINDS = ("current", "legacy", "goplug")

# A fixed identity keeps serials, and so every byte count, stable between runs.
IDENTITY_SEED = 0xE5E

# EVSE Local's default poll interval (const.DEFAULT_SCAN_INTERVAL): between two
# polls the simulated charger moves on by this much.
POLL_STEP_SECONDS = 10.0

# ``current`` answers GET /override and GET /limit with 200 {} when there is
# none (what firmware HEAD does). With the OpenAPI spec's 404 instead,
# python-openevse-http cannot change the current at all (see
# reference.probe_compatibility), so both clients meet this variant.
CURRENT_OPTIONS = DeviceOptions(empty_as_404=False)


def sim_options(kind: str) -> DeviceOptions:
    """The simulator options every benchmark uses for ``kind``."""
    return CURRENT_OPTIONS if kind == "current" else DeviceOptions()


@asynccontextmanager
async def charging_sim(
    kind: str, options: DeviceOptions | None = None
) -> AsyncIterator[tuple[Simulator, WireTap]]:
    """A simulator with a car charging for a minute, behind a byte-counting relay."""
    async with start_simulator(
        kind,
        identity_seed=IDENTITY_SEED,
        options=sim_options(kind) if options is None else options,
    ) as sim:
        sim.model.plug_in()
        sim.advance(60)
        async with WireTap(sim.ip, sim.port) as tap:
            yield sim, tap


def http_requests(sim: Simulator) -> int:
    """HTTP requests the simulator answered since its counters were reset."""
    return sum(sim.requests.values())


def reset(sim: Simulator, tap: WireTap) -> None:
    """Zero the simulator's and the relay's counters."""
    sim.reset_counters()
    tap.reset()


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A measurement that cannot be made, and why.

    ``short`` is what the table shows (the reason goes to the notes);
    ``next_poll`` says the state only shows at the next scheduled poll, which
    fails a latency target by construction.
    """

    reason: str
    short: str = ""
    next_poll: bool = False


@dataclass(slots=True)
class Traffic:
    """What a client sent over a number of operations (polls, changes, ...)."""

    operations: int
    requests: int
    rapi_frames: int
    bytes_down: int
    bytes_up: int
    paths: dict[str, int]
    errors: int = 0
    first_error: str | None = None

    @property
    def requests_per_op(self) -> float:
        """HTTP requests per operation."""
        return self.requests / self.operations

    @property
    def frames_per_op(self) -> float:
        """RAPI frames per operation."""
        return self.rapi_frames / self.operations

    @property
    def bytes_down_per_op(self) -> float:
        """Bytes from the charger per operation (on the wire)."""
        return self.bytes_down / self.operations

    @property
    def bytes_up_per_op(self) -> float:
        """Bytes to the charger per operation (on the wire)."""
        return self.bytes_up / self.operations


def traffic(sim: Simulator, tap: WireTap, operations: int) -> Traffic:
    """Read the counters after ``operations`` operations."""
    return Traffic(
        operations=operations,
        requests=http_requests(sim),
        rapi_frames=len(sim.rapi_frames),
        bytes_down=tap.bytes_down,
        bytes_up=tap.bytes_up,
        paths=dict(sorted(sim.requests.items())),
    )


@dataclass(slots=True)
class Timing:
    """Repeated wall-clock samples of one operation, in milliseconds."""

    samples_ms: list[float] = field(default_factory=list)
    requests: int = 0
    failures: int = 0
    note: str = ""

    @property
    def median_ms(self) -> float:
        """Median sample."""
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        """95th percentile (nearest rank)."""
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def summary(self) -> dict[str, float | int | str]:
        """Median, p95 and counts, for the JSON file."""
        if not self.samples_ms:
            return {"samples": 0, "failures": self.failures, "note": self.note}
        return {
            "samples": len(self.samples_ms),
            "median_ms": round(self.median_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "max_ms": round(max(self.samples_ms), 3),
            "requests_per_sample": round(self.requests / len(self.samples_ms), 3),
            "failures": self.failures,
            "note": self.note,
        }


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    """Run ``action`` and return how long it took, in milliseconds."""
    start = time.perf_counter()
    await action()
    return (time.perf_counter() - start) * 1000


async def wait_until(
    condition: Callable[[], bool], within: float = 5.0, step: float = 0.0005
) -> None:
    """Wait (real time: loopback I/O) until ``condition`` holds.

    Polls: the states waited for (entity states, counters) have no event.
    """
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - nothing to wait on but state
            await asyncio.sleep(step)


async def settle(
    sim: Simulator,
    tap: WireTap,
    *,
    quiet_checks: int = 4,
    step: float = 0.002,
    within: float = 2.0,
) -> None:
    """Wait until nothing moves between client and simulator for a few steps.

    Used after each simulated step so that pushed frames, and whatever a
    client does because of them, are counted in that step.
    """

    def probe() -> tuple[int, int, int, int, int]:
        return (
            http_requests(sim),
            len(sim.rapi_frames),
            sim.ws_frames_sent,
            tap.bytes_down,
            tap.bytes_up,
        )

    async with asyncio.timeout(within):
        last = probe()
        quiet = 0
        while quiet < quiet_checks:
            await asyncio.sleep(step)
            now = probe()
            quiet = quiet + 1 if now == last else 0
            last = now


@dataclass(slots=True)
class PushWindow:
    """Traffic while a car charges for a while with push up (``current``).

    ``coordinator_updates`` counts the updates the client delivered (to a
    Home Assistant coordinator, or to the callback when measured alone).
    """

    simulated_minutes: float
    traffic: Traffic
    ws_frames: int
    coordinator_updates: int
    periodic_refreshes: int
    poll_interval_s: float | None

    @property
    def requests_per_minute(self) -> float:
        """HTTP requests per simulated minute."""
        return self.traffic.requests / self.simulated_minutes

    @property
    def frames_per_minute(self) -> float:
        """Websocket frames per simulated minute."""
        return self.ws_frames / self.simulated_minutes
