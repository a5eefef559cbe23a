"""The one base entity every EVSE Local platform uses."""

from __future__ import annotations

from homeassistant.const import CONF_HOST
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EvseConfigEntry, EvseCoordinator


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
            sw_version=info.firmware,
            hw_version=None,
        )
