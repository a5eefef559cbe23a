"""The go-e Charger over Modbus TCP, through the real integration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from ipaddress import ip_address
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.evse_local import PLATFORMS
from custom_components.evse_local.const import (
    CONF_PROTOCOL,
    CONF_UNIT_ID,
    DOMAIN,
    PROTOCOL_MODBUS,
)
from custom_components.evse_local.protocols.errors import EvseConnectionError
from custom_components.evse_local.protocols.goe_modbus.charger import GoeCharger
from simulators import GoeSimulator, start_simulator

from .conftest import add_charger, state_of

PREFIX = "go_echarger_3678"


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncIterator[GoeSimulator]:
    """A go-e Charger with Modbus TCP on loopback."""
    async with start_simulator("goe", identity_seed=0xE5E) as sim:
        yield sim


def _entity(platform: str, key: str) -> str:
    return f"{platform}.{PREFIX}_{key}"


def _data(sim: GoeSimulator) -> dict[str, object]:
    return {
        CONF_PROTOCOL: PROTOCOL_MODBUS,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.port,
        CONF_UNIT_ID: 1,
    }


async def test_modbus_flow_errors_then_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Nothing on the port: cannot connect; the charger: an entry keyed by serial."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "modbus"}
    )
    assert result["step_id"] == "modbus"
    await goe_sim.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: goe_sim.port, CONF_UNIT_ID: 1},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    await goe_sim.start()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: " 127.0.0.1 ", CONF_PORT: goe_sim.port, CONF_UNIT_ID: 1},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "go-eCharger 3678"
    assert result["data"] == _data(goe_sim)
    assert result["result"].unique_id == goe_sim.identity.serial
    await hass.async_block_till_done()


async def test_modbus_reconfigure(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """The same go-e at a new address is accepted; the form asks for Modbus data."""
    entry = await add_charger(hass, goe_sim)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure"
    schema = result["data_schema"]
    assert schema is not None
    assert set(schema.schema) == {CONF_HOST, CONF_PORT, CONF_UNIT_ID}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: goe_sim.port, CONF_UNIT_ID: 1},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_goe_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    goe_sim: GoeSimulator,
    platform: Platform,
) -> None:
    """Everything the register map backs, and nothing it does not."""
    goe_sim.model.plug_in()
    goe_sim.advance(600)
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id="entry_goe",
        unique_id=goe_sim.identity.serial,
        title="go-eCharger 3678",
        data=_data(goe_sim),
    )
    entry.add_to_hass(hass)
    with patch("custom_components.evse_local.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    if platform in (Platform.TIME, Platform.BUTTON):
        # No timer and no restart over Modbus; the plan's ready time is ours.
        assert [
            registered.translation_key
            for registered in er.async_entries_for_config_entry(
                entity_registry, entry.entry_id
            )
        ] == (["plan_ready_time"] if platform is Platform.TIME else [])
        return
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_pause_and_current_are_volatile(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Allow-charging pauses; the current goes to register 299, never 300."""
    goe_sim.model.plug_in()
    goe_sim.advance(60)
    await add_charger(hass, goe_sim)
    switch = _entity("switch", "charging_enabled")
    assert state_of(hass, switch).state == STATE_ON
    await hass.services.async_call(
        Platform.SWITCH, "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    assert state_of(hass, switch).state == STATE_OFF
    await hass.services.async_call(
        Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    assert state_of(hass, switch).state == STATE_ON
    goe_sim.reset_counters()
    for amps in (10, 16, 8):
        await hass.services.async_call(
            Platform.NUMBER,
            "set_value",
            {
                ATTR_ENTITY_ID: _entity("number", "charging_current_limit"),
                "value": amps,
            },
            blocking=True,
        )
        assert state_of(hass, _entity("number", "charging_current_limit")).state == str(
            amps
        )
    assert goe_sim.model.eeprom_writes == 0


async def test_settings_controls(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """Access control, cable lock, LEDs, button levels, cloud: written and shown."""
    await add_charger(hass, goe_sim)
    calls: list[tuple[Platform, str, str, dict[str, Any]]] = [
        (Platform.SELECT, "select_option", "access_control", {"option": "rfid_app"}),
        (Platform.SELECT, "select_option", "cable_lock", {"option": "always_locked"}),
        (Platform.NUMBER, "set_value", "led_brightness", {"value": 42}),
        (Platform.NUMBER, "set_value", "absolute_maximum_current", {"value": 20}),
        (Platform.SWITCH, "turn_on", "led_energy_saving", {}),
        (Platform.SWITCH, "turn_on", "cloud_disabled", {}),
    ]
    for platform, service, key, data in calls:
        await hass.services.async_call(
            platform,
            service,
            {ATTR_ENTITY_ID: _entity(platform, key), **data},
            blocking=True,
        )
    assert state_of(hass, _entity("select", "access_control")).state == "rfid_app"
    assert state_of(hass, _entity("select", "cable_lock")).state == "always_locked"
    assert state_of(hass, _entity("number", "led_brightness")).state == "42"
    assert state_of(hass, _entity("number", "absolute_maximum_current")).state == "20"
    assert state_of(hass, _entity("switch", "led_energy_saving")).state == STATE_ON
    assert state_of(hass, _entity("switch", "cloud_disabled")).state == STATE_ON
    # The charging current can no longer go above the new absolute maximum.
    assert (
        state_of(hass, _entity("number", "charging_current_limit")).attributes["max"]
        == 20
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_button_level_rejects_1_to_5(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Button levels take 0 (skip) or 6..32 A; anything else is refused clearly."""
    await add_charger(hass, goe_sim)
    number = _entity("number", "button_level_2_current")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            Platform.NUMBER,
            "set_value",
            {ATTR_ENTITY_ID: number, "value": 3},
            blocking=True,
        )
    assert err.value.translation_key == "invalid_value"
    await hass.services.async_call(
        Platform.NUMBER,
        "set_value",
        {ATTR_ENTITY_ID: number, "value": 0},
        blocking=True,
    )
    assert state_of(hass, number).state == "0"


async def test_session_limit_enforced_by_the_integration(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """No native limit: the integration watches energy and pauses once."""
    goe_sim.model.plug_in()
    goe_sim.advance(10)
    entry = await add_charger(hass, goe_sim)
    coordinator = entry.runtime_data.coordinator
    response = await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "energy": 1.0},
        blocking=True,
        return_response=True,
    )
    assert response == {
        "energy": 1.0,
        "duration_minutes": None,
        "rounded": False,
        "enforced_by": "integration",
    }
    limit = state_of(hass, _entity("sensor", "session_energy_limit"))
    assert limit.state == "1.0"
    assert limit.attributes["enforced_by"] == "integration"

    # About 11 kW three-phase: 1 kWh takes a little over five minutes.
    goe_sim.advance(200)
    await coordinator.async_refresh()
    assert state_of(hass, _entity("switch", "charging_enabled")).state == STATE_ON
    goe_sim.advance(200)
    await coordinator.async_refresh()
    # The pause runs as a background task (there is no push task on Modbus).
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not goe_sim.model.allow
    assert state_of(hass, _entity("switch", "charging_enabled")).state == STATE_OFF

    # Unplugging ends the session and its limit (confirmed by a second reading).
    goe_sim.model.unplug()
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "session_energy_limit")).state == "1.0"
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "session_energy_limit")).state == "0.0"


async def test_session_limit_cleared_by_action(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """clear_session_limit forgets an integration-enforced limit."""
    goe_sim.model.plug_in()
    entry = await add_charger(hass, goe_sim)
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "duration": "00:30:00"},
        blocking=True,
    )
    assert state_of(hass, _entity("sensor", "session_time_limit")).state == "30"
    await hass.services.async_call(
        DOMAIN,
        "clear_session_limit",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id},
        blocking=True,
    )
    assert state_of(hass, _entity("sensor", "session_time_limit")).state == "0"


async def test_goe_disappears_and_returns(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A dropped Modbus connection: unavailable at once, back by itself."""
    entry = await add_charger(hass, goe_sim)
    coordinator = entry.runtime_data.coordinator
    await goe_sim.stop()
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "state")).state == STATE_UNAVAILABLE
    await goe_sim.start()
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "state")).state == "not_connected"


def _goe_zeroconf(
    service: str = "_go-e_go-eCharger._tcp.local.",
) -> ZeroconfServiceInfo:
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        hostname="go-echarger_003678.local.",
        name=f"go-echarger_003678.{service}",
        port=80,
        type=service,
        properties={},
    )


