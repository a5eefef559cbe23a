"""The one base entity every EVSE Local platform uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from homeassistant.const import CONF_HOST
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EvseConfigEntry, EvseCoordinator
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
