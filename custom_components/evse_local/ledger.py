"""The session ledger in Home Assistant: one per charger.

It feeds the charger's readings, the price sensor and the solar meters to a
:class:`~.energy.sessions.SessionRecorder` (where the rules live), keeps
every finished session in a ``Store``, exports energy and cost per clock
hour to long-term statistics, and tells the event entity what happened.
Data flows one way: the ledger listens to the coordinator, which knows
nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
)
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import EnergyConverter

from .background import CoalescedJob
from .const import (
    CONF_BATTERY_POWER,
    CONF_BATTERY_POWER_SIGN,
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_MEMBERS,
    CONF_PRICE_SENSOR,
    DOMAIN,
    LOGGER,
    SIGN_POSITIVE_DISCHARGE,
    SIGN_POSITIVE_EXPORT,
)
from .coordinator import EvseCoordinator
from .energy.sessions import (
    LimitKind,
    LimitReached,
    Reading,
    Session,
    SessionEnded,
    SessionEvent,
    SessionRecorder,
    SessionStarted,
    hourly_totals,
    price_unit,
    solar_share,
)
from .group import group_of, has_solar_inputs
from .protocols.models import ChargerSnapshot

STORAGE_VERSION = 1
# The open session's progress is saved at most once a minute while energy
# flows (a write per reading would wear an SD card); starts and ends at once.
OPEN_SAVE_DELAY = 60.0
# How often a plug-in or unplug seen once is looked at again: a polled
# charger whose snapshot did not change (so nobody was told) has still been
# read, and a charger that pushes only changes may send nothing more.
TICK_INTERVAL = timedelta(seconds=15)
RECENT_SESSIONS = 5


class LedgerEvent(StrEnum):
    """What the event entity reports."""

    SESSION_STARTED = "session_started"
    SESSION_ENDED = "session_ended"
    LIMIT_REACHED = "limit_reached"
    PLAN_NOT_MET = "plan_not_met"


type LedgerListener = Callable[[LedgerEvent, dict[str, Any]], None]


def ledger_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where every finished session of a charger is kept.

    Years of sessions make a megabyte or two: serialised off the event loop.
    """
    return Store(
        hass,
        STORAGE_VERSION,
        f"{DOMAIN}.sessions.{entry_id}",
        serialize_in_event_loop=False,
    )


def recorder_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where the open session and the counters' baselines survive restarts."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.session_recorder.{entry_id}")


def statistic_ids(entry: ConfigEntry[Any]) -> tuple[str, str]:
    """Return a charger's energy and cost statistics: by serial, like its entities."""
    key = slugify(entry.unique_id or entry.entry_id)
    return f"{DOMAIN}:{key}_energy", f"{DOMAIN}:{key}_cost"


def session_attributes(session: Session) -> dict[str, Any]:
    """Return what the event entity and the last-session sensor show of a session."""
    share = session.solar_share
    return {
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat(),
        "duration": round(session.duration.total_seconds()),
        "energy": round(session.energy_wh / 1000, 3),
        "cost": None if session.cost is None else round(session.cost, 4),
        "currency": session.currency,
        "solar_share": None if share is None else round(share * 100, 1),
        "id_tag": session.id_tag,
    }


