"""Entities of each charger kind, and controls that change the charger."""

from __future__ import annotations

from datetime import time
from unittest.mock import patch

import pytest
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.evse_local import PLATFORMS
from custom_components.evse_local.const import CONF_PERSIST_MAX_CURRENT, DOMAIN
from simulators import EvseState, ServiceLevel, Simulator

from .conftest import add_charger, state_of, wait_for

TITLES = {
    "current": "OpenEVSE 0E5E",
    "legacy": "OpenEVSE 127.0.0.1",
    "goplug": "GoPlug Pro 32 0E5E",
}
PREFIX = {
    "current": "openevse_0e5e",
    "legacy": "openevse_127_0_0_1",
    "goplug": "goplug_pro_32_0e5e",
}


def _entity(sim: Simulator, platform: str, key: str) -> str:
    return f"{platform}.{PREFIX[str(sim.kind)]}_{key}"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    any_sim: Simulator,
    platform: Platform,
) -> None:
    """Each kind gets exactly the entities its hardware backs."""
    any_sim.model.plug_in()
    any_sim.advance(600)
    unique_id = {
        "current": any_sim.identity.serial,
        "goplug": any_sim.identity.mcu_id,
        "legacy": None,
    }[str(any_sim.kind)]
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=f"entry_{any_sim.kind}",
        unique_id=unique_id,
        title=TITLES[str(any_sim.kind)],
        data={CONF_HOST: any_sim.host},
    )
    entry.add_to_hass(hass)
    with patch("custom_components.evse_local.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    if platform is Platform.TIME and any_sim.kind == "current":
        # This firmware's timer is its own scheduler: no RAPI timer entities
        # (the plan's ready time is the integration's).
        assert [
            registered.translation_key
            for registered in er.async_entries_for_config_entry(
                entity_registry, entry.entry_id
            )
        ] == ["plan_ready_time"]
        return
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_pause_and_resume_keep_the_session(
    hass: HomeAssistant, any_sim: Simulator
) -> None:
    """Turning charging off pauses (sleep); the car and its energy stay."""
    any_sim.model.plug_in()
    any_sim.advance(600)
    await add_charger(hass, any_sim)
    switch = _entity(any_sim, "switch", "charging_enabled")
    state_sensor = _entity(any_sim, "sensor", "state")
    energy = _entity(any_sim, "sensor", "session_energy")
    assert state_of(hass, state_sensor).state == "charging"
    assert state_of(hass, switch).state == STATE_ON
    energy_before = state_of(hass, energy).state

    await hass.services.async_call(
        Platform.SWITCH, "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    assert any_sim.model.state is EvseState.SLEEPING
    assert any_sim.model.connected
    # The entity shows what the charger confirms, right after the command.
    assert state_of(hass, switch).state == STATE_OFF
    assert state_of(hass, state_sensor).state == "sleeping"
    assert state_of(hass, energy).state == energy_before
    assert (
        state_of(hass, _entity(any_sim, "binary_sensor", "vehicle_connected")).state
        == STATE_ON
    )

    await hass.services.async_call(
        Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    assert any_sim.model.state in (EvseState.CONNECTED, EvseState.CHARGING)
    assert state_of(hass, switch).state == STATE_ON
    any_sim.advance(60)
    assert any_sim.model.state is EvseState.CHARGING
    if any_sim.kind == "current":
        # This firmware blocks RAPI writes: only $G... may ever reach /r.
        assert all(command.startswith("G") for command in any_sim.rapi_commands)


@pytest.mark.parametrize("persist", [False, True])
async def test_max_current(
    hass: HomeAssistant, any_sim: Simulator, persist: bool
) -> None:
    """The current is volatile unless the option says persist."""
    entry = await add_charger(hass, any_sim)
    number = _entity(any_sim, "number", "charging_current_limit")
    state = state_of(hass, number)
    assert state.attributes["min"] == 6
    assert state.attributes["max"] == any_sim.model.max_hw_current
    if persist:
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_PERSIST_MAX_CURRENT: True}
        )
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    any_sim.reset_counters()

    await hass.services.async_call(
        Platform.NUMBER,
        "set_value",
        {ATTR_ENTITY_ID: number, "value": 13},
        blocking=True,
    )
    assert state_of(hass, number).state == "13"
    assert any_sim.model.current_capacity == 13
    assert any_sim.model.eeprom_writes == (1 if persist else 0)


async def test_service_level(hass: HomeAssistant, any_sim: Simulator) -> None:
    """The select shows and sets the J1772 service level."""
    await add_charger(hass, any_sim)
    select = _entity(any_sim, "select", "service_level")
    assert state_of(hass, select).state == "auto"
    await hass.services.async_call(
        Platform.SELECT,
        "select_option",
        {ATTR_ENTITY_ID: select, "option": "level_1"},
        blocking=True,
    )
    assert state_of(hass, select).state == "level_1"
    assert any_sim.model.service_setting is ServiceLevel.L1


async def test_timer(hass: HomeAssistant, rapi_sim: Simulator) -> None:
    """Set the window with the time entities, then switch the timer on and off."""
    sim = rapi_sim
    await add_charger(hass, sim)
    timer = _entity(sim, "switch", "charging_timer")
    start = _entity(sim, "time", "timer_start")
    stop = _entity(sim, "time", "timer_stop")
    assert state_of(hass, timer).state == STATE_OFF
    # No window set: what the charger holds ($GD 0 0 0 0), never "unknown".
    assert state_of(hass, start).state == "00:00:00"
    assert state_of(hass, stop).state == "00:00:00"

    # Switching on without a window is refused with a clear message.
    with pytest.raises(Exception, match="start and stop"):
        await hass.services.async_call(
            Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: timer}, blocking=True
        )

    await hass.services.async_call(
        Platform.TIME,
        "set_value",
        {ATTR_ENTITY_ID: start, "time": "22:30:00"},
        blocking=True,
    )
    await hass.services.async_call(
        Platform.TIME,
        "set_value",
        {ATTR_ENTITY_ID: stop, "time": "06:00:00"},
        blocking=True,
    )
    # The timer is off: the window is only remembered, nothing sent yet.
    assert not sim.model.timer.enabled
    assert state_of(hass, start).state == "22:30:00"

    await hass.services.async_call(
        Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: timer}, blocking=True
    )
    assert sim.model.timer.enabled
    assert (sim.model.timer.start_hour, sim.model.timer.start_minute) == (22, 30)
    assert state_of(hass, timer).state == STATE_ON

    # With the timer on, editing an end writes it at once.
    await hass.services.async_call(
        Platform.TIME,
        "set_value",
        {ATTR_ENTITY_ID: stop, "time": "07:15:00"},
        blocking=True,
    )
    assert (sim.model.timer.end_hour, sim.model.timer.end_minute) == (7, 15)
    assert state_of(hass, stop).state == time(7, 15).isoformat()

    await hass.services.async_call(
        Platform.SWITCH, "turn_off", {ATTR_ENTITY_ID: timer}, blocking=True
    )
    assert not sim.model.timer.enabled
    assert state_of(hass, timer).state == STATE_OFF
    # The window is still shown so the switch can bring it back.
    assert state_of(hass, start).state == "22:30:00"


