"""EVSE Local at the protocol level: what its coordinator makes the charger do.

The coordinator (custom_components/evse_local/coordinator.py) calls
``charger.poll()`` once per interval while push is down, nothing while push
is up, and after every command ``async_refresh()``, i.e. one more poll
(helpers.evse_command). These measurements call the same adapter methods
in the same order, without Home Assistant around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from custom_components.evse_local.protocols.charger import Charger
from custom_components.evse_local.protocols.detect import connect_charger
from custom_components.evse_local.protocols.errors import EvseError
from custom_components.evse_local.protocols.models import ChargerSnapshot

from .common import (
    POLL_STEP_SECONDS,
    PushWindow,
    Timing,
    Traffic,
    charging_sim,
    reset,
    settle,
    traffic,
)

# Alternate between two currents every kind's hardware allows (GoPlug: 32 A).
LATENCY_AMPS = (16, 20)
# 1000 changes cycle through every whole amp from 6 to 32 A.
EEPROM_AMPS = tuple(range(6, 33))
_MAX_POLLS = 20


@dataclass(slots=True)
class EvseLocalKind:
    """Everything measured on one charger kind."""

    kind: str
    setup: Traffic
    poll: Traffic
    pause: Timing
    max_current: Timing
    push_pause: Timing | None  # current only: command → pushed frame
    push_max_current: Timing | None
    eeprom: Traffic
    eeprom_writes: int
    notes: list[str] = field(default_factory=list)


async def _poll_until(
    charger: Charger, predicate: Callable[[ChargerSnapshot], bool]
) -> int:
    """Poll until ``predicate`` holds; return how many polls it took."""
    for polls in range(1, _MAX_POLLS + 1):
        if predicate(await charger.poll()):
            return polls
    raise RuntimeError(f"state not visible after {_MAX_POLLS} polls")


async def _command_then_refresh(
    charger: Charger,
    reps: int,
    command: Callable[[int], object],
    visible: Callable[[int, ChargerSnapshot], bool],
    prepare: Callable[[int], object] | None = None,
) -> Timing:
    """Time ``command(i)`` plus the refreshes until ``visible(i, snapshot)``."""
    timing = Timing(note="command, then one coordinator refresh (poll)")
    extra_polls = 0
    for i in range(reps):
        if prepare is not None:
            await _awaited(prepare(i))
        before = charger.requests
        start = time.perf_counter()
        await _awaited(command(i))
        polls = await _poll_until(charger, functools.partial(visible, i))
        timing.samples_ms.append((time.perf_counter() - start) * 1000)
        timing.requests += charger.requests - before
        extra_polls += polls - 1
    if extra_polls:
        timing.note += f"; {extra_polls} extra polls were needed"
    return timing


async def _awaited(result: object) -> None:
    if asyncio.iscoroutine(result):
        await result


async def _resume(charger: Charger) -> None:
    await charger.set_paused(False)
    await _poll_until(charger, lambda snap: not snap.paused)


async def _latencies(charger: Charger, reps: int) -> tuple[Timing, Timing]:
    pause = await _command_then_refresh(
        charger,
        reps,
        command=lambda _i: charger.set_paused(True),
        visible=lambda _i, snap: bool(snap.paused),
        prepare=lambda _i: _resume(charger),
    )
    await _resume(charger)
    current = await _command_then_refresh(
        charger,
        reps,
        command=lambda i: charger.set_max_current(LATENCY_AMPS[i % 2]),
        visible=lambda i, snap: snap.max_current == LATENCY_AMPS[i % 2],
    )
    return pause, current


def _max_current_is(amps: int) -> Callable[[ChargerSnapshot], bool]:
    return lambda snap: snap.max_current == amps


class _PushWatcher:
    """Keeps the latest pushed snapshot and wakes waiters on each one."""

    def __init__(self) -> None:
        self.latest: ChargerSnapshot | None = None
        self.updates = 0
        self._event = asyncio.Event()

    def __call__(self, snapshot: ChargerSnapshot) -> None:
        self.latest = snapshot
        self.updates += 1
        self._event.set()

    async def wait(
        self, predicate: Callable[[ChargerSnapshot], bool], within: float = 5.0
    ) -> None:
        async with asyncio.timeout(within):
            while self.latest is None or not predicate(self.latest):
                self._event.clear()
                await self._event.wait()


async def _push_latencies(charger: Charger, reps: int) -> tuple[Timing, Timing]:
    """Command, then the pushed frame that shows it (no poll at all)."""
    watcher = _PushWatcher()
    listener = asyncio.ensure_future(charger.listen(watcher))
    try:
        await watcher.wait(lambda _snap: True)
        pause = Timing(note="command, then the websocket frame that shows it")
        current = Timing(note="command, then the websocket frame that shows it")
        for _ in range(reps):
            await charger.set_paused(False)
            await watcher.wait(lambda snap: not snap.paused)
            before = charger.requests
            start = time.perf_counter()
            await charger.set_paused(True)
            await watcher.wait(lambda snap: bool(snap.paused))
            pause.samples_ms.append((time.perf_counter() - start) * 1000)
            pause.requests += charger.requests - before
        await charger.set_paused(False)
        await watcher.wait(lambda snap: not snap.paused)
        for i in range(reps):
            amps = LATENCY_AMPS[i % 2]
            before = charger.requests
            start = time.perf_counter()
            await charger.set_max_current(amps)
            await watcher.wait(_max_current_is(amps))
            current.samples_ms.append((time.perf_counter() - start) * 1000)
            current.requests += charger.requests - before
        return pause, current
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def push_alone(minutes: int) -> PushWindow:
    """``current``: ``listen()`` only, while the car charges for ``minutes``."""
    async with (
        aiohttp.ClientSession() as session,
        charging_sim("current") as (sim, tap),
    ):
        charger = await connect_charger(session, tap.host)
        await charger.poll()
        watcher = _PushWatcher()
        listener = asyncio.ensure_future(charger.listen(watcher))
        try:
            await watcher.wait(lambda _snap: True)
            await settle(sim, tap)
            reset(sim, tap)
            watcher.updates = 0
            steps = round(minutes * 60 / POLL_STEP_SECONDS)
            for _ in range(steps):
                sim.advance(POLL_STEP_SECONDS)
                await settle(sim, tap)
            await settle(sim, tap, quiet_checks=20)
            return PushWindow(
                simulated_minutes=minutes,
                traffic=traffic(sim, tap, steps),
                ws_frames=sim.ws_frames_sent,
                coordinator_updates=watcher.updates,
                periodic_refreshes=0,
                poll_interval_s=None,
            )
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def measure_kind(
    kind: str, *, polls: int, reps: int, changes: int
) -> EvseLocalKind:
    """Set up, poll, command and wear-test EVSE Local on one charger kind."""
    async with aiohttp.ClientSession() as session, charging_sim(kind) as (sim, tap):
        reset(sim, tap)
        charger = await connect_charger(session, tap.host)
        await charger.poll()  # the coordinator's first refresh
        setup = traffic(sim, tap, 1)

        reset(sim, tap)
        for _ in range(polls):
            sim.advance(POLL_STEP_SECONDS)
            await charger.poll()
        poll = traffic(sim, tap, polls)

        pause, max_current = await _latencies(charger, reps)
        push_pause: Timing | None = None
        push_max_current: Timing | None = None
        if kind == "current":
            await _resume(charger)
            push_pause, push_max_current = await _push_latencies(charger, reps)
            await settle(sim, tap)

        reset(sim, tap)
        errors = 0
        first_error: str | None = None
        for amps in itertools.islice(itertools.cycle(EEPROM_AMPS), changes):
            try:
                await charger.set_max_current(amps)
            except EvseError as err:
                errors += 1
                first_error = first_error or repr(err)
        eeprom = traffic(sim, tap, changes)
        eeprom.errors, eeprom.first_error = errors, first_error
        eeprom_writes = sim.model.eeprom_writes
        await charger.close()
    return EvseLocalKind(
        kind=kind,
        setup=setup,
        poll=poll,
        pause=pause,
        max_current=max_current,
        push_pause=push_pause,
        push_max_current=push_max_current,
        eeprom=eeprom,
        eeprom_writes=eeprom_writes,
    )
