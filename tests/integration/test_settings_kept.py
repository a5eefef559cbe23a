"""*Charging enabled* and *Charging current limit* are settings.

They stay as set across unplug, Home Assistant restarts and charger restarts,
until changed in Home Assistant or on the charger; where a charger forgets
them, the integration puts them back (volatile writes only). Against every
simulated charger that can forget something.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant

from simulators import EvseState, GoeFault, GoeSimulator, Simulator
from simulators.claims import CLIENT_MANUAL, ClaimsManager
from simulators.current import CurrentDevice
from tests.simulators.sim_helpers import send_json

from .conftest import add_charger, state_of, wait_for
from .test_entities import PREFIX

GOE_PREFIX = "go_echarger_3678"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the simulators' own HTTP API (as another program would be)."""
    async with aiohttp.ClientSession() as client:
        yield client


PAUSED = (EvseState.SLEEPING, EvseState.DISABLED)


def _claims(sim: Simulator) -> ClaimsManager:
    device = sim.device
    assert isinstance(device, CurrentDevice)
    return device.claims


def _entity(sim: Simulator | GoeSimulator, platform: str, key: str) -> str:
    prefix = GOE_PREFIX if sim.kind == "goe" else PREFIX[str(sim.kind)]
    return f"{platform}.{prefix}_{key}"


async def _switch(hass: HomeAssistant, sim: Any, on: bool) -> None:
    await hass.services.async_call(
        Platform.SWITCH,
        "turn_on" if on else "turn_off",
        {ATTR_ENTITY_ID: _entity(sim, "switch", "charging_enabled")},
        blocking=True,
    )


async def _current(hass: HomeAssistant, sim: Any, amps: int) -> None:
    await hass.services.async_call(
        Platform.NUMBER,
        "set_value",
        {
            ATTR_ENTITY_ID: _entity(sim, "number", "charging_current_limit"),
            "value": amps,
        },
        blocking=True,
    )


# --- OpenEVSE, current WiFi firmware: our claim ------------------------------


