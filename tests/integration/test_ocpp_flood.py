"""A flood of strangers against the central system inside Home Assistant.

The issue's figures with exact counts: 3,000 charge point ids of 2,000
characters made 3,000 discovery flows; 300 idle unknown-id websockets stayed
open. Here they make no flow, unknown chargers make at most as many flows as
one address may hold, a flow ends when its charger leaves, and the known
charger keeps charging throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.ocpp_server import running_server
from custom_components.evse_local.protocols.ocpp.server import (
    MAX_PENDING_PER_ADDRESS,
    CentralSystem,
)
from simulators.ocpp_mq200 import Mq200Simulator
from tests.protocols.ocpp_support import upgrade_status

from .conftest import wait_for
from .test_ocpp import add_ocpp_entry, free_port, mq200

BOOT = '[2,"b","BootNotification",{"chargePointVendor":"X","chargePointModel":"Y"}]'


@pytest.fixture
def port() -> int:
    """The OCPP port of this test's central system."""
    return free_port()


@pytest.fixture
async def home(
    hass: HomeAssistant, port: int
) -> AsyncIterator[tuple[ConfigEntry, Mq200Simulator, CentralSystem]]:
    """The household's own MQ 200, accepted and charging."""
    entry = await add_ocpp_entry(hass, port, "MQ200-HOME")
    server = running_server(hass, entry.data)
    assert server is not None
    async with mq200(port, "MQ200-HOME") as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        yield entry, sim, server
    await hass.config_entries.async_unload(entry.entry_id)


def flows(hass: HomeAssistant) -> list[Any]:
    return hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def still_charging(sim: Mq200Simulator) -> None:
    """The known charger's frames are still answered."""
    before = sim.frames_received["MeterValues.conf"]
    await sim.advance(10)
    assert sim.frames_received["MeterValues.conf"] == before + 1
    assert sim.disconnects == 0


async def test_absurd_ids_make_no_flow(
    hass: HomeAssistant, home: tuple[ConfigEntry, Mq200Simulator, CentralSystem]
) -> None:
    """3,000 ids of 2,000 characters: 3,000 refusals, no flow."""
    _, sim, server = home
    limit = asyncio.Semaphore(20)

    async def attempt(number: int) -> int:
        async with limit:
            return await upgrade_status(server.port, f"{number:04d}" + "x" * 1996)

    statuses = await asyncio.gather(*(attempt(n) for n in range(3000)))
    await hass.async_block_till_done()
    assert statuses.count(400) == 3000
    assert flows(hass) == []
    assert server.stats.refused == 3000
    await still_charging(sim)


async def _booted(port: int, session: aiohttp.ClientSession, cp_id: str) -> Any:
    try:
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{port}/ocpp/{cp_id}", protocols=("ocpp1.6",)
        )
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status
    await ws.send_str(BOOT)
    assert (await ws.receive_json(timeout=5))[2]["status"] == "Pending"
    return ws


async def test_unknown_chargers_make_bounded_flows(
    hass: HomeAssistant, home: tuple[ConfigEntry, Mq200Simulator, CentralSystem]
) -> None:
    """300 unknown chargers booting from one address: 10 flows, 290 refused."""
    _, sim, server = home
    async with aiohttp.ClientSession() as session:
        results = [
            await _booted(server.port, session, f"STRANGER-{n:03}") for n in range(300)
        ]
        refused = [result for result in results if isinstance(result, int)]
        sockets = [result for result in results if not isinstance(result, int)]
        assert refused == [429] * (300 - MAX_PENDING_PER_ADDRESS)
        await hass.async_block_till_done()
        assert len(flows(hass)) == MAX_PENDING_PER_ADDRESS
        await still_charging(sim)
        for ws in sockets:
            await ws.close()


async def _idle(port: int, session: aiohttp.ClientSession, cp_id: str) -> Any:
    try:
        return await session.ws_connect(
            f"ws://127.0.0.1:{port}/ocpp/{cp_id}", protocols=("ocpp1.6",)
        )
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status


async def test_idle_unknown_websockets_are_capped(
    hass: HomeAssistant, home: tuple[ConfigEntry, Mq200Simulator, CentralSystem]
) -> None:
    """300 unknown-id websockets that never speak: 10 in, 290 refused, no flow."""
    _, sim, server = home
    async with aiohttp.ClientSession() as session:
        results = [
            await _idle(server.port, session, f"IDLE-{n:03}") for n in range(300)
        ]
        sockets = [result for result in results if not isinstance(result, int)]
        assert len(sockets) == MAX_PENDING_PER_ADDRESS
        assert results.count(429) == 300 - MAX_PENDING_PER_ADDRESS
        # Them, and the household's charger.
        await wait_for(lambda: server.open_connections == MAX_PENDING_PER_ADDRESS + 1)
        await hass.async_block_till_done()
        assert flows(hass) == []
        await still_charging(sim)
        for ws in sockets:
            await ws.close()


async def test_idle_unknown_websockets_are_closed(
    hass: HomeAssistant, port: int
) -> None:
    """Silent for two Pending intervals: the central system hangs up."""
    with patch("custom_components.evse_local.ocpp_server.OCPP_PENDING_INTERVAL", 1):
        entry = await add_ocpp_entry(hass, port, "MQ200-HOME")
        server = running_server(hass, entry.data)
        assert server is not None
        async with aiohttp.ClientSession() as session:
            sockets = [
                await _idle(port, session, f"IDLE-{n}")
                for n in range(MAX_PENDING_PER_ADDRESS)
            ]
            for ws in sockets:
                message = await ws.receive(timeout=5)
                assert message.type is aiohttp.WSMsgType.CLOSE
                assert ws.closed
        await wait_for(lambda: server.open_connections == 0)
        assert flows(hass) == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_flow_ends_when_its_charger_stays_away(
    hass: HomeAssistant, port: int
) -> None:
    """Gone for longer than the grace: its flow ends; back in time: it stays."""
    with patch("custom_components.evse_local.ocpp_server.OCPP_DISCOVERY_GRACE", 1.0):
        entry = await add_ocpp_entry(hass, port, "MQ200-HOME")
        back = mq200(port, "MQ200-BACK")
        away = mq200(port, "MQ200-AWAY")
        await back.start()
        await away.start()
        await wait_for(lambda: len(flows(hass)) == 2)
        flow_ids = {
            flow["context"]["unique_id"]: flow["flow_id"] for flow in flows(hass)
        }
        await back.reconnect()
        await wait_for(lambda: back.connects == 2)
        await away.stop()
        await wait_for(lambda: len(flows(hass)) == 1, timeout=10)
        # BACK left first: its flow would have ended before AWAY's.
        assert [flow["flow_id"] for flow in flows(hass)] == [flow_ids["MQ200-BACK"]]
        await back.stop()
    await hass.config_entries.async_unload(entry.entry_id)
