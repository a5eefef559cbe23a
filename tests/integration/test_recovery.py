"""Chargers that answer garbage, time out, reboot or vanish, and come back."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from functools import partial
from unittest.mock import patch

import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_HOST, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.evse_local.const import DEFAULT_SCAN_INTERVAL, DOMAIN
from custom_components.evse_local.protocols.detect import connect_charger
from simulators import Fault, Simulator

from .conftest import add_charger, state_of, wait_for

POLL = timedelta(seconds=11)
STATE = {
    "current": "sensor.openevse_0e5e_state",
    "legacy": "sensor.openevse_127_0_0_1_state",
    "goplug": "sensor.goplug_pro_32_0e5e_state",
}


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(POLL)
    async_fire_time_changed(hass)
    # Polls run as background tasks (no push task here: these chargers poll).
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.HTML,
        Fault.TRAILING_GARBAGE,
        Fault.HTTP_500,
        Fault.TIMEOUT,
        Fault.DROP,
        Fault.BAD_CHECKSUM,
        Fault.NK,
        Fault.WRONG_FIELD_COUNT,
    ],
)
async def test_garbage_makes_unavailable_then_recovers(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    rapi_sim: Simulator,
    fault: Fault,
) -> None:
    """Bad replies: unavailable at once, one log line, back on the next poll."""
    with patch(
        "custom_components.evse_local.helpers.connect_charger",
        partial(connect_charger, timeout=0.5),
    ):
        entry = await add_charger(hass, rapi_sim)
    coordinator = entry.runtime_data.coordinator
    entity = STATE[str(rapi_sim.kind)]
    assert state_of(hass, entity).state == "not_connected"

    rapi_sim.inject(fault, count=2, delay=1.0)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await coordinator.async_refresh()
        assert state_of(hass, entity).state == STATE_UNAVAILABLE
        await coordinator.async_refresh()
        assert state_of(hass, entity).state == STATE_UNAVAILABLE
        rapi_sim.model.plug_in()
        await coordinator.async_refresh()
    assert state_of(hass, entity).state == "connected"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_charger_disappears_and_returns(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, rapi_sim: Simulator
) -> None:
    """A polled charger that is switched off: unavailable within one poll."""
    await add_charger(hass, rapi_sim)
    entity = STATE[str(rapi_sim.kind)]
    await rapi_sim.stop()
    await _poll(hass, freezer)
    assert state_of(hass, entity).state == STATE_UNAVAILABLE
    await rapi_sim.start()
    await _poll(hass, freezer)
    assert state_of(hass, entity).state == "not_connected"


async def test_push_replaces_polling(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """While /ws is connected nothing is polled; changes still arrive."""
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    assert coordinator.update_interval is None
    entity = STATE["current"]
    current_sim.reset_counters()

    current_sim.model.plug_in()
    await wait_for(lambda: state_of(hass, entity).state == "connected")
    current_sim.advance(30)
    await wait_for(lambda: state_of(hass, entity).state == "charging")
    # Every change above arrived pushed: not one HTTP request.
    assert sum(current_sim.requests.values()) == 0
    assert current_sim.ws_frames_sent > 0


async def test_push_reboot_goes_unavailable_and_recovers(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """A WiFi module reboot: unavailable at once, live again within seconds."""
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    entity = STATE["current"]

    await current_sim.stop()
    await wait_for(lambda: state_of(hass, entity).state == STATE_UNAVAILABLE)
    assert not coordinator.push_connected
    await current_sim.start()
    current_sim.model.plug_in()
    await wait_for(lambda: state_of(hass, entity).state == "connected", timeout=15)
    await wait_for(lambda: coordinator.push_connected, timeout=15)


async def test_garbage_on_push_firmware(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """HTML or truncated JSON from /status fails the poll cleanly."""
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    for fault in (Fault.HTML, Fault.TRAILING_GARBAGE, Fault.HTTP_500):
        current_sim.inject(fault, path="/status")
        await coordinator.async_refresh()
        assert not coordinator.last_update_success
        await coordinator.async_refresh()
        assert coordinator.last_update_success


async def test_firmware_without_websocket_keeps_polling(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A /claims firmware without /ws: polling only, no reconnect loop."""
    status = {"state": 1, "amp": 0, "pilot": 32, "voltage": 240, "vehicle": 0}
    config = {"wifi_serial": "NOWS00000001", "firmware": "8.2.3", "version": "v5.0.0"}
    documents: dict[str, object] = {"/config": config, "/status": status, "/claims": []}
    hits: Counter[str] = Counter()

    async def handler(request: web.Request) -> web.Response:
        hits[request.path] += 1
        if request.path in documents:
            return web.json_response(documents[request.path])
        return web.json_response({"msg": "Not found"}, status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        host = f"127.0.0.1:{runner.addresses[0][1]}"
        entry = MockConfigEntry(
            domain=DOMAIN, unique_id="NOWS00000001", data={CONF_HOST: host}
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await wait_for(lambda: hits["/ws"] == 1)
        # Give a reconnect loop time to show itself: there must be none.
        await asyncio.sleep(1.5)
        assert hits["/ws"] == 1
        coordinator = entry.runtime_data.coordinator
        assert not coordinator.push_connected
        assert coordinator.update_interval == DEFAULT_SCAN_INTERVAL
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await runner.cleanup()
