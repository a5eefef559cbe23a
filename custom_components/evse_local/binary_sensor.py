"""Binary sensors: vehicle connected, charging, fault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvseCoordinator
from .entity import EvseEntity, async_add_supported_entities
from .protocols.models import FAULT_STATES, Capability, ChargerSnapshot
from .runtime import EvseConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvseBinarySensorDescription(BinarySensorEntityDescription):
    """How to read one binary sensor from the snapshot."""

    value_fn: Callable[[ChargerSnapshot], bool | None]
    has_fn: Callable[[ChargerSnapshot], bool] = lambda snapshot: True
    connection_fn: Callable[[EvseCoordinator], bool] | None = None
    """Reads the link itself: available while the rest is not."""


DESCRIPTIONS: tuple[EvseBinarySensorDescription, ...] = (
    EvseBinarySensorDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda snapshot: snapshot.vehicle_connected,
        has_fn=lambda snapshot: snapshot.vehicle_connected is not None,
    ),
    EvseBinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda snapshot: snapshot.charging,
        has_fn=lambda snapshot: snapshot.charging is not None,
    ),
    EvseBinarySensorDescription(
        # An OCPP charger's websocket: the one entity that stays available
        # (and says "disconnected") when the charger is gone.
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: None,
        connection_fn=lambda coordinator: coordinator.push_connected,
        has_fn=lambda snapshot: Capability.AVAILABILITY in snapshot.capabilities,
    ),
    EvseBinarySensorDescription(
        key="fault",
        translation_key="fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda snapshot: snapshot.state in FAULT_STATES,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors this charger can back."""
    async_add_supported_entities(
        entry, async_add_entities, EvseBinarySensor, DESCRIPTIONS
    )


class EvseBinarySensor(EvseEntity, BinarySensorEntity):
    """A charger binary sensor."""

    entity_description: EvseBinarySensorDescription

    @property
    def available(self) -> bool:
        """Connection sensors are always available; the rest follow the charger."""
        if self.entity_description.connection_fn is not None:
            return True
        return super().available

    @property
    def is_on(self) -> bool | None:
        """The value in the latest snapshot."""
        if (connection_fn := self.entity_description.connection_fn) is not None:
            return connection_fn(self.coordinator)
        return self.entity_description.value_fn(self.coordinator.data)