async def test_current_firmware_keeps_limit_and_pause_across_unplug(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """The claim outlasts the unplug: the old limit never comes back unasked."""
    current_sim.model.plug_in()
    current_sim.advance(60)
    await add_charger(hass, current_sim)
    await _current(hass, current_sim, 16)
    assert current_sim.model.current_capacity == 16
    current_sim.model.unplug()
    assert current_sim.model.current_capacity == 16  # was 32: claim released
    current_sim.model.plug_in()
    current_sim.advance(60)
    number = _entity(current_sim, "number", "charging_current_limit")
    await wait_for(lambda: state_of(hass, number).state == "16")
    # Charging enabled on (it is on): nothing changes.
    await _switch(hass, current_sim, True)
    assert current_sim.model.current_capacity == 16
    # A pause is kept over the next unplug and plug-in too.
    await _switch(hass, current_sim, False)
    current_sim.model.unplug()
    current_sim.model.plug_in()
    current_sim.advance(60)
    assert current_sim.model.state in PAUSED
    assert current_sim.model.eeprom_writes == 0


async def test_current_firmware_claim_restored_after_wifi_reboot(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """The WiFi module forgets every claim at a reboot: the first read restores."""
    current_sim.model.plug_in()
    current_sim.advance(60)
    entry = await add_charger(hass, current_sim)
    await _current(hass, current_sim, 16)
    await _switch(hass, current_sim, False)
    await current_sim.reboot(0.05, controller=False)
    assert current_sim.model.state not in PAUSED  # forgotten
    await entry.runtime_data.coordinator.async_refresh()
    assert current_sim.model.state in PAUSED
    assert current_sim.model.current_capacity == 16
    assert current_sim.model.eeprom_writes == 0


async def test_current_firmware_settings_survive_a_home_assistant_restart(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Saved, and put back when the charger forgot them while we were away."""
    current_sim.model.plug_in()
    current_sim.advance(60)
    entry = await add_charger(hass, current_sim)
    await _current(hass, current_sim, 10)
    await _switch(hass, current_sim, False)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await current_sim.reboot(0.05, controller=False)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert current_sim.model.state in PAUSED
    assert current_sim.model.current_capacity == 10
    assert state_of(hass, _entity(current_sim, "switch", "charging_enabled")).state == (
        STATE_OFF
    )


async def test_switch_resumes_a_pause_made_on_the_charger(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """The charger's button (manual override, priority 1000) paused it."""
    current_sim.model.plug_in()
    current_sim.advance(60)
    entry = await add_charger(hass, current_sim)
    switch = _entity(current_sim, "switch", "charging_enabled")
    await wait_for(lambda: entry.runtime_data.coordinator.push_connected)
    # While the status is pushed, a command asks for the override only when
    # the charger has one.
    await _switch(hass, current_sim, False)
    await _switch(hass, current_sim, True)
    assert current_sim.requests["/override"] == 0
    current_sim.device.button()
    await wait_for(lambda: state_of(hass, switch).state == STATE_OFF)
    await _switch(hass, current_sim, True)
    assert current_sim.model.state not in PAUSED
    assert CLIENT_MANUAL not in _claims(current_sim)
    assert state_of(hass, switch).state == STATE_ON
    assert current_sim.requests["/override"] == 2  # GET, DELETE


async def test_switch_pauses_over_a_start_made_on_the_charger(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Paused in Home Assistant, started with the button, paused again."""
    current_sim.model.plug_in()
    current_sim.advance(60)
    await add_charger(hass, current_sim)
    switch = _entity(current_sim, "switch", "charging_enabled")
    await _switch(hass, current_sim, False)
    current_sim.device.button()  # the override starts it
    assert current_sim.model.state not in PAUSED
    await wait_for(lambda: state_of(hass, switch).state == STATE_ON)  # pushed
    await _switch(hass, current_sim, False)
    assert current_sim.model.state in PAUSED
    # The current slider works over the button's override too.
    current_sim.device.button()
    assert _claims(current_sim).get(CLIENT_MANUAL) is not None
    await _current(hass, current_sim, 12)
    assert current_sim.model.current_capacity == 12


async def test_current_firmware_claim_refused_is_tried_again_later(
    hass: HomeAssistant, current_sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """Every claim slot taken after a reboot: readings go on, retried later."""
    current_sim.model.plug_in()
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await _current(hass, current_sim, 16)
    await current_sim.reboot(0.05, controller=False)
    for client in range(1, 11):  # EVSE_MANAGER_MAX_CLIENT_CLAIMS
        await send_json(
            session, current_sim, "POST", f"/claims/{client}", {"max_current": 32}
        )
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert current_sim.model.current_capacity == current_sim.model.eeprom_current
    await send_json(session, current_sim, "DELETE", "/claims/1")
    await coordinator.async_refresh()
    assert current_sim.model.current_capacity == 16


# --- RAPI (legacy OpenEVSE, GoPlug): $SC n V and $FS -------------------------


async def test_rapi_settings_put_back_after_a_restart(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """A restart forgets $FS and $SC n V: the first read puts them back."""
    rapi_sim.model.plug_in()
    rapi_sim.advance(60)
    entry = await add_charger(hass, rapi_sim)
    coordinator = entry.runtime_data.coordinator
    await _current(hass, rapi_sim, 12)
    await _switch(hass, rapi_sim, False)
    # Unnoticed: no read failed while it restarted.
    await rapi_sim.reboot(0.05)
    assert rapi_sim.model.current_capacity == rapi_sim.model.eeprom_current
    await coordinator.async_refresh()
    assert rapi_sim.model.state in PAUSED
    assert rapi_sim.model.current_capacity == 12
    switch = _entity(rapi_sim, "switch", "charging_enabled")
    assert state_of(hass, switch).state == STATE_OFF
    # Noticed: reads fail while it is down.
    await rapi_sim.stop()
    rapi_sim.model.reboot()
    await coordinator.async_refresh()
    await rapi_sim.start()
    await coordinator.async_refresh()
    assert rapi_sim.model.state in PAUSED
    assert rapi_sim.model.current_capacity == 12
    assert rapi_sim.model.eeprom_writes == 0


async def test_rapi_new_session_is_no_restart(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """Counters start again with the next car: nothing is sent for that."""
    rapi_sim.model.plug_in()
    rapi_sim.advance(60)
    entry = await add_charger(hass, rapi_sim)
    coordinator = entry.runtime_data.coordinator
    await _current(hass, rapi_sim, 12)
    sent = rapi_sim.rapi_commands["SC"]
    rapi_sim.model.unplug()
    await coordinator.async_refresh()
    rapi_sim.model.plug_in()
    rapi_sim.advance(30)  # a new session: energy and time start from zero
    await coordinator.async_refresh()
    await coordinator.async_refresh()
    assert rapi_sim.rapi_commands["SC"] == sent
    assert rapi_sim.model.current_capacity == 12


async def test_rapi_resume_on_the_charger_is_the_new_setting(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """Resumed with its button: a later restart does not pause it again."""
    rapi_sim.model.plug_in()
    rapi_sim.advance(60)
    entry = await add_charger(hass, rapi_sim)
    coordinator = entry.runtime_data.coordinator
    await _switch(hass, rapi_sim, False)
    rapi_sim.model.button()
    await coordinator.async_refresh()
    switch = _entity(rapi_sim, "switch", "charging_enabled")
    assert state_of(hass, switch).state == STATE_ON
    await rapi_sim.reboot(0.05)
    await coordinator.async_refresh()
    assert rapi_sim.model.state not in PAUSED


async def test_rapi_settings_survive_a_home_assistant_restart(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """The charger restarted while Home Assistant was away."""
    rapi_sim.model.plug_in()
    rapi_sim.advance(60)
    entry = await add_charger(hass, rapi_sim)
    await _current(hass, rapi_sim, 14)
    await _switch(hass, rapi_sim, False)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await rapi_sim.reboot(0.05)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert rapi_sim.model.state in PAUSED
    assert rapi_sim.model.current_capacity == 14


# --- go-e: ALLOW and register 299 --------------------------------------------


async def test_goe_settings_put_back_after_a_restart(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A restart brings ALLOW back to 1 and 299 to 300: put back at once."""
    goe_sim.model.plug_in()
    entry = await add_charger(hass, goe_sim)
    coordinator = entry.runtime_data.coordinator
    await _current(hass, goe_sim, 10)
    await _switch(hass, goe_sim, False)
    await goe_sim.reboot(0.05)
    assert goe_sim.model.allow
    await coordinator.async_refresh()
    assert not goe_sim.model.allow
    assert goe_sim.model.settings[299] == 10
    assert goe_sim.eeprom_writes == 0
    # Allowed in the go-e app: that is the setting now, kept after a restart.
    goe_sim.model.settings[200] = 1
    for _ in range(4):  # the settings are read in rotation
        await coordinator.async_refresh()
    await goe_sim.reboot(0.05)
    await coordinator.async_refresh()
    assert goe_sim.model.allow
    # A write refused while putting back: the reading still counts.
    await goe_sim.reboot(0.05)
    goe_sim.inject(GoeFault.EXCEPTION, function=16)
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert goe_sim.model.settings[299] == 16


async def test_removing_the_charger_releases_our_claim(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Our claim outlasts an unplug, so deleting the entry releases it."""
    current_sim.model.plug_in()
    entry = await add_charger(hass, current_sim)
    await _current(hass, current_sim, 10)
    await _switch(hass, current_sim, False)
    assert len(_claims(current_sim).all()) == 1
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _claims(current_sim).all() == []
    assert current_sim.model.state not in PAUSED
    assert current_sim.model.current_capacity == current_sim.model.eeprom_current


async def test_removing_an_unreachable_charger_still_works(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Gone for good: nothing to release, the entry goes anyway."""
    entry = await add_charger(hass, current_sim)
    await _switch(hass, current_sim, False)
    await current_sim.stop()
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.async_get_entry(entry.entry_id) is None
