"""The development instance's simulated sensors (config/configuration.yaml).

``scripts/develop`` offers a price sensor, a grid meter and a solar forecast
made with templates, so that planned and solar charging can be tried without
hardware: they must render what the integration reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_component import async_update_entity
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.energy.prices import parse_price_attributes
from custom_components.evse_local.energy.solar_forecast import (
    combine_forecasts,
    parse_solar_attributes,
)
from simulators import Simulator

from .conftest import add_charger
from .test_group import settle

CONFIGURATION = Path(__file__).parents[2] / "config" / "configuration.yaml"

# The templates that read the clock re-render every minute: a timer that
# outlives the test, as in any running Home Assistant.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


async def _setup(hass: HomeAssistant) -> None:
    config = load_yaml_dict(CONFIGURATION)
    assert await async_setup_component(
        hass, "template", {"template": config["template"]}
    )
    await settle(hass)


async def test_prices_are_a_nord_pool_forecast_with_tomorrow_after_13(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    freezer.move_to(datetime(2026, 3, 10, 9, 30, tzinfo=UTC))  # 10:30 local
    await _setup(hass)
    state = hass.states.get("sensor.simulated_nord_pool")
    assert state is not None
    assert state.state == "0.22"
    tz = dt_util.get_default_time_zone()
    forecast = parse_price_attributes(state.attributes, tz=tz, unit="EUR/kWh")
    assert len(forecast.slots) == 24
    assert forecast.skipped == 0
    assert forecast.slots[0].start == datetime(2026, 3, 9, 23, tzinfo=UTC)
    assert min(forecast.slots, key=lambda s: s.price).price == 0.15

    freezer.move_to(datetime(2026, 3, 10, 12, 30, tzinfo=UTC))  # 13:30 local
    await async_update_entity(hass, "sensor.simulated_nord_pool")
    state = hass.states.get("sensor.simulated_nord_pool")
    assert state is not None
    forecast = parse_price_attributes(state.attributes, tz=tz, unit="EUR/kWh")
    assert len(forecast.slots) == 48
    assert forecast.slots[-1].end == datetime(2026, 3, 11, 23, tzinfo=UTC)


async def test_grid_meter_and_forecast_follow_the_same_sun(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    goplug_sim.model.plug_in()
    await add_charger(hass, goplug_sim)
    goplug_sim.advance(10)
    freezer.tick(11)
    async_fire_time_changed(hass)
    await _setup(hass)
    forecast = parse_solar_attributes(
        hass.states.get("sensor.simulated_solar_forecast").attributes  # type: ignore[union-attr]
    )
    periods = combine_forecasts([forecast])
    noon = next(p for p in periods if p.start == datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert 4900 < noon.power_w <= 5000
    # Two clear days of 38.2 kWh each (the sensor's state).
    assert sum(p.energy_wh for p in periods) / 2 / 1000 == pytest.approx(38.2, abs=0.3)
    # Noon: 5 kW of sun, 400 W of house, and the car's power (read in kW).
    await async_update_entity(hass, "sensor.simulated_grid_power")
    grid = hass.states.get("sensor.simulated_grid_power")
    assert grid is not None
    power = next(
        entry.entity_id
        for entry in er.async_get(hass).entities.values()
        if entry.platform == DOMAIN and entry.entity_id.endswith("_power")
    )
    car_kw = float(hass.states.get(power).state)  # type: ignore[union-attr]
    assert car_kw > 1
    assert float(grid.state) == round(400 + car_kw * 1000 - 5000)
