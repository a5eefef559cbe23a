"""Lifetime energy stays monotonic: counter resets, restarts, reloads."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
)

from simulators import Simulator

from .conftest import add_charger, state_of

LIFETIME = "sensor.goplug_pro_32_0e5e_lifetime_energy"
SESSION = "sensor.goplug_pro_32_0e5e_session_energy"


def _kwh(hass: HomeAssistant, entity_id: str) -> float:
    return float(state_of(hass, entity_id).state)


async def test_counter_reset_does_not_drop_lifetime_energy(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """The charger's counter is zeroed ($SK 0): the sensor keeps counting up."""
    goplug_sim.model.set_total_wh(120_000)
    goplug_sim.model.plug_in()
    entry = await add_charger(hass, goplug_sim)
    coordinator = entry.runtime_data.coordinator
    assert _kwh(hass, LIFETIME) == 120.0

    goplug_sim.advance(3600)
    await coordinator.async_refresh()
    after_charge = _kwh(hass, LIFETIME)
    assert after_charge == pytest.approx(127.62, abs=0.01)

    goplug_sim.model.set_total_wh(0)
    await coordinator.async_refresh()
    assert _kwh(hass, LIFETIME) == after_charge

    goplug_sim.advance(600)
    await coordinator.async_refresh()
    assert _kwh(hass, LIFETIME) == pytest.approx(after_charge + 1.27, abs=0.01)

    # Reloading (or restarting) keeps what was counted before the reset.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _kwh(hass, LIFETIME) == pytest.approx(after_charge + 1.27, abs=0.01)


async def test_session_energy_is_not_total_increasing(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """Session energy resets with every session; it is no Energy-dashboard source."""
    goplug_sim.model.plug_in()
    goplug_sim.advance(600)
    await add_charger(hass, goplug_sim)
    state = state_of(hass, SESSION)
    assert "state_class" not in state.attributes
    assert state_of(hass, LIFETIME).attributes["state_class"] == "total_increasing"


async def test_reset_while_home_assistant_was_down(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """Restored offset and last reading: a reset during the downtime is seen."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(LIFETIME, "50.0"),
                {
                    "native_value": 50_000.0,
                    "native_unit_of_measurement": "Wh",
                    "energy_offset": 10_000.0,
                    "energy_last_raw": 40_000.0,
                },
            )
        ],
    )
    goplug_sim.model.set_total_wh(2_000)
    await add_charger(hass, goplug_sim)
    # 10 kWh before the earlier reset + 40 kWh before this one + 2 kWh now.
    assert _kwh(hass, LIFETIME) == 52.0


async def test_rounding_noise_is_not_a_reset(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A counter that wobbles down a few Wh is held, not re-based."""
    goplug_sim.model.set_total_wh(5_000.4)
    entry = await add_charger(hass, goplug_sim)
    goplug_sim.model.set_total_wh(4_999.9)
    await entry.runtime_data.coordinator.async_refresh()
    goplug_sim.model.set_total_wh(5_100)
    await entry.runtime_data.coordinator.async_refresh()
    assert _kwh(hass, LIFETIME) == 5.1


async def test_restored_data_of_another_shape_is_ignored(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """Restore data without our counter (or garbage) starts from zero offset."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(LIFETIME, "50.0"),
                {
                    "native_value": 50.0,
                    "native_unit_of_measurement": "kWh",
                    "energy_offset": "x",
                    "energy_last_raw": None,
                },
            )
        ],
    )
    goplug_sim.model.set_total_wh(3_000)
    await add_charger(hass, goplug_sim)
    assert _kwh(hass, LIFETIME) == 3.0
