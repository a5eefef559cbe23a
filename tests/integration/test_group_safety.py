"""A charging group under faults, measured at the simulators.

Every simulated second the test asks each simulator what it could offer a
car without being commanded (the pilot now, or its saved current after a
reboot or a released claim) and checks that the sum stays within the 40 A
circuit: a charger whose answers are lost, one that answers polls but
ignores commands, one that reboots, and Home Assistant stopping while two
cars charge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local.const import DOMAIN
from simulators import Fault, GoeSimulator, Simulator, start_simulator

from .conftest import add_charger, wait_for
from .test_group import _setup, add_group, allocation, settle

LIMIT = 40
SECOND = timedelta(seconds=1)

type AnySim = Simulator | GoeSimulator


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


async def run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: Sequence[AnySim],
    seconds: int,
) -> int:
    """Let ``seconds`` pass one by one; return the worst sum seen."""
    worst = 0
    for _ in range(seconds):
        freezer.tick(SECOND)
        async_fire_time_changed(hass)
        await settle(hass)
        total = sum(sim.could_offer for sim in sims)
        assert total <= LIMIT, [sim.could_offer for sim in sims]
        worst = max(worst, total)
    return worst


@pytest.fixture
async def goplugs(socket_enabled: None) -> AsyncIterator[tuple[Simulator, Simulator]]:
    async with (
        start_simulator("goplug", identity_seed=11) as first,
        start_simulator("goplug", identity_seed=12) as second,
    ):
        yield first, second


async def a_charging_alone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sims: tuple[Simulator, Simulator],
) -> tuple[ConfigEntry, ConfigEntry, ConfigEntry]:
    """A 40 A group of the two; A's car charges at 32 A: (group, a, b)."""
    group, first, second = await _setup(hass, sims)
    sims[0].model.plug_in()
    await run(hass, freezer, sims, 12)
    assert sims[0].offered == 32
    return group, first, second


async def test_lost_answers_never_let_the_circuit_overload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplugs: tuple[Simulator, Simulator],
) -> None:
    """A's decrease arrives but its answer (and its next polls) are lost."""
    sim_a, sim_b = goplugs
    group, first, second = await a_charging_alone(hass, freezer, goplugs)
    # The next four requests to A are answered half-way, then cut.
    sim_a.inject(Fault.DROP, count=4, path="/r")
    sim_b.model.plug_in()
    await run(hass, freezer, goplugs, 60)
    assert allocation(hass, group, first) == ("20", "shared")
    assert allocation(hass, group, second) == ("20", "shared")
    assert sim_a.offered == sim_b.offered == 20


async def test_a_charger_ignoring_commands_gets_its_current_counted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplugs: tuple[Simulator, Simulator],
) -> None:
    """A answers polls but keeps its 32 A; B gets what is really left."""
    sim_a, sim_b = goplugs
    group, first, second = await a_charging_alone(hass, freezer, goplugs)
    sim_a.ignore_commands()
    sim_b.model.plug_in()
    await run(hass, freezer, goplugs, 120)
    issue_id = f"group_member_refusing_{group.entry_id}_{first.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert sim_a.offered == 32
    assert sim_b.offered == LIMIT - 32
    # A takes commands again: the circuit is shared, the issue goes.
    sim_a.ignore_commands(False)
    await run(hass, freezer, goplugs, 120)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert sim_a.offered == sim_b.offered == 20
    assert allocation(hass, group, second) == ("20", "shared")


async def test_a_reboot_falls_back_within_the_circuit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplugs: tuple[Simulator, Simulator],
) -> None:
    sim_a, sim_b = goplugs
    await _setup(hass, goplugs)
    sim_a.model.plug_in()
    sim_b.model.plug_in()
    await run(hass, freezer, goplugs, 30)
    assert sim_a.offered == sim_b.offered == 20
    # A restarts (unreachable for 12 s): its volatile 20 A are gone, the
    # controller offers its saved 6 A.
    await sim_a.stop()
    sim_a.model.reboot()
    assert sim_a.offered == 6
    await run(hass, freezer, goplugs, 12)
    await sim_a.start()
    await run(hass, freezer, goplugs, 30)
    assert sim_a.offered == sim_b.offered == 20
    # Nothing but the fallback was ever written to EEPROM.
    assert sim_a.model.eeprom_writes == sim_b.model.eeprom_writes == 1


# Unloading closes the OpenEVSE websocket from our side: aiohttp may leave its
# heartbeat timer to run out after the test.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_home_assistant_gone_with_two_cars_charging(
    hass: HomeAssistant, current_sim: Simulator, goplug_sim: Simulator
) -> None:
    """Home Assistant stops while two cars charge; then everything happens.

    Real time: current OpenEVSE firmware pushes over a websocket.
    """
    sims = (current_sim, goplug_sim)
    openevse = await add_charger(hass, current_sim)
    goplug = await add_charger(hass, goplug_sim)
    group = await add_group(hass, [openevse, goplug])
    current_sim.model.plug_in()
    current_sim.notify()
    goplug_sim.model.plug_in()
    await goplug.runtime_data.coordinator.async_refresh()
    await wait_for(
        lambda: current_sim.offered == 24 and goplug_sim.offered == 16, timeout=10
    )
    # Home Assistant goes away (a crash, an update): nothing commands the
    # chargers any more.
    for entry in (group, openevse, goplug):
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    def within() -> None:
        assert sum(sim.could_offer for sim in sims) <= LIMIT
        assert sum(sim.offered for sim in sims) <= LIMIT

    within()
    # The cars leave and come back: the claim is released, the charger
    # offers its saved current (which followed its share).
    current_sim.model.unplug()
    current_sim.model.plug_in()
    goplug_sim.model.unplug()
    goplug_sim.model.plug_in()
    within()
    # A power cut: both restart into their saved currents.
    await current_sim.reboot(seconds=0)
    await goplug_sim.reboot(seconds=0)
    within()
    assert goplug_sim.offered == 6
