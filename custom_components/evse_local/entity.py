"""The one base entity every EVSE Local platform uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EvseConfigEntry, EvseCoordinator, EvseRuntimeData
from .energy_manager import EnergyManager, Member
from .group import is_group
from .protocols.models import Capability, ChargerSnapshot


class EvseEntity(CoordinatorEntity[EvseCoordinator]):
    """An entity of one charger; unique id = charger serial + key."""

    _attr_has_entity_name = True

    def __init__(self, entry: EvseConfigEntry, description: EntityDescription) -> None:
        """Attach to the entry's coordinator and device."""
        super().__init__(entry.runtime_data.coordinator)
        self.entity_description = description
        info = entry.runtime_data.charger.info
        # Firmware that reports no identity at all: the entry id is all we have.
        identifier = info.serial or entry.entry_id
        self._attr_unique_id = f"{identifier}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, identifier)},
            connections=(
                {(dr.CONNECTION_NETWORK_MAC, dr.format_mac(info.mac))}
                if info.mac
                else set()
            ),
            configuration_url=f"http://{entry.data[CONF_HOST]}",
            manufacturer=info.manufacturer,
            model=info.model,
            name=entry.title,
            serial_number=info.serial,
            sw_version=(
                f"{info.firmware} (WiFi {info.wifi_firmware})"
                if info.firmware and info.wifi_firmware
                else info.firmware
            ),
        )


class SupportedDescription(Protocol):
    """A description that knows whether a charger can back its entity."""

    @property
    def has_fn(self) -> Callable[[ChargerSnapshot], bool]:
        """Whether the charger (its first snapshot) can back the entity."""
        ...


def has_capability(capability: Capability) -> Callable[[ChargerSnapshot], bool]:
    """``has_fn`` for entities that need one capability."""
    return lambda snapshot: capability in snapshot.capabilities


def supported_entities[DescriptionT: SupportedDescription, EntityT](
    entry: EvseConfigEntry,
    entity_class: Callable[[EvseConfigEntry, DescriptionT], EntityT],
    descriptions: Iterable[DescriptionT],
) -> list[EntityT]:
    """Entities for the descriptions this charger can back."""
    snapshot = entry.runtime_data.coordinator.data
    return [
        entity_class(entry, description)
        for description in descriptions
        if description.has_fn(snapshot)
    ]


class EnergyEntity(Entity):
    """An entity of a charging group, or of a charger's solar controller.

    It shows the manager's settings and its last step; the manager calls
    back after every step.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        manager: EnergyManager,
        description: EntityDescription,
        member: Member | None = None,
    ) -> None:
        """Attach to the manager; per-member entities name their member."""
        self.manager = manager
        self.member = member
        self.entity_description = description
        suffix = (
            description.key if member is None else f"{member.key}_{description.key}"
        )
        self._attr_unique_id = f"{manager.unique_prefix}_{suffix}"
        self._attr_device_info = manager.device_info
        if member is not None:
            self._attr_translation_placeholders = {"member": member.name}

    async def async_added_to_hass(self) -> None:
        """Show every step's outcome."""
        await super().async_added_to_hass()
        self.async_on_remove(self.manager.async_add_listener(self.async_write_ha_state))


def energy_manager(entry: ConfigEntry[Any]) -> EnergyManager | None:
    """Return the manager of a group, or of a charger with solar inputs."""
    if is_group(entry):
        return entry.runtime_data.manager
    runtime_data: EvseRuntimeData = entry.runtime_data
    return runtime_data.energy
