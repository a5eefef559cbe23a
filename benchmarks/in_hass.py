"""Both integrations inside a real Home Assistant, against the simulators.

Home Assistant 2026.10 is started the way pytest-homeassistant-custom-component
starts it for tests (its ``async_test_home_assistant``, outside pytest), with
this repository's ``evse_local`` and Home Assistant's own ``openevse``
integration (python-openevse-http) set up from config entries. Actions go
through the service registry with ``blocking=True`` and latency is measured
until the entity's state, as the frontend sees it, shows the change.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from aiohttp.resolver import ThreadedResolver
from homeassistant import loader
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

import custom_components.evse_local  # noqa: F401 - found before the loader looks
from simulators import Simulator

from .common import (
    POLL_STEP_SECONDS,
    PushWindow,
    Timing,
    Traffic,
    Unavailable,
    charging_sim,
    reset,
    settle,
    traffic,
    wait_until,
)
from .evse_local import LATENCY_AMPS
from .wire import WireTap

EVSE_LOCAL = "evse_local"
OPENEVSE = "openevse"

# phcc ships no type information: reach its helpers through importlib so that
# mypy --strict sees them as Any instead of failing on the import.
_PHCC = importlib.import_module("pytest_homeassistant_custom_component.common")
_test_home_assistant: Callable[..., AbstractAsyncContextManager[HomeAssistant]] = (
    _PHCC.async_test_home_assistant
)
_MockConfigEntry: Callable[..., Any] = _PHCC.MockConfigEntry


class _Resolver(ThreadedResolver):
    """The system resolver; Home Assistant closes it with ``real_close``."""

    async def real_close(self) -> None:
        """Close like ``close``."""
        await self.close()


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """A running Home Assistant that loads this repository's integration."""
    with (
        tempfile.TemporaryDirectory() as config_dir,
        # Without the zeroconf integration set up, use the system resolver.
        patch(
            "homeassistant.helpers.aiohttp_client._async_make_resolver",
            return_value=_Resolver(),
        ),
    ):
        async with _test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            try:
                yield hass
            finally:
                await hass.async_stop(force=True)


@dataclass(slots=True)
class Loaded:
    """A config entry set up against one simulated charger."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    sim: Simulator
    tap: WireTap
    setup: Traffic

    @property
    def coordinator(self) -> DataUpdateCoordinator[Any]:
        """The entry's data coordinator (both integrations have one)."""
        data = self.entry.runtime_data
        coordinator = getattr(data, "coordinator", data)
        if not isinstance(coordinator, DataUpdateCoordinator):
            raise TypeError(f"no coordinator in {data!r}")
        return coordinator

    def entity_id(self, platform: str, translation_key: str) -> str:
        """The entity of ``platform`` with ``translation_key``."""
        registry = er.async_get(self.hass)
        for entity in er.async_entries_for_config_entry(registry, self.entry.entry_id):
            if entity.domain == platform and entity.translation_key == translation_key:
                return entity.entity_id
        raise LookupError(f"no {platform} {translation_key} in {self.entry.title}")

    def state(self, entity_id: str) -> str | None:
        """The entity's state as the frontend would show it."""
        state = self.hass.states.get(entity_id)
        return None if state is None else state.state

    def push_connected(self) -> bool:
        """Whether the integration's push channel is up."""
        coordinator: Any = self.coordinator
        if self.entry.domain == EVSE_LOCAL:
            return bool(coordinator.push_connected)
        return bool(coordinator.charger.ws_state == "connected")


