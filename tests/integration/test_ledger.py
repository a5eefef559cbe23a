"""The session ledger against simulated chargers: events, storage, statistics."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_SCAN_INTERVAL,
    EVENT_STATE_CHANGED,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.evse_local.const import (
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PRICE_SENSOR,
    DOMAIN,
)
from simulators import GoeSimulator, Simulator, start_simulator

from .conftest import add_charger, state_of, wait_for
from .test_group import add_group, settle
from .test_ocpp import add_ocpp_entry, free_port, mq200

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
def quiet_database() -> Iterator[None]:
    """No SQL in the test output (phcc logs every statement at INFO).

    The recorder's thread may still write after a test's capture ended.
    """
    engine = logging.getLogger("sqlalchemy.engine")
    level = engine.level
    engine.setLevel(logging.WARNING)
    yield
    engine.setLevel(level)


# The clock is frozen: read back at once after a command.
pytestmark = pytest.mark.usefixtures("no_follow_up_delay")


class World:
    """Home Assistant's clock and the simulator's, moved together."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory | None,
        sim: Simulator | GoeSimulator | None,
        event_entity: str = EVENT,
    ) -> None:
        self.hass = hass
        self.event_entity = event_entity
        self.freezer = freezer
        self.sim = sim
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lifetime: list[int] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._state_changed)

    @callback
    def _state_changed(self, event: Event[Any]) -> None:
        state = event.data["new_state"]
        if event.data["entity_id"] != self.event_entity or state is None:
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
        assert self.sim is not None
        assert self.freezer is not None
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


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncIterator[GoeSimulator]:
    """A go-e Charger with Modbus TCP on loopback."""
    async with start_simulator("goe", identity_seed=0xE5E) as sim:
        yield sim


