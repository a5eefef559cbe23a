"""The OCPP 1.6J central system: an aiohttp websocket server for charge points.

Chargers connect to ``ws[s]://host:port/<anything>/<charge point id>``. A
known (added) station is checked against its Basic Auth password at the
upgrade and served at once; an unknown id is served as *pending* until the
user approves it with :meth:`CentralSystem.add_station`.

Anyone on the network can connect, so nothing a stranger does may grow
without bound: a connection has :data:`HANDSHAKE_TIMEOUT` seconds to send a
complete request, and only so many may be at it per address (the oldest goes
first); unknown ids must look like a charge point id and are capped per
address and in total; a pending charger that stops talking is dropped; and
announcements of new chargers are rate limited, bounded in number, and
withdrawn (``on_charger_left``) when the charger stays away.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hmac
import logging
import re
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import WSCloseCode, hdrs, web
from aiohttp.web_protocol import RequestHandler

from ..errors import EvseConnectionError, EvsePortInUseError
from .connection import (
    SUBPROTOCOL,
    CentralSystemStats,
    OcppConnection,
    WebSocketTransport,
)
from .station import DEFAULT_ID_TAG, DEFAULT_MAX_CURRENT, OcppStation

_LOGGER = logging.getLogger(__name__)

MAX_ID_LENGTH = 48
"""OCPP 2.0.1's charge point identity limit; real ids are shorter (Blink
``L1-0207-1922-001684``: 19 characters)."""
# OCPP 2.0.1's identifierString characters: what real chargers use (letters,
# digits, dashes, MAC-style colons), nothing a path or a log line chokes on.
_ID_PATTERN = re.compile(rf"[A-Za-z0-9*\-_=:+|@.]{{1,{MAX_ID_LENGTH}}}")
ID_RULE = f"1 to {MAX_ID_LENGTH} characters: letters, digits and * - _ = : + | @ ."

HANDSHAKE_TIMEOUT = 10.0
"""Seconds a connection has to send a complete request (TLS is asyncio's)."""
MAX_HANDSHAKES_PER_ADDRESS = 32
"""Connections of one address still sending their request; a new one drops
the oldest (a charger's own handshake takes milliseconds)."""
MAX_HANDSHAKES = 256
"""The same, all addresses together."""
MAX_PENDING_PER_ADDRESS = 10
"""Websockets of unknown chargers from one address."""
MAX_PENDING = 128
"""Websockets of unknown chargers in all, and chargers announced at a time:
room for a site's 100 chargers arriving together after a power cut."""
ANNOUNCE_BURST = 128
ANNOUNCE_INTERVAL = 1.0
"""Announcements: ``ANNOUNCE_BURST`` at once, then one per this many seconds."""
DISCOVERY_GRACE = 60.0
"""Seconds an announced charger may stay away before it is withdrawn."""


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


def valid_charge_point_id(charge_point_id: str) -> bool:
    """Whether an id looks like a real charge point's (see :data:`ID_RULE`)."""
    return _ID_PATTERN.fullmatch(charge_point_id) is not None


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


def _refusal(
    status: int, text: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Refuse the upgrade with HTTP ``status``; the connection closes after it."""
    response = web.Response(status=status, text=text + "\n", headers=headers)
    response.force_close()
    return response


class _Handshakes:
    """TCP connections that have not sent a complete request yet.

    Each gets :attr:`timeout` seconds; beyond :attr:`per_address` of one
    address (or :attr:`total` in all) the oldest is dropped, so a stranger
    holding connections half-open cannot lock out a charger's quick one.
    """

    def __init__(
        self,
        *,
        timeout: float,
        per_address: int,
        total: int,
        stats: CentralSystemStats,
    ) -> None:
        self.timeout = timeout
        self.per_address = per_address
        self.total = total
        self.stats = stats
        # Insertion order is age: the first entry of an address is its oldest.
        self._open: dict[RequestHandler, tuple[str, asyncio.TimerHandle]] = {}
        self._per_address: Counter[str] = Counter()

    def __len__(self) -> int:
        """Return how many connections are sending their request."""
        return len(self._open)

    def opened(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        """Start the clock of a new connection; drop the oldest over a cap."""
        address = _peer_address(transport)
        if self._per_address[address] >= self.per_address:
            self._drop(next(h for h, (a, _) in self._open.items() if a == address))
        elif len(self._open) >= self.total:
            self._drop(next(iter(self._open)))
        timer = asyncio.get_running_loop().call_later(
            self.timeout, self._expire, handler
        )
        self._open[handler] = (address, timer)
        self._per_address[address] += 1

    def done(self, handler: RequestHandler) -> None:
        """Stop the clock: the request is complete, or the connection gone."""
        entry = self._open.pop(handler, None)
        if entry is None:
            return
        address, timer = entry
        timer.cancel()
        self._per_address[address] -= 1
        if not self._per_address[address]:
            del self._per_address[address]

    def _drop(self, handler: RequestHandler) -> None:
        self.stats.handshakes_dropped += 1
        self._abort(handler)

    def _expire(self, handler: RequestHandler) -> None:
        self.stats.handshakes_timed_out += 1
        self._abort(handler)

    def _abort(self, handler: RequestHandler) -> None:
        self.done(handler)
        if handler.transport is not None:
            handler.transport.abort()


def _peer_address(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple | list) and peer else str(peer)


class _GuardedServer(web.Server):
    """aiohttp's low-level server, reporting each TCP connection to a guard."""

    def __init__(self, handshakes: _Handshakes, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handshakes = handshakes
        self.open: set[RequestHandler] = set()
        """Connections not lost yet (aiohttp's own list keeps a lost one
        until its handler task has finished)."""

    def connection_made(
        self, handler: RequestHandler, transport: asyncio.Transport
    ) -> None:
        super().connection_made(handler, transport)
        self.open.add(handler)
        self.handshakes.opened(handler, transport)

    def connection_lost(
        self, handler: RequestHandler, exc: BaseException | None = None
    ) -> None:
        self.open.discard(handler)
        self.handshakes.done(handler)
        super().connection_lost(handler, exc)


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
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        max_handshakes_per_address: int = MAX_HANDSHAKES_PER_ADDRESS,
        max_handshakes: int = MAX_HANDSHAKES,
        max_pending_per_address: int = MAX_PENDING_PER_ADDRESS,
        max_pending: int = MAX_PENDING,
        announce_burst: int = ANNOUNCE_BURST,
        announce_interval: float = ANNOUNCE_INTERVAL,
        discovery_grace: float = DISCOVERY_GRACE,
        on_unknown_charger: Callable[[PendingCharger], None] | None = None,
        on_charger_left: Callable[[str], None] | None = None,
    ) -> None:
        """Configure; nothing is bound until :meth:`start`.

        ``on_unknown_charger`` announces a charger nobody added (at its
        BootNotification); ``on_charger_left`` withdraws one that stayed away
        for ``discovery_grace`` seconds without being added.
        """
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self.heartbeat_interval = heartbeat_interval
        self.meter_interval = meter_interval
        self.response_timeout = response_timeout
        self.max_frame_bytes = max_frame_bytes
        self.pending_retry_interval = pending_retry_interval
        self.max_pending_per_address = max_pending_per_address
        self.max_pending = max_pending
        self.announce_burst = announce_burst
        self.announce_interval = announce_interval
        self.discovery_grace = discovery_grace
        self.on_unknown_charger = on_unknown_charger
        self.on_charger_left = on_charger_left
        self.stats = CentralSystemStats()
        self._handshakes = _Handshakes(
            timeout=handshake_timeout,
            per_address=max_handshakes_per_address,
            total=max_handshakes,
            stats=self.stats,
        )
        self._stations: dict[str, OcppStation] = {}
        self._connections: dict[str, OcppConnection] = {}
        self._admitting: Counter[str] = Counter()
        self._announced: dict[str, asyncio.TimerHandle | None] = {}
        """Chargers announced and not withdrawn, with the timer that will
        withdraw one that left."""
        self._tokens = float(announce_burst)
        self._tokens_at = 0.0
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: _GuardedServer | None = None
        self._runner: web.BaseRunner | None = None
        self._bound_port: int | None = None

    # --- server ------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; raises :class:`EvsePortInUseError` if taken."""
        self._server = _GuardedServer(self._handshakes, self._handle, access_log=None)
        runner = web.ServerRunner(self._server, handle_signals=False)
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
        for timer in self._announced.values():
            if timer is not None:
                timer.cancel()
        self._announced.clear()
        if self._runner is not None:
            # Closes every connection still sending its request: their
            # handshake clocks stop as they are lost.
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The bound port (``port=0`` picks a free one)."""
        if self._bound_port is None:
            raise RuntimeError("the central system is not started")
        return self._bound_port

    @property
    def open_connections(self) -> int:
        """TCP connections open now: websockets and requests under way."""
        return 0 if self._server is None else len(self._server.open)

    @property
    def handshakes(self) -> int:
        """TCP connections still sending their request."""
        return len(self._handshakes)

    @property
    def announced(self) -> list[str]:
        """Chargers announced and not withdrawn (live or within the grace)."""
        return list(self._announced)

    # --- stations ----------------------------------------------------------

    def add_station(
        self,
        charge_point_id: str,
        *,
        password: str | None,
        max_current_limit: int = DEFAULT_MAX_CURRENT,
        id_tag: str = DEFAULT_ID_TAG,
        meter_interval: int | None = None,
    ) -> OcppStation:
        """Accept this charger (the user approved it); returns its station.

        ``meter_interval``: its MeterValues interval (the server's default
        otherwise), set at every connection.

        A pending live connection with the right credentials is promoted in
        place (and asked to boot again, so it is Accepted at once); with
        other credentials it is closed so it reconnects and gets checked. No
        other connection is touched.
        """
        self._forget_announcement(charge_point_id)
        station = self._stations.get(charge_point_id)
        if station is None:
            station = OcppStation(
                charge_point_id,
                password=password,
                meter_interval=meter_interval or self.meter_interval,
                max_current_limit=max_current_limit,
                id_tag=id_tag,
            )
            self._stations[charge_point_id] = station
        else:
            station.password = password
            if meter_interval is not None:
                station.meter_interval = meter_interval
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

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # A complete request: the handshake clock stops here.
        self._handshakes.done(request.protocol)
        charge_point_id = charge_point_id_from_path(request.rel_url.raw_parts)
        ws = _WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=float(self.heartbeat_interval),
            max_msg_size=self.max_frame_bytes,
            timeout=5.0,
        )
        if (
            request.method != hdrs.METH_GET
            or charge_point_id is None
            or not ws.can_prepare(request).ok
        ):
            return _refusal(400, "OCPP 1.6J websocket endpoint")
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
            return _refusal(
                401, "Unauthorized", {hdrs.WWW_AUTHENTICATE: 'Basic realm="OCPP"'}
            )
        address = request.remote or ""
        if station is None and (refused := self._admission(charge_point_id, address)):
            self.stats.refused += 1
            return refused
        # An unknown charger holds its place from here: the upgrade yields.
        admitting = address if station is None else None
        if admitting is not None:
            self._admitting[admitting] += 1
        try:
            await ws.prepare(request)
        except ConnectionError:
            # It hung up (or was dropped) before its upgrade was answered.
            _LOGGER.debug("%s: gone during the upgrade", charge_point_id)
            return _refusal(400, "Gone")
        finally:
            if admitting is not None:
                self._admitting[admitting] -= 1
                if not self._admitting[admitting]:
                    del self._admitting[admitting]
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
            remote_address=address,
            on_pending_boot=self._announce,
        )
        previous = self._connections.get(charge_point_id)
        self._connections[charge_point_id] = connection
        if station is not None:
            station.attach(connection, accepted=True)
        elif (timer := self._announced.get(charge_point_id)) is not None:
            # Back within the grace: its announcement stands.
            timer.cancel()
            self._announced[charge_point_id] = None
        if previous is not None:
            # Usually the charger rebooted and its old TCP session is dead.
            await previous.close("replaced by a new connection")
        try:
            await connection.run()
        finally:
            if self._connections.get(charge_point_id) is connection:
                del self._connections[charge_point_id]
                if connection.station is None:
                    self._left(charge_point_id)
        return ws

    def _admission(self, charge_point_id: str, address: str) -> web.Response | None:
        """Refuse an unknown id that is absurd or over a cap; None: let it in."""
        if not valid_charge_point_id(charge_point_id):
            _LOGGER.debug(
                "Refused charge point id %.60r: not %s", charge_point_id, ID_RULE
            )
            return _refusal(400, f"A charge point id has {ID_RULE}")
        previous = self._connections.get(charge_point_id)
        # A charger reconnecting replaces its own connection: no new place.
        pending = [
            connection
            for connection in self._connections.values()
            if connection.station is None and connection is not previous
        ]
        retry: dict[str, str] = {hdrs.RETRY_AFTER: str(self.pending_retry_interval)}
        here = self._admitting[address] + sum(
            connection.remote_address == address for connection in pending
        )
        if here >= self.max_pending_per_address:
            _LOGGER.debug(
                "%s: too many unknown chargers at %s", charge_point_id, address
            )
            return _refusal(429, "Too many unknown chargers at this address", retry)
        if sum(self._admitting.values()) + len(pending) >= self.max_pending:
            _LOGGER.debug("%s: too many unknown chargers", charge_point_id)
            return _refusal(503, "Too many unknown chargers", retry)
        return None

    def _announce(self, connection: OcppConnection) -> bool:
        """Announce a pending charger at its boot; False: not now (it retries)."""
        charge_point_id = connection.id
        if self.on_unknown_charger is None:
            return True
        if charge_point_id in self._announced:
            return True
        if len(self._announced) >= self.max_pending or not self._take_token():
            _LOGGER.debug("%s: announcement deferred", charge_point_id)
            return False
        self._announced[charge_point_id] = None
        self.on_unknown_charger(_pending(connection))
        return True

    def _take_token(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._tokens_at:
            self._tokens = min(
                float(self.announce_burst),
                self._tokens + (now - self._tokens_at) / self.announce_interval,
            )
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _left(self, charge_point_id: str) -> None:
        """Withdraw a pending charger whose last connection ended, unless it returns."""
        if charge_point_id in self._announced:
            self._announced[charge_point_id] = asyncio.get_running_loop().call_later(
                self.discovery_grace, self._withdraw, charge_point_id
            )

    def _withdraw(self, charge_point_id: str) -> None:
        del self._announced[charge_point_id]
        _LOGGER.debug("%s: stayed away, announcement withdrawn", charge_point_id)
        if self.on_charger_left is not None:
            self.on_charger_left(charge_point_id)

    def _forget_announcement(self, charge_point_id: str) -> None:
        timer = self._announced.pop(charge_point_id, None)
        if timer is not None:
            timer.cancel()


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
