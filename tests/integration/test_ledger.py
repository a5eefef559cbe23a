"""The session ledger against simulated chargers: events, storage, statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_SCAN_INTERVAL,
    EVENT_STATE_CHANGED,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.evse_local.const import (
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PRICE_SENSOR,
    DOMAIN,
)
from simulators import Simulator

from .conftest import add_charger, state_of
from .test_group import settle

PRICE = "sensor.electricity_price"
GRID = "sensor.grid_power"
EVENT = "event.goplug_pro_32_0e5e_charging_session"
LAST_ENERGY = "sensor.goplug_pro_32_0e5e_last_session_energy"
LAST_COST = "sensor.goplug_pro_32_0e5e_last_session_cost"
START = datetime(2026, 11, 21, 17, 58, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None, socket_enabled: None
) -> None:
    """The recorder first (it must exist before Home Assistant starts)."""


@pytest.fixture(autouse=True)
def no_follow_up_delay() -> Iterator[None]:
    """Read back at once after a command (the clock is frozen)."""
    with patch("custom_components.evse_local.coordinator.COMMAND_FOLLOW_UP_SECONDS", 0):
        yield


class World:
    """Home Assistant's clock and the simulator's, moved together."""

    def __init__(
        self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, sim: Simulator
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.sim = sim
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lifetime: list[int] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._state_changed)

    @callback
    def _state_changed(self, event: Event[Any]) -> None:
        state = event.data["new_state"]
        if event.data["entity_id"] != EVENT or state is None:
            return
        attributes = dict(state.attributes)
        event_type = attributes.pop("event_type", None)
        old = event.data["old_state"]
        # A reload restores the last event (from "unavailable"): not a new one.
        if old is None or old.state == "unavailable" or state.state == "unavailable":
            return
        if event_type is not None:
            attributes.pop("event_types")
            attributes.pop("friendly_name")
            self.events.append((event_type, attributes))

    async def step(self, seconds: float = 60) -> None:
        """``seconds`` of charging, then the polls and timers that fall due."""
        self.sim.model.advance(seconds)
        self.freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(self.hass)
        await settle(self.hass)
        self.lifetime.append(int(self.sim.model.total_wh))

    def price(self, value: str, unit: str = "EUR/kWh") -> None:
        self.hass.states.async_set(PRICE, value, {ATTR_UNIT_OF_MEASUREMENT: unit})


async def _charger(hass: HomeAssistant, sim: Simulator, **options: Any) -> ConfigEntry:
    """A charger with a price sensor (and more options), set as a user would."""
    entry = await add_charger(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 10,
            CONF_PERSIST_MAX_CURRENT: False,
            CONF_PRICE_SENSOR: PRICE,
            **options,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    return entry


async def _statistics(
    hass: HomeAssistant, recorder: Recorder, entry: ConfigEntry
) -> dict[str, list[tuple[datetime, float, float]]]:
    """The charger's hourly statistics: (start, state, sum) per statistic."""
    await async_wait_recording_done(hass)
    serial = str(entry.unique_id).lower()
    ids = {f"{DOMAIN}:{serial}_energy", f"{DOMAIN}:{serial}_cost"}
    rows = await recorder.async_add_executor_job(
        statistics_during_period,
        hass,
        START - timedelta(days=1),
        None,
        ids,
        "hour",
        None,
        {"state", "sum"},
    )
    return {
        statistic_id.split("_")[-1]: [
            (
                datetime.fromtimestamp(row["start"], UTC),
                round(float(row["state"] or 0), 6),
                round(float(row["sum"] or 0), 6),
            )
            for row in values
        ]
        for statistic_id, values in rows.items()
    }


