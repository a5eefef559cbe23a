"""Station commands and state against a real charge point on the ``ocpp`` lib."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseTimeoutError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.models import (
    ApiGeneration,
    Capability,
    ChargerSnapshot,
    ChargerState,
    OcppErrorCode,
    OcppStatus,
)
from custom_components.evse_local.protocols.ocpp import (
    CentralSystem,
    OcppCharger,
    OcppStation,
)
from custom_components.evse_local.protocols.ocpp import station as station_module
from custom_components.evse_local.protocols.ocpp._lib import call
from custom_components.evse_local.protocols.ocpp.measurands import (
    MQ200_MEASURANDS,
    WANTED_MEASURANDS,
)
from custom_components.evse_local.protocols.ocpp.station import (
    PROFILE_ID,
    SESSION_PROFILE_ID,
    _error_code,
)

from .ocpp_support import Client, central_system, connect, eventually

pytestmark = pytest.mark.usefixtures("loopback_sockets")


@dataclass
class Setup:
    system: CentralSystem
    station: OcppStation
    client: Client


@pytest.fixture
async def setup(loopback_sockets: None) -> AsyncIterator[Setup]:
    """An accepted, booted MQ 200-like charge point."""
    async with (
        aiohttp.ClientSession() as session,
        central_system(response_timeout=0.5, meter_interval=15) as system,
    ):
        station = system.add_station("MQ200", password="pw")
        client = await connect(session, system, "MQ200", password="pw")
        await client.cp.boot()
        await eventually(lambda: station.accepted_measurands is not None)
        yield Setup(system, station, client)
        await client.close()


def profiles(client: Client) -> list[dict[str, Any]]:
    return [p for action, p in client.cp.commands if action == "SetChargingProfile"]


def limit_of(payload: dict[str, Any]) -> float:
    schedule = payload["cs_charging_profiles"]["charging_schedule"]
    return float(schedule["charging_schedule_period"][0]["limit"])


async def test_boot_configures_interval_and_measurands(setup: Setup) -> None:
    config = setup.client.cp.configuration
    assert config["MeterValueSampleInterval"] == "15"
    assert config["MeterValuesSampledData"] == ",".join(WANTED_MEASURANDS)
    assert setup.station.accepted_measurands == WANTED_MEASURANDS


async def test_mq200_measurands_are_the_fallback(loopback_sockets: None) -> None:
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("MQ", password=None)
        client = await connect(session, system, "MQ")
        client.cp.replies.measurands_supported = MQ200_MEASURANDS
        await client.cp.boot()
        await eventually(lambda: station.accepted_measurands is not None)
        assert station.accepted_measurands == MQ200_MEASURANDS
        assert client.cp.configuration["MeterValuesSampledData"] == ",".join(
            MQ200_MEASURANDS
        )
        await client.close()


async def test_configuration_refused_entirely(loopback_sockets: None) -> None:
    async with (
        aiohttp.ClientSession() as session,
        central_system(response_timeout=0.3) as system,
    ):
        station = system.add_station("OLD", password=None)
        client = await connect(session, system, "OLD")
        client.cp.replies.errors["ChangeConfiguration"] = "NotImplementedError"
        await client.cp.boot()
        # Then its configuration is read (for diagnostics and list limits).
        await eventually(
            lambda: ("GetConfiguration", {"key": None}) in client.cp.commands
        )
        changes = [a for a, _ in client.cp.commands if a == "ChangeConfiguration"]
        assert len(changes) == 3
        assert station.accepted_measurands is None
        # A charger that does not answer at all: configuration gives up quietly.
        client.cp.replies.errors.clear()
        client.cp.replies.statuses["ChangeConfiguration"] = None
        await client.cp.boot()
        await asyncio.sleep(0.8)
        assert station.accepted_measurands is None
        assert station.connected
        await client.close()


async def test_current_limit_and_pause_use_the_session_profile(setup: Setup) -> None:
    station, client = setup.station, setup.client
    transaction_id = await client.cp.start_transaction(meter_start=0)
    await station.set_current_limit(16)
    await station.set_paused(True)
    assert station.snapshot.paused is True
    # While paused, a new limit is remembered for the resume.
    await station.set_current_limit(10)
    await station.set_paused(False)
    sent = profiles(client)
    assert [limit_of(p) for p in sent] == [16, 0, 10]
    profile = sent[0]["cs_charging_profiles"]
    assert sent[0]["connector_id"] == 1
    assert profile["charging_profile_id"] == SESSION_PROFILE_ID
    assert profile["charging_profile_purpose"] == "TxProfile"
    assert profile["transaction_id"] == transaction_id
    assert profile["charging_schedule"]["charging_rate_unit"] == "A"
    snapshot = station.snapshot
    assert (snapshot.paused, snapshot.max_current) == (False, 10)
    assert (snapshot.min_current_limit, snapshot.max_current_limit) == (6, 32)
    # Nothing was stored on the charger: no fallback of ours.
    assert snapshot.fallback_current is None
    with pytest.raises(ValueError, match="outside"):
        await station.set_current_limit(40)


async def test_pause_and_limit_carry_over_to_the_next_session(setup: Setup) -> None:
    station, client = setup.station, setup.client
    # No session: remembered, nothing sent.
    await station.set_current_limit(12)
    await station.set_paused(True)
    assert profiles(client) == []
    await client.cp.start_transaction(meter_start=0)
    # The new session gets our pause at once.
    await eventually(lambda: len(profiles(client)) == 1)
    assert limit_of(profiles(client)[0]) == 0
    await station.set_paused(False)
    assert limit_of(profiles(client)[-1]) == 12
    # Without a limit of ours, resuming hands the session back to the
    # default profile.
    await station.set_paused(True)
    station._current_limit = None
    await station.set_paused(False)
    assert client.cp.commands[-1] == (
        "ClearChargingProfile",
        {"id": SESSION_PROFILE_ID},
    )


async def test_default_profile_is_the_fallback(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await station.set_default_limit(6)
    profile = profiles(client)[-1]
    assert profile["cs_charging_profiles"]["charging_profile_purpose"] == (
        "TxDefaultProfile"
    )
    assert profile["cs_charging_profiles"]["charging_profile_id"] == PROFILE_ID
    assert "transaction_id" not in profile["cs_charging_profiles"]
    snapshot = station.snapshot
    assert (snapshot.fallback_current, snapshot.max_current) == (6, 6)
    with pytest.raises(ValueError, match="outside"):
        await station.set_default_limit(33)
    # Unanswered: what the charger keeps is unknown again.
    client.cp.replies.statuses["SetChargingProfile"] = None
    with pytest.raises(EvseTimeoutError):
        await station.set_default_limit(8)
    assert station.snapshot.fallback_current is None
    client.cp.replies.statuses["SetChargingProfile"] = "Rejected"
    with pytest.raises(EvseCommandRejectedError):
        await station.set_default_limit(8)
    assert station.profiles_refused
    with pytest.raises(EvseUnsupportedError):
        await station.set_default_limit(8)


async def test_unanswered_limit_is_unknown_until_confirmed(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await client.cp.start_transaction(meter_start=0)
    client.cp.replies.statuses["SetChargingProfile"] = None
    with pytest.raises(EvseTimeoutError):
        await station.set_current_limit(20)
    assert station.snapshot.max_current is None
    client.cp.replies.statuses["SetChargingProfile"] = "Accepted"
    await station.set_current_limit(20)
    assert station.snapshot.max_current == 20


async def test_charger_without_session_profiles_uses_the_default_one(
    setup: Setup,
) -> None:
    station, client = setup.station, setup.client
    await client.cp.start_transaction(meter_start=0)
    client.cp.replies.refuse_profile_purposes = {"TxProfile"}
    await station.set_current_limit(14)
    assert station.session_profiles_refused
    purposes = [
        p["cs_charging_profiles"]["charging_profile_purpose"] for p in profiles(client)
    ]
    assert purposes == ["TxProfile", "TxDefaultProfile"]
    # The default profile carries the live limit: it is the fallback too.
    assert station.snapshot.fallback_current == 14
    with pytest.raises(EvseUnsupportedError):
        await station.set_default_limit(6)
    await station.set_paused(True)
    assert limit_of(profiles(client)[-1]) == 0


async def test_profile_refused_falls_back_to_remote_stop_and_start(
    setup: Setup,
) -> None:
    station, client = setup.station, setup.client
    client.cp.replies.statuses["SetChargingProfile"] = "Rejected"
    transaction_id = await client.cp.start_transaction(meter_start=100)
    with pytest.raises(EvseCommandRejectedError):
        await station.set_current_limit(12)
    assert station.profiles_refused
    with pytest.raises(EvseUnsupportedError):
        await station.set_current_limit(12)
    await station.set_paused(True)
    assert ("RemoteStopTransaction", {"transaction_id": transaction_id}) in (
        client.cp.commands
    )
    assert station.snapshot.paused is True
    await client.cp.stop_transaction(transaction_id, meter_stop=900)
    # Someone starts charging at the charger: no longer paused.
    transaction_id = await client.cp.start_transaction(meter_start=900)
    assert station.snapshot.paused is False
    await station.set_paused(True)
    await client.cp.stop_transaction(transaction_id, meter_stop=950)
    await station.set_paused(False)
    assert client.cp.commands[-1] == (
        "RemoteStartTransaction",
        {"id_tag": "evse_local", "connector_id": 1},
    )
    assert station.snapshot.paused is False
    # A charger starting a session on its own after a remote-stop pause.
    await station.set_paused(True)  # no transaction: nothing to stop
    await client.cp.start_transaction()
    assert station.snapshot.paused is True
    assert station.snapshot.transaction_id is not None


async def test_remote_fallback_refused(setup: Setup) -> None:
    station, client = setup.station, setup.client
    client.cp.replies.errors["SetChargingProfile"] = "NotSupportedError"
    client.cp.replies.statuses["RemoteStartTransaction"] = "Rejected"
    client.cp.replies.statuses["RemoteStopTransaction"] = "Rejected"
    transaction_id = await client.cp.start_transaction()
    with pytest.raises(EvseCommandRejectedError, match="RemoteStop"):
        await station.set_paused(True)
    assert station.profiles_refused
    await station.set_paused(False)  # a session runs: nothing to start
    await client.cp.stop_transaction(transaction_id, meter_stop=10)
    with pytest.raises(EvseCommandRejectedError, match="RemoteStart"):
        await station.set_paused(False)


async def test_profile_is_restored_after_a_reboot(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await station.set_default_limit(20)
    await client.cp.boot()
    await eventually(lambda: len(profiles(client)) == 2)
    assert limit_of(profiles(client)[1]) == 20
    # A reboot into firmware that refuses profiles now.
    client.cp.replies.statuses["SetChargingProfile"] = "Rejected"
    await client.cp.boot()
    await eventually(lambda: station.profiles_refused)
    # ... or one that does not answer: the station stays usable.
    client.cp.replies.statuses["SetChargingProfile"] = None
    await client.cp.boot()
    await eventually(
        lambda: not station.profiles_refused and len(profiles(client)) == 4
    )
    await asyncio.sleep(0.7)  # past the response timeout
    assert station.connected
    assert not station.profiles_refused


async def test_availability_reset_unlock_trigger(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await station.set_available(False)
    assert station.snapshot.connector_available is False
    client.cp.replies.statuses["ChangeAvailability"] = "Scheduled"
    await station.set_available(True)
    assert station.snapshot.connector_available is True
    client.cp.replies.statuses["ChangeAvailability"] = "Rejected"
    with pytest.raises(EvseCommandRejectedError):
        await station.set_available(False)
    await station.reset(hard=True)
    assert client.cp.commands[-1] == ("Reset", {"type": "Hard"})
    client.cp.replies.statuses["Reset"] = "Rejected"
    with pytest.raises(EvseCommandRejectedError):
        await station.reset()
    await station.unlock()
    client.cp.replies.statuses["UnlockConnector"] = "UnlockFailed"
    with pytest.raises(EvseCommandRejectedError, match="UnlockFailed"):
        await station.unlock()
    client.cp.replies.statuses["UnlockConnector"] = "NotSupported"
    with pytest.raises(EvseUnsupportedError):
        await station.unlock()
    await station.trigger_status()
    client.cp.replies.statuses["TriggerMessage"] = "Rejected"
    with pytest.raises(EvseCommandRejectedError):
        await station.trigger_status()


async def test_call_error_timeout_and_disconnect(setup: Setup) -> None:
    station, client = setup.station, setup.client
    client.cp.replies.errors["Reset"] = "InternalError"
    with pytest.raises(EvseCommandRejectedError, match="InternalError"):
        await station.reset()
    client.cp.replies.statuses["UnlockConnector"] = None
    with pytest.raises(EvseTimeoutError):
        await station.unlock()
    # The late reply of a timed-out command is dropped, the next one works.
    await station.trigger_status()
    # The connection drops while a command waits: connection error at once.
    client.cp.replies.statuses["ChangeAvailability"] = None
    waiting = asyncio.create_task(station.set_available(False))
    await eventually(lambda: client.cp.commands[-1][0] == "ChangeAvailability")
    await client.close()
    with pytest.raises(EvseConnectionError):
        await asyncio.wait_for(waiting, 2)
    with pytest.raises(EvseConnectionError):
        await station.reset()
    assert not station.connected
    assert station.last_heard is not None


async def test_status_notifications(setup: Setup) -> None:
    station, client = setup.station, setup.client
    assert station.snapshot.state is ChargerState.UNDETERMINED
    assert station.snapshot.vehicle_connected is None
    expected = {
        "Available": (ChargerState.NOT_CONNECTED, False),
        "Preparing": (ChargerState.CONNECTED, True),
        "Charging": (ChargerState.CHARGING, True),
        "SuspendedEV": (ChargerState.CONNECTED, True),
        "SuspendedEVSE": (ChargerState.SLEEPING, True),
        "Finishing": (ChargerState.COMPLETE, True),
        "Reserved": (ChargerState.NOT_CONNECTED, False),
        "Unavailable": (ChargerState.DISABLED, False),
        "Faulted": (ChargerState.FAULT, False),
    }
    for status, (state, vehicle) in expected.items():
        await client.cp.status(status)
        snapshot = station.snapshot
        assert (snapshot.state, snapshot.vehicle_connected) == (state, vehicle), status
        assert snapshot.charging is (status == "Charging")
    await client.cp.status("Faulted", error="GroundFailure")
    assert station.snapshot.ocpp_error is OcppErrorCode.GROUND_FAILURE
    await client.cp.status("Charging", error="EVCommunicationError")
    assert station.snapshot.ocpp_error is OcppErrorCode.EV_COMMUNICATION_ERROR
    assert station.snapshot.ocpp_status is OcppStatus.CHARGING
    # Connector 0 is the whole charger: its fault outranks the connector.
    await client.cp.status("Faulted", connector_id=0, error="HighTemperature")
    assert station.snapshot.state is ChargerState.FAULT
    assert station.snapshot.ocpp_error is OcppErrorCode.HIGH_TEMPERATURE
    await client.cp.status("Available", connector_id=0)
    assert station.snapshot.state is ChargerState.CHARGING
    assert station.snapshot.connector_available is True


async def test_meter_values_phases_and_derived_power(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await client.cp.meter(
        {"value": "10", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "12", "measurand": "Current.Import", "unit": "A", "phase": "L2"},
        {"value": "230", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
        {"value": "232", "measurand": "Voltage", "unit": "V", "phase": "L2-N"},
        {"value": "400", "measurand": "Voltage", "unit": "V", "phase": "L1-L2"},
        {"value": "16", "measurand": "Current.Offered", "unit": "A"},
    )
    snapshot = station.snapshot
    assert snapshot.phase_currents == (10, 12, None)
    assert snapshot.phase_voltages == (230, 232, None)
    assert snapshot.charging_current == 11
    assert snapshot.voltage == 231
    assert snapshot.power == pytest.approx(10 * 230 + 12 * 232)
    assert snapshot.pilot_current == 16
    # Readings not yet reported stay None (no entity for them).
    assert snapshot.lifetime_energy is None
    assert snapshot.temperatures == (None, None, None)


async def test_duplicate_stop_transaction_is_idempotent(setup: Setup) -> None:
    station, client = setup.station, setup.client
    transaction_id = await client.cp.start_transaction(meter_start=1000)
    await client.cp.meter(
        {"value": "1040", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        transaction_id=transaction_id,
    )
    assert station.snapshot.session_energy == 40
    first, second = await asyncio.gather(
        client.cp.stop_transaction(transaction_id, meter_stop=1050),
        client.cp.stop_transaction(transaction_id, meter_stop=1050),
    )
    assert first == second
    snapshot = station.snapshot
    assert snapshot.transaction_id is None
    assert snapshot.session_energy == 50
    assert snapshot.lifetime_energy == 1050
    assert snapshot.session_time is not None
    # The session energy is kept until the next session starts.
    await client.cp.stop_transaction(999, meter_stop=1600)
    assert station.snapshot.session_energy == 50
    assert await client.cp.start_transaction(meter_start=1600) == transaction_id + 1
    assert station.snapshot.session_energy == 0


async def _registers(client: Client, transaction_id: int, *values: str) -> None:
    for value in values:
        await client.cp.meter(
            {"value": value, "measurand": "Energy.Active.Import.Register"},
            transaction_id=transaction_id,
        )


async def test_register_dropping_to_zero_keeps_the_session(setup: Setup) -> None:
    """A register that really restarted: the session counts on from zero.

    The drop counts as a restart once the next two readings continue it.
    """
    station, client = setup.station, setup.client
    transaction_id = await client.cp.start_transaction(meter_start=5000)
    await _registers(client, transaction_id, "5030", "0", "20")
    assert station.snapshot.session_energy == 30
    await _registers(client, transaction_id, "40")
    assert station.snapshot.session_energy == 70
    assert station.snapshot.lifetime_energy == 40


@pytest.mark.parametrize(
    "odd",
    ["0", "-5", "1e999", pytest.param("1" + "0" * 400, id="400-digits"), "NaN"],
)
async def test_one_odd_register_does_not_inflate_the_session(
    setup: Setup, odd: str
) -> None:
    """One odd register value: the session neither jumps nor goes back.

    Before, "0" moved the session's start so the next real reading counted
    the whole register again (5030 -> 0 -> 5050 made a 5.08 kWh session).
    """
    station, client = setup.station, setup.client
    transaction_id = await client.cp.start_transaction(meter_start=5000)
    sessions = []
    for value in ("5030", odd, "5050", "5070"):
        await _registers(client, transaction_id, value)
        sessions.append(station.snapshot.session_energy)
    assert sessions == [30, 30, 50, 70]
    assert station.snapshot.lifetime_energy == 5070


async def test_overflowing_meter_start_and_stop(setup: Setup) -> None:
    """meterStart of 400 digits and meterStop of 1e999 are answered, ignored."""
    station, client = setup.station, setup.client
    await _registers(client, 0, "7000")
    reply = await client.cp.call(
        call.StartTransaction(
            connector_id=1,
            id_tag="TAG",
            meter_start=10**400,
            timestamp="2026-11-21T04:40:01.745Z",
        ),
        skip_schema_validation=True,
    )
    transaction_id = reply.transaction_id
    # The last register known stands in for the start.
    await _registers(client, transaction_id, "7100")
    assert station.snapshot.session_energy == 100
    await client.cp.call(
        call.StopTransaction(
            meter_stop=math.inf,
            timestamp="2026-11-21T04:45:01.745Z",
            transaction_id=transaction_id,
        ),
        skip_schema_validation=True,
    )
    snapshot = station.snapshot
    assert snapshot.transaction_id is None
    assert snapshot.lifetime_energy == 7100
    assert snapshot.session_energy == 100


async def _charging(client: Client) -> int:
    transaction_id = await client.cp.start_transaction(meter_start=2000)
    await client.cp.status("Charging")
    await client.cp.meter(
        {"value": "2100", "measurand": "Energy.Active.Import.Register"},
        {"value": "16", "measurand": "Current.Import", "unit": "A"},
        {"value": "240", "measurand": "Voltage", "unit": "V"},
        {"value": "3840", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "31", "measurand": "Temperature", "unit": "Celsius"},
        transaction_id=transaction_id,
    )
    return transaction_id


async def test_reconnect_clears_live_readings_keeps_lifetime(
    loopback_sockets: None,
) -> None:
    """Readings from before a reconnect are not shown as current.

    Current, power, voltage and temperature are unknown until the charger
    reports them again; the lifetime energy and the session stay.
    """
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("RC", password=None)
        client = await connect(session, system, "RC")
        await client.cp.boot()
        await _charging(client)
        assert station.snapshot.charging_current == 16
        await client.close()
        await eventually(lambda: not station.connected)
        client = await connect(session, system, "RC")
        await eventually(lambda: station.connected)
        snapshot = station.snapshot
        assert snapshot.charging_current is None
        assert snapshot.power is None
        assert snapshot.voltage is None
        assert snapshot.temperatures == (None, None, None)
        assert snapshot.lifetime_energy == 2100
        assert snapshot.session_energy == 100
        assert snapshot.transaction_id is not None
        # A boot clears them too (a charger that reboots on the same socket).
        await client.cp.meter({"value": "12", "measurand": "Current.Import"})
        await client.cp.boot()
        assert station.snapshot.charging_current is None
        await client.close()


async def test_listen_after_a_reconnect_never_republishes_stale_state(
    loopback_sockets: None,
) -> None:
    """The first snapshot after a reconnect waits for the charger's status.

    The charger was reset while charging: it comes back Available. No update
    may show "charging" or 16 A again, not even for a moment.
    """
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("RS", password=None)
        client = await connect(session, system, "RS")
        await client.cp.boot()
        await _charging(client)
        await client.close()
        await eventually(lambda: not station.connected)
        updates: list[ChargerSnapshot] = []
        listening = asyncio.create_task(station.listen(updates.append))
        client = await connect(session, system, "RS")
        await client.cp.boot()
        await client.cp.status("Available", connector_id=0)
        await asyncio.sleep(0.05)
        assert updates == []  # connector 1 not reported yet
        await client.cp.status("Available")
        await eventually(lambda: len(updates) >= 1)
        assert [u.state for u in updates] == [ChargerState.NOT_CONNECTED]
        assert all(u.charging_current in (None, 0) for u in updates)
        # Available: nothing is drawn, and the session that was running is over.
        assert updates[-1].transaction_id is None
        assert updates[-1].session_energy == 100
        await client.close()
        await asyncio.wait_for(listening, 5)


async def test_listen_publishes_after_a_grace_without_a_status(
    loopback_sockets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A charger that reconnects without reporting its status is not left out."""
    monkeypatch.setattr(station_module, "STATUS_GRACE", 0.1)
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("NS", password=None)
        updates: list[ChargerSnapshot] = []
        listening = asyncio.create_task(station.listen(updates.append))
        client = await connect(session, system, "NS")
        await eventually(lambda: len(updates) == 1)
        await client.close()
        await asyncio.wait_for(listening, 5)
        # A connection that ends during the grace: listen returns, no update.
        listening = asyncio.create_task(station.listen(updates.append))
        client = await connect(session, system, "NS")
        await eventually(lambda: station.connected)
        await client.close()
        await asyncio.wait_for(listening, 5)
        assert len(updates) == 1