class SessionLedger:
    """One charger's sessions: recorded, kept, exported and announced."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], coordinator: EvseCoordinator
    ) -> None:
        """Prepare; :meth:`async_load` and :meth:`async_start` bring it up."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.recorder = SessionRecorder(entry.unique_id or entry.entry_id)
        self.sessions: list[Session] = []
        self._store = ledger_store(hass, entry.entry_id)
        self._recorder_store = recorder_store(hass, entry.entry_id)
        self._save_pending = False
        self._ledger_pending = False
        self._listeners: list[LedgerListener] = []
        self._fed_read: int | None = None
        self._imports = CoalescedJob(
            hass, entry, self._async_import, f"{DOMAIN} statistics {self.name}"
        )

    # ------------------------------------------------------------ lifecycle

    async def async_load(self) -> None:
        """Take back the kept sessions and the open one (before the entities)."""
        stored = await self._store.async_load() or {}
        for data in stored.get("sessions", ()):
            try:
                self.sessions.append(Session.from_dict(data))
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.warning("%s: dropped an unreadable session: %s", self.name, err)
        state = await self._recorder_store.async_load()
        finished = {session.session_id for session in self.sessions[-1:]}
        self.recorder.restore_state(state, dt_util.utcnow(), finished=finished)

    async def async_start(self) -> None:
        """Follow the charger and the meters; export what is not exported yet."""
        entry = self.entry
        self._price_changed()
        if price_sensor := entry.options.get(CONF_PRICE_SENSOR):
            entry.async_on_unload(
                async_track_state_change_event(
                    self.hass, price_sensor, self._price_state_changed
                )
            )
        entry.async_on_unload(
            self.coordinator.async_add_listener(self._coordinator_updated)
        )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._tick,
                TICK_INTERVAL,
                name=f"{DOMAIN} sessions {entry.title}",
                cancel_on_shutdown=True,
            )
        )
        self._coordinator_updated()
        self._schedule_import()

    async def async_save_now(self) -> None:
        """Save what is not saved yet before the entry goes away."""
        if self._ledger_pending:
            await self._store.async_save(self._ledger_data(tuple(self.sessions)))
        if self._save_pending or self.recorder.dirty:
            await self._recorder_store.async_save(self._recorder_state())

    @property
    def name(self) -> str:
        """The charger's name, for the log."""
        return self.entry.title

    # ------------------------------------------------------------ listeners

    @callback
    def async_add_listener(self, listener: LedgerListener) -> CALLBACK_TYPE:
        """Call ``listener`` with every event (the event entity)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_plan_not_met(self, details: Mapping[str, Any]) -> None:
        """Announce that a charging plan cannot reach its target in time."""
        self._announce(LedgerEvent.PLAN_NOT_MET, dict(details))

    @callback
    def _announce(self, event: LedgerEvent, attributes: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(event, attributes)

    # ------------------------------------------------------------ inputs

    @callback
    def _coordinator_updated(self) -> None:
        """Feed a new read of the charger (a repeated notice is no new read)."""
        coordinator = self.coordinator
        if (
            not coordinator.last_update_success
            or coordinator.data is None
            or coordinator.last_read_at == self._fed_read
        ):
            return
        self._fed_read = coordinator.last_read_at
        self._handle(self.recorder.update(self._reading(coordinator.data)))

    @callback
    def _tick(self, now: datetime) -> None:
        self._coordinator_updated()
        if self.coordinator.last_update_success:
            self._handle(self.recorder.tick(now))

    @callback
    def _price_state_changed(self, event: Event[EventStateChangedData]) -> None:
        self._price_changed()

    @callback
    def _price_changed(self) -> None:
        price, currency = self._price()
        self.recorder.set_price(dt_util.utcnow(), price, currency)
        if self.recorder.dirty:
            self._save_soon()

    def _price(self) -> tuple[float | None, str | None]:
        """Return the price sensor's price per kWh and its currency (None: unknown)."""
        entity_id = self.entry.options.get(CONF_PRICE_SENSOR)
        if not entity_id or (state := self.hass.states.get(entity_id)) is None:
            return None, None
        try:
            value = float(state.state)
        except ValueError:
            return None, None
        unit = price_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
        if unit is None:
            return None, None
        per_kwh, currency = unit
        return value * per_kwh, currency

    def _reading(self, snapshot: ChargerSnapshot) -> Reading:
        enforced = self.coordinator.enforces_limits(snapshot)
        return Reading(
            at=dt_util.utcnow(),
            vehicle_connected=snapshot.vehicle_connected,
            charging=snapshot.charging,
            transaction_id=snapshot.transaction_id,
            lifetime_wh=snapshot.lifetime_energy,
            session_wh=snapshot.session_energy,
            session_seconds=snapshot.session_time,
            # The limit fields of a charger whose limits we enforce show the
            # enforcer's: it says itself when one is reached.
            energy_limit_kwh=None if enforced else snapshot.energy_limit,
            time_limit_minutes=None if enforced else snapshot.time_limit,
            limit_reached=self._enforced_limit_reached() if enforced else None,
            solar_share=self._solar_share(),
            id_tag=_id_tag(snapshot),
        )

    def _enforced_limit_reached(self) -> LimitKind | None:
        limit = self.coordinator.limits.limit
        if limit is None or not limit.reached:
            return None
        if limit.energy_kwh is not None and limit.counted_wh >= limit.energy_kwh * 1000:
            return LimitKind.ENERGY
        return LimitKind.TIME

    def _solar_share(self) -> float | None:
        """Return the share of the charging power the sun covers (solar inputs set).

        The inputs are the group's for a group member (the grid meter sees
        every member), the charger's own otherwise.
        """
        group = group_of(self.hass, self.entry.entry_id)
        source = self.entry if group is None else group
        if not has_solar_inputs(source.options):
            return None
        members = (
            [self.entry.entry_id] if group is None else group.options[CONF_MEMBERS]
        )
        grid = self._watts(source.options, CONF_GRID_POWER)
        if grid is not None and source.options.get(CONF_GRID_POWER_SIGN) == (
            SIGN_POSITIVE_EXPORT
        ):
            grid = -grid
        battery = self._watts(source.options, CONF_BATTERY_POWER)
        if battery is not None and source.options.get(CONF_BATTERY_POWER_SIGN) == (
            SIGN_POSITIVE_DISCHARGE
        ):
            battery = -battery
        charging = sum(self._charging_w(member_id) for member_id in members)
        return solar_share(charging, grid, battery)

    def _watts(self, options: Mapping[str, Any], key: str) -> float | None:
        entity_id = options.get(key)
        if not entity_id or (state := self.hass.states.get(entity_id)) is None:
            return None
        if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        if unit == UnitOfPower.KILO_WATT:
            return value * 1000
        return value if unit in (UnitOfPower.WATT, None) else None

    def _charging_w(self, member_id: str) -> float:
        if member_id == self.entry.entry_id:
            coordinator: EvseCoordinator | None = self.coordinator
        else:
            member = self.hass.config_entries.async_get_entry(member_id)
            coordinator = (
                member.runtime_data.coordinator
                if member is not None and member.state is ConfigEntryState.LOADED
                else None
            )
        if coordinator is None or not coordinator.last_update_success:
            return 0.0
        return coordinator.data.power or 0.0

    # ------------------------------------------------------------ outputs

    @callback
    def _handle(self, events: list[SessionEvent]) -> None:
        for event in events:
            if isinstance(event, SessionStarted):
                LOGGER.debug("%s: session started", self.name)
                self._announce(
                    LedgerEvent.SESSION_STARTED,
                    {
                        "started_at": event.started_at.isoformat(),
                        "id_tag": event.id_tag,
                    },
                )
            elif isinstance(event, SessionEnded):
                self._finished(event.session)
            elif isinstance(event, LimitReached):
                self._announce(
                    LedgerEvent.LIMIT_REACHED,
                    {
                        "limit": event.kind.value,
                        "energy": round(event.energy_wh / 1000, 3),
                    },
                )
        if events:
            # A start or an end must not be lost to a crash.
            self._save_soon(0)
        elif self.recorder.dirty:
            self._save_soon()

    @callback
    def _finished(self, session: Session) -> None:
        LOGGER.debug("%s: session ended, %.3f kWh", self.name, session.energy_wh / 1000)
        self.sessions.append(session)
        self._ledger_pending = True
        # Called from a worker thread: it gets its own copy of the list.
        self._store.async_delay_save(partial(self._ledger_data, tuple(self.sessions)))
        self._announce(LedgerEvent.SESSION_ENDED, session_attributes(session))
        self._schedule_import()

    def _ledger_data(self, sessions: tuple[Session, ...]) -> dict[str, Any]:
        # Every session is kept (about 400 bytes each): the statistics are
        # recomputed from them.
        self._ledger_pending = False
        return {"sessions": [session.as_dict() for session in sessions]}

    @callback
    def _save_soon(self, delay: float = OPEN_SAVE_DELAY) -> None:
        if delay and self._save_pending:
            return
        self._save_pending = True
        self._recorder_store.async_delay_save(self._recorder_state, delay)

    def _recorder_state(self) -> dict[str, Any]:
        self._save_pending = False
        return self.recorder.stored()

    # ------------------------------------------------------------ statistics

    @callback
    def _schedule_import(self) -> None:
        """Export to statistics soon; events while one runs cause exactly one more."""
        self._imports.schedule()

    async def _async_import(self) -> bool:
        try:
            await self._async_import_statistics()
        except HomeAssistantError as err:
            # The sessions are kept: the next session or start tries again.
            LOGGER.warning("%s: statistics not exported: %s", self.name, err)
            return False
        return True

    async def _async_import_statistics(self) -> None:
        """Import every hour from the last one the recorder has (idempotent).

        The sums are recomputed from all kept sessions, so importing an hour
        again (a second session in it, a restart before the recorder wrote)
        writes the same rows.
        """
        if not self.sessions or "recorder" not in self.hass.config.components:
            return
        # Years of sessions take tens of milliseconds: off the event loop.
        hours = await self.hass.async_add_executor_job(
            hourly_totals, tuple(self.sessions)
        )
        energy_id, cost_id = statistic_ids(self.entry)
        columns = [(self._metadata(energy_id, cost=False), False)]
        if any(session.cost is not None for session in self.sessions):
            columns.append((self._metadata(cost_id, cost=True), True))
        recorder = get_instance(self.hass)
        for metadata, cost in columns:
            statistic_id = metadata["statistic_id"]
            last = await recorder.async_add_executor_job(
                get_last_statistics, self.hass, 1, statistic_id, True, {"sum"}
            )
            since = last[statistic_id][0]["start"] if last.get(statistic_id) else None
            total = 0.0
            rows: list[StatisticData] = []
            for start, energy_kwh, hour_cost in hours:
                value = hour_cost if cost else energy_kwh
                total += value
                if since is None or start.timestamp() >= since:
                    rows.append(StatisticData(start=start, state=value, sum=total))
            if rows:
                async_add_external_statistics(self.hass, metadata, rows)

    def _metadata(self, statistic_id: str, *, cost: bool) -> StatisticMetaData:
        currency = next(
            (
                session.currency
                for session in reversed(self.sessions)
                if session.currency
            ),
            None,
        )
        return StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=f"{self.name} charging {'cost' if cost else 'energy'}",
            source=DOMAIN,
            statistic_id=statistic_id,
            unit_class=None if cost else EnergyConverter.UNIT_CLASS,
            unit_of_measurement=currency if cost else UnitOfEnergy.KILO_WATT_HOUR,
        )

    # ------------------------------------------------------------ views

    @property
    def last_session(self) -> Session | None:
        """The last finished session."""
        return self.sessions[-1] if self.sessions else None

    def diagnostics(self) -> dict[str, Any]:
        """Return the last few sessions and the open one (hours left out)."""
        recent = [
            {key: value for key, value in session.as_dict().items() if key != "hours"}
            for session in self.sessions[-RECENT_SESSIONS:]
        ]
        open_session = self.recorder.open_session
        return {
            "sessions_kept": len(self.sessions),
            "recent_sessions": recent,
            "open_session": None
            if open_session is None
            else {
                key: value
                for key, value in open_session.as_dict().items()
                if key != "hours"
            },
        }


def _id_tag(snapshot: ChargerSnapshot) -> str | None:
    """Return the id tag (RFID card) of the session, where the charger says.

    OCPP chargers report it (the card the central system authorized).
    """
    return snapshot.id_tag or None
