"""Numbers: the charging current; solar start/stop delays; the plan's target."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    CONF_BATTERY_FIRST_SOC,
    CONF_BATTERY_SOC,
    CONF_CIRCUIT_LIMIT,
    CONF_PERSIST_MAX_CURRENT,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
)
from .energy_manager import EnergyManager
from .entity import (
    EnergyEntity,
    EvseEntity,
    PlanEntity,
    async_add_supported_entities,
    energy_manager,
    has_capability,
)
from .helpers import evse_command
from .protocols.charger import Charger
from .protocols.models import Capability, ChargerSnapshot
from .runtime import EvseConfigEntry, GroupConfigEntry, is_group

PARALLEL_UPDATES = 1

J1772_MIN_CURRENT = 6
FALLBACK_MAX_CURRENT = 80
GOE_HARDWARE_MAX_CURRENT = 32


@dataclass(frozen=True, kw_only=True)
class EvseNumberDescription(NumberEntityDescription):
    """How to read, bound and set one number."""

    value_fn: Callable[[ChargerSnapshot], float | None]
    min_fn: Callable[[ChargerSnapshot], float]
    max_fn: Callable[[ChargerSnapshot], float]
    set_fn: Callable[[Charger, float, bool], Awaitable[None]]
    has_fn: Callable[[ChargerSnapshot], bool]


def _button_level(level: int) -> EvseNumberDescription:
    """Describe one push-button level's current; 0 skips the level."""
    return EvseNumberDescription(
        key=f"button_current_{level}",
        translation_key=f"button_current_{level}",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        has_fn=has_capability(Capability.BUTTON_CURRENTS),
        value_fn=lambda snapshot: (
            snapshot.button_currents[level - 1] if snapshot.button_currents else None
        ),
        min_fn=lambda snapshot: 0,
        max_fn=lambda snapshot: GOE_HARDWARE_MAX_CURRENT,
        set_fn=lambda charger, value, persist: charger.set_button_current(
            level, round(value)
        ),
    )


DESCRIPTIONS: tuple[EvseNumberDescription, ...] = (
    EvseNumberDescription(
        key="max_current",
        translation_key="max_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_step=1,
        mode=NumberMode.SLIDER,
        has_fn=has_capability(Capability.MAX_CURRENT),
        value_fn=lambda snapshot: snapshot.max_current,
        min_fn=lambda snapshot: snapshot.min_current_limit or J1772_MIN_CURRENT,
        max_fn=lambda snapshot: snapshot.max_current_limit or FALLBACK_MAX_CURRENT,
        set_fn=lambda charger, value, persist: charger.set_max_current(
            round(value), persist=persist
        ),
    ),
    EvseNumberDescription(
        key="absolute_max_current",
        translation_key="absolute_max_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.ABSOLUTE_MAX_CURRENT),
        value_fn=lambda snapshot: snapshot.absolute_max_current,
        min_fn=lambda snapshot: J1772_MIN_CURRENT,
        max_fn=lambda snapshot: GOE_HARDWARE_MAX_CURRENT,
        set_fn=lambda charger, value, persist: charger.set_absolute_max_current(
            round(value)
        ),
    ),
    EvseNumberDescription(
        key="led_brightness",
        translation_key="led_brightness",
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.LED),
        value_fn=lambda snapshot: snapshot.led_brightness,
        min_fn=lambda snapshot: 0,
        max_fn=lambda snapshot: 255,
        set_fn=lambda charger, value, persist: charger.set_led_brightness(round(value)),
    ),
    *(_button_level(level) for level in range(1, 6)),
)


@dataclass(frozen=True, kw_only=True)
class EnergyNumberDescription(NumberEntityDescription):
    """A setting of a solar controller, kept in the entry options."""

    option_key: str
    value_fn: Callable[[EnergyManager], float | None]
    has_fn: Callable[[EnergyManager], bool] = lambda manager: manager.has_solar
    min_fn: Callable[[EnergyManager], float] | None = None


