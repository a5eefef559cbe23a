"""The OCPP 1.6J conformance matrix (docs/ocpp-conformance.md), as tests.

Every test runs against two charge points: the project's MQ 200 simulator
(``mq200``, driven through its model: plug in, swipe a card) and a bare
charge point on the ``ocpp`` library (``ocpp_lib``, driven with raw CALLs,
answering what each test sets). Tests named ``test_tc_<id>_...`` follow the
Open Charge Alliance's central-system test case of that id (TC_<id>_CSMS);
``test_msg_...`` cover a message no public case names. The matrix names
these tests, and ``tests/test_conformance_matrix.py`` keeps the two in step.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.models import (
    DiagnosticsStatus,
    FirmwareStatus,
    OcppStatus,
)
from custom_components.evse_local.protocols.ocpp import CentralSystem, OcppStation
from custom_components.evse_local.protocols.ocpp import station as station_module
from custom_components.evse_local.protocols.ocpp.authorization import (
    Authorization,
    IdTag,
    LocalListStatus,
)
from custom_components.evse_local.protocols.ocpp.connection import utc_now
from simulators.ocpp_mq200 import (
    LocalListRefusal,
    Mq200Model,
    Mq200Simulator,
    ProfileRefusal,
)

from .ocpp_support import Client, central_system, connect, eventually

pytestmark = pytest.mark.usefixtures("loopback_sockets")

PEERS = ("mq200", "ocpp_lib")
CARD = "CARD-1"
# What the ocpp-library peer reports of itself: the MQ 200's limits.
READONLY = {
    "SupportedFeatureProfiles": (
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging"
    ),
    "LocalAuthListMaxLength": "100",
    "SendLocalListMaxLength": "100",
}
TIMESTAMP = "2026-11-21T04:40:01.000Z"


@dataclass
class Peer:
    """A charge point under the central system, whichever kind it is."""

    kind: str
    system: CentralSystem
    station: OcppStation
    session: aiohttp.ClientSession
    sim: Mq200Simulator | None = None
    client: Client | None = None

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        """Send a CALL (camelCase); return the reply's payload."""
        if self.sim is not None:
            kind, reply = await self.sim.call_raw(action, payload)
        else:
            assert self.client is not None
            kind, _, reply = await self.client.cp.raw_call(action, payload)
        assert kind == 3, reply
        return reply

    def received(self, action: str) -> list[dict[str, Any]]:
        """Payloads (camelCase) of the central system's CALLs of ``action``."""
        if self.sim is not None:
            frames = [json.loads(text) for way, text in self.sim.frames if way == "in"]
        else:
            assert self.client is not None
            frames = self.client.cp.transport.received
        return [frame[3] for frame in frames if frame[0] == 2 and frame[2] == action]

    def answer(self, action: str, status: str | None) -> None:
        """How the ocpp-library peer answers ``action`` from now on."""
        assert self.client is not None
        self.client.cp.replies.statuses[action] = status

    async def settle(self) -> None:
        """Let the simulator send what its state calls for."""
        if self.sim is not None:
            await self.sim.sync()
        await asyncio.sleep(0)


@pytest.fixture(params=PEERS)
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[Peer]:
    """A booted charge point of each kind, its configuration read."""
    async with (
        aiohttp.ClientSession() as session,
        central_system(response_timeout=2) as system,
    ):
        station = system.add_station("CP", password=None)
        if request.param == "mq200":
            sim = Mq200Simulator(
                f"ws://127.0.0.1:{system.port}/ocpp",
                "CP",
                time_factor=0,
                keep_frames=5000,
                reconnect_delay=0.05,
                reboot_seconds=0.05,
                model=Mq200Model(auto_start=False),
                session=session,
            )
            await sim.start()
            await sim.wait_accepted()
            await sim.sync()
            result = Peer(request.param, system, station, session, sim=sim)
        else:
            client = await connect(session, system, "CP")
            client.cp.readonly = dict(READONLY)
            await client.cp.boot()
            result = Peer(request.param, system, station, session, client=client)
        await eventually(lambda: bool(station.configuration))
        yield result
        if result.sim is not None:
            await result.sim.stop()
        if result.client is not None:
            await result.client.close()


