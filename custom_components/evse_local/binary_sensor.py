"""Binary sensors: vehicle connected, charging, fault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvseConfigEntry
from .entity import EvseEntity, supported_entities
from .protocols.models import FAULT_STATES, ChargerSnapshot

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvseBinarySensorDescription(BinarySensorEntityDescription):
    """How to read one binary sensor from the snapshot."""

    value_fn: Callable[[ChargerSnapshot], bool | None]
    has_fn: Callable[[ChargerSnapshot], bool] = lambda snapshot: True


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
    async_add_entities(supported_entities(entry, EvseBinarySensor, DESCRIPTIONS))


class EvseBinarySensor(EvseEntity, BinarySensorEntity):
    """A charger binary sensor."""

    entity_description: EvseBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The value in the latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)
