"""Charge points for the OCPP tests: the ``ocpp`` library over aiohttp.

:class:`TestChargePoint` is a real ``ocpp.v16.ChargePoint`` (client side) on
an ``aiohttp`` websocket to the central system under test. What it answers
to each command is configurable per action, so refusals, CallErrors and
silence (timeouts) are all the real thing on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from custom_components.evse_local.protocols.ocpp import CentralSystem
from custom_components.evse_local.protocols.ocpp._lib import (
    ChargePoint,
    call,
    call_result,
    exceptions,
    on,
)

from .peers import peer_path

OCPP_DIR = Path("ocpp")
BLINK_CAPTURES = OCPP_DIR / "blink_real_captures.json"
TRANSCRIPTS = OCPP_DIR / "transcripts"


def blink_transaction_started_frame() -> str:
    """The real Blink HQ 200 ``TransactionStarted`` frame, closed off.

    The capture is an excerpt cut after the last meter value; only the
    closing brackets are added here, nothing of the payload.
    """
    document = json.loads(peer_path(BLINK_CAPTURES).read_text(encoding="utf-8"))
    prefix: str = document["captures"][0]["frame_prefix"]
    return prefix + "]}]"


def transcript_lines(name: str) -> list[dict[str, Any]]:
    """Every line of one SAP simulator transcript, in order."""
    text = peer_path(TRANSCRIPTS / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def basic_auth(username: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class _ClosedError(Exception):
    """The test client's websocket ended."""


class ClientTransport:
    """``recv``/``send`` over an aiohttp client websocket, recording frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap ``ws``."""
        self.ws = ws
        self.received: list[list[Any]] = []

    async def recv(self) -> str:
        """Return the next text frame."""
        message = await self.ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise _ClosedError(message.type.name)
        text: str = message.data
        self.received.append(json.loads(text))
        return text

    async def send(self, text: str) -> None:
        """Send one frame."""
        await self.ws.send_str(text)


