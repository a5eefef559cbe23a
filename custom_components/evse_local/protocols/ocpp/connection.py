"""One charge point's websocket: framing, routing, and the cp->cs handlers.

:class:`OcppConnection` is an ``ocpp.v16.ChargePoint`` (the library does the
schema validation, the snake_case mapping and the call/response pairing),
with our own frame routing in front so that a peer's garbage costs one log
line and, where a unique id is readable, one CALLERROR, never the connection.

A connection without a station is *pending*: it gets the minimum valid reply
to everything, BootNotification answered ``Pending``, and never a command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError, WSCloseCode, WSMsgType, web

from ..errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseTimeoutError,
)
from ._lib import (
    Call,
    CallError,
    CallResult,
    ChargePoint,
    LibraryLogger,
    OCPPError,
    UnknownCallErrorCodeError,
    after,
    call_error,
    call_result,
    on,
)

if TYPE_CHECKING:
    from .station import OcppStation

_LOGGER = logging.getLogger(__name__)
_LIBRARY_LOGGER = LibraryLogger(logging.getLogger(f"{__name__}.library"))

SUBPROTOCOL = "ocpp1.6"
# Enough to read the unique id of a CALL whose JSON is broken further on.
_CALL_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')
_CLOSE_TIMEOUT = 5.0
"""Seconds to wait for the peer's close frame (a dead peer sends none)."""


@dataclass(slots=True)
class CentralSystemStats:
    """Counters of the whole central system (diagnostics, benchmarks)."""

    connections: int = 0
    """Websocket connections accepted (after auth and subprotocol checks)."""
    rejected_auth: int = 0
    """Upgrades refused with HTTP 401."""
    refused: int = 0
    """Unknown ids refused before the upgrade: absurd (HTTP 400), or over a
    cap on unknown chargers (429 per address, 503 in all)."""
    handshakes_dropped: int = 0
    """Connections dropped while still sending their request: the oldest
    over the cap of an address or of all."""
    handshakes_timed_out: int = 0
    """Connections dropped for not sending a complete request in time."""
    frames_in: int = 0
    frames_out: int = 0
    call_errors_sent: int = 0
    closes: int = 0
    """Connections the central system closed (replaced, watchdog, removed,
    wrong subprotocol, oversized frame, shutdown)."""


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a charge point said about itself in BootNotification."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BootInfo:
        """From the snake_case BootNotification payload."""
        serial = payload.get("charge_point_serial_number") or payload.get(
            "charge_box_serial_number"
        )
        return cls(
            vendor=payload.get("charge_point_vendor"),
            model=payload.get("charge_point_model"),
            serial=serial,
            firmware=payload.get("firmware_version"),
        )


class _ConnectionClosedError(Exception):
    """The websocket is gone (closed, failed, or silenced by the watchdog)."""


def utc_now() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def ocpp_time(moment: datetime | None = None) -> str:
    """Format an OCPP timestamp: UTC, ``Z`` suffix."""
    moment = moment or utc_now()
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class WebSocketTransport:
    """``recv``/``send`` over an aiohttp websocket, as the ``ocpp`` lib expects."""

    def __init__(
        self, ws: web.WebSocketResponse, stats: CentralSystemStats, watchdog: float
    ) -> None:
        """Wrap ``ws``; ``watchdog``: seconds of silence before giving up."""
        self.ws = ws
        self.watchdog = watchdog
        self.stats = stats
        self.last_heard = time.monotonic()

    async def recv(self) -> str:
        """Return the next text frame; raise :class:`_ConnectionClosedError` at the end."""
        while True:
            try:
                # Not aiohttp's receive timeout: that one restarts on every
                # ping/pong, and a charger's TCP stack answers pings even
                # when its OCPP task is dead.
                async with asyncio.timeout(self.watchdog):
                    message = await self.ws.receive()
            except TimeoutError:
                raise _ConnectionClosedError(
                    f"no frame for {self.watchdog:.0f} s"
                ) from None
            if message.type is WSMsgType.TEXT:
                text: str = message.data
            elif message.type is WSMsgType.BINARY:
                try:
                    text = message.data.decode()
                except UnicodeDecodeError:
                    _LOGGER.warning("Ignoring a binary frame that is not UTF-8")
                    continue
            elif message.type is WSMsgType.ERROR:
                # aiohttp already closed with 1009 for an oversized frame.
                self.stats.closes += 1
                raise _ConnectionClosedError(str(message.data))
            else:
                raise _ConnectionClosedError("closed by the charge point")
            self.last_heard = time.monotonic()
            self.stats.frames_in += 1
            return text

    async def send(self, text: str) -> None:
        """Send one frame (the library's CALLs and our replies)."""
        self.stats.frames_out += 1
        if text.startswith("[4,"):
            self.stats.call_errors_sent += 1
        await self.ws.send_str(text)


