"""The OCPP 1.6J central system: an aiohttp websocket server for charge points.

Chargers connect to ``ws[s]://host:port/<anything>/<charge point id>``. A
known (added) station is checked against its Basic Auth password at the
upgrade and served at once; an unknown id is served as *pending* until the
user approves it with :meth:`CentralSystem.add_station`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hmac
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import WSCloseCode, hdrs, web

from ..errors import EvseConnectionError, EvsePortInUseError
from .connection import (
    SUBPROTOCOL,
    CentralSystemStats,
    OcppConnection,
    WebSocketTransport,
)
from .station import DEFAULT_ID_TAG, DEFAULT_MAX_CURRENT, OcppStation

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingCharger:
    """A charger that connected with an id nobody added yet."""

    charge_point_id: str
    vendor: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    presented_username: str | None
    """The Basic Auth user it sent (its password is never kept here)."""


def charge_point_id_from_path(raw_parts: tuple[str, ...]) -> str | None:
    """Return the last non-empty path segment, URL-decoded."""
    for part in reversed(raw_parts):
        if part and part != "/":
            return unquote(part)
    return None


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(username, password) of an ``Authorization: Basic`` header."""
    if not header:
        return None, None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except binascii.Error, UnicodeDecodeError:
        return None, None
    username, colon, password = decoded.partition(":")
    return username, password if colon else None


def _same_secret(presented: str | None, expected: str) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class _WebSocketResponse(web.WebSocketResponse):
    """A websocket whose ping timer stays off once closed.

    aiohttp 3.13 re-arms it when the peer's reply to *our* close frame
    arrives: a timer on a dead socket that outlives the connection.
    """

    def _reset_heartbeat(self) -> None:
        if not self.closed:
            super()._reset_heartbeat()