async def start_session(peer: Peer, id_tag: str = CARD, **extra: Any) -> int:
    """A car plugged in and a card presented: the station's transaction id."""
    if peer.sim is not None:
        peer.sim.model.plug_in()
        await peer.sim.swipe(id_tag)
    else:
        await peer.call("StatusNotification", status_payload("Preparing"))
        await peer.call("Authorize", {"idTag": id_tag})
        await peer.call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": id_tag,
                "meterStart": 1000,
                "timestamp": TIMESTAMP,
                **extra,
            },
        )
        await peer.call("StatusNotification", status_payload("Charging"))
    transaction_id = peer.station.snapshot.transaction_id
    assert transaction_id is not None
    return transaction_id


def status_payload(status: str, connector: int = 1) -> dict[str, Any]:
    return {"connectorId": connector, "errorCode": "NoError", "status": status}


# --- Core: boot, heartbeat, status, sessions -----------------------------


async def test_tc_001_cold_boot(peer: Peer) -> None:
    """BootNotification Accepted with our heartbeat interval; status, heartbeat."""
    assert peer.station.boot is not None
    assert peer.station.boot.vendor == "Blink"
    if peer.sim is not None:
        assert peer.sim.boot_status == "Accepted"
        assert peer.sim.heartbeat_interval == peer.system.heartbeat_interval
        await peer.sim.send_heartbeat()
        await peer.sim.send_status()
    else:
        reply = await peer.call("Heartbeat", {})
        assert "currentTime" in reply
        assert await peer.call("StatusNotification", status_payload("Available")) == {}
        await peer.call("StatusNotification", status_payload("Available", 0))
    snapshot = peer.station.snapshot
    assert snapshot.ocpp_status is OcppStatus.AVAILABLE
    assert snapshot.last_heartbeat is not None


async def test_tc_004_1_regular_charging_session_identification_first(
    peer: Peer,
) -> None:
    """Authorize, StartTransaction, MeterValues, StopTransaction from a card."""
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD, name="Car"),)))
    transaction_id = await start_session(peer)
    snapshot = peer.station.snapshot
    assert snapshot.id_tag == CARD
    assert snapshot.id_tag_name == "Car"
    assert snapshot.ocpp_status is OcppStatus.CHARGING
    if peer.sim is not None:
        await peer.sim.advance(20)
        peer.sim.model.unplug()
        await peer.sim.sync()
    else:
        await peer.call(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": transaction_id,
                "meterValue": [
                    {
                        "timestamp": TIMESTAMP,
                        # Within what the charger can deliver at once: a
                        # larger jump is held until readings confirm it.
                        "sampledValue": [{"value": "1100", "unit": "Wh"}],
                    }
                ],
            },
        )
        await peer.call(
            "StopTransaction",
            {
                "transactionId": transaction_id,
                "meterStop": 1150,
                "timestamp": TIMESTAMP,
                "idTag": CARD,
            },
        )
    snapshot = peer.station.snapshot
    assert snapshot.transaction_id is None
    assert snapshot.session_energy is not None
    assert snapshot.session_energy > 0
    assert snapshot.id_tag == CARD  # the last session's card


async def test_tc_023_1_authorize_invalid(peer: Peer) -> None:
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    reply = await peer.call("Authorize", {"idTag": "STRANGER"})
    assert reply == {"idTagInfo": {"status": "Invalid"}}
    assert peer.station.snapshot.refused_id_tag == "STRANGER"
    if peer.sim is not None:
        # The simulator's own attempt: refused, nothing starts.
        peer.sim.model.plug_in()
        await peer.sim.swipe("STRANGER")
        assert peer.sim.transaction_id is None


async def test_tc_023_2_authorize_expired(peer: Peer) -> None:
    expired = IdTag(id_tag=CARD, expiry=utc_now() - timedelta(hours=1))
    peer.station.set_authorization(Authorization((expired,)))
    reply = await peer.call("Authorize", {"idTag": CARD})
    assert reply["idTagInfo"]["status"] == "Expired"
    assert "expiryDate" in reply["idTagInfo"]


async def test_msg_start_transaction_refused_card(peer: Peer) -> None:
    """StartTransaction of an unknown card: numbered, answered Invalid, stopped."""
    peer.station.set_authorization(Authorization(()))
    reply = await peer.call(
        "StartTransaction",
        {"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": TIMESTAMP},
    )
    assert reply["idTagInfo"] == {"status": "Invalid"}
    assert reply["transactionId"] > 0


