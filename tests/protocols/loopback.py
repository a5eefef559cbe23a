"""A WiFi module served from a real aiohttp server on 127.0.0.1.

The HTTP tests never fake the transport: :class:`FakeModule` is an
``aiohttp.web`` application that answers ``/config``, ``/status``,
``/claims``, ``/limit``, ``/ws`` and ``/r`` with capture bytes, and records
what the client sent. ``/r`` is answered by a :class:`RapiAnswerer`, which
sees the RAPI frame exactly as it arrived in the query string.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from custom_components.evse_local.protocols.openevse_http.transport import (
    HttpTransport,
)

JSON = "application/json"
HTML = "text/html"


def xor(body: str) -> int:
    """XOR checksum, written independently of the code under test."""
    return functools.reduce(operator.xor, body.encode("ascii"), 0)


def rapi_frame(body: str, sequence: int | None = None) -> str:
    """A reply frame as the controller prints it: body, `` :SS``, ``^XX``."""
    if sequence is not None:
        body += f" :{sequence:02X}"
    return f"{body}^{xor(body):02X}"


def split_sequence(frame: str) -> tuple[str, int | None]:
    """(frame without ``^XX`` and `` :SS``, sequence id) of a command frame."""
    body = frame.rpartition("^")[0] if "^" in frame else frame
    head, _, tail = body.rpartition(" :")
    if head and len(tail) == 2:
        return head, int(tail, 16)
    return body, None


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer to ``/r``."""

    status: int
    body: bytes
    content_type: str = JSON


def json_ret(frame: str, ret: str) -> Answer:
    """``{"cmd":..,"ret":..}`` built by concatenation, as the firmware does."""
    return Answer(200, ('{"cmd":"' + frame + '","ret":"' + ret + '"}').encode())


def json_error(frame: str, error: str) -> Answer:
    """The firmware's error body: HTTP 400 when blocked, 500 otherwise."""
    status = 400 if error == "RAPI_RESPONSE_BLOCKED" else 500
    body = '{"cmd":"' + frame + '","error":"' + error + '"}'
    return Answer(status, body.encode())


def file_answer(path: Path) -> Answer:
    """A capture file's exact bytes."""
    content_type = HTML if path.read_bytes().lstrip().startswith(b"<") else JSON
    return Answer(200, path.read_bytes(), content_type)


type RapiAnswerer = Callable[[str], Answer]


@dataclass
class Controller:
    """A RAPI controller behind the ESP32 module: replies keyed by command.

    ``replies`` maps a command code (``"GS"``) to the full reply frame. When
    ``echo_sequence`` is set, a sequence id in the command is echoed the way
    open_evse does it (`` :SS`` before a recomputed checksum); otherwise the
    reply is sent byte for byte, as captured.
    """

    replies: dict[str, str]
    echo_sequence: bool = False
    unknown: str = "$NK^21"
    frames: list[str] = field(default_factory=list)

    def __call__(self, frame: str) -> Answer:
        """Answer one frame as ``/r?json=1`` does."""
        self.frames.append(frame)
        command, sequence = split_sequence(frame)
        reply = self.replies.get(command[1:3], self.unknown)
        if self.echo_sequence and sequence is not None:
            reply = rapi_frame(reply.rpartition("^")[0], sequence)
        return json_ret(frame, reply)


@dataclass
class HtmlController:
    """The v1 WiFi firmware: one HTML page per command, ``$NK`` otherwise."""

    pages: dict[str, Path]
    unknown: Path
    frames: list[str] = field(default_factory=list)

    def __call__(self, frame: str) -> Answer:
        """Serve the captured page for the command in ``frame``."""
        self.frames.append(frame)
        return file_answer(self.pages.get(frame[1:3], self.unknown))


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the module received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


def _json_response(body: bytes | None, *, missing: str = "Not found") -> web.Response:
    if body is None:
        return web.Response(status=404, text=json.dumps({"msg": missing}))
    return web.Response(body=body, content_type=JSON)


@dataclass
class FakeModule:
    """An OpenEVSE WiFi module (or a GoPlug) serving capture bytes.

    ``None`` for a document means the route answers 404, as firmware without
    that endpoint does.
    """

    config: bytes | None = None
    status: bytes | None = None
    claims: bytes | None = None
    claim: bytes | None = None
    limit: bytes | None = None
    override: bytes | None = None
    rapi: RapiAnswerer | None = None
    websocket: list[str] = field(default_factory=list)
    binary_after: bool = False
    """Send a binary frame after the text messages (before closing)."""
    requests: list[Recorded] = field(default_factory=list)

    def posted(self, method: str, path: str) -> list[Any]:
        """Bodies of the ``method`` requests to ``path``, in order."""
        return [
            request.body
            for request in self.requests
            if request.method == method and request.path == path
        ]

    async def _record(self, request: web.Request) -> None:
        raw = await request.read()
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                body=json.loads(raw) if raw else None,
            )
        )

    async def _document(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        name = request.path.strip("/").split("/")[0]
        if request.method != "GET":
            return web.Response(text='{"msg":"done"}', content_type=JSON)
        if name == "claims" and request.match_info.get("client"):
            return _json_response(self.claim)
        body: bytes | None = getattr(self, name)
        return _json_response(body, missing="No limit" if name == "limit" else "")

    async def _rapi(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if self.rapi is None:
            return web.Response(status=404)
        answer = self.rapi(request.query.get("rapi", ""))
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        for message in self.websocket:
            await socket.send_str(message)
        if self.binary_after:
            await socket.send_bytes(b"\x00")
        await socket.close()
        return socket

    def app(self) -> web.Application:
        """The aiohttp application for this module."""
        app = web.Application()
        for path in (
            "/config",
            "/status",
            "/claims",
            "/claims/{client}",
            "/limit",
            "/override",
        ):
            app.router.add_route("*", path, self._document)
        app.router.add_post("/restart", self._document)
        app.router.add_get("/r", self._rapi)
        app.router.add_get("/ws", self._ws)
        return app


class Loopback:
    """Starts :class:`FakeModule` servers and owns the client session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        """Use ``session`` for every client made here."""
        self.session = session
        self._servers: list[TestServer] = []

    async def serve(self, module: FakeModule | web.Application) -> str:
        """Start ``module`` on 127.0.0.1 and return its ``host:port``."""
        app = module.app() if isinstance(module, FakeModule) else module
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        self._servers.append(server)
        return f"127.0.0.1:{server.port}"

    async def transport(
        self, module: FakeModule | web.Application, **kwargs: Any
    ) -> HttpTransport:
        """An :class:`HttpTransport` to a freshly started ``module``."""
        kwargs.setdefault("timeout", 5)
        return HttpTransport(self.session, await self.serve(module), **kwargs)

    async def close(self) -> None:
        """Stop every server."""
        for server in self._servers:
            await server.close()
