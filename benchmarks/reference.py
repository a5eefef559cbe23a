"""python-openevse-http (``openevsehttp``), driven as its integrations drive it.

Both Home Assistant integrations built on it (core ``openevse`` and the HACS
``firstof9/openevse``) poll with ``OpenEVSE(host).update()`` and start its
websocket listener (``ws_start()``) once set up. Neither refreshes after a
command: new state arrives with the next websocket message or poll.

Core ``openevse`` (the one shipped with Home Assistant 2026.10) sets things as
follows: pause is the ``override_state`` select (``set_override(state=...)``,
``clear_override()`` for auto), the ``charge_rate`` number calls
``set_current(amps)``, and on firmware before 4.0.1 the ``manual_override``
switch calls ``toggle_override()``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from openevsehttp.__main__ import OpenEVSE

from simulators import DeviceOptions, Simulator

from .common import (
    POLL_STEP_SECONDS,
    PushWindow,
    Timing,
    Traffic,
    Unavailable,
    charging_sim,
    http_requests,
    reset,
    settle,
    traffic,
)
from .evse_local import EEPROM_AMPS, LATENCY_AMPS

# Core openevse: SCAN_INTERVAL = 5 min, websocket or not.
CORE_POLL_SECONDS = 300
# HACS firstof9/openevse: interval = 60 s.
HACS_POLL_SECONDS = 60


@dataclass(slots=True)
class ReferenceKind:
    """Everything measured with python-openevse-http on one charger kind."""

    kind: str
    poll: Traffic | Unavailable
    pause: Timing | Unavailable
    max_current: Timing | Unavailable
    eeprom: Traffic | Unavailable
    eeprom_writes: int | None
    notes: list[str] = field(default_factory=list)


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


async def _eeprom_run(charger: OpenEVSE, changes: int) -> tuple[int, str | None]:
    errors = 0
    first_error: str | None = None
    for amps in itertools.islice(itertools.cycle(EEPROM_AMPS), changes):
        try:
            await charger.set_current(amps)
        except Exception as err:  # noqa: BLE001 - counted and reported
            errors += 1
            first_error = first_error or _describe(err)
    return errors, first_error


class _Messages:
    """Counts websocket callbacks and wakes waiters on each one."""

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    async def wait(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._event.clear()
                await self._event.wait()


def _pilot_is(charger: OpenEVSE, amps: int) -> Callable[[], bool]:
    return lambda: charger.current_capacity == amps


def _paused(charger: OpenEVSE) -> bool:
    return charger.state in ("sleeping", "disabled")


async def _push_latencies(
    charger: OpenEVSE, sim: Simulator, reps: int
) -> tuple[Timing, Timing]:
    """``current``: command, then the websocket message that shows it.

    A message carrying a ``*_version`` field makes the library ``await
    update()`` (GET /config while the websocket is up) before it merges the
    message, so that request is inside the measured time.
    """
    messages = _Messages()
    charger.callback = messages
    await charger.ws_start()
    try:
        await messages.wait(lambda: messages.count > 0)
        pause = Timing(
            note="select override_state=disabled: set_override (GET+POST "
            "/override), then the websocket message that shows it"
        )
        for _ in range(reps):
            before = http_requests(sim)
            start = time.perf_counter()
            await charger.set_override(state="disabled")
            await messages.wait(lambda: _paused(charger))
            pause.samples_ms.append((time.perf_counter() - start) * 1000)
            pause.requests += http_requests(sim) - before
            # Back to auto (select "auto"), untimed.
            await charger.clear_override()
            await messages.wait(lambda: not _paused(charger))
        current = Timing(
            note="number charge_rate: set_current (GET+POST /override), then "
            "the websocket message whose pilot shows it (the number entity "
            "itself shows max_current_soft, which an override never changes)"
        )
        for i in range(reps):
            amps = LATENCY_AMPS[i % 2]
            before = http_requests(sim)
            start = time.perf_counter()
            await charger.set_current(amps)
            await messages.wait(_pilot_is(charger, amps))
            current.samples_ms.append((time.perf_counter() - start) * 1000)
            current.requests += http_requests(sim) - before
        return pause, current
    finally:
        await charger.ws_disconnect()


async def _legacy_staleness(charger: OpenEVSE) -> tuple[Unavailable, Unavailable]:
    """``legacy``: no websocket, no refresh after a command: next poll."""
    await charger.update()
    before = charger.state
    await charger.toggle_override()  # $FS while charging
    stale_pause = charger.state == before
    await charger.update()
    after_poll = charger.state
    await charger.toggle_override()  # back to charging
    await charger.update()
    pilot = charger.current_capacity
    amps = LATENCY_AMPS[0] if pilot != LATENCY_AMPS[0] else LATENCY_AMPS[1]
    await charger.set_current(amps)
    stale_current = charger.current_capacity == pilot
    short = (
        f"≤ {CORE_POLL_SECONDS} s: shows at the next poll (no websocket on this "
        "firmware, no refresh after a command)"
    )
    reason = (
        "python-openevse-http on legacy: after toggle_override() ($FS) its "
        f"cached state was {'still the old one' if stale_pause else 'updated'} "
        f"and after the next update() {after_poll!r}; after set_current() ($SC) "
        f"its cached pilot was {'still the old one' if stale_current else 'updated'}"
    )
    return (
        Unavailable(reason, short, next_poll=True),
        Unavailable(reason, short, next_poll=True),
    )


async def push_alone(minutes: int) -> PushWindow:
    """``current``: ``ws_start()`` only, while the car charges for ``minutes``.

    No coordinator and no periodic poll: what the library itself requests
    because of pushed messages.
    """
    async with (
        aiohttp.ClientSession() as session,
        charging_sim("current") as (sim, tap),
    ):
        charger = OpenEVSE(tap.host, session=session)
        await charger.update()
        messages = _Messages()
        charger.callback = messages
        await charger.ws_start()
        try:
            await messages.wait(lambda: messages.count > 0)
            await settle(sim, tap)
            reset(sim, tap)
            messages.count = 0
            steps = round(minutes * 60 / POLL_STEP_SECONDS)
            for _ in range(steps):
                sim.advance(POLL_STEP_SECONDS)
                await settle(sim, tap)
            await settle(sim, tap, quiet_checks=20)
            return PushWindow(
                simulated_minutes=minutes,
                traffic=traffic(sim, tap, steps),
                ws_frames=sim.ws_frames_sent,
                coordinator_updates=messages.count,
                periodic_refreshes=0,
                poll_interval_s=None,
            )
        finally:
            await charger.ws_disconnect()


async def measure_kind(
    kind: str, *, polls: int, reps: int, changes: int
) -> ReferenceKind:
    """Poll, command and wear-test python-openevse-http on one charger kind."""
    if kind == "goplug":
        return await _goplug()
    notes: list[str] = []
    async with aiohttp.ClientSession() as session, charging_sim(kind) as (sim, tap):
        charger = OpenEVSE(tap.host, session=session)
        await charger.update()  # first refresh

        reset(sim, tap)
        for _ in range(polls):
            sim.advance(POLL_STEP_SECONDS)
            await charger.update()
        poll = traffic(sim, tap, polls)

        pause: Timing | Unavailable
        max_current: Timing | Unavailable
        if kind == "current":
            pause, max_current = await _push_latencies(charger, sim, reps)
            await settle(sim, tap)
            await charger.clear_override()
        else:
            pause, max_current = await _legacy_staleness(charger)

        reset(sim, tap)
        errors, first_error = await _eeprom_run(charger, changes)
        eeprom = traffic(sim, tap, changes)
        eeprom.errors, eeprom.first_error = errors, first_error
        eeprom_writes = sim.model.eeprom_writes
    return ReferenceKind(
        kind=kind,
        poll=poll,
        pause=pause,
        max_current=max_current,
        eeprom=eeprom,
        eeprom_writes=eeprom_writes,
        notes=notes,
    )


async def _goplug() -> ReferenceKind:
    """GoPlug: the library is JSON-only; record what update() does there."""
    async with aiohttp.ClientSession() as session, charging_sim("goplug") as (sim, tap):
        charger = OpenEVSE(tap.host, session=session)
        reset(sim, tap)
        try:
            await charger.update()
            outcome = f"update() returned without error, state {charger.state!r}"
        except Exception as err:  # noqa: BLE001 - reported
            outcome = f"update() raised {_describe(err)}"
        paths = ", ".join(
            f"{path} x{count}" for path, count in sorted(sim.requests.items())
        )
    reason = (
        "GoPlug (RAPI only): python-openevse-http needs /status and /config, "
        f"both 404 here ({outcome}; requests: {paths}); its RAPI commands pick "
        "their form from the /config firmware version"
    )
    na = Unavailable(reason, short="n/a: RAPI-only charger (no /status, /config)")
    return ReferenceKind(
        kind="goplug", poll=na, pause=na, max_current=na, eeprom=na, eeprom_writes=None
    )


@dataclass(slots=True)
class Compatibility:
    """What python-openevse-http does on the simulators' default variants."""

    findings: dict[str, str]