async def test_tc_064_data_transfer_to_the_central_system(peer: Peer) -> None:
    reply = await peer.call("DataTransfer", {"vendorId": "com.blink", "data": "x"})
    assert reply == {"status": "UnknownVendorId"}


async def test_msg_unknown_action_keeps_the_session(peer: Peer) -> None:
    """A vendor action (Blink's TransactionStarted): CALLERROR, still connected."""
    if peer.sim is not None:
        kind, code = await peer.sim.call_raw("TransactionStarted", {"x": 1})
    else:
        assert peer.client is not None
        kind, _, code = await peer.client.cp.raw_call("TransactionStarted", {"x": 1})
    assert (kind, code) == (4, "NotImplemented")
    assert peer.station.connected


# --- Core: commands ------------------------------------------------------


async def test_tc_019_1_retrieve_all_configuration_keys(peer: Peer) -> None:
    """GetConfiguration without keys at every connection (diagnostics, limits)."""
    assert {} in peer.received("GetConfiguration")
    assert peer.station.local_list_capacity == 100
    known, unknown = await peer.station.get_configuration(["HeartbeatInterval", "X"])
    assert set(known) == ({"HeartbeatInterval"} if peer.sim else set())
    assert unknown == (["X"] if peer.sim else ["HeartbeatInterval", "X"])


async def test_tc_021_change_configuration(peer: Peer) -> None:
    """MeterValueSampleInterval at boot; a change is read back."""
    changes = peer.received("ChangeConfiguration")
    assert {"key": "MeterValueSampleInterval", "value": "10"} in changes
    if peer.client is not None:
        peer.client.cp.readonly["HeartbeatInterval"] = "60"  # reads back stale
        with pytest.raises(EvseCommandRejectedError, match="reads 60"):
            await peer.station.change_configuration("HeartbeatInterval", "120")
        del peer.client.cp.readonly["HeartbeatInterval"]
    status = await peer.station.change_configuration("HeartbeatInterval", "120")
    assert status == "Accepted"
    assert peer.station.heartbeat_interval == 120
    if peer.sim is not None:
        assert peer.sim.heartbeat_interval == 120


async def test_msg_reset(peer: Peer) -> None:
    for hard in (False, True):
        connection = peer.station.connection
        await peer.station.reset(hard=hard)
        if peer.sim is not None:
            # It restarts: a new connection and a new boot.
            await eventually(
                lambda old=connection: (
                    peer.station.connection is not old and peer.station.connected
                )
            )
    if peer.sim is not None:
        sim = peer.sim
        await eventually(lambda: sim.frames_sent["BootNotification"] == 3)
    assert [p["type"] for p in peer.received("Reset")] == ["Soft", "Hard"]


async def test_msg_change_availability(peer: Peer) -> None:
    await peer.station.set_available(False)
    assert peer.received("ChangeAvailability") == [
        {"connectorId": 0, "type": "Inoperative"}
    ]
    assert peer.station.snapshot.connector_available is False


async def test_tc_017_1_unlock_connector(peer: Peer) -> None:
    await peer.station.unlock()
    assert peer.received("UnlockConnector") == [{"connectorId": 1}]


async def test_tc_031_unlock_connector_not_supported(peer: Peer) -> None:
    if peer.sim is not None:
        peer.sim.unlock_status = "NotSupported"
    else:
        peer.answer("UnlockConnector", "NotSupported")
    with pytest.raises(EvseUnsupportedError):
        await peer.station.unlock()


async def test_msg_remote_stop_and_start_when_profiles_are_refused(
    peer: Peer,
) -> None:
    """Pause/resume of a charger without Smart Charging: Remote Stop/Start."""
    if peer.sim is not None:
        peer.sim.quirks.refuse_profiles = ProfileRefusal.REJECTED
    else:
        peer.answer("SetChargingProfile", "Rejected")
    transaction_id = await start_session(peer)
    await peer.station.set_paused(True)
    assert peer.received("RemoteStopTransaction") == [{"transactionId": transaction_id}]
    await peer.settle()
    if peer.client is not None:
        await peer.call(
            "StopTransaction",
            {
                "transactionId": transaction_id,
                "meterStop": 1000,
                "timestamp": TIMESTAMP,
            },
        )
    await peer.station.set_paused(False)
    (start,) = peer.received("RemoteStartTransaction")
    assert start["idTag"] == peer.station.id_tag
    assert "chargingProfile" not in start
    assert peer.station.profiles_refused


