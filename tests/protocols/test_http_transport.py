"""HttpTransport against real loopback servers: status codes and failures."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from custom_components.evse_local.protocols.errors import (
    EvseAuthenticationError,
    EvseConnectionError,
    EvseProtocolError,
    EvseTimeoutError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.openevse_http.transport import (
    HttpTransport,
    expect_object,
)

from .loopback import Loopback


def _app(status: int, body: bytes, *, delay: float = 0) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, body=body)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handler)
    return app


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (404, b'{"msg":"Not found"}', EvseUnsupportedError, r"/status: HTTP 404"),
        (400, b'{"msg":"bad"}', EvseProtocolError, r"/status: HTTP 400"),
        (500, b"", EvseConnectionError, r"GET /status: HTTP 500"),
        (503, b"busy", EvseConnectionError, r"GET /status: HTTP 503"),
        (401, b"", EvseAuthenticationError, r"GET /status: HTTP 401"),
        (200, b"<html></html>", EvseProtocolError, "invalid JSON"),
        (200, b'{"state": 1} trailing', EvseProtocolError, "invalid JSON"),
    ],
)
async def test_get_json_failures(
    status: int,
    body: bytes,
    error: type[Exception],
    message: str,
    loopback: Loopback,
) -> None:
    transport = await loopback.transport(_app(status, body))
    with pytest.raises(error, match=message):
        await transport.get_json("/status")
    assert transport.requests == 1


async def test_get_json_success_and_counters(loopback: Loopback) -> None:
    body = b'{"state": 254, "amp": 0}'
    transport = await loopback.transport(_app(200, body))
    assert await transport.get_json("/status") == {"state": 254, "amp": 0}
    assert await transport.send_json("POST", "/config", {"service": 2}) == {
        "state": 254,
        "amp": 0,
    }
    assert transport.requests == 2
    assert transport.bytes_received == 2 * len(body)
    assert isinstance(transport.session, aiohttp.ClientSession)
    assert transport.headers == {}


async def test_empty_body_is_none(loopback: Loopback) -> None:
    transport = await loopback.transport(_app(200, b" \r\n"))
    assert await transport.send_json("DELETE", "/limit") is None


async def test_timeout(loopback: Loopback) -> None:
    transport = await loopback.transport(_app(200, b"{}", delay=1), timeout=0.05)
    with pytest.raises(EvseTimeoutError, match="GET /status timed out"):
        await transport.get_json("/status")


async def test_connection_refused(loopback: Loopback) -> None:
    server = web.AppRunner(_app(200, b"{}"))
    await server.setup()
    site = web.TCPSite(server, "127.0.0.1", 0)
    await site.start()
    port = server.addresses[0][1]
    await server.cleanup()
    transport = HttpTransport(loopback.session, f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(EvseConnectionError, match="GET /status failed"):
        await transport.get_json("/status")
    assert not isinstance(EvseConnectionError(), EvseTimeoutError)


async def test_basic_auth_is_sent(loopback: Loopback) -> None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != "Basic YWRtaW46c2VjcmV0":
            return web.Response(status=401)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/config", handler)
    host = await loopback.serve(app)
    good = HttpTransport(loopback.session, host, username="admin", password="secret")
    assert await good.get_json("/config") == {"ok": True}
    assert good.headers == {"Authorization": "Basic YWRtaW46c2VjcmV0"}
    anonymous = HttpTransport(loopback.session, host)
    with pytest.raises(EvseAuthenticationError):
        await anonymous.get_json("/config")
    assert seen == ["Basic YWRtaW46c2VjcmV0", None]


def test_expect_object() -> None:
    assert expect_object("/status", {"state": 1}) == {"state": 1}
    with pytest.raises(EvseProtocolError, match="/claims: expected a JSON object"):
        expect_object("/claims", [])