@asynccontextmanager
async def loaded(hass: HomeAssistant, domain: str, kind: str) -> AsyncIterator[Loaded]:
    """Set up ``domain`` for a charging simulator of ``kind``; unload after."""
    async with charging_sim(kind) as (sim, tap):
        reset(sim, tap)
        entry = _MockConfigEntry(
            domain=domain, data={CONF_HOST: tap.host}, title=f"{domain} {kind}"
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        if entry.state is not ConfigEntryState.LOADED:
            raise RuntimeError(f"{domain} did not load for {kind}: {entry.state}")
        item = Loaded(
            hass=hass, entry=entry, sim=sim, tap=tap, setup=traffic(sim, tap, 1)
        )
        if kind == "current":
            await wait_until(item.push_connected)
        # Setup traffic: everything until the entry is loaded and quiet.
        await settle(sim, tap)
        item.setup = traffic(sim, tap, 1)
        try:
            yield item
        finally:
            await hass.config_entries.async_remove(entry.entry_id)
            await hass.async_block_till_done()


async def push_window(hass: HomeAssistant, domain: str, minutes: int) -> PushWindow:
    """Charge for ``minutes`` simulated minutes in 10-second steps.

    Every step advances the model (so the charger pushes a status delta) and
    waits until the integration and its entities have done whatever they do
    about it. The coordinator's own poll timer runs on simulated time too:
    each time a whole ``update_interval`` has passed (if it has one while
    push is up), one refresh is made.
    """
    async with loaded(hass, domain, "current") as item:
        coordinator = item.coordinator
        updates = 0

        def on_update() -> None:
            nonlocal updates
            updates += 1

        unsubscribe = coordinator.async_add_listener(on_update)
        try:
            await settle(item.sim, item.tap)
            reset(item.sim, item.tap)
            updates = 0
            interval = coordinator.update_interval
            elapsed = timedelta()
            next_refresh = interval
            refreshes = 0
            steps = round(minutes * 60 / POLL_STEP_SECONDS)
            for _ in range(steps):
                item.sim.advance(POLL_STEP_SECONDS)
                elapsed += timedelta(seconds=POLL_STEP_SECONDS)
                if next_refresh is not None and elapsed >= next_refresh:
                    await coordinator.async_refresh()
                    refreshes += 1
                    next_refresh += interval or timedelta()
                await settle(item.sim, item.tap)
            await settle(item.sim, item.tap, quiet_checks=20)
            return PushWindow(
                simulated_minutes=minutes,
                traffic=traffic(item.sim, item.tap, steps),
                ws_frames=item.sim.ws_frames_sent,
                coordinator_updates=updates,
                periodic_refreshes=refreshes,
                poll_interval_s=None if interval is None else interval.total_seconds(),
            )
        finally:
            unsubscribe()


async def refresh_cost(
    hass: HomeAssistant, domain: str, kind: str, refreshes: int
) -> Traffic:
    """Requests per coordinator refresh, entities' side effects included."""
    async with loaded(hass, domain, kind) as item:
        coordinator = item.coordinator
        reset(item.sim, item.tap)
        for _ in range(refreshes):
            item.sim.advance(POLL_STEP_SECONDS)
            await coordinator.async_refresh()
            await settle(item.sim, item.tap)
        await settle(item.sim, item.tap, quiet_checks=20)
        return traffic(item.sim, item.tap, refreshes)


@dataclass(slots=True)
class HassLatency:
    """Action → entity state, for one integration on one charger kind."""

    pause: Timing | Unavailable
    max_current: Timing | Unavailable
    setup: Traffic | None = None
    notes: list[str] = field(default_factory=list)


async def _call(hass: HomeAssistant, domain: str, service: str, **data: Any) -> None:
    await hass.services.async_call(domain, service, data, blocking=True)


async def _timed_until(
    action: Callable[[], Awaitable[object]],
    visible: Callable[[], bool],
    timing: Timing,
    item: Loaded,
) -> None:
    before = sum(item.sim.requests.values())
    start = time.perf_counter()
    await action()
    await wait_until(visible)
    timing.samples_ms.append((time.perf_counter() - start) * 1000)
    timing.requests += sum(item.sim.requests.values()) - before


async def evse_local_latency(hass: HomeAssistant, kind: str, reps: int) -> HassLatency:
    """Switch ``charging_enabled`` off and set number ``max_current``."""
    async with loaded(hass, EVSE_LOCAL, kind) as item:
        switch = item.entity_id("switch", "charging_enabled")
        number = item.entity_id("number", "max_current")
        pause = Timing(note="switch.turn_off charging_enabled until the switch is off")
        for _ in range(reps):
            await _call(hass, "switch", "turn_on", entity_id=switch)
            await wait_until(lambda: item.state(switch) == "on")
            await _timed_until(
                lambda: _call(hass, "switch", "turn_off", entity_id=switch),
                lambda: item.state(switch) == "off",
                pause,
                item,
            )
        await _call(hass, "switch", "turn_on", entity_id=switch)
        current = Timing(note="number.set_value max_current until the number shows it")
        for i in range(reps):
            amps = LATENCY_AMPS[i % 2]
            await _timed_until(
                _set_number(hass, number, amps),
                _shows(item, number, amps),
                current,
                item,
            )
        return HassLatency(pause=pause, max_current=current, setup=item.setup)


def _set_number(
    hass: HomeAssistant, entity_id: str, value: float
) -> Callable[[], Awaitable[None]]:
    return lambda: _call(hass, "number", "set_value", entity_id=entity_id, value=value)


def _shows(item: Loaded, entity_id: str, value: float) -> Callable[[], bool]:
    return lambda: _as_float(item.state(entity_id)) == value


def _as_float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


async def openevse_latency(hass: HomeAssistant, reps: int) -> HassLatency:
    """Core ``openevse`` on ``current``: override select and charge-rate number."""
    async with loaded(hass, OPENEVSE, "current") as item:
        select = item.entity_id("select", "override_state")
        status = item.entity_id("sensor", "status")
        capacity = item.entity_id("sensor", "current_capacity")
        number = item.entity_id("number", "charge_rate")
        pause = Timing(
            note="select.select_option override_state=disabled until the status "
            "sensor says disabled (pushed over the websocket)"
        )
        for _ in range(reps):
            await _timed_until(
                lambda: _call(
                    hass, "select", "select_option", entity_id=select, option="disabled"
                ),
                lambda: item.state(status) == "disabled",
                pause,
                item,
            )
            await _call(
                hass, "select", "select_option", entity_id=select, option="auto"
            )
            await wait_until(lambda: item.state(status) != "disabled")
        current = Timing(
            note="number.set_value charge_rate until the current_capacity sensor "
            "shows it (pushed over the websocket)"
        )
        number_values: set[str | None] = set()
        for i in range(reps):
            amps = LATENCY_AMPS[i % 2]
            await _timed_until(
                _set_number(hass, number, amps),
                _shows(item, capacity, amps),
                current,
                item,
            )
            number_values.add(item.state(number))
        notes = [
            "charge_rate number after each change showed "
            + ", ".join(sorted(str(value) for value in number_values))
            + f" (asked {LATENCY_AMPS[0]} and {LATENCY_AMPS[1]}): it reads "
            "max_current_soft from /config, which an override does not change."
        ]
        return HassLatency(
            pause=pause, max_current=current, setup=item.setup, notes=notes
        )


async def openevse_legacy_setup(hass: HomeAssistant) -> HassLatency:
    """Core ``openevse`` on ``legacy``: set up, then what its controls can do."""
    async with loaded(hass, OPENEVSE, "legacy") as item:
        switch = item.entity_id("switch", "manual_override")
        try:
            await _call(hass, "switch", "turn_on", entity_id=switch)
            outcome = "the switch call succeeded"
        except Exception as err:  # noqa: BLE001 - reported
            outcome = f"the switch call raised {type(err).__name__}"
        na = Unavailable(
            "core openevse on legacy: the manual_override switch toggles with "
            f"RAPI over POST /r ({outcome}), but nothing refreshes after it: "
            "the new state shows at the next 300-s poll",
            short="≤ 300 s: shows at the next poll (no websocket on WiFi 2.9.1, "
            "no refresh after a command)",
            next_poll=True,
        )
        return HassLatency(pause=na, max_current=na, setup=item.setup)