# --- Smart Charging ------------------------------------------------------


def profiles(peer: Peer, purpose: str) -> list[dict[str, Any]]:
    return [
        p["csChargingProfiles"]
        for p in peer.received("SetChargingProfile")
        if p["csChargingProfiles"]["chargingProfilePurpose"] == purpose
    ]


async def test_tc_056_tx_default_profile(peer: Peer) -> None:
    await peer.station.set_default_limit(16)
    (profile,) = profiles(peer, "TxDefaultProfile")
    assert profile["chargingSchedule"]["chargingRateUnit"] == "A"
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0}
    ]
    assert peer.station.snapshot.fallback_current == 16
    if peer.sim is not None:
        assert peer.sim.could_offer == 16


async def test_tc_057_tx_profile(peer: Peer) -> None:
    transaction_id = await start_session(peer)
    await peer.station.set_current_limit(10)
    (profile,) = profiles(peer, "TxProfile")
    assert profile["transactionId"] == transaction_id
    assert profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 10
    if peer.sim is not None:
        assert peer.sim.model.offered_current == 10


async def test_tc_059_session_profile_at_every_start(peer: Peer) -> None:
    """Our limit reaches a new session as its TxProfile (not in RemoteStart)."""
    await peer.station.set_current_limit(12)
    assert profiles(peer, "TxProfile") == []  # no session yet
    transaction_id = await start_session(peer)
    await eventually(lambda: len(profiles(peer, "TxProfile")) == 1)
    assert profiles(peer, "TxProfile")[0]["transactionId"] == transaction_id


async def test_tc_066_get_composite_schedule(peer: Peer) -> None:
    await peer.station.set_default_limit(16)
    schedule = await peer.station.get_composite_schedule(600)
    assert peer.received("GetCompositeSchedule") == [
        {"connectorId": 1, "duration": 600, "chargingRateUnit": "A"}
    ]
    assert schedule["status"] == "Accepted"
    period = schedule["charging_schedule"]["charging_schedule_period"][0]
    assert period["limit"] == 16


async def test_tc_067_clear_charging_profile(peer: Peer) -> None:
    """Our old TxDefaultProfile (state version 1) is cleared by its id."""
    saved = peer.station.export_state()
    peer.station.restore_state({**saved, "version": 1})
    await peer.station.configure(peer.station.connection)  # type: ignore[arg-type]
    assert {"id": station_module.PROFILE_ID} in peer.received("ClearChargingProfile")


# --- Local Auth List Management -------------------------------------------


async def test_tc_042_2_get_local_list_version(peer: Peer) -> None:
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    assert await peer.station.sync_local_list() is LocalListStatus.SYNCED
    assert peer.received("GetLocalListVersion") == [{}]
    assert len(peer.received("SendLocalList")) == 1


async def test_tc_042_1_local_list_disabled(peer: Peer) -> None:
    if peer.sim is not None:
        peer.sim.config["LocalAuthListEnabled"] = "false"
    else:
        assert peer.client is not None
        peer.client.cp.list_version = -1
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    assert await peer.station.sync_local_list() is LocalListStatus.DISABLED
    assert peer.received("SendLocalList") == []


async def test_tc_043_4_send_local_list_full(peer: Peer) -> None:
    peer.station.set_authorization(
        Authorization((IdTag(id_tag=CARD), IdTag(id_tag="OTHER", parent="HOME")))
    )
    await peer.station.sync_local_list()
    (full,) = peer.received("SendLocalList")
    assert full["updateType"] == "Full"
    assert all("idTagInfo" in entry for entry in full["localAuthorizationList"])
    if peer.sim is not None:
        assert set(peer.sim.local_list) == {"card-1", "other"}


async def test_tc_043_5_send_local_list_differential(peer: Peer) -> None:
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    await peer.station.sync_local_list()
    peer.station.set_authorization(
        Authorization((IdTag(id_tag=CARD), IdTag(id_tag="NEW")))
    )
    await peer.station.sync_local_list()
    first, second = peer.received("SendLocalList")
    assert second["updateType"] == "Differential"
    assert second["listVersion"] > first["listVersion"]
    assert second["localAuthorizationList"] == [
        {"idTag": "NEW", "idTagInfo": {"status": "Accepted"}}
    ]