ENERGY_NUMBER_DESCRIPTIONS: tuple[EnergyNumberDescription, ...] = (
    EnergyNumberDescription(
        # For automations: a lower limit while a tariff or a heat pump asks.
        key="circuit_limit",
        translation_key="circuit_limit",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=J1772_MIN_CURRENT,
        native_max_value=500,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        option_key=CONF_CIRCUIT_LIMIT,
        has_fn=lambda manager: manager.is_group,
        value_fn=lambda manager: manager.controller.group.circuit_limit,
        # Without Home Assistant every member offers its fallback at once.
        min_fn=lambda manager: max(
            J1772_MIN_CURRENT,
            len(manager.members) * manager.controller.group.fallback_current,
        ),
    ),
    EnergyNumberDescription(
        key="start_delay",
        translation_key="start_delay",
        device_class=NumberDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        native_min_value=0,
        native_max_value=1800,
        native_step=10,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        option_key=CONF_START_DELAY,
        value_fn=lambda manager: manager.controller.solar.settings.start_delay,
    ),
    EnergyNumberDescription(
        key="stop_delay",
        translation_key="stop_delay",
        device_class=NumberDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        native_min_value=0,
        native_max_value=1800,
        native_step=10,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        option_key=CONF_STOP_DELAY,
        value_fn=lambda manager: manager.controller.solar.settings.stop_delay,
    ),
    EnergyNumberDescription(
        key="battery_first_soc",
        translation_key="battery_first_soc",
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        option_key=CONF_BATTERY_FIRST_SOC,
        # Only with a battery charge sensor to compare against.
        has_fn=lambda manager: (
            manager.has_solar and bool(manager.entry.options.get(CONF_BATTERY_SOC))
        ),
        value_fn=lambda manager: manager.controller.solar.settings.battery_first_soc,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry | GroupConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers this charger supports, and the solar settings."""
    manager = energy_manager(entry)
    if manager is not None:
        async_add_entities(
            EnergyNumber(manager, description)
            for description in ENERGY_NUMBER_DESCRIPTIONS
            if description.has_fn(manager)
        )
    if not is_group(entry):
        async_add_supported_entities(
            entry, async_add_entities, EvseNumber, DESCRIPTIONS
        )
        async_add_entities(PlanTargetNumber(entry, d) for d in PLAN_TARGET_DESCRIPTIONS)
        if entry.runtime_data.plan.soc_capable:
            async_add_entities(
                PlanTargetSocNumber(entry, d) for d in PLAN_SOC_DESCRIPTIONS
            )


PLAN_TARGET_DESCRIPTIONS = (
    NumberEntityDescription(
        key="plan_target_energy",
        translation_key="plan_target_energy",
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        native_min_value=0,
        native_max_value=200,
        native_step=0.1,
        mode=NumberMode.BOX,
    ),
)


class PlanTargetNumber(PlanEntity, NumberEntity):
    """The energy the plan delivers by the ready time (0: no plan)."""

    @property
    def native_value(self) -> float:
        """The target in force."""
        return self.plan.target_kwh

    async def async_set_native_value(self, value: float) -> None:
        """Plan for the new target (the energy already delivered counts)."""
        self.plan.async_set(target_kwh=value)


class EnergyNumber(EnergyEntity, NumberEntity):
    """A setting of the solar controller."""

    entity_description: EnergyNumberDescription

    @property
    def native_value(self) -> float | None:
        """The setting in force."""
        return self.entity_description.value_fn(self.manager)

    @property
    def native_min_value(self) -> float:
        """The lowest value that keeps the setting meaningful."""
        min_fn = self.entity_description.min_fn
        if min_fn is None:
            return super().native_min_value
        return min_fn(self.manager)

    async def async_set_native_value(self, value: float) -> None:
        """Keep the new setting and run the controller with it."""
        self.manager.async_update_options(
            self.entity_description.option_key, round(value)
        )
        self.async_write_ha_state()


class EvseNumber(EvseEntity, NumberEntity):
    """A charger number; bounds come from the charger itself."""

    entity_description: EvseNumberDescription

    @property
    def native_value(self) -> float | None:
        """The value the charger confirms."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def native_min_value(self) -> float:
        """The charger's own minimum."""
        return self.entity_description.min_fn(self.coordinator.data)

    @property
    def native_max_value(self) -> float:
        """The charger's own maximum."""
        return self.entity_description.max_fn(self.coordinator.data)

    @evse_command
    async def async_set_native_value(self, value: float) -> None:
        """Write volatile (no EEPROM wear) unless the user chose to persist."""
        persist = bool(
            self.coordinator.config_entry.options.get(CONF_PERSIST_MAX_CURRENT, False)
        )
        await self.entity_description.set_fn(self.coordinator.charger, value, persist)


PLAN_SOC_DESCRIPTIONS = (
    NumberEntityDescription(
        key="plan_target_soc",
        translation_key="plan_target_soc",
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
    ),
)


class PlanTargetSocNumber(PlanEntity, NumberEntity):
    """The car's state of charge the plan reaches by the ready time (0: none).

    Set, it wins over the energy target while the car's charge is known.
    """

    @property
    def native_value(self) -> float:
        """The target in force."""
        return self.plan.target_soc

    async def async_set_native_value(self, value: float) -> None:
        """Plan for the new target charge."""
        self.plan.async_set(target_soc=value)
