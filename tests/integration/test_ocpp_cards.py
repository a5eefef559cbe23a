"""RFID cards on OCPP chargers: the owner's list, end to end.

A new set-up answers only listed cards; the list is edited in the options
flow or with actions and reaches the MQ 200 simulator as its local list, so
a listed card charges while Home Assistant is away too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_local.const import DOMAIN
from simulators.ocpp_mq200 import LocalListRefusal, Mq200Quirks, Mq200Simulator

from .conftest import state_of, wait_for
from .test_ocpp import free_port, mq200, ocpp_data

CP = "MQ200-0001"
REFUSED = "sensor.mq200_0001_last_refused_card"
SESSION_CARD = "sensor.mq200_0001_session_card"


@pytest.fixture
def port() -> int:
    """The OCPP port of this test's central system."""
    return free_port()


async def add_entry(
    hass: HomeAssistant, port: int, *, minor_version: int = 2, **options: Any
) -> ConfigEntry:
    """An OCPP entry as the config flow makes it now (or an older one)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=CP,
        unique_id=CP,
        data=ocpp_data(port, CP),
        options=options,
        minor_version=minor_version,
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def charger(
    hass: HomeAssistant, port: int
) -> AsyncIterator[tuple[ConfigEntry, Mq200Simulator]]:
    """A new set-up (no cards yet) with its MQ 200 connected, no car."""
    entry = await add_entry(hass, port)
    async with mq200(port, CP) as sim:
        await sim.wait_accepted()
        await wait_for(lambda: state_of(hass, SESSION_CARD).state != "unavailable")
        yield entry, sim
    await hass.config_entries.async_unload(entry.entry_id)


async def call(
    hass: HomeAssistant, service: str, entry: ConfigEntry, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=service not in ("cancel_reservation", "update_firmware"),
    )


async def test_unknown_card_is_refused_until_the_owner_adds_it(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """The whole path: refused, shown, added in the options, then charging."""
    entry, sim = charger
    sim.model.plug_in()
    await sim.sync()
    # Plug-and-charge id of the simulator: not on the (empty) list.
    assert sim.model.refused
    assert sim.transaction_id is None
    await wait_for(lambda: state_of(hass, REFUSED).state == "MQ200-LOCAL")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "id_tags"}
    )
    assert result["step_id"] == "id_tags"
    # The refused card is offered to be added.
    schema = result["data_schema"]
    assert schema is not None
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in schema.schema
    }
    assert suggested["new_id_tag"] == "MQ200-LOCAL"
    assert suggested["free_charging"] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"free_charging": False, "new_id_tag": "has space", "name": "Driveway"},
    )
    assert result["errors"] == {"new_id_tag": "invalid_id_tag"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"free_charging": False, "new_id_tag": "MQ200-LOCAL", "name": "Driveway"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Kept without a reload; the charger got its copy of the list.
    assert entry.state is ConfigEntryState.LOADED
    assert sim.connects == 1
    assert list(sim.local_list) == ["mq200-local"]
    assert sim.frames_received["SendLocalList"] == 1
    # The car that waited for its card starts without being plugged in again.
    assert sim.frames_received["RemoteStartTransaction"] == 1
    await sim.sync()
    assert sim.model.status == "Charging"
    # On the local list: started without asking Home Assistant again.
    assert sim.frames_sent["Authorize"] == 1
    await wait_for(lambda: state_of(hass, SESSION_CARD).state == "Driveway")
    assert state_of(hass, SESSION_CARD).attributes["id_tag"] == "MQ200-LOCAL"


async def test_card_actions_and_their_errors(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    entry, sim = charger
    added = await call(
        hass, "add_id_tag", entry, id_tag="04A1B2C3", name="Alice", parent_id_tag="HOME"
    )
    assert added == {"id_tag": "04A1B2C3", "name": "Alice", "local_list": "synced"}
    assert sim.local_list["04a1b2c3"]["parent_id_tag"] == "HOME"
    expiry = dt_util.now() + timedelta(days=30)
    await call(hass, "add_id_tag", entry, id_tag="GUEST", expiry=expiry.isoformat())
    listed = await call(hass, "list_id_tags", entry)
    assert [card["id_tag"] for card in listed["id_tags"]] == ["04A1B2C3", "GUEST"]
    assert listed["id_tags"][1]["name"] == "GUEST"
    assert listed["id_tags"][1]["status"] == "accepted"
    assert listed["free_charging"] is False
    assert listed["local_list"] == "synced"
    assert listed["local_list_capacity"] == 100
    for data, key in (
        ({"id_tag": "04a1b2c3"}, "id_tag_exists"),
        ({"id_tag": "x" * 21}, "invalid_id_tag"),
        ({"id_tag": "OK", "parent_id_tag": "a b"}, "invalid_id_tag"),
        ({"id_tag": "LATE", "expiry": "2020-01-01T00:00:00"}, "expiry_in_past"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "add_id_tag", entry, **data)
        assert err.value.translation_key == key
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remove_id_tag", entry, id_tag="NOBODY")
    assert err.value.translation_key == "id_tag_unknown"
    removed = await call(hass, "remove_id_tag", entry, id_tag="guest")
    assert removed == {"local_list": "synced"}
    assert list(sim.local_list) == ["04a1b2c3"]
    # The removed card must not charge offline from the charger's cache.
    assert sim.frames_received["ClearCache"] >= 1
    assert [tag["id_tag"] for tag in entry.options["id_tags"]] == ["04A1B2C3"]


async def test_full_local_list_is_refused_clearly(
    hass: HomeAssistant, port: int
) -> None:
    entry = await add_entry(hass, port)
    sim = mq200(port, CP)
    sim.config["LocalAuthListMaxLength"] = "1"
    async with sim:
        await sim.wait_accepted()
        station = entry.runtime_data.charger.station
        # Read from the charger's configuration after its boot.
        await wait_for(lambda: station.local_list_capacity == 1)
        await call(hass, "add_id_tag", entry, id_tag="ONE")
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "add_id_tag", entry, id_tag="TWO")
        assert err.value.translation_key == "local_list_full"
        assert err.value.translation_placeholders == {"capacity": "1"}
        # The options form says the same.
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "id_tags"}
        )
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"free_charging": False, "new_id_tag": "TWO"}
        )
        assert result["errors"] == {"base": "local_list_full"}
        # Removing one and adding the other in the same form works.
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "free_charging": False,
                "new_id_tag": "TWO",
                "remove_id_tags": ["ONE"],
                "expiry": "2099-01-01 00:00:00",
            },
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert list(sim.local_list) == ["two"]
        assert sim.local_list["two"]["expiry_date"].startswith("2099-01-01")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_refused_local_list_raises_a_repair_and_loses_nothing(
    hass: HomeAssistant, port: int
) -> None:
    entry = await add_entry(hass, port)
    sim = mq200(port, CP, quirks=Mq200Quirks(local_list=LocalListRefusal.FAILED))
    async with sim:
        await sim.wait_accepted()
        await wait_for(lambda: state_of(hass, SESSION_CARD).state != "unavailable")
        added = await call(hass, "add_id_tag", entry, id_tag="ALICE")
        assert added["local_list"] == "failed"
        issues = ir.async_get(hass)
        issue = issues.async_get_issue(DOMAIN, f"ocpp_local_list_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_key == "ocpp_local_list_failed"
        # Home Assistant still answers the card while it runs.
        sim.model.auto_start = False
        sim.model.plug_in()
        await sim.swipe("ALICE")
        assert sim.model.status == "Charging"
        # The charger takes it at its next connection: the repair goes.
        sim.quirks.local_list = None
        await sim.reconnect()
        await sim.wait_accepted()
        await wait_for(
            lambda: (
                issues.async_get_issue(DOMAIN, f"ocpp_local_list_{entry.entry_id}")
                is None
            )
        )
        assert list(sim.local_list) == ["alice"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_listed_card_charges_while_home_assistant_is_away(
    hass: HomeAssistant, port: int
) -> None:
    """The charger's own list decides offline; the session shows up later."""
    entry = await add_entry(hass, port)
    sim = mq200(port, CP, boot_on_reconnect=False)
    sim.model.auto_start = False
    sim.config["AllowOfflineTxForUnknownId"] = "false"
    async with sim:
        await sim.wait_accepted()
        await wait_for(lambda: state_of(hass, SESSION_CARD).state != "unavailable")
        await call(hass, "add_id_tag", entry, id_tag="ALICE", name="Alice")
        await hass.config_entries.async_unload(entry.entry_id)
        await wait_for(lambda: not sim.connected)
        sim.model.plug_in()
        await sim.swipe("STRANGER")
        assert sim.transaction_id is None  # unknown: refused offline
        sim.model.unplug()
        await sim.sync()
        sim.model.plug_in()
        await sim.swipe("ALICE")
        assert sim.model.status == "Charging"
        await sim.advance(60)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await sim.wait_accepted()
        await sim.sync()
        await wait_for(lambda: state_of(hass, SESSION_CARD).state == "Alice")
        assert sim.transaction_id is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_existing_setups_keep_free_charging_with_a_repair(
    hass: HomeAssistant, port: int
) -> None:
    """Set up before card lists: every card still charges until the owner says."""
    entry = await add_entry(hass, port, minor_version=1)
    assert entry.minor_version == 2
    assert entry.options["free_charging"] is True
    issues = ir.async_get(hass)
    issue_id = f"ocpp_free_charging_{entry.entry_id}"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "ocpp_free_charging"
    async with mq200(port, CP) as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        assert sim.model.status == "Charging"
        # The owner turns free charging off: the repair goes.
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "id_tags"}
        )
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"free_charging": False}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        assert entry.options["free_charging"] is False
        # The cards it had cached while any card charged are forgotten.
        assert sim.frames_received["ClearCache"] == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_newer_entries_are_not_downgraded(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=ocpp_data(free_port(), CP), version=2)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


