"""The integration's actions, checked against what each charger can do."""

from __future__ import annotations

from datetime import time

import pytest
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.evse_local.const import DOMAIN
from simulators import Fault, Simulator

from .conftest import add_charger


async def _call(
    hass: HomeAssistant,
    service: str,
    entry_id: str,
    *,
    response: bool = False,
    **data: object,
) -> object:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {ATTR_CONFIG_ENTRY_ID: entry_id, **data},
        blocking=True,
        return_response=response,
    )


async def test_session_limit_rapi_rounds_up_and_says_so(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """RAPI takes whole kWh and 15-minute steps: rounded up, reported."""
    rapi_sim.model.plug_in()
    entry = await add_charger(hass, rapi_sim)
    response = await _call(
        hass,
        "set_session_limit",
        entry.entry_id,
        response=True,
        energy=7.2,
        duration={"hours": 1, "minutes": 10},
    )
    assert response == {
        "energy": 8.0,
        "duration_minutes": 75,
        "rounded": True,
        "enforced_by": "charger",
    }
    assert rapi_sim.model.charge_limit_kwh == 8
    assert rapi_sim.model.time_limit_15 == 5
    snapshot = entry.runtime_data.coordinator.data
    assert (snapshot.energy_limit, snapshot.time_limit) == (8.0, 75)

    await _call(hass, "clear_session_limit", entry.entry_id)
    assert (rapi_sim.model.charge_limit_kwh, rapi_sim.model.time_limit_15) == (0, 0)


async def test_session_limit_rapi_needs_vehicle(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """Without a car the firmware would refuse: we say why before sending."""
    entry = await add_charger(hass, rapi_sim)
    frames = len(rapi_sim.rapi_frames)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_session_limit", entry.entry_id, energy=5)
    assert err.value.translation_key == "vehicle_required"
    assert len(rapi_sim.rapi_frames) == frames
    # Clearing with no car is a no-op: the firmware already cleared them.
    await _call(hass, "clear_session_limit", entry.entry_id)


async def test_session_limit_rapi_too_long(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """More than 255 steps of 15 minutes is refused with the maximum named."""
    goplug_sim.model.plug_in()
    entry = await add_charger(hass, goplug_sim)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_session_limit", entry.entry_id, duration={"hours": 64})
    assert err.value.translation_key == "duration_too_long"
    assert err.value.translation_placeholders == {"maximum": "3825"}


async def test_session_limit_json_api(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Current firmware: one limit at a time through /limit, no car needed."""
    entry = await add_charger(hass, current_sim)
    response = await _call(
        hass, "set_session_limit", entry.entry_id, response=True, energy=7.5
    )
    assert response == {
        "energy": 7.5,
        "duration_minutes": None,
        "rounded": False,
        "enforced_by": "charger",
    }
    assert current_sim.model.gateway_limit is not None
    assert entry.runtime_data.coordinator.data.energy_limit == 7.5

    await _call(hass, "set_session_limit", entry.entry_id, duration="00:45:00")
    assert entry.runtime_data.coordinator.data.time_limit == 45

    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "set_session_limit", entry.entry_id, energy=5, duration="01:00:00"
        )
    assert err.value.translation_key == "one_limit_at_a_time"

    await _call(hass, "clear_session_limit", entry.entry_id)
    assert current_sim.model.gateway_limit is None
    # Clearing again (nothing to clear: 404) is fine.
    await _call(hass, "clear_session_limit", entry.entry_id)


async def test_session_limit_needs_a_value(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Neither energy nor duration: a clear message."""
    entry = await add_charger(hass, current_sim)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_session_limit", entry.entry_id)
    assert err.value.translation_key == "limit_missing"


async def test_timer_actions(hass: HomeAssistant, rapi_sim: Simulator) -> None:
    """set_timer and clear_timer reach the charger."""
    entry = await add_charger(hass, rapi_sim)
    await _call(hass, "set_timer", entry.entry_id, start="23:00:00", stop="05:30:00")
    timer = rapi_sim.model.timer
    assert (timer.start_hour, timer.start_minute, timer.end_hour, timer.end_minute) == (
        23,
        0,
        5,
        30,
    )
    snapshot = entry.runtime_data.coordinator.data
    assert snapshot.timer is not None
    assert snapshot.timer.start == time(23, 0)
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "set_timer", entry.entry_id, start="01:00:00", stop="01:00:00"
        )
    assert err.value.translation_key == "timer_window_empty"
    await _call(hass, "clear_timer", entry.entry_id)
    assert not rapi_sim.model.timer.enabled


async def test_timer_not_on_json_firmware(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """The JSON API's scheduler is not a RAPI timer: refused, nothing sent."""
    entry = await add_charger(hass, current_sim)
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "set_timer", entry.entry_id, start="23:00:00", stop="05:30:00"
        )
    assert err.value.translation_key == "not_supported"
    with pytest.raises(ServiceValidationError):
        await _call(hass, "clear_timer", entry.entry_id)


@pytest.mark.parametrize(("persist", "eeprom_writes"), [(False, 0), (True, 1)])
async def test_set_max_current(
    hass: HomeAssistant, any_sim: Simulator, persist: bool, eeprom_writes: int
) -> None:
    """Volatile by default; persist writes the charger's memory once."""
    entry = await add_charger(hass, any_sim)
    any_sim.reset_counters()
    await _call(hass, "set_max_current", entry.entry_id, current=11, persist=persist)
    assert any_sim.model.eeprom_writes == eeprom_writes
    assert entry.runtime_data.coordinator.data.max_current == 11


async def test_set_max_current_out_of_range(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """The charger's own bounds apply (GoPlug: 6-32 A)."""
    entry = await add_charger(hass, goplug_sim)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_max_current", entry.entry_id, current=40)
    assert err.value.translation_placeholders == {
        "current": "40",
        "minimum": "6",
        "maximum": "32",
    }


async def test_failed_command_is_translated(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A refused or garbled reply becomes a translated error, not a crash."""
    entry = await add_charger(hass, goplug_sim)
    goplug_sim.inject(Fault.NK)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "set_max_current", entry.entry_id, current=12)
    assert err.value.translation_key == "command_rejected"
    goplug_sim.inject(Fault.HTTP_500)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "set_max_current", entry.entry_id, current=12)
    assert err.value.translation_key in ("command_failed", "communication_error")
    # And the next one works.
    await _call(hass, "set_max_current", entry.entry_id, current=12)
    assert goplug_sim.model.current_capacity == 12


async def test_unknown_entry(hass: HomeAssistant, current_sim: Simulator) -> None:
    """An entry id that is not ours is refused."""
    await add_charger(hass, current_sim)
    with pytest.raises(ServiceValidationError):
        await _call(hass, "clear_session_limit", "not-an-entry")