async def test_msg_send_local_list_failed(peer: Peer) -> None:
    """TC_043_3 from our side: Failed is reported, the list sent whole again."""
    if peer.sim is not None:
        peer.sim.quirks.local_list = LocalListRefusal.FAILED
    else:
        peer.answer("SendLocalList", "Failed")
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    assert await peer.station.sync_local_list() is LocalListStatus.FAILED


async def test_tc_061_clear_cache(peer: Peer) -> None:
    """A card removed from the list is also cleared from the charger's cache."""
    peer.station.set_authorization(Authorization((IdTag(id_tag=CARD),)))
    await peer.station.sync_local_list()
    if peer.sim is not None:
        peer.sim.model.plug_in()
        await peer.sim.swipe(CARD)
    cleared = len(peer.received("ClearCache"))  # free charging ended, too
    peer.station.set_authorization(Authorization(()))
    await peer.station.sync_local_list()
    assert len(peer.received("ClearCache")) == cleared + 1
    if peer.sim is not None:
        assert peer.sim.auth_cache == {}


# --- Reservation ------------------------------------------------------------


async def test_tc_046_reservation_of_a_connector_transaction(peer: Peer) -> None:
    expiry = utc_now() + timedelta(minutes=30)
    reservation = await peer.station.reserve(CARD, expiry)
    (sent,) = peer.received("ReserveNow")
    assert sent["connectorId"] == 1
    assert sent["idTag"] == CARD
    assert sent["reservationId"] == reservation.reservation_id
    if peer.sim is not None:
        await peer.sim.sync()
    else:
        await peer.call("StatusNotification", status_payload("Reserved"))
    assert peer.station.snapshot.ocpp_status is OcppStatus.RESERVED
    assert peer.station.reservation == reservation
    await start_session(peer, reservationId=reservation.reservation_id)
    assert peer.station.reservation is None


async def test_tc_047_reservation_expires(peer: Peer) -> None:
    expiry = utc_now() + timedelta(seconds=30)
    await peer.station.reserve(CARD, expiry)
    if peer.sim is not None:
        await peer.sim.sync()
        await peer.sim.advance(60 + (expiry - peer.sim.model.now()).total_seconds())
    else:
        await peer.call("StatusNotification", status_payload("Reserved"))
        await peer.call("StatusNotification", status_payload("Available"))
    assert peer.station.snapshot.ocpp_status is OcppStatus.AVAILABLE
    assert peer.station.reservation is None


async def test_tc_048_2_reservation_occupied(peer: Peer) -> None:
    if peer.sim is not None:
        peer.sim.model.plug_in()
        await peer.sim.sync()
    else:
        peer.answer("ReserveNow", "Occupied")
    with pytest.raises(EvseCommandRejectedError) as err:
        await peer.station.reserve(CARD, utc_now() + timedelta(minutes=5))
    assert err.value.reply == "Occupied"
    assert peer.station.reservation is None


async def test_tc_048_3_reservation_unavailable(peer: Peer) -> None:
    if peer.sim is not None:
        await peer.station.set_available(False)
    else:
        peer.answer("ReserveNow", "Unavailable")
    with pytest.raises(EvseCommandRejectedError) as err:
        await peer.station.reserve(CARD, utc_now() + timedelta(minutes=5))
    assert err.value.reply == "Unavailable"


async def test_msg_cancel_reservation(peer: Peer) -> None:
    reservation = await peer.station.reserve(CARD, utc_now() + timedelta(minutes=5))
    await peer.station.cancel_reservation()
    assert peer.received("CancelReservation") == [
        {"reservationId": reservation.reservation_id}
    ]
    assert peer.station.reservation is None
    if peer.client is not None:
        peer.answer("CancelReservation", "Rejected")
    with pytest.raises(EvseCommandRejectedError):
        await peer.station.cancel_reservation(reservation.reservation_id)