class CentralSystem:
    """The websocket server and the stations it serves."""

    def __init__(
        self,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - chargers are on the LAN
        port: int = 9000,
        ssl_context: ssl.SSLContext | None = None,
        heartbeat_interval: int = 60,
        meter_interval: int = 10,
        response_timeout: float = 10.0,
        max_frame_bytes: int = 65536,
        pending_retry_interval: int = 10,
        on_unknown_charger: Callable[[PendingCharger], None] | None = None,
    ) -> None:
        """Configure; nothing is bound until :meth:`start`."""
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self.heartbeat_interval = heartbeat_interval
        self.meter_interval = meter_interval
        self.response_timeout = response_timeout
        self.max_frame_bytes = max_frame_bytes
        self.pending_retry_interval = pending_retry_interval
        self.on_unknown_charger = on_unknown_charger
        self.stats = CentralSystemStats()
        self._stations: dict[str, OcppStation] = {}
        self._connections: dict[str, OcppConnection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    # --- server ------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; raises :class:`EvsePortInUseError` if taken."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner, self._host, self._port, ssl_context=self._ssl_context
        )
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            if err.errno == errno.EADDRINUSE:
                raise EvsePortInUseError(f"port {self._port} is in use") from err
            raise EvseConnectionError(f"cannot listen on {self._port}: {err}") from err
        self._runner = runner
        address = runner.addresses[0]
        self._bound_port = int(address[1])
        _LOGGER.debug("OCPP central system listening on port %s", self._bound_port)

    async def stop(self) -> None:
        """Close every connection and release the port."""
        for connection in list(self._connections.values()):
            await connection.close("central system stopping")
        # Let every handler finish its close handshake (and aiohttp cancel
        # its ping timer) before the runner goes.
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=10)
        self._connections.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The bound port (``port=0`` picks a free one)."""
        if self._bound_port is None:
            raise RuntimeError("the central system is not started")
        return self._bound_port

    # --- stations ----------------------------------------------------------

    def add_station(
        self,
        charge_point_id: str,
        *,
        password: str | None,
        max_current_limit: int = DEFAULT_MAX_CURRENT,
        id_tag: str = DEFAULT_ID_TAG,
    ) -> OcppStation:
        """Accept this charger (the user approved it); returns its station.

        A pending live connection with the right credentials is promoted in
        place (and asked to boot again, so it is Accepted at once); with
        other credentials it is closed so it reconnects and gets checked. No
        other connection is touched.
        """
        station = self._stations.get(charge_point_id)
        if station is None:
            station = OcppStation(
                charge_point_id,
                password=password,
                meter_interval=self.meter_interval,
                max_current_limit=max_current_limit,
                id_tag=id_tag,
            )
            self._stations[charge_point_id] = station
        else:
            station.password = password
        connection = self._connections.get(charge_point_id)
        if connection is None or connection.station is not None:
            return station
        if password is None or _same_secret(connection.presented_password, password):
            station.attach(connection, accepted=False)
            connection.spawn(
                station.trigger_boot(connection), f"ocpp boot trigger {charge_point_id}"
            )
        else:
            connection.spawn(
                connection.close("credentials do not match"),
                f"ocpp close {charge_point_id}",
            )
        return station

    def remove_station(self, charge_point_id: str) -> None:
        """Forget the station (entry unloaded) and close its connection."""
        station = self._stations.pop(charge_point_id, None)
        connection = self._connections.get(charge_point_id)
        if station is not None and connection is not None:
            connection.spawn(
                connection.close("station removed"), f"ocpp close {charge_point_id}"
            )

    def station(self, charge_point_id: str) -> OcppStation | None:
        """Return the station added for this id."""
        return self._stations.get(charge_point_id)

    def pending(self, charge_point_id: str) -> PendingCharger | None:
        """Return the charger connected with this unknown id, if any."""
        connection = self._connections.get(charge_point_id)
        if connection is None or connection.station is not None:
            return None
        return _pending(connection)

    def pending_chargers(self) -> list[PendingCharger]:
        """Every charger waiting for approval."""
        return [
            _pending(connection)
            for connection in self._connections.values()
            if connection.station is None
        ]

    def presented_password_matches(
        self, charge_point_id: str, password: str | None
    ) -> bool | None:
        """Tell whether the connected charger presented ``password``.

        None when it is not connected or presented no credentials.
        """
        connection = self._connections.get(charge_point_id)
        if connection is None or connection.presented_password is None:
            return None
        if password is None:
            return False
        return _same_secret(connection.presented_password, password)

    # --- websocket ---------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        charge_point_id = charge_point_id_from_path(request.rel_url.raw_parts)
        ws = _WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=float(self.heartbeat_interval),
            max_msg_size=self.max_frame_bytes,
            timeout=5.0,
        )
        if charge_point_id is None or not ws.can_prepare(request).ok:
            return web.Response(status=400, text="OCPP 1.6J websocket endpoint\n")
        username, password = basic_credentials(request.headers.get(hdrs.AUTHORIZATION))
        station = self._stations.get(charge_point_id)
        if (
            station is not None
            and station.password is not None
            # The user name is free-form on Blink ("Basic Auth ID"), so
            # only the password identifies the charger.
            and not _same_secret(password, station.password)
        ):
            self.stats.rejected_auth += 1
            _LOGGER.warning("%s: wrong or missing credentials", charge_point_id)
            return web.Response(
                status=401, headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="OCPP"'}
            )
        await ws.prepare(request)
        if ws.ws_protocol != SUBPROTOCOL:
            # OCPP-J 1.6 section 3.1.2: complete the handshake without the
            # header, then close. A charger sees a protocol mismatch instead
            # of an HTTP error it would retry as a network fault.
            self.stats.closes += 1
            _LOGGER.warning("%s: no ocpp1.6 subprotocol offered", charge_point_id)
            await ws.close(
                code=WSCloseCode.PROTOCOL_ERROR, message=b"subprotocol ocpp1.6 required"
            )
            return ws
        self.stats.connections += 1
        if (task := asyncio.current_task()) is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        transport = WebSocketTransport(ws, self.stats, 2.0 * self.heartbeat_interval)
        connection = OcppConnection(
            charge_point_id,
            transport,
            response_timeout=self.response_timeout,
            heartbeat_interval=self.heartbeat_interval,
            pending_retry_interval=self.pending_retry_interval,
            presented_username=username,
            presented_password=password,
            on_pending_boot=self._announce,
        )
        previous = self._connections.get(charge_point_id)
        self._connections[charge_point_id] = connection
        if station is not None:
            station.attach(connection, accepted=True)
        if previous is not None:
            # Usually the charger rebooted and its old TCP session is dead.
            await previous.close("replaced by a new connection")
        try:
            await connection.run()
        finally:
            if self._connections.get(charge_point_id) is connection:
                del self._connections[charge_point_id]
        return ws

    def _announce(self, connection: OcppConnection) -> None:
        if self.on_unknown_charger is not None:
            self.on_unknown_charger(_pending(connection))


def _pending(connection: OcppConnection) -> PendingCharger:
    boot = connection.boot
    return PendingCharger(
        charge_point_id=connection.id,
        vendor=boot.vendor if boot else None,
        model=boot.model if boot else None,
        serial=boot.serial if boot else None,
        firmware=boot.firmware if boot else None,
        presented_username=connection.presented_username,
    )
