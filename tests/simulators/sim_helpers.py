"""Small HTTP helpers shared by the simulator tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from simulators import Simulator


async def rapi(session: aiohttp.ClientSession, sim: Simulator, frame: str) -> str:
    """Send one frame through /r?json=1 and return the controller's reply."""
    async with session.get(f"{sim.url}/r", params={"json": "1", "rapi": frame}) as resp:
        assert resp.status == 200, await resp.text()
        body = json.loads(await resp.text())
        assert body["cmd"] == frame
        return str(body["ret"])


async def get_json(
    session: aiohttp.ClientSession, sim: Simulator, path: str, *, status: int = 200
) -> Any:
    async with session.get(sim.url + path) as resp:
        assert resp.status == status, await resp.text()
        return json.loads(await resp.text())


async def send_json(
    session: aiohttp.ClientSession,
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    status: int = 200,
) -> Any:
    data = None if body is None else json.dumps(body)
    async with session.request(method, sim.url + path, data=data) as resp:
        assert resp.status == status, await resp.text()
        return json.loads(await resp.text())


def verified(reply: str) -> str:
    """Check a reply's XOR checksum independently; return the part before ``^``."""
    body, marker, checksum = reply.rpartition("^")
    assert marker == "^", reply
    value = 0
    for byte in body.encode():
        value ^= byte
    assert checksum == f"{value:02X}", reply
    return body


def with_xor(body: str) -> str:
    """Append an XOR checksum, computed independently of the simulator."""
    value = 0
    for byte in body.encode():
        value ^= byte
    return f"{body}^{value:02X}"


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for a condition that a background task will make true."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polling state set by the server
            await asyncio.sleep(0.01)