async def test_goe_zeroconf(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A go-e found by mDNS is reached over Modbus TCP on port 502."""
    with patch(
        "custom_components.evse_local.config_flow.DEFAULT_MODBUS_PORT", goe_sim.port
    ):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_goe_zeroconf()
        )
        assert result["step_id"] == "zeroconf_confirm"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == _data(goe_sim)
        await hass.async_block_till_done()
        # Announced again (V4 service type): already set up, nothing new.
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_ZEROCONF},
            data=_goe_zeroconf("_go-e_go-eCharger_V4._tcp.local."),
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"


async def test_goe_zeroconf_without_modbus(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Found, but Modbus TCP is off: say how to switch it on."""
    await goe_sim.stop()
    with patch(
        "custom_components.evse_local.config_flow.DEFAULT_MODBUS_PORT", goe_sim.port
    ):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_goe_zeroconf()
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "modbus_unreachable"


async def test_failed_first_read_releases_the_connection(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Setup that fails after connecting closes the Modbus connection it opened."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=goe_sim.identity.serial, data=_data(goe_sim)
    )
    entry.add_to_hass(hass)
    with (
        patch.object(GoeCharger, "poll", side_effect=EvseConnectionError("gone")),
        patch.object(GoeCharger, "close", autospec=True) as close,
    ):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    close.assert_awaited_once()


async def test_other_goe_at_the_address_is_refused(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A different charger on the port: setup error, connection released."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="000001", data=_data(goe_sim))
    entry.add_to_hass(hass)
    with patch.object(GoeCharger, "close", autospec=True) as close:
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    close.assert_awaited_once()


async def test_goe_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    goe_sim: GoeSimulator,
) -> None:
    """go-e diagnostics: identity redacted, the register-derived snapshot shown."""
    goe_sim.model.plug_in()
    goe_sim.advance(120)
    entry = await add_charger(hass, goe_sim)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert goe_sim.identity.serial not in str(diagnostics)
    assert diagnostics == snapshot(
        exclude=props("port", "requests_sent", "open_session")
    )


async def test_enforced_limit_survives_a_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any], goe_sim: GoeSimulator
) -> None:
    """A limit set before a restart is kept, keeps counting, and still pauses."""
    goe_sim.model.plug_in()
    goe_sim.advance(10)
    entry = await add_charger(hass, goe_sim)
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "energy": 1.0},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    key = f"{DOMAIN}.session_limit.{entry.entry_id}"
    assert hass_storage[key]["data"]["limit"]["energy_kwh"] == 1.0

    # About 0.6 kWh before the "restart", the rest after it.
    goe_sim.advance(200)
    await entry.runtime_data.coordinator.async_refresh()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, _entity("sensor", "session_energy_limit")).state == "1.0"
    goe_sim.advance(200)
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not goe_sim.model.allow
    assert hass_storage[key]["data"]["limit"]["reached"] is True

    # Removing the charger forgets its stored limit.
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


