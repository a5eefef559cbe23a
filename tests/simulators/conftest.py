"""Fixtures for the simulator tests: real loopback HTTP, no mocks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulators import Simulator, start_simulator


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """The simulators are real servers: allow sockets (the HA plugin blocks them)."""


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def current() -> AsyncIterator[Simulator]:
    async with start_simulator("current", reboot_seconds=0.2) as sim:
        yield sim


@pytest.fixture
async def legacy() -> AsyncIterator[Simulator]:
    async with start_simulator("legacy", reboot_seconds=0.2) as sim:
        yield sim


@pytest.fixture
async def goplug() -> AsyncIterator[Simulator]:
    async with start_simulator("goplug", reboot_seconds=0.2) as sim:
        yield sim
