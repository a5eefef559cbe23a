"""Energy management in Home Assistant: read, run the controller, command.

The decisions are made by :class:`~.energy.EnergyController` (plain Python,
where the circuit invariant lives); this module only feeds it what the
member chargers' coordinators and the meter sensors say, carries out its
commands in the order given, reads each charger back and reports whether
the charger confirmed. It runs on every member update, meter change and
setting change, and on a timer. Data flows one way: the manager knows the
coordinators, no coordinator knows the manager.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    PERCENTAGE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .background import CoalescedJob
from .const import (
    CONF_BATTERY_FIRST_SOC,
    CONF_BATTERY_POWER,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC,
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_METER,
    CONF_CONTROL_INTERVAL,
    CONF_FALLBACK_CURRENT,
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_GROUP_ID,
    CONF_PHASES,
    CONF_POLICY,
    CONF_SOLAR_MODE,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    CONF_VOLTAGE,
    DEFAULT_CONTROL_INTERVAL,
    DEFAULT_FALLBACK_CURRENT,
    DEFAULT_VOLTAGE,
    DOMAIN,
    LOGGER,
    SIGN_POSITIVE_DISCHARGE,
    SIGN_POSITIVE_EXPORT,
)
from .coordinator import EvseCoordinator, next_stamp
from .energy import (
    J1772_MIN_CURRENT,
    Allocation,
    Command,
    ControlResult,
    EnergyController,
    FallbackWrite,
    GroupSettings,
    MemberReading,
    Policy,
    SolarInputs,
    SolarMode,
    SolarSettings,
)
from .group import group_of, has_solar_inputs, is_group_entry
from .plan import PlanRunner
from .protocols.errors import EvseConnectionError, EvseError, EvseUnsupportedError
from .protocols.models import Capability

STORAGE_VERSION = 1

# The charging mode select: the solar modes plus Planned (stored in the
# same option, so automations that set off/solar/min_solar/fast still work).
MODE_PLANNED = SolarMode.PLANNED.value
CHARGING_MODES = (
    SolarMode.OFF.value,
    SolarMode.SOLAR.value,
    SolarMode.MIN_SOLAR.value,
    MODE_PLANNED,
    SolarMode.FAST.value,
)
SOLAR_ONLY_MODES = frozenset({SolarMode.SOLAR.value, SolarMode.MIN_SOLAR.value})

# A charger that reports no maximum (old firmware): the J1772 plug's own.
FALLBACK_STATION_MAX = 32


# The controller's memory (plug-in order, who it paused) is saved at most
# this often while it changes.
ENERGY_SAVE_DELAY = 60.0


def _storage_key(entry_id: str) -> str:
    return f"{DOMAIN}.energy.{entry_id}"


def energy_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where the controller's memory (plug-in order, who we paused) lives."""
    return Store(hass, STORAGE_VERSION, _storage_key(entry_id))


def solar_settings(
    options: Mapping[str, Any], *, max_current: int | None = None
) -> SolarSettings:
    """Build the solar controller's settings from an entry's options."""
    defaults = SolarSettings()
    circuit = options.get(CONF_CIRCUIT_LIMIT)
    battery_first = options.get(CONF_BATTERY_FIRST_SOC)
    mode = options.get(CONF_SOLAR_MODE, SolarMode.OFF)
    return SolarSettings(
        # Planned: the surplus is shared among the plans, counted first.
        mode=SolarMode(mode),
        start_delay=float(options.get(CONF_START_DELAY, defaults.start_delay)),
        stop_delay=float(options.get(CONF_STOP_DELAY, defaults.stop_delay)),
        phases=int(options.get(CONF_PHASES, 1)),
        voltage=float(options.get(CONF_VOLTAGE, DEFAULT_VOLTAGE)),
        max_current=int(circuit or max_current or defaults.max_current),
        battery_first_soc=(
            float(battery_first)
            if battery_first is not None and options.get(CONF_BATTERY_SOC)
            else None
        ),
    )


def group_settings(options: Mapping[str, Any], *, group: bool) -> GroupSettings:
    """Build the load-sharing settings; a single charger has no circuit."""
    return GroupSettings(
        circuit_limit=int(options[CONF_CIRCUIT_LIMIT]) if group else None,
        policy=Policy(options.get(CONF_POLICY, Policy.UNIFORM)),
        fallback_current=int(
            options.get(CONF_FALLBACK_CURRENT, DEFAULT_FALLBACK_CURRENT)
        ),
        control_interval=float(
            options.get(CONF_CONTROL_INTERVAL, DEFAULT_CONTROL_INTERVAL)
        ),
    )


