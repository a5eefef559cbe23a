"""The pause-on-solar-deficit blueprint, loaded by Home Assistant, on a charger."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.blueprint import models as blueprint_models
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulators import Simulator
from simulators.model import Mode

from .conftest import add_charger, state_of

BLUEPRINT = (
    Path(__file__).parents[2]
    / "blueprints"
    / "automation"
    / "evse_local"
    / "pause_on_solar_deficit.yaml"
)
GRID = "sensor.grid_power"
SWITCH = "switch.goplug_pro_32_0e5e_charging_enabled"


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


@pytest.fixture
def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> Iterator[None]:
    """Install the blueprint where Home Assistant looks for it."""
    target = tmp_path / "blueprints" / "automation" / "evse_local"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target)
    with patch.object(
        blueprint_models.DomainBlueprints,
        "blueprint_folder",
        property(lambda self: tmp_path / "blueprints" / self.domain),
    ):
        yield


def _grid(hass: HomeAssistant, watts: float) -> None:
    hass.states.async_set(
        GRID, str(watts), {"unit_of_measurement": "W", "device_class": "power"}
    )


async def _later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("blueprint_folder")
async def test_pauses_on_deficit_and_resumes_on_surplus(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """A deficit that lasts pauses; a short one does not; a surplus resumes."""
    goplug_sim.model.plug_in()
    await add_charger(hass, goplug_sim)
    _grid(hass, -2000)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "alias": "Solar pause",
                "use_blueprint": {
                    "path": "evse_local/pause_on_solar_deficit.yaml",
                    "input": {
                        "grid_power": GRID,
                        "threshold": 1000,
                        "delay": {"minutes": 2},
                        "charging_switch": SWITCH,
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    assert state_of(hass, "automation.solar_pause").state == "on"
    assert state_of(hass, SWITCH).state == "on"

    # A cloud of 90 s: nothing happens.
    _grid(hass, 1500)
    await _later(hass, freezer, 90)
    _grid(hass, -200)
    await _later(hass, freezer, 60)
    assert state_of(hass, SWITCH).state == "on"
    assert goplug_sim.model.mode is Mode.ACTIVE

    # A deficit for the whole delay pauses the charger.
    _grid(hass, 1500)
    await _later(hass, freezer, 60)
    assert state_of(hass, SWITCH).state == "on"
    await _later(hass, freezer, 61)
    assert state_of(hass, SWITCH).state == "off"
    assert goplug_sim.model.mode is Mode.SLEEP

    # The sun is back for the delay: charging resumes, the session goes on.
    _grid(hass, -1500)
    await _later(hass, freezer, 121)
    assert state_of(hass, SWITCH).state == "on"
    assert goplug_sim.model.mode is Mode.ACTIVE
    assert goplug_sim.model.connected
    assert goplug_sim.model.eeprom_writes == 0
