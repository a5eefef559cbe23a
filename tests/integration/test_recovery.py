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
from custom_components.evse_local.protocols.openevse_http.json_api import CLAIM_CLIENT
from simulators import Fault, Simulator

from .conftest import add_charger, outage_lines, state_of, wait_for

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
    """Bad replies: unavailable at once, back on the next poll.

    One INFO line when it becomes unavailable and one when it recovers; no
    ERROR (a WiFi blip is routine) and nothing for the second failed poll.
    """
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
    assert outage_lines(caplog) == ["unavailable", "recovered"]


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
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, current_sim: Simulator
) -> None:
    """A WiFi module reboot: unavailable at once, live again within seconds.

    One INFO line for the outage and one for the recovery, however many
    reconnect attempts and polls fail in between.
    """
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    entity = STATE["current"]

    caplog.clear()
    with caplog.at_level(logging.INFO):
        await current_sim.stop()
        await wait_for(lambda: state_of(hass, entity).state == STATE_UNAVAILABLE)
        assert not coordinator.push_connected
        # Reconnect attempts and polls keep failing for a while.
        await asyncio.sleep(2.5)
        await current_sim.start()
        current_sim.model.plug_in()
        await wait_for(lambda: state_of(hass, entity).state == "connected", timeout=15)
        await wait_for(lambda: coordinator.push_connected, timeout=15)
    assert outage_lines(caplog) == ["unavailable", "recovered"]


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


# Closing a websocket from our side, aiohttp re-arms its heartbeat timer when
# the peer's close frame arrives; it fires once on the closed socket and stops.
_CLIENT_CLOSE = pytest.mark.parametrize("expected_lingering_timers", [True])


@_CLIENT_CLOSE
@pytest.mark.parametrize(
    "frame",
    [
        pytest.param('{"state":1e999}', id="overflow"),
        pytest.param('{"state":NaN}', id="nan"),
        pytest.param('{"state":1' + "0" * 400 + "}", id="400-digits"),
        pytest.param('{"total_energy":-5}', id="negative-energy"),
        pytest.param("{not json", id="not-json"),
    ],
)
async def test_bad_pushed_frame_brings_polling_back(
    hass: HomeAssistant, current_sim: Simulator, frame: str
) -> None:
    """A /ws frame that cannot be trusted: poll at once, then push again.

    The car is plugged in right behind the bad frame: the change the push
    session can no longer deliver must come from the poll.
    """
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    entity = STATE["current"]
    current_sim.reset_counters()

    current_sim.push_raw(frame)
    current_sim.model.plug_in()
    await wait_for(lambda: state_of(hass, entity).state == "connected")
    # The session ended and reconnected: polling did not stay off.
    await wait_for(lambda: current_sim.requests["/ws"] == 1)
    await wait_for(lambda: coordinator.push_connected)
    assert current_sim.requests["/status"] == 1
    assert coordinator.update_interval is None
    assert coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)


@_CLIENT_CLOSE
async def test_config_gone_during_push_brings_polling_back(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """/config answers 404 to the re-read a pushed config_version asks for.

    That is a failed read in a live session, not "this firmware has no
    websocket": polling comes back and the websocket is tried again.
    """
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    current_sim.reset_counters()

    current_sim.inject(Fault.HTTP_404, path="/config")
    current_sim.config_changed()
    await wait_for(lambda: current_sim.requests["/ws"] == 1)
    await wait_for(lambda: coordinator.push_connected)
    # The push session's re-read (404), then the poll's (200); the poll
    # also reads our claim again (a drop may have been a module restart).
    assert current_sim.requests["/config"] == 2
    assert current_sim.requests["/status"] == 1
    assert current_sim.requests[f"/claims/{CLAIM_CLIENT}"] == 1
    current_sim.model.plug_in()
    await wait_for(lambda: state_of(hass, STATE["current"]).state == "connected")
    assert sum(current_sim.requests.values()) == 5
    assert await hass.config_entries.async_unload(entry.entry_id)


@_CLIENT_CLOSE
async def test_unexpected_error_in_push_counts_as_a_drop(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    current_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in reading a pushed frame (not a charger error) ends the session.

    It is logged with its traceback, once, and the coordinator polls and
    reconnects as for any drop: no "Task exception was never retrieved", no
    push task gone for good with stale data left showing.
    """
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    charger = entry.runtime_data.charger
    await wait_for(lambda: coordinator.push_connected)
    read_status = charger._read_status

    async def buggy_once(status: dict[str, object]) -> object:
        monkeypatch.setattr(charger, "_read_status", read_status)
        raise RuntimeError("a bug")

    monkeypatch.setattr(charger, "_read_status", buggy_once)
    current_sim.reset_counters()
    current_sim.model.plug_in()
    await wait_for(lambda: state_of(hass, STATE["current"]).state == "connected")
    await wait_for(lambda: current_sim.requests["/ws"] == 1)
    await wait_for(lambda: coordinator.push_connected)
    assert current_sim.requests["/status"] == 1
    bugs = [r for r in caplog.records if r.exc_info and "a bug" in str(r.exc_info[1])]
    assert len(bugs) == 1
    assert "unexpected error in the push session" in bugs[0].getMessage()
    assert await hass.config_entries.async_unload(entry.entry_id)
