"""The central system over real websockets: admission, pending, robustness."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvsePortInUseError,
)
from custom_components.evse_local.protocols.models import ChargerSnapshot, ChargerState
from custom_components.evse_local.protocols.ocpp import CentralSystem, PendingCharger
from custom_components.evse_local.protocols.ocpp._lib import LibraryLogger, call
from custom_components.evse_local.protocols.ocpp._lib import (
    exceptions as ocpp_exceptions,
)
from custom_components.evse_local.protocols.ocpp.server import (
    basic_credentials,
    charge_point_id_from_path,
)

from .ocpp_support import basic_auth, central_system, connect, eventually, self_signed

pytestmark = pytest.mark.usefixtures("loopback_sockets")


@pytest.fixture
async def session(loopback_sockets: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def raw_ws(
    session: aiohttp.ClientSession, system: CentralSystem, cp_id: str, **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    ws: aiohttp.ClientWebSocketResponse = await session.ws_connect(
        f"ws://127.0.0.1:{system.port}/ocpp/{cp_id}", protocols=("ocpp1.6",), **kwargs
    )
    return ws


async def exchange(ws: aiohttp.ClientWebSocketResponse, frame: str) -> list[Any]:
    """Send a raw frame; the next reply that comes back, decoded.

    The central system's own CALLs are skipped (unanswered): a known
    charger that talks without booting is asked for its status.
    """
    await ws.send_str(frame)
    while True:
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        decoded: list[Any] = json.loads(message.data)
        if decoded[0] != 2:
            return decoded


async def receive_close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Skip the central system's calls until the close frame."""
    async with asyncio.timeout(5):
        while (await ws.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
    assert ws.closed


BOOT = '[2,"b1","BootNotification",{"chargePointVendor":"Blink","chargePointModel":"MQ 200"}]'


def test_charge_point_id_is_the_last_segment_url_decoded() -> None:
    assert (
        charge_point_id_from_path(("/", "ocpp", "L1-0207%2F1922", "")) == "L1-0207/1922"
    )
    assert charge_point_id_from_path(("/", "")) is None


def test_basic_credentials_parsing() -> None:
    header = basic_auth("ocpp", "pa:ss")["Authorization"]
    assert basic_credentials(header) == ("ocpp", "pa:ss")
    assert basic_credentials(None) == (None, None)
    assert basic_credentials("Bearer x") == (None, None)
    assert basic_credentials("Basic !!!") == (None, None)
    assert basic_credentials("Basic bm9jb2xvbg==") == ("nocolon", None)


async def test_port_in_use_and_port_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = CentralSystem(port=0).port
    async with central_system() as system:
        clash = CentralSystem(host="127.0.0.1", port=system.port)
        with pytest.raises(EvsePortInUseError):
            await clash.start()


async def test_known_station_is_accepted_and_reports(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system(heartbeat_interval=30) as system:
        station = system.add_station("CP1", password="secret")
        updates: list[ChargerSnapshot] = []
        listener = asyncio.create_task(station.listen(updates.append))
        client = await connect(session, system, "CP1", password="secret")
        result = await client.cp.boot(charge_point_serial_number="SN-9")
        assert (result.status, result.interval) == ("Accepted", 30)
        await client.cp.status("Preparing")
        await client.cp.call(call.Heartbeat())
        transaction_id = await client.cp.start_transaction(meter_start=1000)
        await client.cp.status("Charging")
        await client.cp.meter(
            {
                "value": "1.1",
                "measurand": "Energy.Active.Import.Register",
                "unit": "kWh",
            },
            {"value": "16.1", "measurand": "Current.Import", "unit": "A"},
            {"value": "240", "measurand": "Voltage", "unit": "V"},
            {"value": "31", "measurand": "Temperature", "unit": "Celsius"},
            transaction_id=transaction_id,
        )
        snapshot = station.snapshot
        assert station.connected
        assert station.boot is not None
        assert station.boot.serial == "SN-9"
        assert snapshot.state is ChargerState.CHARGING
        assert snapshot.vehicle_connected
        assert snapshot.charging
        assert snapshot.lifetime_energy == 1100
        assert snapshot.session_energy == 100
        assert snapshot.charging_current == 16.1
        assert snapshot.power == pytest.approx(16.1 * 240)
        assert snapshot.temperatures == (31, None, None)
        assert snapshot.transaction_id == transaction_id == 1
        assert snapshot.last_heartbeat is not None
        assert updates
        assert updates[-1] == snapshot
        await client.close()
        await asyncio.wait_for(listener, 5)
        assert not station.connected
        assert system.stats.connections == 1


async def test_wrong_or_missing_password_is_refused_with_401(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        system.add_station("CP1", password="secret")
        for headers in (basic_auth("CP1", "wrong"), {}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await raw_ws(session, system, "CP1", headers=headers)
            assert refused.value.status == 401
        assert system.stats.rejected_auth == 2
        assert system.stats.connections == 0
        # The user name is free-form (Blink: "ocpp"); the password counts.
        ws = await raw_ws(session, system, "CP1", headers=basic_auth("ocpp", "secret"))
        assert (await exchange(ws, BOOT))[2]["status"] == "Accepted"
        await ws.close()


async def test_plain_http_and_missing_subprotocol(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        async with session.get(f"http://127.0.0.1:{system.port}/ocpp/CP1") as response:
            assert response.status == 400
        ws = await session.ws_connect(f"ws://127.0.0.1:{system.port}/ocpp/CP1")
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1002
        assert system.stats.closes == 1
        assert system.pending("CP1") is None


async def test_pending_until_approved_then_accepted_without_touching_others(
    session: aiohttp.ClientSession,
) -> None:
    announced: list[PendingCharger] = []
    async with central_system(
        on_unknown_charger=announced.append, pending_retry_interval=7
    ) as system:
        clients = [
            await connect(session, system, f"CP{n}", password=f"pw{n}")
            for n in range(10)
        ]
        results = await asyncio.gather(*(client.cp.boot() for client in clients))
        assert {(r.status, r.interval) for r in results} == {("Pending", 7)}
        await eventually(lambda: len(announced) == 10)
        pending = system.pending("CP3")
        assert pending is not None
        assert pending.model == "MQ 200"
        assert pending.presented_username == "CP3"
        assert "pw3" not in repr(pending)
        assert len(system.pending_chargers()) == 10
        # A pending charger gets minimal replies and never a command.
        await clients[0].cp.status("Available")
        await clients[0].cp.meter({"value": "5", "measurand": "Current.Import"})
        assert await clients[0].cp.start_transaction() == 0
        assert clients[0].cp.commands == []
        assert system.presented_password_matches("CP3", "pw3") is True
        assert system.presented_password_matches("CP3", "nope") is False
        assert system.presented_password_matches("CP3", None) is False
        assert system.presented_password_matches("nobody", "pw") is None

        stations = [system.add_station(f"CP{n}", password=f"pw{n}") for n in range(10)]
        await asyncio.gather(*(client.cp.triggered.wait() for client in clients))
        # The charger re-boots on the trigger and is accepted on the same socket.
        results = await asyncio.gather(*(client.cp.boot() for client in clients))
        assert {r.status for r in results} == {"Accepted"}
        await eventually(lambda: all(station.connected for station in stations))
        assert system.stats.closes == 0
        assert system.stats.connections == 10
        assert system.pending("CP3") is None
        # A second boot on the same connection is not announced again.
        assert len(announced) == 10
        for client in clients:
            await client.close()


async def test_approval_with_other_credentials_closes_only_that_connection(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        wrong = await connect(session, system, "CPX", password="old")
        other = await connect(session, system, "CPY", password="x")
        await wrong.cp.boot()
        await other.cp.boot()
        system.add_station("CPX", password="new")
        await wrong.wait_closed()
        assert system.stats.closes == 1
        assert not other.ws.closed
        assert system.pending("CPY") is not None
        # It reconnects with the old password: refused now that it is known.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await connect(session, system, "CPX", password="old")
        await other.close()


async def test_approving_a_charger_without_password_promotes_it(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        client = await connect(session, system, "OPEN")
        await client.cp.boot()
        assert system.presented_password_matches("OPEN", None) is None
        station = system.add_station("OPEN", password=None)
        assert system.add_station("OPEN", password=None) is station
        await client.cp.triggered.wait()
        assert (await client.cp.boot()).status == "Accepted"
        assert station.connected
        system.remove_station("OPEN")
        await client.wait_closed()
        assert system.station("OPEN") is None
        system.remove_station("OPEN")


async def test_unknown_action_is_answered_not_implemented_and_session_kept(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        reply = await exchange(ws, '[2,"u1","TransactionStarted",{"connectorId":1}]')
        assert reply[:3] == [4, "u1", "NotImplemented"]
        reply = await exchange(ws, '[2,"u2","Heartbeat",{}]')
        assert reply[0] == 3
        assert "currentTime" in reply[2]
        assert system.stats.call_errors_sent == 1
        await ws.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"m1","Heartbeat",{"x":', "FormationViolation"),
        ('[2,"m2","Heartbeat"]', "ProtocolError"),
        ('[2,"m3","Heartbeat",[]]', "FormationViolation"),
        ('[2,"m4","StatusNotification",{"connectorId":1}]', "ProtocolError"),
        ('[2,"m5","Heartbeat",{"extra":1}]', "FormationViolation"),
        (
            '[2,"m6","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]',
            "TypeConstraintViolation",
        ),
    ],
)
async def test_malformed_calls_get_a_call_error(
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    frame: str,
    code: str,
) -> None:
    async with central_system() as system:
        system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        with caplog.at_level(logging.DEBUG):
            reply = await exchange(ws, frame)
        assert reply[0] == 4
        assert reply[2] == code
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not [r for r in caplog.records if r.exc_info]
        # The session survives.
        assert (await exchange(ws, '[2,"ok","Heartbeat",{}]'))[0] == 3
        await ws.close()


async def test_garbage_without_an_id_is_ignored(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with central_system() as system:
        system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        with caplog.at_level(logging.DEBUG):
            for garbage in (
                "not json",
                "{}",
                "[2]",
                '[2,5,"Heartbeat",{}]',
                '[9,"x",{}]',
            ):
                await ws.send_str(garbage)
            await ws.send_bytes(b"\xff\xfe")
            await ws.send_bytes(b'[2,"bin","Heartbeat",{}]')
            message = await asyncio.wait_for(ws.receive(), 5)
            if json.loads(message.data)[0] == 2:
                # The status the charger is asked for, as it did not boot.
                message = await asyncio.wait_for(ws.receive(), 5)
        # Only the binary-but-UTF-8 heartbeat was answered.
        assert json.loads(message.data)[:2] == [3, "bin"]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        # Stray replies to calls nobody made are dropped quietly.
        await ws.send_str('[3,"nobody",{}]')
        await ws.send_str('[4,"nobody","GenericError","",{}]')
        assert (await exchange(ws, '[2,"ok","Heartbeat",{}]'))[:2] == [3, "ok"]
        await ws.close()


async def test_oversized_frame_closes_with_1009(session: aiohttp.ClientSession) -> None:
    async with central_system(max_frame_bytes=1024) as system:
        station = system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        await exchange(ws, BOOT)
        await ws.send_str('[2,"big","DataTransfer",{"vendorId":"' + "x" * 2000 + '"}]')
        await receive_close(ws)
        assert ws.close_code == 1009
        await eventually(lambda: not station.connected)
        assert system.stats.closes == 1


async def test_watchdog_closes_a_silent_charger(session: aiohttp.ClientSession) -> None:
    async with central_system(heartbeat_interval=1, pending_retry_interval=1) as system:
        station = system.add_station("CP1", password=None)
        client = await connect(session, system, "CP1")
        await client.cp.boot()
        assert station.connected
        listen = asyncio.create_task(station.listen(lambda _: None))
        # Pings keep flowing (aiohttp answers them) but no OCPP frame does.
        await asyncio.wait_for(listen, 5)
        assert not station.connected
        await client.wait_closed()
        assert system.stats.closes >= 1


async def test_second_connection_replaces_the_first(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        station = system.add_station("CP1", password=None)
        first = await connect(session, system, "CP1")
        await first.cp.boot()
        old = station.connection
        second = await connect(session, system, "CP1")
        await first.wait_closed()
        assert station.connection is not old
        assert (await second.cp.boot()).status == "Accepted"
        assert station.connected
        assert system.stats.closes == 1
        await second.close()


async def test_stop_closes_every_connection(session: aiohttp.ClientSession) -> None:
    async with central_system() as system:
        system.add_station("CP1", password=None)
        known = await connect(session, system, "CP1")
        unknown = await connect(session, system, "CP2")
        await system.stop()
        await known.wait_closed()
        await unknown.wait_closed()
        assert known.ws.close_code == 1001


async def test_other_charge_point_messages(session: aiohttp.ClientSession) -> None:
    async with central_system() as system:
        station = system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        replies = [
            await exchange(ws, frame)
            for frame in (
                '[2,"a","Authorize",{"idTag":"CARD"}]',
                '[2,"d","DataTransfer",{"vendorId":"com.blink","data":"x"}]',
                '[2,"f","FirmwareStatusNotification",{"status":"Installed"}]',
                '[2,"g","DiagnosticsStatusNotification",{"status":"Idle"}]',
                (
                    '[2,"s","StartTransaction",{"connectorId":1,"idTag":"CARD",'
                    '"meterStart":10,"timestamp":"2026-11-21T04:40:01Z"}]'
                ),
                # Lax stops: no transaction id, then no meterStop.
                '[2,"x","StopTransaction",{"meterStop":20,"timestamp":"2026-11-21T05:00:00Z"}]',
                '[2,"y","StopTransaction",{"transactionId":1,"timestamp":"2026-11-21T05:00:00Z"}]',
            )
        ]
        assert [reply[2] for reply in replies] == [
            {"idTagInfo": {"status": "Accepted"}},
            {"status": "UnknownVendorId"},
            {},
            {},
            {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
            {},
            {},
        ]
        assert station.snapshot.transaction_id is None
        assert station.snapshot.session_energy == 0
        await ws.close()


async def test_pending_charger_minimal_replies(session: aiohttp.ClientSession) -> None:
    announced: list[PendingCharger] = []
    async with central_system(on_unknown_charger=announced.append) as system:
        ws = await raw_ws(session, system, "NEW", headers=basic_auth("ocpp", "pw"))
        assert (await exchange(ws, BOOT))[2]["status"] == "Pending"
        assert (await exchange(ws, BOOT))[2]["status"] == "Pending"
        assert "currentTime" in (await exchange(ws, '[2,"h","Heartbeat",{}]'))[2]
        stop = '[2,"x","StopTransaction",{"transactionId":0,"meterStop":1,"timestamp":"2026-11-21T05:00:00Z"}]'
        assert (await exchange(ws, stop))[2] == {}
        assert len(announced) == 1
        assert announced[0].presented_username == "ocpp"
        await ws.close()


async def test_approval_of_a_charger_without_remote_trigger(
    session: aiohttp.ClientSession,
) -> None:
    async with central_system() as system:
        client = await connect(session, system, "MQ", password="pw")
        client.cp.replies.errors["TriggerMessage"] = "NotImplementedError"
        await client.cp.boot()
        station = system.add_station("MQ", password="pw")
        await client.cp.triggered.wait()
        # It boots again after the Pending interval, on its own: Accepted.
        assert (await client.cp.boot()).status == "Accepted"
        assert station.connected
        connection = station.connection
        assert connection is not None
        await client.close()
        await eventually(lambda: not station.connected)
        with pytest.raises(EvseConnectionError):
            await connection.send_call(call.Heartbeat())


async def test_bind_failure_other_than_port_in_use() -> None:
    system = CentralSystem(host="192.0.2.1", port=0)  # TEST-NET: not ours
    with pytest.raises(EvseConnectionError) as failed:
        await system.start()
    assert not isinstance(failed.value, EvsePortInUseError)


def raise_(error: Exception) -> None:
    raise error


def test_library_logger_keeps_tracebacks_for_our_bugs_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = LibraryLogger(logging.getLogger("test.ocpp.library"))
    with caplog.at_level(logging.DEBUG, logger="test.ocpp.library"):
        log.info("frame %s", 1)
        log.warning("call error %s", 2)
        log.error("stray %s", 3)
        for error in (ocpp_exceptions.FormationViolationError(), KeyError("ours")):
            try:
                raise_(error)
            except ocpp_exceptions.OCPPError, KeyError:
                log.exception("Error while handling request '%s'", "frame")
    levels = [(r.levelno, bool(r.exc_info)) for r in caplog.records]
    assert levels == [
        (logging.DEBUG, False),
        (logging.DEBUG, False),
        (logging.DEBUG, False),
        (logging.WARNING, False),
        (logging.ERROR, True),
    ]


async def test_tls_with_basic_auth(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cafile=str(cert_file))
    async with central_system(ssl_context=server_context) as system:
        system.add_station("TLS", password="secret")
        ws = await session.ws_connect(
            f"wss://127.0.0.1:{system.port}/ocpp/TLS",
            protocols=("ocpp1.6",),
            headers=basic_auth("TLS", "secret"),
            ssl=client_context,
        )
        assert (await exchange(ws, BOOT))[2]["status"] == "Accepted"
        await ws.close()


# --- every frame gets an answer (issue 11, item 14) ---------------------


def _offered_current_frame(unique_id: str, value: str) -> str:
    sample = {"value": value, "measurand": "Current.Offered", "unit": "A"}
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2026-11-21T04:40:11Z", "sampledValue": [sample]}],
    }
    return json.dumps([2, unique_id, "MeterValues", payload])


# What the peer's own garbage may get; the readings' parser may also drop
# an absurd value and answer the frame normally.
_ANY_ANSWER = frozenset({"result", "FormationViolation", "InternalError"})


@pytest.mark.parametrize(
    ("frame", "unique_id", "answers"),
    [
        # 400 digits: a float overflow somewhere in the readings.
        (_offered_current_frame("digits", "9" * 400), "digits", _ANY_ANSWER),
        # Nested deeper than Python recurses (the lenient StopTransaction
        # skips the schema, whose check would refuse it first).
        (
            '[2,"deep","StopTransaction",{"transactionData":'
            + "[" * 20000
            + "]" * 20000
            + "}]",
            "deep",
            {"FormationViolation"},
        ),
        # Nothing readable at all: no answer, but the session stays.
        ("[" * 20000, None, set()),
    ],
    ids=["400_digits", "deep_nesting", "unreadable"],
)
async def test_a_frame_that_breaks_a_handler_is_answered_and_the_session_kept(
    session: aiohttp.ClientSession,
    frame: str,
    unique_id: str | None,
    answers: set[str],
) -> None:
    async with central_system() as system:
        system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        assert (await exchange(ws, BOOT))[2]["status"] == "Accepted"
        await ws.send_str(frame)
        await ws.send_str('[2,"after","Heartbeat",{}]')
        replies: dict[str, str] = {}
        async with asyncio.timeout(5):
            while "after" not in replies:
                message = await ws.receive()
                assert message.type is aiohttp.WSMsgType.TEXT, message
                decoded = json.loads(message.data)
                if decoded[0] in (3, 4):
                    replies[decoded[1]] = "result" if decoded[0] == 3 else decoded[2]
        if unique_id is not None:
            assert replies[unique_id] in answers
        assert set(replies) == {"after"} | ({unique_id} if unique_id else set())
        assert not ws.closed
        assert system.stats.closes == 0
        await ws.close()


async def test_a_failing_announcement_keeps_the_pending_charger(
    session: aiohttp.ClientSession,
) -> None:
    def broken(_: PendingCharger) -> None:
        raise RuntimeError("the discovery callback failed")

    async with central_system(on_unknown_charger=broken) as system:
        ws = await raw_ws(session, system, "NEW")
        assert (await exchange(ws, BOOT))[2]["status"] == "Pending"
        assert (await exchange(ws, '[2,"h","Heartbeat",{}]'))[:2] == [3, "h"]
        assert not ws.closed
        assert system.stats.closes == 0
        await ws.close()


async def _answer_calls_with(
    ws: aiohttp.ClientWebSocketResponse, code: object, seen: list[str]
) -> None:
    """Answer every CALL of the central system with a CALLERROR ``code``."""
    async for message in ws:
        frame = json.loads(message.data)
        if frame[0] == 2:
            seen.append(frame[2])
            await ws.send_str(json.dumps([4, frame[1], code, "odd", {}]))


@pytest.mark.parametrize("code", ["MessageTypeNotSupported", None, 5])
async def test_a_non_standard_call_error_code_is_a_rejection(
    session: aiohttp.ClientSession, code: object
) -> None:
    async with central_system() as system:
        station = system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        await ws.send_str(BOOT)
        seen: list[str] = []
        answering = asyncio.create_task(_answer_calls_with(ws, code, seen))
        # The configuration after the boot goes on past each odd refusal:
        # the interval, then both measurand lists are tried.
        await eventually(lambda: seen.count("ChangeConfiguration") == 3)
        with pytest.raises(EvseCommandRejectedError) as rejected:
            await station.reset()
        assert rejected.value.command == "Reset"
        assert rejected.value.reply == str(code)
        assert station.connected
        await ws.close()
        await answering


async def test_a_failing_task_beside_the_read_loop_is_logged_once(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise KeyError("our bug")

    async with central_system() as system:
        station = system.add_station("CP1", password=None)
        ws = await raw_ws(session, system, "CP1")
        await exchange(ws, BOOT)
        connection = station.connection
        assert connection is not None
        connection.spawn(broken(), "broken task")
        await eventually(lambda: "broken task failed" in caplog.text)
        failures = [r for r in caplog.records if r.getMessage() == "broken task failed"]
        assert len(failures) == 1
        assert failures[0].exc_info is not None
        await ws.close()