def _log_failure(task: asyncio.Task[None]) -> None:
    """Log what a task beside the read loop raised (our bug), once."""
    if not task.cancelled() and (error := task.exception()) is not None:
        _LOGGER.error("%s failed", task.get_name(), exc_info=error)


class OcppConnection(ChargePoint):
    """One websocket session of one charge point."""

    def __init__(
        self,
        charge_point_id: str,
        transport: WebSocketTransport,
        *,
        response_timeout: float,
        heartbeat_interval: int,
        pending_retry_interval: int,
        presented_username: str | None,
        presented_password: str | None,
        on_pending_boot: Callable[[OcppConnection], bool],
        remote_address: str | None = None,
    ) -> None:
        """Set up routing; nothing is sent until the peer speaks."""
        super().__init__(
            charge_point_id,
            transport,
            response_timeout=response_timeout,
            logger=_LIBRARY_LOGGER,
        )
        self.transport = transport
        self.heartbeat_interval = heartbeat_interval
        self.pending_retry_interval = pending_retry_interval
        self.presented_username = presented_username
        self.presented_password = presented_password
        self.remote_address = remote_address
        self.station: OcppStation | None = None
        self.accepted = False
        """The station's boot was Accepted (or it was known when it connected)."""
        self.boot: BootInfo | None = None
        self.closed = False
        self.ended = asyncio.Event()
        self.first_call = asyncio.Event()
        """Set by the charger's first CALL (``first_action`` names it)."""
        self.first_action: str | None = None
        self._announced = False
        self._on_pending_boot = on_pending_boot
        self._awaited: set[str] = set()
        self._error_codes: dict[str, str] = {}
        self._replied = False
        self._tasks: set[asyncio.Task[None]] = set()
        transport.watchdog = self.watchdog

    # --- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Read and answer frames until the connection ends."""
        reason = "closed"
        try:
            while True:
                text = await self.transport.recv()
                await self.route_message(text)
        except _ConnectionClosedError as err:
            reason = str(err)
        except (ConnectionError, ClientError) as err:
            reason = f"send failed: {err}"
        finally:
            self._mark_closed(reason)
            if not self.transport.ws.closed:
                # Only the watchdog gets here with the socket still open.
                self.transport.stats.closes += 1
                await self._close_ws(WSCloseCode.GOING_AWAY, reason)

    async def close(self, reason: str) -> None:
        """Close from our side (replaced, removed, shutdown)."""
        self._mark_closed(reason)
        if not self.transport.ws.closed:
            self.transport.stats.closes += 1
            await self._close_ws(WSCloseCode.GOING_AWAY, reason)

    async def _close_ws(self, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self.transport.ws.close(code=code, message=reason.encode()[:120])
        except TimeoutError:
            _LOGGER.debug("%s: no close frame from the charge point", self.id)

    def _mark_closed(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.ended.set()
        _LOGGER.debug("%s: connection ended (%s)", self.id, reason)
        # Wake a command waiting for its reply: the answer will never come.
        for unique_id in self._awaited:
            self._response_queue.put_nowait(
                CallError(unique_id, "GenericError", "connection closed", {})
            )
        for task in self._tasks:
            task.cancel()
        if self.station is not None:
            self.station.detach(self)

    @property
    def watchdog(self) -> float:
        """Seconds of silence after which the connection is dropped.

        A charger told to wait (Pending) boots again every
        ``pending_retry_interval``: one that misses two boots is idle, and
        holds a place among the few kept for unknown chargers.
        """
        interval = self.heartbeat_interval if self.accepted else None
        return 2.0 * (interval or self.pending_retry_interval)

    def attach(self, station: OcppStation, *, accepted: bool) -> None:
        """Serve ``station`` from now on (known at connect, or just approved)."""
        self.station = station
        self.accepted = accepted
        if station.heartbeat_interval is not None:
            # The owner chose this charger's interval: its boots are told so.
            self.heartbeat_interval = station.heartbeat_interval
        self.transport.watchdog = self.watchdog

    def use_heartbeat_interval(self, seconds: int) -> None:
        """Expect a Heartbeat every ``seconds`` from now on (the watchdog follows)."""
        self.heartbeat_interval = seconds
        self.transport.watchdog = self.watchdog

    def spawn(self, coroutine: Any, name: str) -> None:
        """Run ``coroutine`` beside the read loop; cancelled when we close."""
        task: asyncio.Task[None] = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    # --- routing -----------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        """Route one frame; every readable CALL gets an answer, come what may.

        Whatever breaks while a frame is handled costs that frame a CALLERROR
        (``FormationViolation`` for the peer's data, ``InternalError`` for our
        bug, logged with its traceback), never the connection: a charger
        whose frame is not answered retries it for ever. Only a failed send
        ends the session.
        """
        self._replied = False
        try:
            await self._route(raw_msg)
        except _ConnectionClosedError, ConnectionError, ClientError:
            raise
        except (EvseProtocolError, RecursionError) as err:
            # The peer's data: a reading we cannot trust, or a frame nested
            # deeper than the library's recursive key conversion goes.
            _LOGGER.warning("%s: %r in %.80r", self.id, err, raw_msg)
            await self._reject_unanswered(raw_msg, "FormationViolation")
        except Exception:
            _LOGGER.exception("%s: cannot handle %.80r", self.id, raw_msg)
            await self._reject_unanswered(raw_msg, "InternalError")

    async def _reject_unanswered(self, raw_msg: str, code: str) -> None:
        match = _CALL_ID.match(raw_msg)
        if match and not self._replied:
            await self._reject(match.group(1), code, "the frame could not be handled")

    async def _send(self, message: str) -> None:
        """Send a frame, noting whether it answers the CALL being handled."""
        if message.startswith(("[3", "[4")):
            self._replied = True
        await super()._send(message)

    async def _route(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg)
        except ValueError, RecursionError:
            match = _CALL_ID.match(raw_msg)
            _LOGGER.warning("%s: frame is not JSON: %.80r", self.id, raw_msg)
            if match:
                await self._send(
                    call_error(
                        "FormationViolation",
                        match.group(1),
                        "Frame is not valid JSON",
                        "json",
                    )
                )
            return
        if not isinstance(frame, list) or len(frame) < 3:
            _LOGGER.warning("%s: not an OCPP frame: %.80r", self.id, raw_msg)
            return
        kind, unique_id = frame[0], frame[1]
        if not isinstance(unique_id, str):
            _LOGGER.warning("%s: frame without a unique id: %.80r", self.id, raw_msg)
            return
        if kind == 2:
            await self._route_call(frame, unique_id)
        elif kind in (3, 4):
            self._route_response(frame, unique_id)
        else:
            _LOGGER.warning("%s: unknown message type %r", self.id, kind)

    async def _route_call(self, frame: list[Any], unique_id: str) -> None:
        if len(frame) != 4 or not isinstance(frame[2], str):
            await self._reject(unique_id, "ProtocolError", "CALL needs 4 elements")
            return
        action, payload = frame[2], frame[3]
        if self.first_action is None:
            self.first_action = action
            self.first_call.set()
        if not isinstance(payload, dict):
            await self._reject(unique_id, "FormationViolation", "payload not object")
            return
        if action == "MeterValues":
            # The hot path (every charger, every sample interval) skips the
            # library's generic dispatch (signature inspection, key renaming
            # and a deep copy cost more than the readings themselves). Lax
            # peers (Blink's ``Amp``/``Volt``) are parsed leniently, not by
            # the schema, which rejects those units.
            if (station := self._live()) is not None:
                station.handle_meter_values({"meter_value": payload.get("meterValue")})
            await self._send(json.dumps([3, unique_id, {}], separators=(",", ":")))
            return
        if action not in self.route_map:
            # Blink HQ sends `TransactionStarted`: answer, keep the session.
            _LOGGER.debug("%s: no handler for %s", self.id, action)
            await self._reject(unique_id, "NotImplemented", f"{action} is not handled")
            return
        try:
            await self._handle_call(Call(unique_id, action, payload))
        except OCPPError as error:
            code = getattr(error, "code", "GenericError")
            # The library raises the OCPP 2.0 name; 1.6 spells it this way.
            code = "FormationViolation" if code == "FormatViolation" else code
            _LOGGER.warning("%s: invalid %s: %s", self.id, action, error)
            await self._reject(unique_id, code, f"invalid {action}")

    async def _reject(self, unique_id: str, code: str, cause: str) -> None:
        await self._send(call_error(code, unique_id, cause, cause))

    def _route_response(self, frame: list[Any], unique_id: str) -> None:
        if unique_id not in self._awaited:
            _LOGGER.debug(
                "%s: reply %s answers nothing we wait for", self.id, unique_id
            )
            return
        if frame[0] == 3:
            self._response_queue.put_nowait(CallResult(unique_id, frame[2]))
            return
        code, description, details = [*frame[2:5], None, None, None][:3]
        # Kept as sent (None, 5, an OCPP 2.0 code): it becomes the error's reply.
        self._error_codes[unique_id] = str(code)
        self._response_queue.put_nowait(
            CallError(unique_id, str(code), str(description or ""), details or {})
        )

    # --- commands (cs -> cp) -----------------------------------------------

    async def send_call(self, payload: Any) -> Any:
        """Send a CALL and return the library's result object.

        Raises :class:`EvseConnectionError` when the connection is (or goes)
        away, :class:`EvseTimeoutError`, or :class:`EvseCommandRejectedError`
        for a CALLERROR.
        """
        action = type(payload).__name__
        if self.closed:
            raise EvseConnectionError(f"{self.id} is not connected")
        unique_id = str(uuid.uuid4())
        self._awaited.add(unique_id)
        try:
            return await self.call(payload, suppress=False, unique_id=unique_id)
        except OCPPError as error:
            if self.closed:
                raise EvseConnectionError(f"{self.id} disconnected") from error
            code = getattr(error, "code", "GenericError")
            raise EvseCommandRejectedError(action, code) from error
        except UnknownCallErrorCodeError as error:
            # A code OCPP 1.6 does not define: still a refusal of the command.
            code = self._error_codes.get(unique_id, "unknown error code")
            raise EvseCommandRejectedError(action, code) from error
        except TimeoutError as error:
            raise EvseTimeoutError(f"{self.id} did not answer {action}") from error
        except (ConnectionError, ClientError) as error:
            raise EvseConnectionError(f"{self.id}: {error}") from error
        finally:
            self._awaited.discard(unique_id)
            self._error_codes.pop(unique_id, None)

    # --- cp -> cs handlers -------------------------------------------------

    def _live(self) -> OcppStation | None:
        return self.station if self.accepted else None

    @on("BootNotification")
    def on_boot_notification(self, **payload: Any) -> Any:
        """Accept a known station, answer Pending to anyone else."""
        self.boot = BootInfo.from_payload(payload)
        if self.station is None:
            return call_result.BootNotification(
                current_time=ocpp_time(),
                interval=self.pending_retry_interval,
                status="Pending",
            )
        self.accepted = True
        self.transport.watchdog = self.watchdog
        self.station.handle_boot(self, self.boot)
        return call_result.BootNotification(
            current_time=ocpp_time(),
            interval=self.heartbeat_interval,
            status="Accepted",
        )

    @after("BootNotification")
    def after_boot_notification(self, **_: Any) -> None:
        """Configure an accepted station; announce a pending charger once."""
        station = self._live()
        if station is not None:
            self.spawn(station.configure(self), f"ocpp configure {self.id}")
        elif self.station is None and not self._announced:
            # Not announced now (rate limit): asked again at its next boot.
            self._announced = self._on_pending_boot(self)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        """Answer the time; the station notes the heartbeat."""
        if (station := self._live()) is not None:
            station.handle_heartbeat()
        return call_result.Heartbeat(current_time=ocpp_time())

    @on("StatusNotification")
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **extra: Any
    ) -> Any:
        """Connector status (0 = the charger itself)."""
        if (station := self._live()) is not None:
            station.handle_status(connector_id, status, error_code, extra)
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        """Answer from the owner's list (a pending charger: every card)."""
        station = self._live()
        info = station.authorize(id_tag) if station else {"status": "Accepted"}
        return call_result.Authorize(id_tag_info=info)

    @on("StartTransaction")
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, **extra: Any
    ) -> Any:
        """Hand out our transaction id.

        A pending charger may charge too: we do not stop a car before the
        user has decided about the charger.
        """
        station = self._live()
        if station is None:
            return call_result.StartTransaction(
                transaction_id=0, id_tag_info={"status": "Accepted"}
            )
        # Numbered even when the card is refused: the charger then stops it.
        info = station.authorize(id_tag)
        transaction_id = station.handle_start_transaction(
            connector_id, id_tag, meter_start, extra
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=info
        )

    @after("StartTransaction")
    def after_start_transaction(self, **_: Any) -> None:
        """Put our pause or limit on the new session (a TxProfile ends with it)."""
        if (station := self._live()) is not None:
            self.spawn(station.session_started(), f"ocpp session {self.id}")

    # Lenient: transactionData may carry Blink's unit spellings.
    @on("StopTransaction", skip_schema_validation=True)
    def on_stop_transaction(self, **payload: Any) -> Any:
        """Acknowledge every stop (duplicates too): a charger retries otherwise."""
        if (station := self._live()) is not None:
            station.handle_stop_transaction(payload)
        return call_result.StopTransaction()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        """No vendor extension is known."""
        return call_result.DataTransfer(status="UnknownVendorId")

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, status: str, **_: Any) -> Any:
        """Progress of an UpdateFirmware: the firmware status sensor."""
        _LOGGER.debug("%s: firmware status %s", self.id, status)
        if (station := self._live()) is not None:
            station.handle_firmware_status(status)
        return call_result.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, status: str, **_: Any) -> Any:
        """Progress of a GetDiagnostics upload."""
        _LOGGER.debug("%s: diagnostics status %s", self.id, status)
        if (station := self._live()) is not None:
            station.handle_diagnostics_status(status)
        return call_result.DiagnosticsStatusNotification()
