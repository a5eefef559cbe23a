"""Sensors: state, current, voltage, power, energy, temperatures, diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import CONF_PRICE_SENSOR
from .coordinator import EvseCoordinator
from .energy import Allocation, AllocationReason, SolarState
from .energy.sessions import Session
from .energy_manager import EnergyManager, Member
from .entity import (
    EnergyEntity,
    EvseEntity,
    LedgerEntity,
    PlanEntity,
    async_add_supported_entities,
    energy_manager,
    has_capability,
)
from .ledger import LedgerEvent, session_attributes
from .plan import PlanRunner, PlanStatus
from .protocols.energy_guard import LifetimeEnergyGuard, rated_power_w
from .protocols.models import (
    Capability,
    ChargerError,
    ChargerSnapshot,
    ChargerState,
    DiagnosticsStatus,
    FirmwareStatus,
    OcppErrorCode,
    OcppStatus,
)
from .runtime import EvseConfigEntry, GroupConfigEntry, is_group

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvseSensorDescription(SensorEntityDescription):
    """How to read one sensor from the snapshot."""

    value_fn: Callable[[ChargerSnapshot], StateType | datetime]
    has_fn: Callable[[ChargerSnapshot], bool] = lambda snapshot: True
    attributes_fn: Callable[[EvseCoordinator], dict[str, Any]] | None = None
    monotonic: bool = False
    """Published through the lifetime energy guard (never decreases)."""


def _limit_attributes(coordinator: EvseCoordinator) -> dict[str, Any]:
    """Say who enforces the session limit: the charger or the integration."""
    enforced = coordinator.enforces_limits(coordinator.data)
    return {"enforced_by": "integration" if enforced else "charger"}


_PHASES = ("l1", "l2", "l3")


def _per_phase(
    key: str,
    field: str,
    device_class: SensorDeviceClass,
    unit: str,
    precision: int,
) -> tuple[EvseSensorDescription, ...]:
    """One disabled-by-default sensor per phase for a three-phase reading."""

    def make(index: int, phase: str) -> EvseSensorDescription:
        def value(snapshot: ChargerSnapshot) -> StateType:
            values = getattr(snapshot, field)
            return None if values is None else values[index]

        return EvseSensorDescription(
            key=f"{key}_{phase}",
            translation_key=f"{key}_{phase}",
            device_class=device_class,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=unit,
            suggested_display_precision=precision,
            entity_registry_enabled_default=False,
            value_fn=value,
            has_fn=lambda snapshot: getattr(snapshot, field) is not None,
        )

    return tuple(make(index, phase) for index, phase in enumerate(_PHASES))


def _temperature(index: int) -> EvseSensorDescription:
    return EvseSensorDescription(
        key=f"temperature_{index + 1}",
        translation_key=f"temperature_{index + 1}",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda snapshot: snapshot.temperatures[index],
        has_fn=lambda snapshot: snapshot.temperatures[index] is not None,
    )


def _fault_counter(key: str, field: str) -> EvseSensorDescription:
    return EvseSensorDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda snapshot: (
            getattr(snapshot.fault_counters, field) if snapshot.fault_counters else None
        ),
        has_fn=lambda snapshot: snapshot.fault_counters is not None,
    )


DESCRIPTIONS: tuple[EvseSensorDescription, ...] = (
    EvseSensorDescription(
        key="state",
        translation_key="state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ChargerState],
        value_fn=lambda snapshot: snapshot.state.value,
    ),
    EvseSensorDescription(
        key="charging_current",
        translation_key="charging_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=lambda snapshot: snapshot.charging_current,
        has_fn=lambda snapshot: snapshot.charging_current is not None,
    ),
    EvseSensorDescription(
        key="pilot_current",
        translation_key="pilot_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        value_fn=lambda snapshot: snapshot.pilot_current,
        has_fn=lambda snapshot: snapshot.pilot_current is not None,
    ),
    EvseSensorDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        value_fn=lambda snapshot: snapshot.voltage,
        has_fn=lambda snapshot: snapshot.voltage is not None,
    ),
    EvseSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.power,
        has_fn=lambda snapshot: snapshot.power is not None,
    ),
    EvseSensorDescription(
        # Not total_increasing: it restarts at zero with every session.
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.session_energy,
        has_fn=lambda snapshot: snapshot.session_energy is not None,
    ),
    EvseSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.lifetime_energy,
        has_fn=lambda snapshot: snapshot.lifetime_energy is not None,
        monotonic=True,
    ),
    EvseSensorDescription(
        key="session_time",
        translation_key="session_time",
        device_class=SensorDeviceClass.DURATION,
        # Whole minutes, as it is shown: a new state every second is noise
        # for the recorder and for every dashboard following the states.
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda snapshot: (
            None if snapshot.session_time is None else snapshot.session_time // 60
        ),
        has_fn=lambda snapshot: snapshot.session_time is not None,
    ),
    EvseSensorDescription(
        key="energy_limit",
        translation_key="energy_limit",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.energy_limit,
        has_fn=lambda snapshot: snapshot.energy_limit is not None,
        attributes_fn=_limit_attributes,
    ),
    EvseSensorDescription(
        key="time_limit",
        translation_key="time_limit",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.time_limit,
        has_fn=lambda snapshot: snapshot.time_limit is not None,
        attributes_fn=_limit_attributes,
    ),
    EvseSensorDescription(
        key="error",
        translation_key="error",
        device_class=SensorDeviceClass.ENUM,
        options=[error.value for error in ChargerError],
        value_fn=lambda snapshot: snapshot.error.value if snapshot.error else None,
        has_fn=lambda snapshot: snapshot.error is not None,
    ),
    EvseSensorDescription(
        key="cable_current",
        translation_key="cable_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        value_fn=lambda snapshot: snapshot.cable_current_limit,
        has_fn=lambda snapshot: snapshot.cable_current_limit is not None,
    ),
    EvseSensorDescription(
        key="phases_before_contactor",
        translation_key="phases_before_contactor",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snapshot: snapshot.phases_before_contactor,
        has_fn=lambda snapshot: snapshot.phases_before_contactor is not None,
    ),
    EvseSensorDescription(
        key="phases_after_contactor",
        translation_key="phases_after_contactor",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snapshot: snapshot.phases_after_contactor,
        has_fn=lambda snapshot: snapshot.phases_after_contactor is not None,
    ),
    *_per_phase(
        "voltage",
        "phase_voltages",
        SensorDeviceClass.VOLTAGE,
        UnitOfElectricPotential.VOLT,
        0,
    ),
    *_per_phase(
        "current",
        "phase_currents",
        SensorDeviceClass.CURRENT,
        UnitOfElectricCurrent.AMPERE,
        1,
    ),
    *_per_phase(
        "power",
        "phase_powers",
        SensorDeviceClass.POWER,
        UnitOfPower.WATT,
        0,
    ),
    *_per_phase(
        "power_factor",
        "power_factors",
        SensorDeviceClass.POWER_FACTOR,
        PERCENTAGE,
        0,
    ),
    EvseSensorDescription(
        key="neutral_voltage",
        translation_key="neutral_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.neutral_voltage,
        has_fn=lambda snapshot: snapshot.neutral_voltage is not None,
    ),
    *(_temperature(index) for index in range(3)),
    _fault_counter("gfci_trips", "gfci"),
    _fault_counter("no_ground_trips", "no_ground"),
    _fault_counter("stuck_relay_trips", "stuck_relay"),
    EvseSensorDescription(
        # OCPP's own status of the socket: richer than the normalised state.
        key="connector_status",
        translation_key="connector_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in OcppStatus],
        value_fn=lambda snapshot: (
            snapshot.ocpp_status.value if snapshot.ocpp_status else None
        ),
        has_fn=lambda snapshot: snapshot.ocpp_status is not None,
    ),
    EvseSensorDescription(
        key="ocpp_error",
        translation_key="ocpp_error",
        device_class=SensorDeviceClass.ENUM,
        options=[error.value for error in OcppErrorCode],
        value_fn=lambda snapshot: (
            snapshot.ocpp_error.value if snapshot.ocpp_error else None
        ),
        has_fn=lambda snapshot: snapshot.ocpp_error is not None,
    ),
    EvseSensorDescription(
        key="last_heartbeat",
        translation_key="last_heartbeat",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.last_heartbeat,
        has_fn=lambda snapshot: snapshot.last_heartbeat is not None,
    ),
    EvseSensorDescription(
        # The card of the current or last session: its owner's name for it.
        key="session_card",
        translation_key="session_card",
        value_fn=lambda snapshot: snapshot.id_tag_name or snapshot.id_tag,
        has_fn=has_capability(Capability.ID_TAGS),
        attributes_fn=lambda coordinator: {"id_tag": coordinator.data.id_tag},
    ),
    EvseSensorDescription(
        # What to add to the owner's list to let that card charge.
        key="refused_card",
        translation_key="refused_card",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.refused_id_tag,
        has_fn=has_capability(Capability.ID_TAGS),
    ),
    EvseSensorDescription(
        key="reserved_until",
        translation_key="reserved_until",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda snapshot: snapshot.reserved_until,
        has_fn=has_capability(Capability.RESERVATION),
    ),
    EvseSensorDescription(
        key="firmware_status",
        translation_key="firmware_status",
        device_class=SensorDeviceClass.ENUM,
        entity_category=EntityCategory.DIAGNOSTIC,
        options=[status.value for status in FirmwareStatus],
        value_fn=lambda snapshot: (
            (snapshot.firmware_status or FirmwareStatus.IDLE).value
        ),
        has_fn=has_capability(Capability.FIRMWARE),
    ),
    EvseSensorDescription(
        key="diagnostics_status",
        translation_key="diagnostics_status",
        device_class=SensorDeviceClass.ENUM,
        entity_category=EntityCategory.DIAGNOSTIC,
        options=[status.value for status in DiagnosticsStatus],
        value_fn=lambda snapshot: (
            (snapshot.diagnostics_status or DiagnosticsStatus.IDLE).value
        ),
        has_fn=has_capability(Capability.FIRMWARE),
    ),
    EvseSensorDescription(
        key="wifi_signal",
        translation_key="wifi_signal",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.wifi_signal,
        has_fn=lambda snapshot: snapshot.wifi_signal is not None,
    ),
)


@dataclass(frozen=True, kw_only=True)
class EnergySensorDescription(SensorEntityDescription):
    """How to read one sensor of a group or solar controller."""

    value_fn: Callable[[EnergyManager], StateType]
    has_fn: Callable[[EnergyManager], bool]


def _solar_state(manager: EnergyManager) -> str:
    solar = manager.result.solar if manager.result else None
    return SolarState.OFF.value if solar is None else solar.state.value


ENERGY_SENSOR_DESCRIPTIONS: tuple[EnergySensorDescription, ...] = (
    EnergySensorDescription(
        key="available_current",
        translation_key="available_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        has_fn=lambda manager: manager.is_group,
        value_fn=lambda manager: manager.result.available_a if manager.result else None,
    ),
    EnergySensorDescription(
        # The invariant's left side: what the chargers could draw together
        # (confirmed set points, fallbacks, unconfirmed increases).
        key="worst_case_current",
        translation_key="worst_case_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        has_fn=lambda manager: manager.is_group,
        value_fn=lambda manager: (
            manager.result.worst_case_a if manager.result else None
        ),
    ),
    EnergySensorDescription(
        key="solar_surplus",
        translation_key="solar_surplus",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        has_fn=lambda manager: manager.has_solar,
        value_fn=lambda manager: (
            manager.result.solar.surplus_w
            if manager.result and manager.result.solar
            else None
        ),
    ),
    EnergySensorDescription(
        key="solar_state",
        translation_key="solar_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in SolarState],
        has_fn=lambda manager: manager.has_solar,
        value_fn=_solar_state,
    ),
)


@dataclass(frozen=True, kw_only=True)
class MemberSensorDescription(SensorEntityDescription):
    """How to show one member's allocation in a group."""

    value_fn: Callable[[Allocation], StateType]