@dataclass
class Replies:
    """What the test charge point answers: a status, an OCPP error, or None.

    ``None`` means silence: the central system's command times out.
    """

    statuses: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Action -> an ``ocpp.exceptions`` class name to raise (a CALLERROR)."""
    measurands_supported: tuple[str, ...] | None = None
    """MeterValuesSampledData: only these (None: anything)."""
    refuse_profile_purposes: set[str] = field(default_factory=set)
    """SetChargingProfile purposes answered ``Rejected``."""

    def status(self, action: str, default: str = "Accepted") -> str:
        return self.statuses.get(action) or default


class TestChargePoint(ChargePoint):
    """A charge point built on the ``ocpp`` library, answering every command."""

    __test__ = False
    # The library's (untyped) reply matcher, for raw_call.
    _get_specific_response: Callable[[str, float], Awaitable[Any]]

    def __init__(self, charge_point_id: str, transport: ClientTransport) -> None:
        super().__init__(charge_point_id, transport, response_timeout=5)
        self.transport = transport
        self.replies = Replies()
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.configuration: dict[str, str] = {}
        self.readonly: dict[str, str] = {}
        """Read-only keys GetConfiguration reports (ChangeConfiguration
        writes go to ``configuration``)."""
        self.list_version = 0
        self.diagnostics_file: str | None = "diagnostics.log"
        self.triggered = asyncio.Event()

    async def _answer(
        self, action: str, payload: dict[str, Any], default: str = "Accepted"
    ) -> Any:
        self.commands.append((action, payload))
        if action in self.replies.errors:
            raise getattr(exceptions, self.replies.errors[action])
        if action in self.replies.statuses and self.replies.statuses[action] is None:
            await asyncio.sleep(3600)
        result_class = getattr(call_result, action)
        return result_class(status=self.replies.status(action, default))

    @on("ChangeConfiguration")
    async def on_change_configuration(self, key: str, value: str) -> Any:
        supported = self.replies.measurands_supported
        if (
            key == "MeterValuesSampledData"
            and supported is not None
            and not set(value.split(",")) <= set(supported)
        ):
            self.commands.append(("ChangeConfiguration", {key: value}))
            return call_result.ChangeConfiguration(status="Rejected")
        self.configuration[key] = value
        return await self._answer("ChangeConfiguration", {key: value})

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, **payload: Any) -> Any:
        purpose = payload["cs_charging_profiles"]["charging_profile_purpose"]
        if purpose in self.replies.refuse_profile_purposes:
            self.commands.append(("SetChargingProfile", payload))
            return call_result.SetChargingProfile(status="Rejected")
        return await self._answer("SetChargingProfile", payload)

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **payload: Any) -> Any:
        return await self._answer("ClearChargingProfile", payload)

    @on("RemoteStartTransaction")
    async def on_remote_start(self, **payload: Any) -> Any:
        return await self._answer("RemoteStartTransaction", payload)

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, **payload: Any) -> Any:
        return await self._answer("RemoteStopTransaction", payload)

    @on("ChangeAvailability")
    async def on_change_availability(self, **payload: Any) -> Any:
        return await self._answer("ChangeAvailability", payload)

    @on("Reset")
    async def on_reset(self, **payload: Any) -> Any:
        return await self._answer("Reset", payload)

    @on("UnlockConnector")
    async def on_unlock_connector(self, **payload: Any) -> Any:
        return await self._answer("UnlockConnector", payload, default="Unlocked")

    @on("TriggerMessage")
    async def on_trigger_message(self, **payload: Any) -> Any:
        self.triggered.set()
        return await self._answer("TriggerMessage", payload)

    # --- local list, reservation, firmware, configuration ------------------

    async def _refuse_or_wait(self, action: str, payload: dict[str, Any]) -> None:
        """Record; raise the configured CALLERROR or stay silent."""
        self.commands.append((action, payload))
        if action in self.replies.errors:
            raise getattr(exceptions, self.replies.errors[action])
        if action in self.replies.statuses and self.replies.statuses[action] is None:
            await asyncio.sleep(3600)

    @on("GetConfiguration")
    async def on_get_configuration(self, key: list[str] | None = None) -> Any:
        await self._refuse_or_wait("GetConfiguration", {"key": key})
        held = self.configuration | self.readonly
        names = key or list(held)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": name, "readonly": name in self.readonly, "value": held[name]}
                for name in names
                if name in held
            ],
            unknown_key=[name for name in names if name not in held] or None,
        )

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self) -> Any:
        await self._refuse_or_wait("GetLocalListVersion", {})
        return call_result.GetLocalListVersion(list_version=self.list_version)

    @on("SendLocalList")
    async def on_send_local_list(self, **payload: Any) -> Any:
        result = await self._answer("SendLocalList", payload)
        if result.status == "Accepted":
            self.list_version = payload["list_version"]
        return result

    @on("ClearCache")
    async def on_clear_cache(self, **payload: Any) -> Any:
        return await self._answer("ClearCache", payload)

    @on("ReserveNow")
    async def on_reserve_now(self, **payload: Any) -> Any:
        return await self._answer("ReserveNow", payload)

    @on("CancelReservation")
    async def on_cancel_reservation(self, **payload: Any) -> Any:
        return await self._answer("CancelReservation", payload)

    @on("UpdateFirmware")
    async def on_update_firmware(self, **payload: Any) -> Any:
        await self._refuse_or_wait("UpdateFirmware", payload)
        return call_result.UpdateFirmware()

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(self, **payload: Any) -> Any:
        result = await self._answer("GetCompositeSchedule", payload)
        if result.status != "Accepted":
            return result
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=payload["connector_id"],
            schedule_start="2026-11-21T04:40:00.000Z",
            charging_schedule={
                "duration": payload["duration"],
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
            },
        )

    async def raw_call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send any CALL as JSON (camelCase); the reply frame, decoded."""
        unique_id = str(uuid.uuid4())
        async with self._call_lock:
            await self._send(json.dumps([2, unique_id, action, payload]))
            reply = await self._get_specific_response(unique_id, 5)
        if reply.message_type_id == 4:
            return [4, unique_id, reply.error_code]
        return [3, unique_id, reply.payload]

    @on("GetDiagnostics")
    async def on_get_diagnostics(self, **payload: Any) -> Any:
        await self._refuse_or_wait("GetDiagnostics", payload)
        return call_result.GetDiagnostics(file_name=self.diagnostics_file)

    # --- cp -> cs helpers --------------------------------------------------

    async def boot(self, firmware: str = "1.2.3", **extra: Any) -> Any:
        return await self.call(
            call.BootNotification(
                charge_point_vendor="Blink",
                charge_point_model="MQ 200",
                firmware_version=firmware,
                **extra,
            )
        )

    async def status(
        self, status: str, connector_id: int = 1, error: str = "NoError"
    ) -> None:
        await self.call(
            call.StatusNotification(
                connector_id=connector_id, error_code=error, status=status
            )
        )

    async def meter(
        self, *values: dict[str, Any], transaction_id: int | None = None
    ) -> None:
        await self.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        "timestamp": "2026-11-21T04:40:11.760Z",
                        "sampled_value": list(values),
                    }
                ],
            ),
            skip_schema_validation=True,
        )

    async def start_transaction(self, meter_start: int = 1000) -> int:
        result = await self.call(
            call.StartTransaction(
                connector_id=1,
                id_tag="TAG",
                meter_start=meter_start,
                timestamp="2026-11-21T04:40:01.745Z",
            )
        )
        transaction_id: int = result.transaction_id
        return transaction_id

    async def stop_transaction(self, transaction_id: int, meter_stop: int) -> Any:
        return await self.call(
            call.StopTransaction(
                meter_stop=meter_stop,
                timestamp="2026-11-21T04:45:01.745Z",
                transaction_id=transaction_id,
            )
        )