async def test_available_means_nothing_is_drawn(setup: Setup) -> None:
    """Status Available after a session: current and power are 0, not stale."""
    station, client = setup.station, setup.client
    transaction_id = await _charging(client)
    await client.cp.stop_transaction(transaction_id, meter_stop=2150)
    await client.cp.status("Finishing")
    assert station.snapshot.charging_current == 16  # no new reading yet
    await client.cp.status("Available")
    snapshot = station.snapshot
    assert (snapshot.charging_current, snapshot.power) == (0, 0)
    assert snapshot.voltage == 240  # the mains is still there


async def test_listen_waits_for_acceptance_and_sees_every_change(
    loopback_sockets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This charge point reports no status after connecting: a short grace.
    monkeypatch.setattr(station_module, "STATUS_GRACE", 0.1)
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("L", password=None)
        updates: list[ChargerSnapshot] = []
        listening = asyncio.create_task(station.listen(updates.append))
        await asyncio.sleep(0.05)
        assert updates == []
        client = await connect(session, system, "L")
        await eventually(lambda: len(updates) == 1)
        await client.cp.status("Charging")
        await client.cp.status("Charging")  # no change, no update
        assert updates[-1].state is ChargerState.CHARGING
        count = len(updates)
        await client.close()
        await asyncio.wait_for(listening, 5)
        assert len(updates) == count


async def test_export_and_restore(setup: Setup) -> None:
    station, client = setup.station, setup.client
    await station.set_current_limit(14)
    transaction_id = await client.cp.start_transaction(meter_start=2000)
    await client.cp.status("Charging")
    await client.cp.meter(
        {"value": "2.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
        {"value": "14", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "25", "measurand": "Temperature", "unit": "Celsius"},
        transaction_id=transaction_id,
    )
    await client.cp.call(call.Heartbeat())
    state = json.loads(json.dumps(setup.station.export_state()))
    restored = OcppStation("MQ200")
    restored.restore_state(state)
    assert not restored.connected
    before, after = station.snapshot, restored.snapshot
    for name in (
        "state",
        "lifetime_energy",
        "session_energy",
        "max_current",
        "temperatures",
        "phase_currents",
        "ocpp_status",
        "transaction_id",
        "last_heartbeat",
    ):
        assert getattr(after, name) == getattr(before, name), name
    assert restored.boot == station.boot
    assert restored.accepted_measurands == station.accepted_measurands
    # Transaction ids continue where they were.
    restored.handle_start_transaction(1, "x", 0, {})
    assert restored.snapshot.transaction_id == transaction_id + 1
    # Junk and other versions are ignored, never raised.
    junk = OcppStation("J")
    junk.restore_state({"version": 99})
    junk.restore_state(
        {
            "version": 1,
            "boot": "x",
            "status": "bogus",
            "meter": {
                "energy_wh": "abc",
                "current": True,
                "phase_currents": {"7": 1, "0": "x"},
                "phase_voltages": "x",
            },
            "transaction": {"transaction_id": "1"},
            "next_transaction_id": -1,
            "accepted_measurands": "nope",
        }
    )
    assert junk.snapshot.state is ChargerState.UNDETERMINED
    assert junk.snapshot.lifetime_energy is None
    assert junk.snapshot.phase_currents is None
    junk.restore_state({"version": 1, "meter": "x"})
    assert junk.snapshot.charging_current is None


def test_every_error_code_maps() -> None:
    codes = [
        "ConnectorLockFailure",
        "EVCommunicationError",
        "GroundFailure",
        "HighTemperature",
        "InternalError",
        "LocalListConflict",
        "NoError",
        "OtherError",
        "OverCurrentFailure",
        "OverVoltage",
        "PowerMeterFailure",
        "PowerSwitchFailure",
        "ReaderFailure",
        "ResetFailure",
        "UnderVoltage",
        "WeakSignal",
    ]
    assert {_error_code(code) for code in codes} == set(OcppErrorCode)
    assert _error_code("Bogus") is None


def test_power_needs_a_matching_phase() -> None:
    station = OcppStation("P")
    station.handle_meter_values(
        {
            "meter_value": [
                {
                    "sampled_value": [
                        {"value": "10", "measurand": "Current.Import", "phase": "L1"},
                        {"value": "230", "measurand": "Voltage", "phase": "L2-N"},
                    ]
                }
            ]
        }
    )
    # Mean current x mean voltage: the best guess without matching phases.
    assert station.snapshot.power == 2300


async def test_ocpp_charger_adapter(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(station_module, "STATUS_GRACE", 0.1)
    station, client = setup.station, setup.client
    charger = OcppCharger(station, max_current=40)
    assert OcppCharger.push_only is True
    assert charger.info.serial == "MQ200"
    assert charger.info.manufacturer == "Blink"
    assert charger.info.model == "MQ 200"
    assert charger.info.firmware == "1.2.3"
    assert charger.info.generation is ApiGeneration.OCPP16
    snapshot = await charger.poll()
    assert snapshot.max_current_limit == 40
    assert {
        Capability.PUSH,
        Capability.PAUSE,
        Capability.MAX_CURRENT,
        Capability.AVAILABILITY,
        Capability.UNLOCK,
        Capability.RESTART,
    } <= snapshot.capabilities
    assert Capability.ENERGY_LIMIT not in snapshot.capabilities
    requests = charger.requests
    await charger.set_max_current(20, persist=True)  # the default profile
    await charger.set_fallback_current(6)
    await charger.set_paused(True)  # no session: remembered
    await charger.set_available(True)
    await charger.unlock()
    await charger.restart()
    assert client.cp.commands[-1] == ("Reset", {"type": "Soft"})
    assert charger.requests == requests + 5
    assert station.snapshot.fallback_current == 6
    seen: list[ChargerSnapshot] = []
    listening = asyncio.create_task(charger.listen(seen.append))
    await eventually(lambda: bool(seen))
    await client.cp.boot(firmware="1.3.0")  # new firmware: the device info follows
    await eventually(lambda: charger.info.firmware == "1.3.0")
    await client.close()
    await asyncio.wait_for(listening, 5)
    assert charger.snapshot == seen[-1]
    with pytest.raises(EvseConnectionError):
        await charger.poll()
    fresh = OcppCharger(OcppStation("NEW"))
    assert fresh.info.manufacturer == "Blink"
    assert fresh.export_state()["version"] == 2
    fresh.restore_state(charger.export_state())
    assert fresh.info.model == "MQ 200"
    assert fresh.snapshot is not None
    assert fresh.snapshot.paused is True


def test_session_restored_without_a_guard_continues() -> None:
    """State saved before the session guard existed: the session goes on.

    The next register reading continues from the session so far; a drop to
    zero after it is a restart to be confirmed, not a smaller session.
    """
    station = OcppStation("OLD")
    station.restore_state(
        {
            "version": 1,
            "session_energy": 300.0,
            "transaction": {
                "transaction_id": 4,
                "meter_start": 5000.0,
                "started": "2026-11-21T04:40:01+00:00",
                "id_tag": "TAG",
            },
        }
    )
    for value, session in (("5320", 320), ("0", 320), ("20", 320), ("40", 360)):
        station.handle_meter_values(
            {"meter_value": [{"sampledValue": [{"value": value}]}]}
        )
        assert station.snapshot.session_energy == session, value
    assert station.export_state()["session_guard"]["energy_offset"] == 5320


async def test_meter_interval_is_set_now_or_at_the_next_connection(
    loopback_sockets: None,
) -> None:
    async with aiohttp.ClientSession() as session, central_system() as system:
        station = system.add_station("MQ", password=None, meter_interval=15)
        client = await connect(session, system, "MQ")
        await client.cp.boot()
        await eventually(lambda: station.accepted_measurands is not None)
        assert client.cp.configuration["MeterValueSampleInterval"] == "15"
        # This charger has no GetConfiguration: nothing to read back.
        await station.set_meter_interval(30)
        assert client.cp.configuration["MeterValueSampleInterval"] == "30"
        client.cp.replies.statuses["ChangeConfiguration"] = "Rejected"
        with pytest.raises(EvseCommandRejectedError):
            await station.set_meter_interval(45)
        assert station.meter_interval == 30
        await client.close()
        await eventually(lambda: not station.connected)
        # Not connected: kept for the next connection.
        await station.set_meter_interval(60)
        client = await connect(session, system, "MQ")
        await client.cp.boot()
        await eventually(
            lambda: client.cp.configuration.get("MeterValueSampleInterval") == "60"
        )
        await client.close()
