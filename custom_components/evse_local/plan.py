"""A charging plan per charger: its target, its ready time, the plan now.

The energy manager asks :meth:`PlanRunner.update` on every step while the
charging mode is Planned and gets the current the plan wants now (a cap the
controller honours). Each call plans afresh: :func:`~.energy.plan_charging`
is a pure function well under a millisecond, so new prices, a car that
charges slower than planned, a late plug-in or a new target all count at
the next step (every ``control_interval``) without bookkeeping of our own.

What the target counts: the energy delivered since the car was plugged in
(or since ``set_plan`` if it already was), read from the charger's lifetime
counter (its session counter when it has none). The ready time is a time of
day; the plan's deadline is its next occurrence after the plug-in (or after
the plan was set), kept until the car leaves, so a target missed at 07:00
goes on charging at once rather than rolling over to tomorrow. Everything
is stored, so a restart mid-plan keeps the deadline and the delivered energy.
"""

from __future__ import annotations

import math
from datetime import datetime, time, tzinfo
from enum import StrEnum
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CAR_BATTERY,
    CONF_CAR_SOC,
    CONF_HOUSE_POWER,
    CONF_MEMBERS,
    CONF_OFF_PEAK_END,
    CONF_OFF_PEAK_START,
    CONF_PRICE_SENSOR,
    CONF_SOLAR_FORECAST,
    DEFAULT_HOUSE_POWER,
    DOMAIN,
    LOGGER,
)
from .energy import (
    J1772_MIN_CURRENT,
    ChargingLimits,
    ChargingPlan,
    EnergySlot,
    PlanInputError,
    PlanReason,
    PlanState,
    energy_for_soc,
    next_ready_time,
    plan_charging,
)
from .energy.prices import (
    FixedTariff,
    PriceDataError,
    PriceForecast,
    PriceSlot,
    parse_price_attributes,
)
from .energy.solar_forecast import (
    PvPeriod,
    SolarDataError,
    SolarForecast,
    car_solar_energy,
    combine_forecasts,
    parse_solar_attributes,
)
from .group import group_of, has_solar_inputs
from .protocols.models import ChargerSnapshot

STORAGE_VERSION = 1
# Saved a moment after a change: a burst of edits is one write.
PLAN_SAVE_DELAY = 1.0
DEFAULT_READY_TIME = time(7, 0)
# The plug's own maximum when the charger reports none.
FALLBACK_MAX_CURRENT = 32


class PlanStatus(StrEnum):
    """What the plan state sensor shows."""

    IDLE = "idle"
    """No target, no car, or the charging mode is not Planned."""
    WAITING_FOR_PRICES = "waiting_for_prices"
    PLANNED = "planned"
    """Waiting for the planned slots."""
    CHARGING = "charging"
    """In a planned slot."""
    DONE = "done"
    CANNOT_MEET_TARGET = "cannot_meet_target"


class PriceProblem(StrEnum):
    """Why the price sensor gives no forecast (the plan charges at once)."""

    NONE = "none"
    NO_SENSOR = "no_price_sensor"
    MISSING = "price_sensor_missing"
    UNAVAILABLE = "price_sensor_unavailable"
    NO_FORECAST = "price_no_forecast"


class SolarProblem(StrEnum):
    """Why the plan counts on no sun from the forecast (it buys it all)."""

    NONE = "none"
    NO_SENSOR = "no_solar_forecast"
    NO_SOLAR_INPUTS = "no_solar_inputs"
    """No grid power sensor: the sun cannot be followed, so not counted on."""
    MISSING = "solar_forecast_missing"
    UNAVAILABLE = "solar_forecast_unavailable"
    NO_FORECAST = "solar_no_forecast"


def plan_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where a charger's plan (target, deadline, delivered energy) lives."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.plan.{entry_id}")


def _counter(snapshot: ChargerSnapshot) -> float | None:
    """Return the energy counter the target is measured on, in Wh."""
    if snapshot.lifetime_energy is not None:
        return snapshot.lifetime_energy
    return snapshot.session_energy


