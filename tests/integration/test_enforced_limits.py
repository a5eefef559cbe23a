"""Session limits the integration enforces (go-e, OCPP), on the simulators.

Home Assistant's clock (``freezer``, ticking so that network I/O works) is
moved on in steps, and the simulated charger follows it: both see the same
time, so the energies are those of the simulated charger, never a measured
duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed_exact,
)

from custom_components.evse_local.const import DOMAIN
from simulators import GoeFault, GoeSimulator, start_simulator

from .conftest import add_charger, state_of

PREFIX = "go_echarger_3678"
STEP = 0.25
"""Simulated seconds per step: 0.76 Wh at 11 kW."""


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncIterator[GoeSimulator]:
    """A go-e Charger with a car plugged in (3 x 16 A: 10.9 kW)."""
    async with start_simulator("goe", identity_seed=0xE5E) as sim:
        sim.model.plug_in()
        yield sim


def _entity(platform: str, key: str) -> str:
    return f"{platform}.{PREFIX}_{key}"


async def run_for(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    seconds: float,
    advance: Callable[[float], Awaitable[None] | None],
    *,
    polled: bool = True,
) -> None:
    """Let ``seconds`` pass for Home Assistant; the charger follows its clock.

    Every step ends when Home Assistant is done with it: for a polled charger
    that includes its scheduled reads (background tasks; a pushing charger
    has a push task that never ends, and its frames are answered in the step).
    """
    loop = hass.loop
    end = loop.time() + seconds
    last = loop.time()
    while last < end:
        # move_to, not tick: a ticking clock's tick() forgets the time that
        # really passed since the last one.
        freezer.move_to(dt_util.utcnow() + timedelta(seconds=STEP))
        now = loop.time()
        result = advance(now - last)
        if result is not None:
            await result
        last = now
        async_fire_time_changed_exact(hass)
        await hass.async_block_till_done(wait_background_tasks=polled)


async def _set_limit(hass: HomeAssistant, entry_id: str, **limit: object) -> None:
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {ATTR_CONFIG_ENTRY_ID: entry_id, **limit},
        blocking=True,
    )


@pytest.mark.freeze_time(tick=True)
async def test_goe_energy_limit_overshoot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goe_sim: GoeSimulator
) -> None:
    """0.1 kWh at 10.9 kW: paused within 10 Wh of the limit, not a poll late.

    Set a second after a poll: the limit is passed 33 s later, 7 s before
    the fourth poll after it (21 Wh too late if the pause waited for it).
    """
    entry = await add_charger(hass, goe_sim)
    await run_for(hass, freezer, 11, goe_sim.model.advance)
    start_wh = goe_sim.model.session_wh
    await _set_limit(hass, entry.entry_id, energy=0.1)
    await run_for(hass, freezer, 60, goe_sim.model.advance)
    assert not goe_sim.model.allow
    delivered = goe_sim.model.session_wh - start_wh
    assert abs(delivered - 100) <= 10, delivered
    assert state_of(hass, _entity("switch", "charging_enabled")).state == STATE_OFF


@pytest.mark.freeze_time(tick=True)
async def test_goe_time_limit_pauses_on_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goe_sim: GoeSimulator
) -> None:
    """A duration pauses at its deadline, not at the first poll after it."""
    entry = await add_charger(hass, goe_sim)
    await run_for(hass, freezer, 3, goe_sim.model.advance)
    await _set_limit(hass, entry.entry_id, duration="00:01:00")
    start_wh = goe_sim.model.session_wh
    await run_for(hass, freezer, 59, goe_sim.model.advance)
    assert goe_sim.model.allow
    await run_for(hass, freezer, 1.5, goe_sim.model.advance)
    assert not goe_sim.model.allow
    # 60 s at 10.9 kW, give or take a step.
    assert goe_sim.model.session_wh - start_wh == pytest.approx(182.2, abs=2)


async def test_goe_car_state_glitch_keeps_the_limit(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """One CAR_STATE 0 reading is no unplug: the 50 kWh limit stays."""
    entry = await add_charger(hass, goe_sim)
    coordinator = entry.runtime_data.coordinator
    await _set_limit(hass, entry.entry_id, energy=50)
    goe_sim.model.advance(60)
    await coordinator.async_refresh()
    goe_sim.glitch_car_state()
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "session_energy_limit")).state == "50.0"
    assert state_of(hass, _entity("binary_sensor", "vehicle_connected")).state == (
        STATE_ON
    )
    assert coordinator.limits.limit is not None
    assert coordinator.limits.limit.counted_wh == pytest.approx(182.2, abs=0.1)
    # A real unplug still ends the session (two readings in a row).
    goe_sim.model.unplug()
    await coordinator.async_refresh()
    await coordinator.async_refresh()
    assert state_of(hass, _entity("sensor", "session_energy_limit")).state == "0.0"


async def _reach_a_limit(hass: HomeAssistant, goe_sim: GoeSimulator) -> ConfigEntry:
    """Add the charger, set 0.1 kWh, charge past it: paused by the limit."""
    entry = await add_charger(hass, goe_sim)
    await _set_limit(hass, entry.entry_id, energy=0.1)
    goe_sim.model.advance(40)
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not goe_sim.model.allow
    return entry


async def _read(hass: HomeAssistant, entry: ConfigEntry, times: int = 1) -> None:
    for _ in range(times):
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()


async def test_goe_limit_pause_ends_with_its_session(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Unplug after the limit paused: the next car charges."""
    entry = await _reach_a_limit(hass, goe_sim)
    goe_sim.model.unplug()
    await _read(hass, entry)
    assert not goe_sim.model.allow  # one reading: maybe a glitch
    # The resume fails once (a refused write): tried again at the next reading.
    goe_sim.inject(GoeFault.EXCEPTION, function=16)
    await _read(hass, entry)
    assert not goe_sim.model.allow
    await _read(hass, entry)
    assert goe_sim.model.allow
    goe_sim.model.plug_in()
    goe_sim.model.advance(10)
    await _read(hass, entry)
    assert state_of(hass, _entity("sensor", "state")).state == "charging"
    assert state_of(hass, _entity("switch", "charging_enabled")).state == STATE_ON
    assert goe_sim.eeprom_writes == 0