@dataclass
class Client:
    """A connected test charge point and its websocket."""

    cp: TestChargePoint
    ws: aiohttp.ClientWebSocketResponse
    task: asyncio.Task[None]

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def wait_closed(self) -> None:
        async with asyncio.timeout(5):
            with contextlib.suppress(_ClosedError):
                await self.task


async def _serve(cp: TestChargePoint) -> None:
    """The library's read loop, but each frame in its own task.

    A command the test leaves unanswered (silence) must not stop the charge
    point from reading the next frame, as ``ChargePoint.start`` would.
    """
    handlers: set[asyncio.Task[None]] = set()
    try:
        while True:
            text = await cp.transport.recv()
            task = asyncio.create_task(cp.route_message(text))
            handlers.add(task)
            task.add_done_callback(handlers.discard)
    except _ClosedError:
        pass
    finally:
        for task in handlers:
            task.cancel()


async def connect(
    session: aiohttp.ClientSession,
    system: CentralSystem,
    charge_point_id: str,
    *,
    password: str | None = None,
    username: str | None = None,
    prefix: str = "/ocpp/",
    protocols: tuple[str, ...] = ("ocpp1.6",),
) -> Client:
    """Connect a test charge point (Basic auth when ``password`` is given)."""
    headers = basic_auth(username or charge_point_id, password) if password else {}
    ws = await session.ws_connect(
        f"ws://127.0.0.1:{system.port}{prefix}{charge_point_id}",
        protocols=protocols,
        headers=headers,
    )
    cp = TestChargePoint(charge_point_id, ClientTransport(ws))
    task = asyncio.create_task(_serve(cp))
    return Client(cp, ws, task)


@contextlib.asynccontextmanager
async def central_system(**options: Any) -> AsyncIterator[CentralSystem]:
    """A started central system on 127.0.0.1, a free port."""
    system = CentralSystem(host="127.0.0.1", port=0, **options)
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def eventually(predicate: Any) -> None:
    """Wait (up to 5 s) until ``predicate()`` is true: state set by other tasks."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)


def upgrade_headers() -> dict[str, str]:
    """What a charger sends to open its websocket."""
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Protocol": "ocpp1.6",
    }


async def upgrade_status(port: int, charge_point_id: str) -> int:
    """Ask for a websocket on a raw connection; the HTTP status (it must close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = "".join(f"{k}: {v}\r\n" for k, v in upgrade_headers().items())
    request = f"GET /ocpp/{charge_point_id} HTTP/1.1\r\nHost: cs\r\n{headers}\r\n"
    writer.write(request.encode())
    reply = await asyncio.wait_for(reader.read(), 5)  # until the server closes
    writer.close()
    return int(reply.split(b" ", 2)[1])


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (security profile 2 test)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