MEMBER_SENSOR_DESCRIPTIONS: tuple[MemberSensorDescription, ...] = (
    MemberSensorDescription(
        key="allocation",
        translation_key="allocation",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        # Chargers are commanded in whole amperes.
        suggested_display_precision=0,
        value_fn=lambda allocation: allocation.amps,
    ),
    MemberSensorDescription(
        key="allocation_reason",
        translation_key="allocation_reason",
        device_class=SensorDeviceClass.ENUM,
        options=[reason.value for reason in AllocationReason],
        value_fn=lambda allocation: allocation.reason.value,
    ),
)


@dataclass(frozen=True, kw_only=True)
class SessionSensorDescription(SensorEntityDescription):
    """How to show one fact of the last finished session."""

    value_fn: Callable[[Session], StateType]
    has_fn: Callable[[EvseConfigEntry], bool] = lambda entry: True


SESSION_SENSOR_DESCRIPTIONS: tuple[SessionSensorDescription, ...] = (
    SessionSensorDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda session: round(session.energy_wh / 1000, 3),
    ),
    SessionSensorDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda session: (
            None if session.cost is None else round(session.cost, 4)
        ),
        has_fn=lambda entry: bool(entry.options.get(CONF_PRICE_SENSOR)),
    ),
)


@dataclass(frozen=True, kw_only=True)
class PlanSensorDescription(SensorEntityDescription):
    """How to show one fact of a charger's plan."""

    value_fn: Callable[[PlanRunner], StateType | datetime]
    attributes_fn: Callable[[PlanRunner], dict[str, Any] | None] = lambda plan: None


