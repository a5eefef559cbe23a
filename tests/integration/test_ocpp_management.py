"""Reservations, firmware, diagnostics and configuration of OCPP chargers.

Each action goes to the MQ 200 simulator over the real central system; the
firmware image and the diagnostics upload go over HTTP to a loopback server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from aiohttp import web
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.evse_local.const import DOMAIN
from simulators import start_simulator
from simulators.ocpp_mq200 import ConfigKey, KeyKind, Mq200Simulator

from .conftest import add_charger, state_of, wait_for
from .test_ocpp import free_port, mq200, ocpp_data

CP = "MQ200-0001"
CONNECTOR = "sensor.mq200_0001_connector_status"
RESERVED = "sensor.mq200_0001_reserved_until"
FIRMWARE = "sensor.mq200_0001_firmware_update"
DIAGNOSTICS = "sensor.mq200_0001_diagnostics_upload"


@pytest.fixture
async def charger(
    hass: HomeAssistant,
) -> AsyncIterator[tuple[ConfigEntry, Mq200Simulator]]:
    """An MQ 200 (free charging, as set up before cards) connected, no car."""
    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN, title=CP, unique_id=CP, data=ocpp_data(port, CP)
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    async with mq200(port, CP) as sim:
        await sim.wait_accepted()
        await wait_for(lambda: shows(hass, CONNECTOR, "available"))
        yield entry, sim
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def files() -> AsyncIterator[tuple[str, dict[str, bytes]]]:
    """GET serves the firmware image, POST keeps uploads (loopback)."""
    uploads: dict[str, bytes] = {}

    async def get(request: web.Request) -> web.Response:
        if request.path != "/mq200-2.0.0.bin":
            return web.Response(status=404)
        return web.Response(body=b"MQ200 firmware 2.0.0\n")

    async def post(request: web.Request) -> web.Response:
        uploads[request.path] = await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/{name:.*}", get)
    app.router.add_post("/{name:.*}", post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", uploads
    await runner.cleanup()


def shows(hass: HomeAssistant, entity_id: str, state: str) -> bool:
    """Whether the entity exists and shows ``state``."""
    current = hass.states.get(entity_id)
    return current is not None and current.state == state


async def call(
    hass: HomeAssistant, service: str, entry: ConfigEntry, **data: Any
) -> Any:
    response = service not in ("cancel_reservation", "update_firmware")
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=response,
    )


async def refused(
    hass: HomeAssistant, service: str, entry: ConfigEntry, **data: Any
) -> HomeAssistantError:
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, service, entry, **data)
    return err.value


async def test_reserve_for_a_card_and_cancel(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """TC_046 and TC_051: reserved for Alice, shown, then cancelled."""
    entry, sim = charger
    response = await call(
        hass, "reserve_now", entry, id_tag="ALICE", duration={"minutes": 30}
    )
    assert response["reservation_id"] == 1
    await sim.sync()
    await wait_for(lambda: shows(hass, CONNECTOR, "reserved"))
    until = dt_util.parse_datetime(state_of(hass, RESERVED).state)
    assert until is not None
    assert timedelta(minutes=29) < until - dt_util.utcnow() <= timedelta(minutes=30)
    assert sim.model.reservation is not None
    assert sim.model.reservation.id_tag == "ALICE"
    await call(hass, "cancel_reservation", entry)
    await sim.sync()
    await wait_for(lambda: shows(hass, CONNECTOR, "available"))
    assert state_of(hass, RESERVED).state == "unknown"
    error = await refused(hass, "cancel_reservation", entry)
    assert error.translation_key == "no_reservation"
    error = await refused(hass, "cancel_reservation", entry, reservation_id=77)
    assert error.translation_key == "reservation_not_cancelled"


async def test_reserved_card_starts_the_session(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """TC_046: the session carries the reservation id; it ends the reservation."""
    entry, sim = charger
    until = dt_util.now() + timedelta(hours=1)
    await call(hass, "reserve_now", entry, id_tag="ALICE", until=until.isoformat())
    sim.model.auto_start = False
    sim.model.plug_in()
    await sim.swipe("ALICE")
    assert sim.model.status == "Charging"
    await wait_for(lambda: shows(hass, RESERVED, "unknown"))


async def test_reservation_refusals_are_explained(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """TC_048_2/3: a busy or unavailable charger, a time in the past."""
    entry, sim = charger
    error = await refused(hass, "reserve_now", entry, id_tag="A")
    assert error.translation_key == "reservation_end_missing"
    error = await refused(
        hass, "reserve_now", entry, id_tag="A", until="2020-01-01T00:00:00"
    )
    assert error.translation_key == "expiry_in_past"
    sim.model.plug_in()
    await sim.sync()
    error = await refused(
        hass, "reserve_now", entry, id_tag="A", duration={"minutes": 5}
    )
    assert isinstance(error, ServiceValidationError)
    assert error.translation_key == "reservation_occupied"
    assert error.translation_placeholders == {"charger": CP, "error": "Occupied"}
    sim.model.unplug()
    await sim.sync()
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.mq200_0001_available"},
        blocking=True,
    )
    error = await refused(
        hass, "reserve_now", entry, id_tag="A", duration={"minutes": 5}
    )
    assert error.translation_key == "reservation_unavailable"


async def test_firmware_update_shows_its_progress(
    hass: HomeAssistant,
    charger: tuple[ConfigEntry, Mq200Simulator],
    files: tuple[str, dict[str, bytes]],
) -> None:
    """TC_044_1: Downloading ... Installed, and the new version on the device."""
    entry, sim = charger
    base, _ = files
    assert state_of(hass, FIRMWARE).state == "idle"
    await call(hass, "update_firmware", entry, url=f"{base}/mq200-2.0.0.bin")
    assert state_of(hass, FIRMWARE).state == "requested"
    await sim.advance(60)  # its retrieve date has come
    await sim.wait_accepted()
    await wait_for(lambda: shows(hass, FIRMWARE, "installed"))
    await wait_for(lambda: device_version(hass, entry) == "2.0.0")
    assert sim.frames_sent["FirmwareStatusNotification"] == 4


def device_version(hass: HomeAssistant, entry: ConfigEntry) -> str | None:
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier((DOMAIN, CP), entry.entry_id)
    return None if device is None else device.sw_version


async def test_firmware_download_failure_and_bad_urls(
    hass: HomeAssistant,
    charger: tuple[ConfigEntry, Mq200Simulator],
    files: tuple[str, dict[str, bytes]],
) -> None:
    """TC_044_2: DownloadFailed is shown; an unusable address never leaves."""
    entry, sim = charger
    base, _ = files
    await call(hass, "update_firmware", entry, url=f"{base}/missing.bin")
    await sim.advance(60)
    await wait_for(lambda: shows(hass, FIRMWARE, "download_failed"))
    for url in ("not a url", "file:///etc/passwd", "http://"):
        error = await refused(hass, "update_firmware", entry, url=url)
        assert error.translation_key == "invalid_url"
    assert sim.frames_received["UpdateFirmware"] == 1


async def test_diagnostics_upload(
    hass: HomeAssistant,
    charger: tuple[ConfigEntry, Mq200Simulator],
    files: tuple[str, dict[str, bytes]],
) -> None:
    """TC_045_1: the file name comes back; the upload arrives; status shown."""
    entry, _ = charger
    base, uploads = files
    response = await call(hass, "get_diagnostics", entry, url=f"{base}/logs/")
    assert response["file_name"].startswith(f"{CP}-")
    await wait_for(lambda: shows(hass, DIAGNOSTICS, "uploaded"))
    assert list(uploads) == [f"/logs/{response['file_name']}"]
    await call(hass, "get_diagnostics", entry, url="ftp://127.0.0.1/logs/")
    await wait_for(lambda: shows(hass, DIAGNOSTICS, "upload_failed"))


async def test_configuration_is_read_and_changed_with_read_back(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    entry, sim = charger
    response = await call(
        hass, "get_ocpp_configuration", entry, keys=["HeartbeatInterval", "Nope"]
    )
    assert response == {
        "configuration": {"HeartbeatInterval": {"value": "60", "readonly": False}},
        "unknown_keys": ["Nope"],
    }
    changed = await call(
        hass, "set_ocpp_configuration", entry, key="HeartbeatInterval", value="300"
    )
    assert changed == {"key": "HeartbeatInterval", "value": "300", "status": "Accepted"}
    assert sim.heartbeat_interval == 300
    station = entry.runtime_data.charger.station
    connection = station.connection
    assert connection is not None
    # Two missed heartbeats of the new interval before it counts as gone.
    assert connection.transport.watchdog == 600
    # The next boot is told the same interval.
    await sim.reconnect()
    await sim.wait_accepted()
    assert sim.heartbeat_interval == 300
    for key, value, expected in (
        ("MeterValueSampleInterval", "30", "configuration_meter_interval"),
        ("MeterValuesSampledData", "Voltage", "configuration_measurands"),
        ("AuthorizationKey", "x", "configuration_secret"),
        ("HeartbeatInterval", "5", "heartbeat_out_of_range"),
        ("HeartbeatInterval", "soon", "heartbeat_out_of_range"),
        ("NoSuchKey", "1", "configuration_unknown_key"),
        ("NumberOfConnectors", "2", "configuration_rejected"),
        ("LightIntensity", "150", "configuration_rejected"),
    ):
        error = await refused(
            hass, "set_ocpp_configuration", entry, key=key, value=value
        )
        assert error.translation_key == expected, key


async def test_local_list_switched_on_gets_the_cards(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """LocalAuthListEnabled off: a repair; switched on: the list is sent."""
    entry, sim = charger
    await call(
        hass, "set_ocpp_configuration", entry, key="LocalAuthListEnabled", value="false"
    )
    await call(hass, "add_id_tag", entry, id_tag="ALICE")
    issue_id = f"ocpp_local_list_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "ocpp_local_list_disabled"
    await call(
        hass, "set_ocpp_configuration", entry, key="LocalAuthListEnabled", value="true"
    )
    await hass.async_block_till_done()
    assert list(sim.local_list) == ["alice"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_diagnostics_show_the_configuration_without_secrets(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN, title=CP, unique_id=CP, data=ocpp_data(port, CP)
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # A firmware's own key that holds a secret.
    secret = ConfigKey("FtpPassword", "hunter2", kind=KeyKind.TEXT)
    async with mq200(port, CP, vendor_keys=(secret,)) as sim:
        await sim.wait_accepted()
        await wait_for(lambda: shows(hass, CONNECTOR, "available"))
        await diagnostics_without_secrets(hass, hass_client, entry)
        response = await call(hass, "get_ocpp_configuration", entry)
        assert response["configuration"]["FtpPassword"] == {
            "value": "**REDACTED**",
            "readonly": False,
        }
    # Offline: the keys read at its last connection.
    data: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, entry
    )
    assert data["ocpp"]["configuration"]["FtpPassword"]["value"] == "**REDACTED**"
    assert data["ocpp"]["configuration_error"].startswith("not connected")
    await hass.config_entries.async_unload(entry.entry_id)


async def diagnostics_without_secrets(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: ConfigEntry
) -> None:
    await call(hass, "add_id_tag", entry, id_tag="ALICE", name="Alice")
    data: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, entry
    )
    ocpp = data["ocpp"]
    assert ocpp["configuration"]["HeartbeatInterval"] == {
        "value": "60",
        "readonly": False,
    }
    assert ocpp["configuration"]["FtpPassword"]["value"] == "**REDACTED**"
    assert ocpp["configuration_error"] is None
    assert ocpp["id_tags"] == 1
    assert ocpp["local_list"] == "synced"
    assert "hunter2" not in str(data)
    assert "ALICE" not in str(data)
    assert data["entry"]["options"]["id_tags"] == [
        {"id_tag": "**REDACTED**", "name": "**REDACTED**"}
    ]


async def test_reconnect_without_boot_asks_for_the_status(
    hass: HomeAssistant,
) -> None:
    """TC_054: a charger that only lost its network is asked what it missed."""
    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN, title=CP, unique_id=CP, data=ocpp_data(port, CP)
    )
    entry.add_to_hass(hass)
    with patch(
        "custom_components.evse_local.protocols.ocpp.station.RECOVERY_WAIT", 0.1
    ):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        async with mq200(port, CP, boot_on_reconnect=False) as sim:
            await sim.wait_accepted()
            sim.model.plug_in()
            await sim.sync()
            await wait_for(lambda: shows(hass, CONNECTOR, "charging"))
            assert sim.frames_received["TriggerMessage"] == 0  # it booted
            await sim.kill(reconnect=False)
            await wait_for(lambda: shows(hass, CONNECTOR, "unavailable"))
            # Meanwhile the car finished and was unplugged: lost messages.
            sim.model.unplug()
            await sim.sync()
            await sim.reconnect()
            await sim.wait_accepted()
            await wait_for(lambda: sim.frames_received["TriggerMessage"] >= 1)
            await sim.sync()
            await wait_for(lambda: shows(hass, CONNECTOR, "available"))
            assert sim.frames_sent["BootNotification"] == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_session_time_is_written_once_a_minute(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Shown in whole minutes: a MeterValues every 10 s does not rewrite it."""
    _, sim = charger
    entity_id = "sensor.mq200_0001_session_time"
    sim.model.plug_in()
    await sim.sync()
    await wait_for(lambda: shows(hass, CONNECTOR, "charging"))
    await hass.async_block_till_done()
    assert float(state_of(hass, entity_id).state) < 1
    changes: list[str] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == entity_id and event.data["new_state"]:
            changes.append(event.data["new_state"].state)

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, changed)
    meter_values = sim.frames_sent["MeterValues"]
    # The session's seconds move on (they are the station's clock)...
    await asyncio.sleep(1.1)
    await sim.advance(10)
    await wait_for(lambda: sim.frames_sent["MeterValues"] - meter_values == 1)
    await hass.async_block_till_done()
    # ... the minute it shows does not.
    assert changes == []
    unsubscribe()