async def test_goe_limit_pause_taken_over_by_hand_stays(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Charging disabled by hand after the limit: the user's pause stays."""
    entry = await _reach_a_limit(hass, goe_sim)
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": _entity("switch", "charging_enabled")},
        blocking=True,
    )
    goe_sim.model.unplug()
    await _read(hass, entry, 3)
    assert not goe_sim.model.allow


async def test_goe_limit_reached_while_paused_by_hand(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A time limit running out during the user's pause: that pause stays."""
    entry = await add_charger(hass, goe_sim)
    await _set_limit(hass, entry.entry_id, duration="00:01:00")
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": _entity("switch", "charging_enabled")},
        blocking=True,
    )
    coordinator = entry.runtime_data.coordinator
    assert coordinator.limits.limit is not None
    coordinator.limits.limit.deadline = dt_util.utcnow()
    await _read(hass, entry)
    assert coordinator.limits.limit.reached
    goe_sim.model.unplug()
    await _read(hass, entry, 3)
    assert not goe_sim.model.allow


async def test_goe_failed_limit_pause_is_tried_again(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A pause that did not reach the charger is sent again, not forgotten."""
    entry = await add_charger(hass, goe_sim)
    await _set_limit(hass, entry.entry_id, energy=0.1)
    goe_sim.model.advance(40)
    goe_sim.inject(GoeFault.EXCEPTION, function=16)
    await _read(hass, entry)
    assert goe_sim.model.allow
    await _read(hass, entry)
    assert not goe_sim.model.allow