PLAN_SENSOR_DESCRIPTIONS: tuple[PlanSensorDescription, ...] = (
    PlanSensorDescription(
        key="plan_state",
        translation_key="plan_state",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PlanStatus],
        value_fn=lambda plan: plan.status.value,
        # The reason is a translation key (plan_reason in en.json); the
        # slots are what a card draws (see the README).
        attributes_fn=lambda plan: {
            "reason": plan.reason.value,
            "ready_by": None if plan.ready_by is None else plan.ready_by.isoformat(),
            "delivered_energy": round(plan.delivered_wh / 1000, 3),
            "price_problem": plan.price_problem.value,
            "slots": plan.slots,
        },
    ),
    PlanSensorDescription(
        key="plan_next_start",
        translation_key="plan_next_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda plan: None if plan.plan is None else plan.plan.next_start,
    ),
    PlanSensorDescription(
        key="plan_energy",
        translation_key="plan_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda plan: (
            None if plan.plan is None else round(plan.plan.energy_wh / 1000, 3)
        ),
        # Of it, what the sun is expected to give (solar forecast sensors).
        attributes_fn=lambda plan: {
            "solar_energy": None
            if plan.plan is None
            else round(plan.plan.solar_wh / 1000, 3),
            "solar_problem": plan.solar_problem.value,
        },
    ),
    PlanSensorDescription(
        key="plan_cost",
        translation_key="plan_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda plan: None if plan.cost is None else round(plan.cost, 4),
    ),
)