async def test_commands_to_a_charger_that_is_away_are_explained(
    hass: HomeAssistant,
) -> None:
    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN, title=CP, unique_id=CP, data=ocpp_data(port, CP)
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for service, data in (
        ("reserve_now", {"id_tag": "A", "duration": {"minutes": 5}}),
        ("update_firmware", {"url": "http://127.0.0.1/x.bin"}),
        ("get_diagnostics", {"url": "http://127.0.0.1/"}),
        ("get_ocpp_configuration", {}),
        ("set_ocpp_configuration", {"key": "HeartbeatInterval", "value": "60"}),
    ):
        error = await refused(hass, service, entry, **data)
        assert error.translation_key == "communication_error", service
    error = await refused(hass, "cancel_reservation", entry)
    assert error.translation_key == "no_reservation"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_openevse_has_no_cards(hass: HomeAssistant) -> None:
    """OCPP actions on another kind of charger: not supported, clearly."""
    async with start_simulator("current", identity_seed=0xE5E) as sim:
        entry = await add_charger(hass, sim)
        for service, data in (
            ("list_id_tags", {}),
            ("reserve_now", {"id_tag": "A", "duration": {"minutes": 5}}),
            ("update_firmware", {"url": "http://127.0.0.1/x.bin"}),
            ("get_ocpp_configuration", {}),
        ):
            error = await refused(hass, service, entry, **data)
            assert error.translation_key == "not_supported", service
        await hass.config_entries.async_unload(entry.entry_id)
