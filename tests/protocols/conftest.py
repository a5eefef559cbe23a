"""Fixtures for the protocol library tests (plain pytest, no Home Assistant)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from .loopback import Loopback
from .peers import require_peers


@pytest.fixture
def peers() -> Path:
    """The peers folder (skips the test when it is absent)."""
    return require_peers()


@pytest.fixture
def loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Allow sockets when pytest-socket (loaded by phcc) blocks them.

    Only 127.0.0.1 is ever used; without pytest-socket there is nothing to do.
    """
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


@pytest.fixture
async def loopback(loopback_sockets: None) -> AsyncIterator[Loopback]:
    """Real aiohttp servers on 127.0.0.1 and one client session."""
    async with aiohttp.ClientSession() as session:
        servers = Loopback(session)
        try:
            yield servers
        finally:
            await servers.close()