@dataclass(slots=True)
class EvseSensorExtraStoredData(SensorExtraStoredData):
    """Sensor state plus the lifetime energy guard's state."""

    guard: LifetimeEnergyGuard

    def as_dict(self) -> dict[str, Any]:
        """Serialise for the restore state store."""
        return SensorExtraStoredData.as_dict(self) | self.guard.export()

    @classmethod
    def from_dict(cls, restored: dict[str, Any]) -> Self | None:
        """Read back what :meth:`as_dict` wrote (None if it is not ours)."""
        base = SensorExtraStoredData.from_dict(restored)
        guard = LifetimeEnergyGuard.restore(restored)
        if base is None or guard is None:
            return None
        return cls(base.native_value, base.native_unit_of_measurement, guard)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry | GroupConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors this charger can back, or a group's sensors."""
    manager = energy_manager(entry)
    if manager is not None:
        async_add_entities(
            EnergySensor(manager, description)
            for description in ENERGY_SENSOR_DESCRIPTIONS
            if description.has_fn(manager)
        )
        if manager.is_group:
            async_add_entities(
                MemberSensor(manager, description, member)
                for member in manager.members
                for description in MEMBER_SENSOR_DESCRIPTIONS
            )
    if not is_group(entry):
        async_add_supported_entities(
            entry, async_add_entities, EvseSensor, DESCRIPTIONS
        )
        async_add_entities(
            SessionSensor(entry, description)
            for description in SESSION_SENSOR_DESCRIPTIONS
            if description.has_fn(entry)
        )
        async_add_entities(
            PlanSensor(entry, description) for description in PLAN_SENSOR_DESCRIPTIONS
        )