async def probe_compatibility() -> Compatibility:
    """Try the core integration's commands on the unmodified simulators."""
    findings: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        async with charging_sim("current", DeviceOptions()) as (sim, tap):
            charger = OpenEVSE(tap.host, session=session)
            await charger.update()
            for name, action in (
                ("set_current(16)", lambda: charger.set_current(16)),
                (
                    "set_override(state='disabled')",
                    lambda: charger.set_override(state="disabled"),
                ),
            ):
                reset(sim, tap)
                try:
                    await action()
                    findings[f"current (404 when no override): {name}"] = "ok"
                except Exception as err:  # noqa: BLE001 - reported
                    findings[f"current (404 when no override): {name}"] = (
                        f"fails: {_describe(err)} after "
                        + ", ".join(f"GET {p}" for p in sim.requests)
                    )
        async with charging_sim("legacy") as (sim, tap):
            charger = OpenEVSE(tap.host, session=session)
            await charger.update()
            for name, action in (
                ("set_current(16)", lambda: charger.set_current(16)),
                ("toggle_override()", charger.toggle_override),
            ):
                reset(sim, tap)
                try:
                    await action()
                    findings[f"legacy: {name}"] = "ok"
                except Exception as err:  # noqa: BLE001 - reported
                    findings[f"legacy: {name}"] = f"fails: {_describe(err)}"
    return Compatibility(findings)