# --- Firmware Management ------------------------------------------------------


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """A loopback HTTP server: a valid image, a broken one, an upload target."""

    async def get(request: web.Request) -> web.Response:
        images = {"/good.bin": b"MQ200 firmware 9.9.9\n", "/bad.bin": b"garbage"}
        body = images.get(request.path)
        return web.Response(status=404) if body is None else web.Response(body=body)

    async def post(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_get("/{name:.*}", get)
    app.router.add_post("/{name:.*}", post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def firmware_run(peer: Peer, location: str, statuses: list[str]) -> None:
    """UpdateFirmware; the simulator does it, the ocpp-library peer reports."""
    await peer.station.update_firmware(location)
    assert peer.station.snapshot.firmware_status is FirmwareStatus.REQUESTED
    (sent,) = peer.received("UpdateFirmware")
    assert sent["location"] == location
    if peer.sim is not None:
        await peer.sim.advance(60)
    else:
        for status in statuses:
            await peer.call("FirmwareStatusNotification", {"status": status})


async def test_msg_update_firmware_installed(peer: Peer, files: str) -> None:
    await firmware_run(
        peer,
        f"{files}/good.bin",
        ["Downloading", "Downloaded", "Installing", "Installed"],
    )
    await eventually(
        lambda: peer.station.snapshot.firmware_status is FirmwareStatus.INSTALLED
    )


async def test_tc_044_2_firmware_download_failed(peer: Peer, files: str) -> None:
    await firmware_run(peer, f"{files}/missing.bin", ["Downloading", "DownloadFailed"])
    await eventually(
        lambda: peer.station.snapshot.firmware_status is FirmwareStatus.DOWNLOAD_FAILED
    )


async def test_tc_044_3_firmware_installation_failed(peer: Peer, files: str) -> None:
    await firmware_run(
        peer,
        f"{files}/bad.bin",
        ["Downloading", "Downloaded", "Installing", "InstallationFailed"],
    )
    await eventually(
        lambda: (
            peer.station.snapshot.firmware_status is FirmwareStatus.INSTALLATION_FAILED
        )
    )


async def test_msg_get_diagnostics(peer: Peer, files: str) -> None:
    file_name = await peer.station.get_diagnostics(f"{files}/upload/")
    assert file_name
    assert peer.received("GetDiagnostics") == [{"location": f"{files}/upload/"}]
    if peer.client is not None:
        for status in ("Uploading", "Uploaded"):
            await peer.call("DiagnosticsStatusNotification", {"status": status})
    await eventually(
        lambda: peer.station.snapshot.diagnostics_status is DiagnosticsStatus.UPLOADED
    )


# --- Remote Trigger ---------------------------------------------------------


async def reconnect_without_boot(
    peer: Peer, answers: dict[str, str | None] | None = None
) -> None:
    """The charger's network went away and came back: it does not boot.

    ``answers``: how the ocpp-library peer's new connection answers.
    """
    if peer.sim is not None:
        peer.sim.boot_on_reconnect = False
        await peer.sim.reconnect()
        await peer.sim.wait_accepted()
        await peer.sim.send_heartbeat()
    else:
        assert peer.client is not None
        await peer.client.close()
        peer.client = await connect(peer.session, peer.system, "CP")
        peer.client.cp.readonly = dict(READONLY)
        peer.client.cp.replies.statuses.update(answers or {})
        await peer.call("Heartbeat", {})


async def test_tc_054_trigger_message_after_a_reconnect(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StatusNotification (and MeterValues in a session) asked, not waited for."""
    monkeypatch.setattr(station_module, "RECOVERY_WAIT", 0.05)
    await start_session(peer)
    await reconnect_without_boot(peer)
    await eventually(lambda: len(peer.received("TriggerMessage")) >= 2)
    triggers = peer.received("TriggerMessage")
    assert {"requestedMessage": "StatusNotification"} in triggers
    assert {"requestedMessage": "MeterValues", "connectorId": 1} in triggers
    if peer.sim is not None:
        await peer.sim.sync()
        assert peer.sim.frames_sent["StatusNotification"] >= 2


async def test_tc_055_trigger_message_rejected(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused trigger costs nothing but the trigger: the rest goes on."""
    monkeypatch.setattr(station_module, "RECOVERY_WAIT", 0.05)
    if peer.sim is not None:
        peer.sim.quirks.refuse_triggers = True
        before = len(peer.received("GetConfiguration"))
    else:
        before = 0  # a new connection: its own frames
    await reconnect_without_boot(peer, {"TriggerMessage": "Rejected"})
    await eventually(lambda: len(peer.received("GetConfiguration")) > before)
    assert peer.received("TriggerMessage")
    assert peer.station.connected