class PlanRunner:
    """One charger's plan: settings from its entities, the plan of the last step."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Start without a target; :meth:`async_load` takes back what was stored."""
        self.hass = hass
        self.entry = entry
        self.target_kwh = 0.0
        self.target_soc = 0.0
        """A state of charge to reach (%, 0 = none): with the car's sensor."""
        self.ready_time = DEFAULT_READY_TIME
        self.continuous = False
        self.ready_by: datetime | None = None
        self.plan: ChargingPlan | None = None
        self.status = PlanStatus.IDLE
        self.reason = PlanReason.NONE
        self.delivered_wh = 0.0
        self._baseline_wh: float | None = None
        self._connected: bool | None = None
        self._forecast: PriceForecast | None = None
        self._relative = False
        self.price_problem = PriceProblem.NO_SENSOR
        self._solar_forecasts: dict[str, SolarForecast] = {}
        self._solar_periods: tuple[PvPeriod, ...] = ()
        """The sensors' forecasts added up (at each reading, not each step)."""
        self._solar_read_problem = SolarProblem.NONE
        self._store = plan_store(hass, entry.entry_id)
        self._listeners: list[CALLBACK_TYPE] = []
        self._wake: CALLBACK_TYPE | None = None
        self._not_met_announced = False
        self._saved: dict[str, Any] | None = None

    # ------------------------------------------------------------ lifecycle

    async def async_load(self) -> None:
        """Take back the stored plan (a restart mid-plan keeps it)."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        self._saved = stored
        try:
            self.target_kwh = max(0.0, float(stored.get("target_kwh", 0.0)))
            self.target_soc = max(0.0, float(stored.get("target_soc", 0.0)))
            self.ready_time = time.fromisoformat(
                str(stored.get("ready_time", DEFAULT_READY_TIME.isoformat()))
            )
            self.continuous = bool(stored.get("continuous", False))
            ready_by = stored.get("ready_by")
            self.ready_by = (
                None if ready_by is None else datetime.fromisoformat(str(ready_by))
            )
            baseline = stored.get("baseline_wh")
            self._baseline_wh = None if baseline is None else float(baseline)
            connected = stored.get("connected")
            self._connected = None if connected is None else bool(connected)
        except TypeError, ValueError:
            # A damaged file: start without a plan rather than fail setup.
            self.target_kwh, self.ready_by, self._baseline_wh = 0.0, None, None

    @callback
    def async_start(self, wake: CALLBACK_TYPE) -> None:
        """Follow the price sensor; ``wake`` runs the energy manager's step."""
        self._wake = wake
        self._read_prices()
        if entity_id := self.entry.options.get(CONF_PRICE_SENSOR):
            self.entry.async_on_unload(
                async_track_state_change_event(
                    self.hass, [entity_id], self._prices_changed
                )
            )
        self._read_solar()
        if self.solar_entity_ids:
            self.entry.async_on_unload(
                async_track_state_change_event(
                    self.hass, self.solar_entity_ids, self._solar_changed
                )
            )

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever the plan changes (the plan entities)."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def _changed(self) -> None:
        # The plan is remade every step; only the settings, the deadline and
        # the counter's baseline are written (no write every 10 s).
        if self._stored() != self._saved:
            self._store.async_delay_save(self._to_store, PLAN_SAVE_DELAY)
        for update in list(self._listeners):
            update()

    async def async_save_now(self) -> None:
        """Write the plan before the entry goes away (a restart mid-plan)."""
        await self._store.async_save(self._to_store())

    @callback
    def _to_store(self) -> dict[str, Any]:
        self._saved = self._stored()
        return self._saved

    def _stored(self) -> dict[str, Any]:
        return {
            "target_kwh": self.target_kwh,
            "target_soc": self.target_soc,
            "ready_time": self.ready_time.isoformat(),
            "continuous": self.continuous,
            "ready_by": None if self.ready_by is None else self.ready_by.isoformat(),
            "baseline_wh": self._baseline_wh,
            "connected": self._connected,
        }

    # ------------------------------------------------------------ settings

    @callback
    def async_set(
        self,
        *,
        target_kwh: float | None = None,
        target_soc: float | None = None,
        ready_time: time | None = None,
        continuous: bool | None = None,
        restart: bool = False,
    ) -> None:
        """Change the plan's settings; ``restart`` counts energy from now."""
        if target_kwh is not None:
            self.target_kwh = max(0.0, target_kwh)
        if target_soc is not None:
            self.target_soc = min(100.0, max(0.0, target_soc))
        if continuous is not None:
            self.continuous = continuous
        if ready_time is not None and ready_time != self.ready_time:
            self.ready_time = ready_time
            self.ready_by = None
        if restart:
            self._baseline_wh = None
            self.ready_by = None
        self._not_met_announced = False
        self._changed()
        if self._wake is not None:
            self._wake()

    # ------------------------------------------------------------ prices

    @callback
    def _prices_changed(self, event: Event[EventStateChangedData]) -> None:
        self._read_prices()
        if self._wake is not None:
            self._wake()

    @callback
    def _read_prices(self) -> None:
        """Parse the price sensor; keep the last forecast when it goes away.

        Prices once published stay true; a sensor that turns unavailable
        mid-plan leaves the plan on them, and slots past their end are
        unknown to the planner, which still uses them (the target is met).
        """
        entity_id = self.entry.options.get(CONF_PRICE_SENSOR)
        if not entity_id:
            self.price_problem = PriceProblem.NO_SENSOR
            return
        state = self.hass.states.get(entity_id)
        if state is None:
            self.price_problem = PriceProblem.MISSING
            return
        if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            self.price_problem = PriceProblem.UNAVAILABLE
            return
        try:
            forecast = parse_price_attributes(
                state.attributes,
                tz=dt_util.get_default_time_zone(),
                unit=state.attributes.get(ATTR_UNIT_OF_MEASUREMENT),
            )
        except PriceDataError:
            # Not a forecast (or a broken one): no prices, the plan charges
            # at once rather than leave the car uncharged.
            self._forecast = None
            self.price_problem = PriceProblem.NO_FORECAST
            return
        self._forecast = forecast
        self.price_problem = PriceProblem.NONE

    # ------------------------------------------------------------ the sun

    @property
    def solar_entity_ids(self) -> list[str]:
        """The solar forecast sensors the options name."""
        return [str(e) for e in self.entry.options.get(CONF_SOLAR_FORECAST) or ()]

    @property
    def solar_problem(self) -> SolarProblem:
        """Why the plan counts on no sun (or on an old forecast); NONE if it can."""
        return self._solar_problem(group_of(self.hass, self.entry.entry_id))

    def _solar_problem(self, group: ConfigEntry[Any] | None) -> SolarProblem:
        if not self.solar_entity_ids:
            return SolarProblem.NO_SENSOR
        if not has_solar_inputs((group or self.entry).options):
            return SolarProblem.NO_SOLAR_INPUTS
        return self._solar_read_problem

    @callback
    def _solar_changed(self, event: Event[EventStateChangedData]) -> None:
        self._read_solar()
        # The problem shows at once, even if the plan stays the same.
        self._changed()
        if self._wake is not None:
            self._wake()

    @callback
    def _read_solar(self) -> None:
        """Parse the forecast sensors; keep a sensor's last one while unavailable.

        A forecast once made stays the best guess (its past periods no longer
        count); a sensor that is gone or carries no forecast gives no sun, so
        the plan buys that energy rather than leave the car short.
        """
        problems = []
        for entity_id in self.solar_entity_ids:
            state = self.hass.states.get(entity_id)
            if state is None:
                self._solar_forecasts.pop(entity_id, None)
                problems.append(SolarProblem.MISSING)
                continue
            if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                problems.append(SolarProblem.UNAVAILABLE)
                continue
            try:
                self._solar_forecasts[entity_id] = parse_solar_attributes(
                    state.attributes, tz=dt_util.get_default_time_zone()
                )
            except SolarDataError:
                self._solar_forecasts.pop(entity_id, None)
                problems.append(SolarProblem.NO_FORECAST)
        self._solar_read_problem = problems[0] if problems else SolarProblem.NONE
        self._solar_periods = combine_forecasts(self._solar_forecasts.values())

    def _solar(
        self, now: datetime, ready_by: datetime, limits: ChargingLimits
    ) -> list[EnergySlot]:
        """Return the surplus the car is expected to take until the ready time.

        Only with solar inputs: without a grid power sensor nothing follows
        the sun, and counting on it would leave the car short. In a group the
        surplus is shared by the members that count on it.
        """
        group = group_of(self.hass, self.entry.entry_id)
        if self._solar_problem(group) in (
            SolarProblem.NO_SENSOR,
            SolarProblem.NO_SOLAR_INPUTS,
        ):
            return []
        cars = 1
        if group is not None:
            members = (
                self.hass.config_entries.async_get_entry(member_id)
                for member_id in group.options.get(CONF_MEMBERS, ())
            )
            cars = sum(
                1
                for member in members
                if member is not None and member.options.get(CONF_SOLAR_FORECAST)
            )
        return car_solar_energy(
            self._solar_periods,
            now=now,
            until=ready_by,
            house_w=float(
                self.entry.options.get(CONF_HOUSE_POWER, DEFAULT_HOUSE_POWER)
            ),
            min_power_w=limits.power_w(limits.lowest_current),
            max_power_w=limits.power_w(limits.highest_current),
            cars=cars,
        )

    def _tariff(self) -> FixedTariff | None:
        """Return the off-peak window of the options, if both ends are set."""
        options = self.entry.options
        try:
            start = time.fromisoformat(str(options[CONF_OFF_PEAK_START]))
            end = time.fromisoformat(str(options[CONF_OFF_PEAK_END]))
            return FixedTariff(windows=((start, end),))
        except KeyError, ValueError:  # PriceDataError is a ValueError
            return None

    def _prices(
        self, now: datetime, ready_by: datetime, tz: tzinfo
    ) -> tuple[PriceSlot, ...]:
        """Return the sensor's forecast; without one, the off-peak window (if set)."""
        self._relative = False
        if self._forecast is not None:
            return self._forecast.slots
        tariff = self._tariff()
        if tariff is None or ready_by <= now:
            return ()
        forecast = tariff.forecast(now, ready_by, tz)
        # Off-peak ranks before peak, but is no money: no expected cost.
        self._relative = forecast.relative
        return forecast.slots

    @property
    def cost(self) -> float | None:
        """The plan's expected cost; None without a plan or real prices."""
        if self.plan is None or self._relative:
            return None
        return self.plan.cost

    # ------------------------------------------------------------ the step

    @callback
    def update(
        self,
        now: datetime,
        snapshot: ChargerSnapshot | None,
        *,
        phases: int,
        voltage: float,
        share_current: float | None,
    ) -> float | None:
        """Plan afresh; return the current the plan wants now (None: no plan)."""
        before = (self.status, self.reason, self.plan, self.ready_by)
        amps = self._update(
            now,
            snapshot,
            phases=phases,
            voltage=voltage,
            share_current=share_current,
        )
        if (self.status, self.reason, self.plan, self.ready_by) != before:
            self._changed()
        return amps

    @callback
    def async_idle(self) -> None:
        """Show the plan idle: the charging mode is not Planned."""
        if self.status is not PlanStatus.IDLE or self.plan is not None:
            self.status, self.reason, self.plan = PlanStatus.IDLE, PlanReason.NONE, None
            self._changed()

    def _update(
        self,
        now: datetime,
        snapshot: ChargerSnapshot | None,
        *,
        phases: int,
        voltage: float,
        share_current: float | None,
    ) -> float | None:
        if snapshot is None:
            # The charger is unreachable: its commands cannot go out anyway.
            return None
        connected = bool(snapshot.vehicle_connected)
        counter = _counter(snapshot)
        if connected and self._connected is False:
            # A plug-in: a new session, a new deadline.
            self._baseline_wh = None
            self.ready_by = None
            self._not_met_announced = False
        self._connected = connected
        if not connected:
            self.ready_by = None
            self.status, self.reason, self.plan = PlanStatus.IDLE, PlanReason.NONE, None
            return None
        if self._baseline_wh is None or (
            counter is not None and counter < self._baseline_wh
        ):
            # Counted from now; a counter that went back (a session counter
            # that restarted) starts again from where it is.
            self._baseline_wh = counter if counter is not None else 0.0
        self.delivered_wh = max(0.0, (counter or 0.0) - self._baseline_wh)
        needed_wh = self._soc_need_wh()
        if needed_wh is None and self.target_kwh > 0:
            needed_wh = self.target_kwh * 1000 - self.delivered_wh
        if needed_wh is None:
            self.status, self.reason, self.plan = PlanStatus.IDLE, PlanReason.NONE, None
            return None
        tz = dt_util.get_default_time_zone()
        if self.ready_by is None:
            self.ready_by = next_ready_time(now, self.ready_time, tz)
        maximum = snapshot.max_current_limit or FALLBACK_MAX_CURRENT
        try:
            limits = ChargingLimits(
                max_current=maximum,
                share_current=share_current,
                min_current=min(
                    snapshot.min_current_limit or J1772_MIN_CURRENT,
                    maximum,
                ),
                phases=phases,
                voltage=voltage,
            )
            plan = plan_charging(
                now=now,
                ready_by=self.ready_by,
                energy_wh=needed_wh,
                limits=limits,
                prices=self._prices(now, self.ready_by, tz),
                continuous=self.continuous,
                solar=self._solar(now, self.ready_by, limits),
            )
        except PlanInputError as err:
            # Odd readings (a charger reporting 0 A as its maximum): no plan
            # this step, so the car charges as without one; never a crash.
            LOGGER.debug("%s: no plan this step: %s", self.entry.title, err)
            self.status, self.reason, self.plan = PlanStatus.IDLE, PlanReason.NONE, None
            return None
        self.plan = plan
        self.reason = plan.reason
        command = plan.command_at(now)
        if plan.state is PlanState.DONE:
            self.status = PlanStatus.DONE
        elif plan.state is PlanState.CANNOT_MEET_TARGET:
            self.status = PlanStatus.CANNOT_MEET_TARGET
            self._announce_not_met(plan)
        elif command.charge:
            self.status = PlanStatus.CHARGING
        elif plan.state is PlanState.WAITING_FOR_PRICES:
            self.status = PlanStatus.WAITING_FOR_PRICES
        else:
            self.status = PlanStatus.PLANNED
        return command.current

    @property
    def soc_capable(self) -> bool:
        """Whether the options name the car's charge sensor and battery."""
        options = self.entry.options
        return bool(options.get(CONF_CAR_SOC)) and bool(options.get(CONF_CAR_BATTERY))

    def _soc_need_wh(self) -> float | None:
        """Energy to the target state of charge; None without one (or unknown).

        An unknown charge (the car's integration asleep) falls back to the
        energy target, or to no plan at all: the car charges rather than wait.
        """
        if self.target_soc <= 0 or not self.soc_capable:
            return None
        state = self.hass.states.get(str(self.entry.options[CONF_CAR_SOC]))
        try:
            soc = float(state.state) if state is not None else math.nan
            return energy_for_soc(
                soc, self.target_soc, float(self.entry.options[CONF_CAR_BATTERY])
            )
        except ValueError, PlanInputError:
            return None

    def _announce_not_met(self, plan: ChargingPlan) -> None:
        """Tell the event entity once per plan that the target is out of reach."""
        if self._not_met_announced:
            return
        self._not_met_announced = True
        runtime_data = getattr(self.entry, "runtime_data", None)
        ledger = getattr(runtime_data, "ledger", None)
        if ledger is not None:
            ledger.async_plan_not_met(
                {
                    "reason": str(plan.reason),
                    "ready_by": plan.ready_by.isoformat(),
                    "needed_wh": round(plan.needed_wh, 1),
                    "expected_wh": round(plan.energy_wh, 1),
                }
            )

    # ------------------------------------------------------------ for entities

    @property
    def price_entity_id(self) -> str | None:
        """The price sensor the options name, if any."""
        entity_id = self.entry.options.get(CONF_PRICE_SENSOR)
        return str(entity_id) if entity_id else None

    def as_response(self) -> dict[str, Any]:
        """Return what ``set_plan`` answers: state, slots, expected cost."""
        plan = self.plan
        return {
            "state": self.status.value,
            "reason": self.reason.value,
            "price_problem": self.price_problem.value,
            "ready_by": None if self.ready_by is None else self.ready_by.isoformat(),
            "target_energy": self.target_kwh,
            "target_soc": self.target_soc,
            "delivered_energy": round(self.delivered_wh / 1000, 3),
            "expected_energy": None
            if plan is None
            else round(plan.energy_wh / 1000, 3),
            "expected_cost": None if self.cost is None else round(self.cost, 4),
            "expected_solar_energy": None
            if plan is None
            else round(plan.solar_wh / 1000, 3),
            "solar_problem": self.solar_problem.value,
            "unpriced_energy": None
            if plan is None
            else round(plan.unpriced_energy_wh / 1000, 3),
            "next_start": None
            if plan is None or plan.next_start is None
            else plan.next_start.isoformat(),
            "slots": self.slots,
        }

    @property
    def slots(self) -> list[dict[str, Any]]:
        """The chosen slots, as a card draws them."""
        if self.plan is None:
            return []
        return [
            {
                "start": slot.start.isoformat(),
                "end": slot.end.isoformat(),
                "energy_wh": round(slot.energy_wh, 1),
                "price": slot.price,
            }
            for slot in self.plan.slots
        ]