@dataclass(frozen=True, slots=True)
class Member:
    """A charger the manager controls, as shown on its entities."""

    entry_id: str
    name: str
    # Stable across re-adding the charger: its serial when it has one.
    key: str


class EnergyManager:
    """Runs one EnergyController for a charging group or a single charger."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], member_ids: list[str]
    ) -> None:
        """Prepare; :meth:`async_start` subscribes and runs the first step."""
        self.hass = hass
        self.entry = entry
        self.is_group = is_group_entry(entry)
        self.members = [self._member(member_id) for member_id in member_ids]
        options = entry.options
        self.controller = EnergyController(
            group_settings(options, group=self.is_group),
            solar_settings(options, max_current=self._station_max()),
        )
        self.has_solar = has_solar_inputs(options)
        self.result: ControlResult | None = None
        self._store = energy_store(hass, entry.entry_id)
        self._save_pending = False
        self._saved_state: Any = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._coordinator_unsubs: dict[str, CALLBACK_TYPE] = {}
        self._coordinators: dict[str, EvseCoordinator] = {}
        self._steps = CoalescedJob(
            hass, entry, self._async_step, f"{DOMAIN} energy step {entry.title}"
        )
        self._issues: set[str] = set()
        self.fallback_writes = 0
        """Writes to the chargers' persistent fallback (EEPROM) since start."""

    # ------------------------------------------------------------ identity

    def _member(self, member_id: str) -> Member:
        member_entry = self.hass.config_entries.async_get_entry(member_id)
        if member_entry is None:
            return Member(member_id, member_id, member_id)
        return Member(
            member_id, member_entry.title, member_entry.unique_id or member_id
        )

    @property
    def unique_prefix(self) -> str:
        """Entity unique ids start with the group's uuid or the charger's id."""
        if self.is_group:
            return str(self.entry.data[CONF_GROUP_ID])
        return self.members[0].key

    @property
    def device_info(self) -> DeviceInfo:
        """A group is a virtual device; a charger's solar entities join it."""
        if self.is_group:
            return DeviceInfo(
                identifiers={(DOMAIN, self.unique_prefix)},
                name=self.entry.title,
                entry_type=DeviceEntryType.SERVICE,
            )
        coordinator = self._coordinator(self.entry.entry_id)
        serial = coordinator.charger.info.serial if coordinator else None
        return DeviceInfo(identifiers={(DOMAIN, serial or self.entry.entry_id)})

    def _station_max(self) -> int | None:
        if self.is_group:
            return None
        coordinator = self._coordinator(self.entry.entry_id)
        if coordinator is None or coordinator.data is None:
            return None
        return coordinator.data.max_current_limit

    # ------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        """Take back the controller's memory, subscribe, and run once."""
        stored = await self._store.async_load()
        if stored is not None:
            self.controller.restore_state(stored)
            self._saved_state = stored
        entry = self.entry
        for member in self.members:
            member_entry = self.hass.config_entries.async_get_entry(member.entry_id)
            if member_entry is not None and member_entry is not entry:
                # Loaded, reloaded, unloaded (the charger then counts as offline).
                entry.async_on_unload(
                    _safe_unsub(
                        member_entry.async_on_state_change(self._members_changed)
                    )
                )
        sensors = [
            entity_id
            for key in (
                CONF_CIRCUIT_METER,
                CONF_GRID_POWER,
                CONF_BATTERY_POWER,
                CONF_BATTERY_SOC,
            )
            if (entity_id := entry.options.get(key))
        ]
        if sensors:
            entry.async_on_unload(
                async_track_state_change_event(self.hass, sensors, self._sensor_changed)
            )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._tick,
                timedelta(seconds=self.controller.group.control_interval),
                name=f"{DOMAIN} energy {entry.title}",
                cancel_on_shutdown=True,
            )
        )
        entry.async_on_unload(self._unsubscribe_coordinators)
        self._subscribe_coordinators()
        self.async_schedule_step()

    @callback
    def _unsubscribe_coordinators(self) -> None:
        for unsub in self._coordinator_unsubs.values():
            unsub()
        self._coordinator_unsubs.clear()
        self._coordinators.clear()

    @callback
    def _subscribe_coordinators(self) -> None:
        """Listen to each member's current coordinator (a reload makes a new one)."""
        for member in self.members:
            coordinator = self._coordinator(member.entry_id)
            if self._coordinators.get(member.entry_id) is coordinator:
                continue
            if (
                unsub := self._coordinator_unsubs.pop(member.entry_id, None)
            ) is not None:
                unsub()
            self._coordinators.pop(member.entry_id, None)
            if coordinator is not None:
                self._coordinators[member.entry_id] = coordinator
                self._coordinator_unsubs[member.entry_id] = (
                    coordinator.async_add_listener(self.async_schedule_step)
                )

    def _coordinator(self, member_id: str) -> EvseCoordinator | None:
        """Return the member's coordinator while its entry is loaded, else None."""
        member_entry = self.hass.config_entries.async_get_entry(member_id)
        if member_entry is None or is_group_entry(member_entry):
            return None
        # The manager's own charger is set up while its entry is still loading.
        if member_entry is not self.entry and (
            member_entry.state is not ConfigEntryState.LOADED
        ):
            return None
        runtime_data = getattr(member_entry, "runtime_data", None)
        return None if runtime_data is None else runtime_data.coordinator

    # ------------------------------------------------------------ events

    @callback
    def _members_changed(self) -> None:
        self._subscribe_coordinators()
        self.async_schedule_step()

    @callback
    def _sensor_changed(self, event: Event[EventStateChangedData]) -> None:
        self.async_schedule_step()

    @callback
    def _tick(self, now: Any) -> None:
        self.async_schedule_step()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` after every step (the entities)."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_update_options(self, key: str, value: Any) -> None:
        """Keep a setting an entity changed in the entry's options; apply it.

        Stored in the options so it survives restarts and the options flow
        shows it; no reload (only the options flow reloads the entry).
        """
        options = {**self.entry.options, key: value}
        self.hass.config_entries.async_update_entry(self.entry, options=options)
        self.controller.group = group_settings(options, group=self.is_group)
        self.controller.solar.settings = solar_settings(
            options, max_current=self._station_max()
        )
        self.async_schedule_step()

    # ------------------------------------------------------------ the step

    @callback
    def async_schedule_step(self) -> None:
        """Run a step soon; events while one runs cause exactly one more."""
        self._steps.schedule()

    async def async_step_now(self) -> None:
        """Run a step and wait for it (an action that answers with its outcome)."""
        await self._steps.async_run_now()

    @property
    def charging_mode(self) -> str:
        """The charging mode select's option."""
        return str(self.entry.options.get(CONF_SOLAR_MODE, SolarMode.OFF))

    async def _async_step(self) -> None:
        if not self.is_group and group_of(self.hass, self.entry.entry_id):
            # It joined a group: the group's manager runs it (until a reload).
            return
        moment = dt_util.utcnow()
        now = moment.timestamp()
        readings = self._with_plans(
            moment, [self._reading(member) for member in self.members]
        )
        solar_inputs = self._solar_inputs(readings) if self.has_solar else None
        result = self.controller.step(
            now,
            readings,
            circuit_load_a=self._circuit_load_a(),
            solar_inputs=solar_inputs,
        )
        self.result = result
        for update in list(self._listeners):
            update()
        setpoints = {reading.member_id: reading.setpoint_a for reading in readings}
        if result.fallback_writes or any(
            _raises(command, setpoints) for command in result.commands
        ):
            # Write-ahead: what a charger may be raised to is on disk before
            # it is sent, so a crash right after cannot make us forget it.
            await self.async_save_now()
        for write in result.fallback_writes:
            await self._async_write_fallback(write)
        # The controller lists decreases before increases; keep that order.
        for command in result.commands:
            await self._async_execute(command)
        self._update_issues()
        self._save_state()

    async def _async_write_fallback(self, write: FallbackWrite) -> None:
        coordinator = self._coordinator(write.member_id)
        if coordinator is None:
            return
        title = coordinator.config_entry.title
        ok = False
        try:
            await coordinator.charger.set_fallback_current(write.amps)
            ok = True
        except EvseUnsupportedError as err:
            LOGGER.debug("%s: no persistent fallback current: %s", title, err)
        except (EvseError, ValueError) as err:
            LOGGER.warning(
                "%s: could not set its fallback current to %s A: %s",
                title,
                write.amps,
                err,
            )
        else:
            self.fallback_writes += 1
            LOGGER.info(
                "%s: fallback current set to %s A (what it offers without "
                "Home Assistant)",
                title,
                write.amps,
            )
        done = next_stamp()
        await coordinator.async_refresh_after_command()
        self.controller.report(write.member_id, write, ok=ok, done_at=done)

    async def _async_execute(self, command: Command) -> None:
        coordinator = self._coordinator(command.member_id)
        if coordinator is None:
            self.controller.report(
                command.member_id,
                command,
                ok=False,
                done_at=next_stamp(),
            )
            return
        charger = coordinator.charger
        ok = True
        try:
            if command.pause:
                await charger.set_paused(True)
            if command.amps is not None:
                # Volatile: the controller changes the current all day long,
                # an EEPROM write each time would wear the charger out.
                await charger.set_max_current(command.amps, persist=False)
            if command.pause is False:
                await charger.set_paused(False)
        except (EvseError, ValueError) as err:
            ok = False
            # Tried again after a back-off; what the charger could draw stays
            # counted meanwhile. Its own entities show when it is unreachable.
            log = (
                LOGGER.debug if isinstance(err, EvseConnectionError) else LOGGER.warning
            )
            log(
                "%s: could not apply %s (%s): %s",
                coordinator.config_entry.title,
                command,
                command.reason,
                err,
            )
        done = next_stamp()
        await coordinator.async_refresh_after_command()
        snapshot = coordinator.data
        if (
            ok
            and command.amps is not None
            and snapshot is not None
            and snapshot.max_current != command.amps
        ):
            # Answered but not applied (read back): a refusal.
            ok = False
        self.controller.report(command.member_id, command, ok=ok, done_at=done)

    @callback
    def _update_issues(self) -> None:
        """Keep one repair issue per member that keeps refusing commands."""
        wanted = {
            f"group_member_refusing_{self.entry.entry_id}_{member.entry_id}": member
            for member in self.members
            if member.entry_id in self.controller.refusing
        }
        for issue_id in self._issues - wanted.keys():
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        for issue_id, member in wanted.items():
            if issue_id not in self._issues:
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id,
                    is_fixable=False,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key="group_member_refusing",
                    translation_placeholders={
                        "group": self.entry.title,
                        "charger": member.name,
                    },
                )
        self._issues = set(wanted)

    @callback
    def async_clear_issues(self) -> None:
        """Remove the group's repair issues (the entry is unloading)."""
        for issue_id in self._issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._issues = set()

    @callback
    def _save_state(self) -> None:
        """Keep the controller's memory, at most once a minute.

        While solar charging follows the sun the memory changes every step;
        a write each time would wear an SD card. Home Assistant writes a
        pending save at shutdown, and an unload saves at once.
        """
        if self._save_pending:
            return
        if self.controller.export_state() != self._saved_state:
            self._save_pending = True
            self._store.async_delay_save(self._state_to_save, ENERGY_SAVE_DELAY)

    @callback
    def _state_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        state = self.controller.export_state()
        self._saved_state = state
        return state

    async def async_save_now(self) -> None:
        """Save the controller's memory before the entry goes away."""
        if self._save_pending or self.controller.export_state() != self._saved_state:
            # Also cancels the pending delayed save of this store.
            await self._store.async_save(self._state_to_save())

    # ------------------------------------------------------------ readings

    def _reading(self, member: Member) -> MemberReading:
        coordinator = self._coordinator(member.entry_id)
        snapshot = None if coordinator is None else coordinator.data
        if (
            coordinator is None
            or snapshot is None
            or not coordinator.last_update_success
        ):
            return MemberReading(
                member_id=member.entry_id,
                online=False,
                vehicle_connected=False,
                paused=False,
                current_a=None,
                setpoint_a=None,
                max_current=FALLBACK_STATION_MAX,
            )
        limit = coordinator.limits.limit
        return MemberReading(
            member_id=member.entry_id,
            online=True,
            vehicle_connected=bool(snapshot.vehicle_connected),
            paused=bool(snapshot.paused),
            current_a=snapshot.charging_current,
            setpoint_a=snapshot.max_current,
            max_current=snapshot.max_current_limit or FALLBACK_STATION_MAX,
            # A session limit the integration enforces paused it: never resume.
            blocked=limit is not None and limit.reached,
            fallback_a=snapshot.fallback_current,
            min_current=snapshot.min_current_limit or J1772_MIN_CURRENT,
            read_at=coordinator.last_read_at,
            fallback_caps=Capability.FALLBACK_CAPS_CURRENT in snapshot.capabilities,
        )

    def _with_plans(
        self, moment: datetime, readings: list[MemberReading]
    ) -> list[MemberReading]:
        """Give each member's plan its say (mode Planned), else show it idle."""
        planned = self.charging_mode == MODE_PLANNED
        settings = self.controller.solar.settings
        result = []
        for reading in readings:
            coordinator = self._coordinator(reading.member_id)
            runner = None if coordinator is None else self._plan(coordinator)
            if runner is None:
                result.append(reading)
                continue
            if not planned:
                runner.async_idle()
                result.append(reading)
                continue
            amps = runner.update(
                moment,
                coordinator.data if reading.online and coordinator else None,
                phases=settings.phases,
                voltage=settings.voltage,
                share_current=self._plan_share(reading, readings),
            )
            result.append(reading if amps is None else replace(reading, plan_a=amps))
        return result

    def _plan_share(
        self, reading: MemberReading, readings: list[MemberReading]
    ) -> float | None:
        """Return the current a member's plan can count on (None: no circuit).

        The controller's share of the circuit when every car with a need
        charges at once (the last step's, so the policy, the members' maxima
        and a circuit meter count): true whichever slots the others' plans
        pick. A share below the member's minimum (first in, first served with
        a full circuit) would leave nothing to plan with: the member then
        plans with an equal share and re-planning counts what it really got.
        """
        limit = self.controller.group.circuit_limit
        if limit is None:
            return None
        share = (
            None if self.result is None else self.result.shares.get(reading.member_id)
        )
        if share is not None and share.amps >= reading.min_current:
            return float(share.amps)
        cars = sum(1 for r in readings if r.online and r.vehicle_connected)
        return limit / max(1, cars)

    @staticmethod
    def _plan(coordinator: EvseCoordinator) -> PlanRunner | None:
        runtime_data = getattr(coordinator.config_entry, "runtime_data", None)
        return getattr(runtime_data, "plan", None)

    def _value(self, key: str) -> tuple[float, str | None] | None:
        """Return a sensor's numeric state and unit; None when unknown."""
        entity_id = self.entry.options.get(key)
        if not entity_id or (state := self.hass.states.get(entity_id)) is None:
            return None
        if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        return value, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)

    def _power_w(self, key: str) -> float | None:
        reading = self._value(key)
        if reading is None:
            return None
        value, unit = reading
        if unit == UnitOfPower.KILO_WATT:
            return value * 1000
        if unit in (UnitOfPower.WATT, None):
            return value
        return None

    @property
    def _volts_per_amp(self) -> float:
        """Watts per ampere (per phase, all phases)."""
        settings = self.controller.solar.settings
        return settings.voltage * settings.phases

    def _circuit_load_a(self) -> float | None:
        """Return what the circuit meter says, in A per phase (None: no meter)."""
        reading = self._value(CONF_CIRCUIT_METER)
        if reading is None:
            return None
        value, unit = reading
        if unit == UnitOfElectricCurrent.AMPERE:
            return value
        power = self._power_w(CONF_CIRCUIT_METER)
        return None if power is None else power / self._volts_per_amp

    def _solar_inputs(self, readings: list[MemberReading]) -> SolarInputs:
        options = self.entry.options
        grid = self._power_w(CONF_GRID_POWER)
        if (
            grid is not None
            and options.get(CONF_GRID_POWER_SIGN) == SIGN_POSITIVE_EXPORT
        ):
            grid = -grid
        battery = self._power_w(CONF_BATTERY_POWER)
        if (
            battery is not None
            and options.get(CONF_BATTERY_POWER_SIGN) == SIGN_POSITIVE_DISCHARGE
        ):
            battery = -battery
        soc = self._value(CONF_BATTERY_SOC)
        # In mode Planned the sun serves only the members with a plan: the
        # others' draw is not theirs to give up, so it is no surplus.
        planned = self.charging_mode == MODE_PLANNED
        return SolarInputs(
            grid_power_w=grid,
            charging_power_w=sum(
                self._charging_power_w(reading)
                for reading in readings
                if not planned or reading.plan_a is not None
            ),
            battery_power_w=battery,
            battery_soc=soc[0]
            if soc is not None and soc[1] in (PERCENTAGE, None)
            else None,
        )

    def _charging_power_w(self, reading: MemberReading) -> float:
        coordinator = self._coordinators.get(reading.member_id)
        if not reading.online or coordinator is None:
            return 0.0
        if coordinator.data.power is not None:
            return coordinator.data.power
        return (reading.current_a or 0.0) * self._volts_per_amp

    # ------------------------------------------------------------ for entities

    def allocation(self, member_id: str) -> Allocation | None:
        """Return the member's allocated current and why, after the last step."""
        if self.result is None:
            return None
        return self.result.allocations.get(member_id)


def _raises(command: Command, setpoints: Mapping[str, int | None]) -> bool:
    """Whether a command raises a charger's confirmed set point."""
    setpoint = setpoints.get(command.member_id)
    return command.amps is not None and (setpoint is None or command.amps > setpoint)


def _safe_unsub(unsub: Callable[[], Any]) -> CALLBACK_TYPE:
    @callback
    def remove() -> None:
        with contextlib.suppress(ValueError):
            unsub()

    return remove