async def test_limit_reached_on_the_charger_itself(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """RAPI's own energy limit: the charger sleeps at it and forgets it."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    entry = await add_charger(hass, goplug_sim)
    goplug_sim.model.plug_in()
    await world.step()
    await world.step()
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {"config_entry_id": entry.entry_id, "energy": 1},
        blocking=True,
    )
    for _ in range(10):
        await world.step()
    assert goplug_sim.model.limit_sleep
    assert goplug_sim.model.charge_limit_kwh == 0  # the firmware forgot it
    assert [event for event, _ in world.events] == [
        "session_started",
        "limit_reached",
    ]
    assert world.events[1][1] == {
        "limit": "energy",
        "energy": pytest.approx(1.0, abs=0.01),
    }


async def test_limit_reached_by_the_integration(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """go-e: the integration enforces the limit, pauses, and says so once."""
    world = World(hass, None, goe_sim, "event.go_echarger_3678_charging_session")
    entry = await add_charger(hass, goe_sim)
    coordinator = entry.runtime_data.coordinator
    goe_sim.model.plug_in()
    for _ in range(2):
        goe_sim.advance(10)
        await coordinator.async_refresh()
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {"config_entry_id": entry.entry_id, "energy": 0.5},
        blocking=True,
    )
    for _ in range(4):
        goe_sim.advance(100)
        await coordinator.async_refresh()
        await settle(hass)
    assert not goe_sim.model.allow
    assert [event for event, _ in world.events] == [
        "session_started",
        "limit_reached",
    ]
    assert world.events[1][1]["limit"] == "energy"

    # The next car, with a time limit.
    goe_sim.model.unplug()
    for _ in range(2):
        goe_sim.advance(10)
        await coordinator.async_refresh()
    # The second read changed nothing: the ledger's next look sees it.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=16))
    await settle(hass)
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.go_echarger_3678_charging_enabled"},
        blocking=True,
    )
    goe_sim.model.plug_in()
    for _ in range(2):
        goe_sim.advance(10)
        await coordinator.async_refresh()
    await hass.services.async_call(
        DOMAIN,
        "set_session_limit",
        {"config_entry_id": entry.entry_id, "duration": {"minutes": 1}},
        blocking=True,
    )
    with freeze_time(dt_util.utcnow() + timedelta(minutes=2)):
        goe_sim.advance(120)
        await coordinator.async_refresh()
        await settle(hass)
    assert [event for event, _ in world.events][-3:] == [
        "session_ended",
        "session_started",
        "limit_reached",
    ]
    assert world.events[-1][1]["limit"] == "time"


async def test_plan_not_met_is_announced(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """The planner's way to say so: one call, one event with its details."""
    entry = await add_charger(hass, goplug_sim)
    entry.runtime_data.ledger.async_plan_not_met(
        {"target_energy": 20.0, "expected_energy": 12.5, "ready_by": "07:00"}
    )
    state = state_of(hass, EVENT)
    assert state.attributes["event_type"] == "plan_not_met"
    assert state.attributes["expected_energy"] == 12.5


async def test_an_ocpp_session_follows_its_transaction(hass: HomeAssistant) -> None:
    """MQ 200: StartTransaction starts the session at once; the unplug ends it."""
    port = free_port()
    world = World(hass, None, None, "event.mq200_0009_charging_session")
    entry = await add_ocpp_entry(hass, port, "MQ200-0009")
    async with mq200(port, "MQ200-0009") as sim:
        await sim.wait_accepted()
        await wait_for(lambda: entry.runtime_data.coordinator.last_update_success)
        sim.model.plug_in()
        await sim.sync()
        await wait_for(lambda: len(world.events) == 1)
        assert world.events[0][0] == "session_started"
        start = sim.model.energy_wh
        await sim.advance(600)
        await wait_for(
            lambda: (entry.runtime_data.coordinator.data.lifetime_energy or 0) > 0
        )
        sim.model.unplug()
        await sim.sync()
        await wait_for(
            lambda: entry.runtime_data.coordinator.data.vehicle_connected is False
        )
        await hass.async_block_till_done()
        # Only one reading says so, and the charger sends nothing more: the
        # unplug is confirmed after a minute.
        assert len(world.events) == 1
        later = dt_util.utcnow() + timedelta(seconds=61)
        with freeze_time(later):
            async_fire_time_changed(hass, later)
            await hass.async_block_till_done()
        assert [event for event, _ in world.events] == [
            "session_started",
            "session_ended",
        ]
        # The register in whole Wh.
        assert world.events[1][1]["energy"] == pytest.approx(
            (sim.model.energy_wh - start) / 1000, abs=0.002
        )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_price_sensor_troubles_leave_energy_unpriced(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, goplug_sim: Simulator
) -> None:
    """MWh prices are converted; unavailable, text or odd units price nothing."""
    freezer.move_to(START)
    world = World(hass, freezer, goplug_sim)
    world.price("300", "EUR/MWh")
    entry = await _charger(hass, goplug_sim)
    goplug_sim.model.plug_in()
    await world.step()
    await world.step()
    priced = world.lifetime[-1]
    for value, unit in (("unavailable", "EUR/kWh"), ("cheap", "EUR/kWh"), ("1", "EUR")):
        world.price(value, unit)
        await world.step()
    world.price("0.30")
    goplug_sim.model.unplug()
    await world.step()
    await world.step()
    session = entry.runtime_data.ledger.last_session
    assert session is not None
    baseline = priced - 2 * (world.lifetime[1] - world.lifetime[0])
    assert session.priced_wh == priced - baseline
    assert session.energy_wh == world.lifetime[-1] - baseline
    assert session.cost == pytest.approx(session.priced_wh / 1000 * 0.30)


def _stored_session(session_id: str, **fields: Any) -> dict[str, Any]:
    hour = int(datetime(2026, 11, 20, 21, tzinfo=UTC).timestamp())
    return {
        "id": session_id,
        "charger": "GOPLUG47000E5E",
        "started_at": "2026-11-20T21:10:00+00:00",
        "ended_at": "2026-11-20T21:50:00+00:00",
        "energy_wh": 5000.0,
        "cost": 1.25,
        "priced_wh": 5000.0,
        "currency": "EUR",
        "solar_wh": None,
        "id_tag": "04A1B2C3D4",
        "hours": [[hour, 5000.0, 1.25]],
        **fields,
    }


async def test_kept_sessions_after_a_restart_diagnostics_and_removal(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    hass_client: ClientSessionGenerator,
    goplug_sim: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Kept sessions come back (a broken one is dropped), are exported, and go."""
    recorder_mock = get_instance(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=goplug_sim.identity.mcu_id,
        title="GoPlug Pro 32 0E5E",
        data={CONF_HOST: goplug_sim.host},
        options={CONF_PRICE_SENSOR: PRICE},
    )
    entry.add_to_hass(hass)
    sessions_key = f"{DOMAIN}.sessions.{entry.entry_id}"
    hass_storage[sessions_key] = {
        "version": 1,
        "key": sessions_key,
        "data": {"sessions": [_stored_session("1"), {"id": "broken"}]},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    assert "dropped an unreadable session" in caplog.text
    assert float(state_of(hass, LAST_ENERGY).state) == 5.0
    last_cost = state_of(hass, LAST_COST)
    assert (float(last_cost.state), last_cost.attributes["id_tag"]) == (
        1.25,
        "04A1B2C3D4",
    )
    statistics = await _statistics(hass, recorder_mock, entry)
    hour = datetime(2026, 11, 20, 21, tzinfo=UTC)
    assert statistics == {"energy": [(hour, 5.0, 5.0)], "cost": [(hour, 1.25, 1.25)]}

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(diagnostics, dict)
    sessions: Any = diagnostics["sessions"]
    assert sessions["sessions_kept"] == 1
    (recent,) = sessions["recent_sessions"]
    assert recent["energy_wh"] == 5000.0
    assert recent["id_tag"] == "**REDACTED**"
    assert "04A1B2C3D4" not in str(diagnostics)

    assert await hass.config_entries.async_remove(entry.entry_id)
    await settle(hass)
    assert sessions_key not in hass_storage
    assert f"{DOMAIN}.session_recorder.{entry.entry_id}" not in hass_storage
    await async_wait_recording_done(hass)
    metadata = await recorder_mock.async_add_executor_job(
        list_statistic_ids, hass, None, None
    )
    assert [item for item in metadata if item["source"] == DOMAIN] == []


async def test_price_sensor_option(hass: HomeAssistant, goplug_sim: Simulator) -> None:
    """A price sensor must be a number per energy; errors end in a saved form."""
    entry = await add_charger(hass, goplug_sim)
    hass.states.async_set("sensor.text", "cheap", {ATTR_UNIT_OF_MEASUREMENT: "EUR/kWh"})
    hass.states.async_set("sensor.euros", "5", {ATTR_UNIT_OF_MEASUREMENT: "EUR"})
    hass.states.async_set(PRICE, "unknown", {ATTR_UNIT_OF_MEASUREMENT: "EUR/MWh"})
    base = {CONF_SCAN_INTERVAL: 10, CONF_PERSIST_MAX_CURRENT: False}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for sensor, error in (
        ("sensor.text", "price_not_numeric"),
        ("sensor.euros", "price_unit"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**base, CONF_PRICE_SENSOR: sensor}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_PRICE_SENSOR: error}
    # Unknown now, a price per MWh: checked again when it reports.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PRICE_SENSOR: PRICE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert entry.options[CONF_PRICE_SENSOR] == PRICE
    # A sensor that does not exist (yet) is accepted too.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PRICE_SENSOR: "sensor.later"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)


async def test_price_sensor_of_a_group_member(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """A member keeps its own price sensor; emptying the field removes it."""
    charger = await add_charger(hass, goplug_sim)
    await add_group(hass, [charger])
    hass.states.async_set("sensor.euros", "5", {ATTR_UNIT_OF_MEASUREMENT: "EUR"})
    base = {CONF_SCAN_INTERVAL: 20, CONF_PERSIST_MAX_CURRENT: False}
    result = await hass.config_entries.options.async_init(charger.entry_id)
    assert result["step_id"] == "grouped"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PRICE_SENSOR: "sensor.euros"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "grouped"
    assert result["errors"] == {CONF_PRICE_SENSOR: "price_unit"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PRICE_SENSOR: PRICE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert charger.options[CONF_PRICE_SENSOR] == PRICE
    result = await hass.config_entries.options.async_init(charger.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    assert CONF_PRICE_SENSOR not in charger.options


async def test_solar_share_in_a_group(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The group's grid meter sees every member: their power is shared out."""
    freezer.move_to(START)
    hass.states.async_set(GRID, "20000", {ATTR_UNIT_OF_MEASUREMENT: "W"})
    async with (
        start_simulator("goplug", identity_seed=1) as sim_a,
        start_simulator("goplug", identity_seed=2) as sim_b,
    ):
        first = await add_charger(hass, sim_a)
        second = await add_charger(hass, sim_b)
        group = await add_group(hass, [first, second])
        inputs = {CONF_GRID_POWER: GRID, CONF_GRID_POWER_SIGN: "positive_export"}
        hass.config_entries.async_update_entry(group, options=group.options | inputs)
        assert await hass.config_entries.async_reload(group.entry_id)
        await settle(hass)
        world = World(hass, freezer, sim_a, f"event.{first.title}_charging_session")
        world.lifetime.append(int(sim_a.model.total_wh))
        sim_a.model.plug_in()
        sim_b.model.plug_in()
        for _ in range(2):
            sim_b.model.advance(60)
            await world.step()  # exporting 20 kW: all solar
        # Importing what one of them draws: half of what both draw.
        hass.states.async_set(
            GRID, str(-sim_a.model.power_watts), {ATTR_UNIT_OF_MEASUREMENT: "W"}
        )
        for _ in range(2):
            sim_b.model.advance(60)
            await world.step()
        hass.states.async_set(GRID, "unavailable")  # as before: the last share
        sim_b.model.advance(60)
        await world.step()
        sim_a.model.unplug()
        for _ in range(2):
            await world.step()
        session = first.runtime_data.ledger.last_session
        assert session is not None
        # 2 minutes at 100 %, 3 at 50 % (the group shares its 40 A from the
        # first step on: the minutes differ).
        minutes = [b - a for a, b in itertools.pairwise(world.lifetime[:6])]
        solar = sum(minutes[:2]) + sum(minutes[2:]) / 2
        assert session.energy_wh == sum(minutes)
        assert session.solar_share == pytest.approx(solar / sum(minutes), abs=0.001)


async def test_a_failed_export_is_tried_again_at_the_next_start(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    goplug_sim: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The recorder refusing an import loses nothing: the sessions are kept."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=goplug_sim.identity.mcu_id,
        title="GoPlug Pro 32 0E5E",
        data={CONF_HOST: goplug_sim.host},
    )
    entry.add_to_hass(hass)
    key = f"{DOMAIN}.sessions.{entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {"sessions": [_stored_session("1")]},
    }
    with patch(
        "custom_components.evse_local.ledger.async_add_external_statistics",
        side_effect=HomeAssistantError("the database is busy"),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await settle(hass)
    assert "statistics not exported: the database is busy" in caplog.text
    assert await _statistics(hass, get_instance(hass), entry) == {}
    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    hour = datetime(2026, 11, 20, 21, tzinfo=UTC)
    assert await _statistics(hass, get_instance(hass), entry) == {
        "energy": [(hour, 5.0, 5.0)],
        "cost": [(hour, 1.25, 1.25)],
    }