class EnergySensor(EnergyEntity, SensorEntity):
    """A sensor of a group or of a charger's solar controller."""

    entity_description: EnergySensorDescription

    @property
    def native_value(self) -> StateType:
        """The outcome of the last step."""
        return self.entity_description.value_fn(self.manager)


class MemberSensor(EnergyEntity, SensorEntity):
    """What a group gives one of its chargers, and why."""

    entity_description: MemberSensorDescription

    def __init__(
        self,
        manager: EnergyManager,
        description: MemberSensorDescription,
        member: Member,
    ) -> None:
        """Show ``member``'s allocation."""
        super().__init__(manager, description, member)
        self._member_id = member.entry_id

    @property
    def native_value(self) -> StateType:
        """The member's allocation in the last step."""
        allocation = self.manager.allocation(self._member_id)
        if allocation is None:
            return None
        return self.entity_description.value_fn(allocation)


class EvseSensor(EvseEntity, RestoreSensor):
    """A charger sensor."""

    entity_description: EvseSensorDescription

    def __init__(
        self, entry: EvseConfigEntry, description: EvseSensorDescription
    ) -> None:
        """Set up; the energy guard is restored when added."""
        super().__init__(entry, description)
        self._guard = LifetimeEnergyGuard()
        self._value: StateType | datetime = None

    async def async_added_to_hass(self) -> None:
        """Restore the energy guard, then read the current snapshot."""
        await super().async_added_to_hass()
        if self.entity_description.monotonic and (
            extra := await self.async_get_last_extra_data()
        ):
            restored = EvseSensorExtraStoredData.from_dict(extra.as_dict())
            if restored is not None:
                self._guard = restored.guard
        self._read()

    @callback
    def _read(self) -> None:
        snapshot = self.coordinator.data
        value = self.entity_description.value_fn(snapshot)
        if self.entity_description.monotonic:
            total = self._guard.update(
                value if isinstance(value, int | float) else None,
                dt_util.utcnow().timestamp(),
                rated_power_w(snapshot),
            )
            value = None if total is None else round(total, 3)
        self._value = value

    @callback
    def _handle_coordinator_update(self) -> None:
        self._read()
        super()._handle_coordinator_update()

    def _shown(self) -> tuple[Any, ...]:
        """Return the raw value: formatting it is what a write costs."""
        return (self.available, self._value, self.extra_state_attributes)

    @property
    def native_value(self) -> StateType | datetime:
        """The value last read from the charger."""
        return self._value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra facts some sensors carry (who enforces a limit)."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator)

    @property
    def extra_restore_state_data(self) -> EvseSensorExtraStoredData:
        """Store the value together with the energy guard."""
        return EvseSensorExtraStoredData(
            self.native_value,
            self.native_unit_of_measurement,
            self._guard,
        )


class SessionSensor(LedgerEntity, SensorEntity):
    """The last finished session, from the ledger."""

    entity_description: SessionSensorDescription

    @callback
    def _handle_event(self, event: LedgerEvent, attributes: dict[str, Any]) -> None:
        """Show every session as it ends."""
        if event is LedgerEvent.SESSION_ENDED:
            self._written = self._shown()
            self.async_write_ha_state()

    @property
    def native_value(self) -> StateType:
        """The last session's value; unknown before the first one."""
        session = self._ledger.last_session
        return None if session is None else self.entity_description.value_fn(session)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The energy unit, or the currency the last session was priced in."""
        if self.entity_description.device_class is not SensorDeviceClass.MONETARY:
            return self.entity_description.native_unit_of_measurement
        session = self._ledger.last_session
        return None if session is None else session.currency

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """When the last session ran, what it cost, how sunny it was, who."""
        session = self._ledger.last_session
        return None if session is None else session_attributes(session)


class PlanSensor(PlanEntity, SensorEntity):
    """One fact of the charger's plan, after the last energy step."""

    entity_description: PlanSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """The fact."""
        return self.entity_description.value_fn(self.plan)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The reason and the slots (plan state only)."""
        return self.entity_description.attributes_fn(self.plan)