async def test_restart_button(hass: HomeAssistant, any_sim: Simulator) -> None:
    """The restart button restarts the controller."""
    await add_charger(hass, any_sim)
    boots = any_sim.model.boots
    await hass.services.async_call(
        Platform.BUTTON,
        "press",
        {ATTR_ENTITY_ID: _entity(any_sim, "button", "restart")},
        blocking=True,
    )
    if any_sim.kind == "current":
        assert any_sim.requests["/restart"] == 1
    else:
        assert any_sim.rapi_commands["FR"] == 1
    await wait_for(lambda: any_sim.model.boots == boots + 1)


async def test_resume_is_read_again_shortly_after(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """A polled charger shows "charging" soon after resume, not a poll later."""
    rapi_sim.model.plug_in()
    rapi_sim.advance(60)
    await add_charger(hass, rapi_sim)
    switch = _entity(rapi_sim, "switch", "charging_enabled")
    state_sensor = _entity(rapi_sim, "sensor", "state")
    await hass.services.async_call(
        Platform.SWITCH, "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    with patch(
        "custom_components.evse_local.coordinator.COMMAND_FOLLOW_UP_SECONDS", 0.05
    ):
        await hass.services.async_call(
            Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True
        )
        # Read back at once: enabled, the car has not started drawing yet.
        assert state_of(hass, state_sensor).state == "connected"
        rapi_sim.advance(1)
        await wait_for(lambda: state_of(hass, state_sensor).state == "charging")
