"""Mode Planned with solar inputs: the sun counts first, the plan buys the rest.

The house's grid meter is worked out by the test from the sun, the house and
what the simulated car really draws, before every step.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from custom_components.evse_local.const import (
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
)
from simulators import Simulator
from simulators.model import Mode

from .conftest import set_plan, state_of
from .test_group import entity_id
from .test_plan import (
    _charger_with_prices,
    _later,
    _nordpool,
    _plan_state,
    _planned_group,
    _select_planned,
    _with_options,
    pair,  # noqa: F401 (a fixture)
)

GRID = "sensor.grid_power"
HOUSE_W = 300.0
MORNING = datetime(2026, 1, 15, 9, 55, tzinfo=UTC)
# Dear until noon, cheapest from 13:00 to 15:00 (UTC, the test's zone).
MIDDAY = {9: 0.30, 10: 0.30, 11: 0.28, 12: 0.25, 13: 0.10, 14: 0.12, 15: 0.30}
MIDDAY |= {16: 0.35, 17: 0.40}


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


def _meter(hass: HomeAssistant, sim: Simulator, sun_w: float) -> None:
    """What the grid meter shows: positive = exporting."""
    export = sun_w - HOUSE_W - sim.model.power_watts
    hass.states.async_set(GRID, str(round(export)), {"unit_of_measurement": "W"})


async def test_sun_counts_first_and_the_plan_buys_only_the_rest(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """10 kWh by 16:00: a sunny morning fills part, the cheap hours the rest."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(MORNING)
    _nordpool(hass, MIDDAY)
    _meter(hass, goplug_sim, 0)
    entry = await _charger_with_prices(
        hass,
        goplug_sim,
        **{CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"},
    )
    await _select_planned(hass, entry)
    await set_plan(
        hass, {"config_entry_id": entry.entry_id, "energy": 10, "ready_by": "16:00"}
    )
    model = goplug_sim.model
    model.plug_in()
    await _later(hass, freezer, goplug_sim)
    state = _plan_state(hass, entry)
    assert state.state == "planned"
    assert state.attributes["slots"][0]["start"] == "2026-01-15T13:00:00+00:00"
    assert model.mode is Mode.SLEEP
    serial = entry.unique_id
    planned = entity_id(hass, "sensor", f"{serial}_plan_energy")
    assert float(state_of(hass, planned).state) == 10.0

    # Four kilowatts of sun from 10:00 to 12:00 while the plan waits.
    sun_wh = 0.0
    while datetime.now(UTC) < datetime(2026, 1, 15, 12, tzinfo=UTC):
        _meter(hass, goplug_sim, 4000)
        before = model.total_wh
        await _later(hass, freezer, goplug_sim)
        sun_wh += model.total_wh - before
    # The car took the surplus: 3.7 kW spare is 16 A at the settings' 230 V.
    assert model.mode is Mode.ACTIVE
    assert model.current_capacity == 16
    assert sun_wh > 6_000
    solar_state = entity_id(hass, "sensor", f"{serial}_solar_state")
    assert state_of(hass, solar_state).state == "following"
    # The plan counts it: what is left is all it buys, still in the cheap hours.
    left = float(state_of(hass, planned).state)
    assert left < 10 - sun_wh / 1000 + 0.5
    assert _plan_state(hass, entry).attributes["slots"][0]["start"] >= (
        "2026-01-15T13:00:00+00:00"
    )

    # Clouds: the plan pauses until its slot and buys the rest there.
    bought_wh = cloudy_wh = 0.0
    while (now := datetime.now(UTC)) < datetime(2026, 1, 15, 16, tzinfo=UTC):
        _meter(hass, goplug_sim, 0)
        before = model.total_wh
        await _later(hass, freezer, goplug_sim)
        if now.hour < 13:
            cloudy_wh += model.total_wh - before
        else:
            bought_wh += model.total_wh - before
    # Five minutes at the sun's 16 A before the cloud is seen, then the
    # stop delay at the minimum: then nothing until the cheap hours.
    assert cloudy_wh < 16 * 240 * 5 / 60 + 6 * 240 * 5 / 60
    assert model.session_wh >= 10_000
    assert bought_wh < 10_000 - sun_wh + 100
    assert _plan_state(hass, entry).state == "done"


async def test_a_member_without_a_plan_lends_no_sun_to_the_planned_one(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    pair: tuple[Simulator, Simulator],  # noqa: F811
) -> None:
    """In a group, what a charger without a plan draws is no surplus."""
    first, second = pair

    def meter(sun_w: float) -> None:
        drawn = first.model.power_watts + second.model.power_watts
        export = sun_w - HOUSE_W - drawn
        hass.states.async_set(GRID, str(round(export)), {"unit_of_measurement": "W"})

    meter(0)
    group, chargers = await _planned_group(
        hass, freezer, pair, start=MORNING, hours=MIDDAY
    )
    await _with_options(
        hass,
        group,
        **{CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"},
    )
    # Only the first car has a plan (for the cheap hours); the second has
    # none and charges as in mode Off, from the grid.
    await set_plan(
        hass,
        {"config_entry_id": chargers[0].entry_id, "energy": 5, "ready_by": "16:00"},
    )
    first.model.plug_in()
    second.model.plug_in()
    for _ in range(6):
        meter(0)
        await _later(hass, freezer, first, second)
    assert second.model.mode is Mode.ACTIVE
    assert second.model.power_watts > 4000
    # No sun: the second car's draw is not the first one's to take.
    assert first.model.mode is Mode.SLEEP
    assert _plan_state(hass, chargers[0]).state == "planned"
    # Sun the second car uses up is no surplus either.
    for _ in range(3):
        meter(4000)
        await _later(hass, freezer, first, second)
    assert first.model.mode is Mode.SLEEP
    # Sun beyond the house and the second car: the first car takes it
    # although its plan waits.
    for _ in range(6):
        meter(8000)
        await _later(hass, freezer, first, second)
    assert first.model.mode is Mode.ACTIVE
    assert first.model.current_capacity <= 13


async def test_group_members_plan_with_the_controllers_share(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    pair: tuple[Simulator, Simulator],  # noqa: F811
) -> None:
    """First in, first served: the first car plans at 32 A, the second at 8 A."""
    _, chargers = await _planned_group(
        hass,
        freezer,
        pair,
        start=MORNING,
        hours=MIDDAY,
        policy="first_in_first_serve",
    )
    for entry, energy in zip(chargers, (12, 5), strict=True):
        await set_plan(
            hass,
            {"config_entry_id": entry.entry_id, "energy": energy, "ready_by": "16:00"},
        )
    for sim in pair:
        sim.model.plug_in()
        await _later(hass, freezer, *pair)
    await _later(hass, freezer, *pair)

    def planned_amps(entry: ConfigEntry) -> float:
        """The highest current among the plan's slots."""
        return max(
            float(slot["energy_wh"])
            / (
                datetime.fromisoformat(slot["end"])
                - datetime.fromisoformat(slot["start"])
            ).total_seconds()
            * 3600
            / 230
            for slot in _plan_state(hass, entry).attributes["slots"]
        )

    # An equal share would be 20 A each: the second car would count on 12 A
    # it never gets while the first charges.
    assert planned_amps(chargers[0]) == pytest.approx(32, abs=0.1)
    assert planned_amps(chargers[1]) == pytest.approx(8, abs=0.1)
    worst = 0
    while datetime.now(UTC) < datetime(2026, 1, 15, 16, tzinfo=UTC):
        await _later(hass, freezer, *pair)
        worst = max(worst, sum(sim.could_offer for sim in pair))
    assert worst <= 40
    for sim, energy in zip(pair, (12_000, 5_000), strict=True):
        assert sim.model.session_wh >= energy
