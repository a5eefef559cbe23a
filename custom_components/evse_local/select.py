"""Selects: J1772 service level, cable lock, access control; charging mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SOLAR_MODE, DOMAIN
from .energy_manager import CHARGING_MODES, SOLAR_ONLY_MODES, EnergyManager
from .entity import (
    EnergyEntity,
    EvseEntity,
    async_add_supported_entities,
    energy_manager,
    has_capability,
)
from .helpers import evse_command
from .protocols.charger import Charger
from .protocols.models import (
    AccessControl,
    CableLock,
    Capability,
    ChargerSnapshot,
    ServiceLevel,
)
from .runtime import EvseConfigEntry, GroupConfigEntry, is_group

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseSelectDescription(SelectEntityDescription):
    """How to read and set one select."""

    value_fn: Callable[[ChargerSnapshot], str | None]
    select_fn: Callable[[Charger, str], Awaitable[None]]
    has_fn: Callable[[ChargerSnapshot], bool]


DESCRIPTIONS: tuple[EvseSelectDescription, ...] = (
    EvseSelectDescription(
        key="service_level",
        translation_key="service_level",
        entity_category=EntityCategory.CONFIG,
        options=[level.value for level in ServiceLevel],
        has_fn=has_capability(Capability.SERVICE_LEVEL),
        value_fn=lambda snapshot: (
            snapshot.service_level.value if snapshot.service_level else None
        ),
        select_fn=lambda charger, option: charger.set_service_level(
            ServiceLevel(option)
        ),
    ),
    EvseSelectDescription(
        key="access_control",
        translation_key="access_control",
        entity_category=EntityCategory.CONFIG,
        options=[mode.value for mode in AccessControl],
        has_fn=has_capability(Capability.ACCESS_CONTROL),
        value_fn=lambda snapshot: (
            snapshot.access_control.value if snapshot.access_control else None
        ),
        select_fn=lambda charger, option: charger.set_access_control(
            AccessControl(option)
        ),
    ),
    EvseSelectDescription(
        key="cable_lock",
        translation_key="cable_lock",
        entity_category=EntityCategory.CONFIG,
        options=[mode.value for mode in CableLock],
        has_fn=has_capability(Capability.CABLE_LOCK),
        value_fn=lambda snapshot: (
            snapshot.cable_lock.value if snapshot.cable_lock else None
        ),
        select_fn=lambda charger, option: charger.set_cable_lock(CableLock(option)),
    ),
)


@dataclass(frozen=True, kw_only=True)
class EnergySelectDescription(SelectEntityDescription):
    """A setting of a group or solar controller, kept in the entry options."""

    option_key: str
    value_fn: Callable[[EnergyManager], str]


ENERGY_SELECT_DESCRIPTIONS: tuple[EnergySelectDescription, ...] = (
    EnergySelectDescription(
        # The key of the solar mode it grew from: entity ids and automations
        # that set off/solar/min_solar/fast keep working.
        key="solar_mode",
        translation_key="charging_mode",
        options=list(CHARGING_MODES),
        option_key=CONF_SOLAR_MODE,
        value_fn=lambda manager: manager.charging_mode,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry | GroupConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects this charger supports, and the charging mode."""
    manager = energy_manager(entry)
    if manager is not None:
        async_add_entities(
            EnergySelect(manager, description)
            for description in ENERGY_SELECT_DESCRIPTIONS
        )
    if not is_group(entry):
        async_add_supported_entities(
            entry, async_add_entities, EvseSelect, DESCRIPTIONS
        )


class EnergySelect(EnergyEntity, SelectEntity):
    """A setting of the energy manager."""

    entity_description: EnergySelectDescription

    @property
    def current_option(self) -> str | None:
        """The setting in force."""
        return self.entity_description.value_fn(self.manager)

    async def async_select_option(self, option: str) -> None:
        """Keep the new setting and run the controller with it."""
        if option in SOLAR_ONLY_MODES and not self.manager.has_solar:
            # Without a grid power sensor there is no surplus to follow.
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="charging_mode_needs_solar",
                translation_placeholders={"mode": option},
            )
        self.manager.async_update_options(self.entity_description.option_key, option)
        self.async_write_ha_state()


class EvseSelect(EvseEntity, SelectEntity):
    """A charger select."""

    entity_description: EvseSelectDescription

    @property
    def current_option(self) -> str | None:
        """The option the charger reports."""
        return self.entity_description.value_fn(self.coordinator.data)

    @evse_command
    async def async_select_option(self, option: str) -> None:
        """Send the new option to the charger."""
        await self.entity_description.select_fn(self.coordinator.charger, option)