async def test_options_menu_settings_path_is_unchanged(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    entry, _ = charger
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_a_car_that_left_is_not_started_by_a_later_card(
    hass: HomeAssistant, charger: tuple[ConfigEntry, Mq200Simulator]
) -> None:
    """Only a car still plugged in is started when its refused card is added."""
    entry, sim = charger
    sim.model.plug_in()
    await sim.sync()
    assert sim.model.refused
    sim.model.unplug()
    await sim.sync()
    await wait_for(
        lambda: (
            state_of(hass, "sensor.mq200_0001_connector_status").state == "available"
        )
    )
    await call(hass, "add_id_tag", entry, id_tag="MQ200-LOCAL")
    assert sim.frames_received["RemoteStartTransaction"] == 0
    assert sim.transaction_id is None


async def test_cards_added_while_the_charger_is_away_reach_it_later(
    hass: HomeAssistant, port: int
) -> None:
    """Nothing is lost: the list waits in Home Assistant for the charger."""
    entry = await add_entry(hass, port)
    added = await call(hass, "add_id_tag", entry, id_tag="ALICE")
    assert added["local_list"] == "pending"
    listed = await call(hass, "list_id_tags", entry)
    assert listed["local_list"] == "pending"
    assert listed["local_list_capacity"] is None  # not known before it connects
    async with mq200(port, CP) as sim:
        await sim.wait_accepted()
        await wait_for(lambda: list(sim.local_list) == ["alice"])
    await hass.config_entries.async_unload(entry.entry_id)