@pytest.mark.parametrize(
    ("code", "state", "error"),
    [
        (8, "no_ground", "no_ground"),
        (1, "gfci_fault", "rccb"),
        (3, "fault", "phase"),
        (10, "fault", "internal"),
    ],
)
async def test_an_error_turns_the_fault_sensor_on(
    hass: HomeAssistant, goe_sim: GoeSimulator, code: int, state: str, error: str
) -> None:
    """go-e ERROR 8/1/3/10 with a car waiting: Fault on, State the fault.

    Before, the Error sensor showed it while Fault stayed off and State said
    "connected" (the pilot still reports the waiting car).
    """
    goe_sim.model.plug_in()
    goe_sim.advance(10)
    entry = await add_charger(hass, goe_sim)
    assert state_of(hass, _entity("binary_sensor", "fault")).state == STATE_OFF
    goe_sim.model.set_error(code)
    await entry.runtime_data.coordinator.async_refresh()
    assert state_of(hass, _entity("binary_sensor", "fault")).state == STATE_ON
    assert state_of(hass, _entity("sensor", "state")).state == state
    assert state_of(hass, _entity("sensor", "error")).state == error
    assert state_of(hass, _entity("binary_sensor", "charging")).state == STATE_OFF
    goe_sim.model.clear_error()
    await entry.runtime_data.coordinator.async_refresh()
    assert state_of(hass, _entity("binary_sensor", "fault")).state == STATE_OFF