async def test_a_session_is_announced_kept_and_exported(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """Plug in, charge across the hour and a price change, unplug."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    world.price("0.30")
    entry = await _charger(hass, goplug_sim)
    assert state_of(hass, LAST_ENERGY).state == "unknown"
    baseline = int(goplug_sim.model.total_wh)

    goplug_sim.model.plug_in()
    await world.step()  # 17:59 plugged in: seen once
    assert world.events == []
    await world.step()  # 18:00 confirmed
    assert world.events == [
        ("session_started", {"started_at": "2026-11-21T17:59:00+00:00", "id_tag": None})
    ]
    before_price_change = world.lifetime[-1]
    world.price("0.10")  # the 18:00 slot is cheaper
    await world.step()
    await world.step()
    goplug_sim.model.unplug()
    await world.step()  # 18:03 unplugged: seen once
    assert len(world.events) == 1
    await world.step()  # 18:04 confirmed

    energy_17 = before_price_change - baseline
    energy_18 = world.lifetime[-1] - before_price_change
    assert energy_17 > 0
    assert energy_18 > 0
    cost = energy_17 / 1000 * 0.30 + energy_18 / 1000 * 0.10
    event_type, attributes = world.events[-1]
    assert event_type == "session_ended"
    assert attributes == {
        "started_at": "2026-11-21T17:59:00+00:00",
        "ended_at": "2026-11-21T18:03:00+00:00",
        "duration": 240,
        "energy": round((energy_17 + energy_18) / 1000, 3),
        "cost": round(cost, 4),
        "currency": "EUR",
        "solar_share": None,
        "id_tag": None,
    }
    assert float(state_of(hass, LAST_ENERGY).state) == attributes["energy"]
    last_cost = state_of(hass, LAST_COST)
    assert float(last_cost.state) == round(cost, 4)
    assert last_cost.attributes[ATTR_UNIT_OF_MEASUREMENT] == "EUR"

    # Kept: the session in the ledger, no open one left behind.
    await world.step()
    (kept,) = hass_storage[f"{DOMAIN}.sessions.{entry.entry_id}"]["data"]["sessions"]
    assert kept["energy_wh"] == energy_17 + energy_18
    hour_17 = datetime(2026, 11, 21, 17, tzinfo=UTC)
    hour_18 = datetime(2026, 11, 21, 18, tzinfo=UTC)
    assert kept["hours"] == [
        [int(hour_17.timestamp()), energy_17, round(0.3 * energy_17 / 1000, 6)],
        [int(hour_18.timestamp()), energy_18, round(0.1 * energy_18 / 1000, 6)],
    ]
    recorder_state = hass_storage[f"{DOMAIN}.session_recorder.{entry.entry_id}"]
    assert recorder_state["data"]["open"] is None

    # Exported: energy and cost per hour, summed.
    statistics = await _statistics(hass, recorder_mock, entry)
    assert statistics["energy"] == [
        (hour_17, energy_17 / 1000, energy_17 / 1000),
        (hour_18, energy_18 / 1000, (energy_17 + energy_18) / 1000),
    ]
    assert statistics["cost"] == [
        (hour_17, round(0.3 * energy_17 / 1000, 6), round(0.3 * energy_17 / 1000, 6)),
        (hour_18, round(0.1 * energy_18 / 1000, 6), round(cost, 6)),
    ]
    metadata = await recorder_mock.async_add_executor_job(
        list_statistic_ids, hass, None, None
    )
    units = {
        item["statistic_id"]: item["statistics_unit_of_measurement"]
        for item in metadata
        if item["source"] == DOMAIN
    }
    serial = str(entry.unique_id).lower()
    assert units == {
        f"{DOMAIN}:{serial}_energy": "kWh",
        f"{DOMAIN}:{serial}_cost": "EUR",
    }


async def test_statistics_are_imported_again_the_same_after_a_restart(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """A second session in the same hour adds to it; a restart changes nothing."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    world.price("0.20")
    entry = await _charger(hass, goplug_sim)
    baseline = int(goplug_sim.model.total_wh)
    for _ in range(2):
        goplug_sim.model.plug_in()
        for _ in range(3):
            await world.step()
        goplug_sim.model.unplug()
        # Seen twice (a read that changed nothing is seen at the next tick).
        for _ in range(3):
            await world.step(20)
    assert [event for event, _ in world.events] == [
        "session_started",
        "session_ended",
    ] * 2
    first = await _statistics(hass, recorder_mock, entry)
    total = (world.lifetime[-1] - baseline) / 1000
    assert [row[2] for row in first["energy"]] == [
        pytest.approx(first["energy"][0][1]),
        pytest.approx(total),
    ]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    assert await _statistics(hass, recorder_mock, entry) == first


async def test_restart_mid_session_keeps_it(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """A restart while charging: one session, started once, all its energy."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    world.price("0.25")
    entry = await _charger(hass, goplug_sim)
    baseline = int(goplug_sim.model.total_wh)
    goplug_sim.model.plug_in()
    await world.step()
    await world.step()
    assert [event for event, _ in world.events] == ["session_started"]

    assert await hass.config_entries.async_unload(entry.entry_id)
    # Home Assistant is down for two minutes; the car keeps charging.
    goplug_sim.model.advance(120)
    freezer.tick(timedelta(seconds=120))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    await world.step()
    goplug_sim.model.unplug()
    await world.step()
    await world.step()
    assert [event for event, _ in world.events] == ["session_started", "session_ended"]
    attributes = world.events[-1][1]
    assert attributes["started_at"] == "2026-11-21T17:59:00+00:00"
    energy = world.lifetime[-1] - baseline
    assert attributes["energy"] == round(energy / 1000, 3)
    # A short restart keeps the price: all of it is priced.
    assert attributes["cost"] == round(energy / 1000 * 0.25, 4)


async def test_a_session_that_ended_while_home_assistant_was_down(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """Closed on the first reading; ended when last seen; downtime unpriced."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    world.price("0.25")
    entry = await _charger(hass, goplug_sim)
    baseline = int(goplug_sim.model.total_wh)
    goplug_sim.model.plug_in()
    await world.step()
    await world.step()
    priced = world.lifetime[-1] - baseline
    assert await hass.config_entries.async_unload(entry.entry_id)

    # Down for an hour: 20 more minutes of charging, then the car leaves.
    goplug_sim.model.advance(1200)
    goplug_sim.model.unplug()
    freezer.tick(timedelta(hours=1))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    energy = int(goplug_sim.model.total_wh) - baseline
    event_type, attributes = world.events[-1]
    assert event_type == "session_ended"
    assert attributes["ended_at"] == "2026-11-21T18:00:00+00:00"
    assert attributes["energy"] == round(energy / 1000, 3)
    assert attributes["cost"] == round(priced / 1000 * 0.25, 4)


async def test_solar_share_of_a_session(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goplug_sim: Simulator,
) -> None:
    """Half the charging power imported for half the session: 75 % solar."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    hass.states.async_set(GRID, "1000", {ATTR_UNIT_OF_MEASUREMENT: "W"})
    await _charger(
        hass,
        goplug_sim,
        **{CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"},
    )
    goplug_sim.model.plug_in()
    await world.step()
    await world.step()  # two minutes exporting: all solar
    half = goplug_sim.model.power_watts / 2
    hass.states.async_set(GRID, str(-half), {ATTR_UNIT_OF_MEASUREMENT: "W"})
    await world.step()  # importing half of it
    hass.states.async_set(GRID, str(-half / 1000), {ATTR_UNIT_OF_MEASUREMENT: "kW"})
    await world.step()
    goplug_sim.model.unplug()
    await world.step()
    await world.step()
    attributes = world.events[-1][1]
    assert world.events[-1][0] == "session_ended"
    assert attributes["cost"] is None
    assert attributes["solar_share"] == pytest.approx(75, abs=0.5)
