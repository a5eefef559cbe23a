"""Lifetime energy never lies: counter resets, glitches, restarts, reloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
)

from custom_components.evse_local.coordinator import EvseCoordinator
from simulators import GoeFault, Simulator, start_simulator

from .conftest import add_charger, state_of, wait_for

LIFETIME = "sensor.goplug_pro_32_0e5e_lifetime_energy"
LIFETIME_OF = {
    "current": "sensor.openevse_0e5e_lifetime_energy",
    "legacy": "sensor.openevse_127_0_0_1_lifetime_energy",
    "goplug": LIFETIME,
}
SESSION = "sensor.goplug_pro_32_0e5e_session_energy"


def _kwh(hass: HomeAssistant, entity_id: str) -> float:
    return float(state_of(hass, entity_id).state)


async def _refresh(
    coordinator: EvseCoordinator, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Poll ``seconds`` after the last poll (wall clock and simulator alike)."""
    freezer.tick(timedelta(seconds=seconds))
    await coordinator.async_refresh()


async def test_counter_reset_does_not_drop_lifetime_energy(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """The charger's counter is zeroed ($SK 0): the sensor keeps counting up.

    The drop to zero is taken as a reset once the next two different
    readings continue from it; until then the total holds.
    """
    goplug_sim.model.set_total_wh(120_000)
    goplug_sim.model.plug_in()
    entry = await add_charger(hass, goplug_sim)
    coordinator = entry.runtime_data.coordinator
    assert _kwh(hass, LIFETIME) == 120.0

    goplug_sim.advance(3600)
    await _refresh(coordinator, freezer, 3600)
    after_charge = _kwh(hass, LIFETIME)
    assert after_charge == pytest.approx(127.62, abs=0.01)

    goplug_sim.model.set_total_wh(0)
    await _refresh(coordinator, freezer, 10)
    assert _kwh(hass, LIFETIME) == after_charge

    goplug_sim.advance(600)
    await _refresh(coordinator, freezer, 600)
    assert _kwh(hass, LIFETIME) == after_charge  # one reading continues it
    goplug_sim.advance(600)
    await _refresh(coordinator, freezer, 600)
    assert _kwh(hass, LIFETIME) == pytest.approx(after_charge + 2.54, abs=0.01)

    # Reloading (or restarting) keeps what was counted before the reset.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _kwh(hass, LIFETIME) == pytest.approx(after_charge + 2.54, abs=0.01)


async def test_one_zero_reading_is_a_glitch_on_rapi_chargers(
    hass: HomeAssistant, rapi_sim: Simulator
) -> None:
    """$GU (GoPlug) or /status (legacy) reads 0 once, then the real count.

    Before the guard, the 0 was taken as a reset and the next reading added
    the whole counter a second time (100.5 kWh too high for ever).
    """
    rapi_sim.model.set_total_wh(100_500)
    entry = await add_charger(hass, rapi_sim)
    coordinator = entry.runtime_data.coordinator
    lifetime = LIFETIME_OF[str(rapi_sim.kind)]
    shown = [_kwh(hass, lifetime)]
    for total in (0, 100_520, 100_540):
        rapi_sim.model.set_total_wh(total)
        await coordinator.async_refresh()
        shown.append(_kwh(hass, lifetime))
    assert shown == [100.5, 100.5, 100.52, 100.54]


async def test_one_zero_reading_is_a_glitch_on_push(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """A pushed ``total_energy: 0`` between two real readings changes nothing."""
    current_sim.model.set_total_wh(100_500)
    current_sim.model.plug_in()
    entry = await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected)
    lifetime = LIFETIME_OF["current"]
    shown: list[float] = []

    def watch() -> None:
        shown.append(_kwh(hass, lifetime))

    entry.async_on_unload(coordinator.async_add_listener(watch))
    current_sim.push_raw('{"total_energy":0}')
    await wait_for(lambda: len(shown) >= 1)
    current_sim.advance(10)
    await wait_for(lambda: _kwh(hass, lifetime) > 100.5)
    assert shown == sorted(shown)
    assert _kwh(hass, lifetime) < 100.6
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_one_zero_reading_is_a_glitch_on_goe(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """ENERGY_TOTAL reads 0 once over Modbus: the lifetime energy stays."""
    async with start_simulator("goe", identity_seed=0xE5E) as goe_sim:
        goe_sim.model.total_wh = 100_500
        entry = await add_charger(hass, goe_sim)
        coordinator = entry.runtime_data.coordinator
        lifetime = "sensor.go_echarger_3678_lifetime_energy"
        assert _kwh(hass, lifetime) == 100.5
        goe_sim.inject(GoeFault.INVALID, address=129, value=0)
        await coordinator.async_refresh()
        assert _kwh(hass, lifetime) == 100.5
        await coordinator.async_refresh()
        await coordinator.async_refresh()
        assert _kwh(hass, lifetime) == 100.5
        assert await hass.config_entries.async_unload(entry.entry_id)


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
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """Restored guard: a reset during the downtime is seen, and confirmed."""
    a_day_ago = dt_util.utcnow().timestamp() - 86_400
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
                    "energy_last_seen": a_day_ago,
                    "energy_total": 50_000.0,
                },
            )
        ],
    )
    goplug_sim.model.set_total_wh(2_000)
    goplug_sim.model.plug_in()
    entry = await add_charger(hass, goplug_sim)
    coordinator = entry.runtime_data.coordinator
    assert _kwh(hass, LIFETIME) == 50.0  # near zero: a reset, to be confirmed
    for _ in range(2):
        goplug_sim.advance(60)
        await _refresh(coordinator, freezer, 60)
    # 10 kWh before the earlier reset + 40 kWh before this one + what it
    # counted since: 2 kWh, then two minutes at 7.6 kW.
    assert _kwh(hass, LIFETIME) == pytest.approx(52.25, abs=0.01)


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
