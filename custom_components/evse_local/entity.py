"""The one base entity every EVSE Local platform uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EvseCoordinator
from .energy_manager import EnergyManager, Member
from .ledger import LedgerEvent
from .protocols.models import Capability, ChargerSnapshot
from .runtime import EvseConfigEntry, EvseRuntimeData, is_group


class EvseEntity(CoordinatorEntity[EvseCoordinator]):
    """An entity of one charger; unique id = charger serial + key."""

    _attr_has_entity_name = True
    # What was last written: a charger pushing a meter reading changes three
    # or four values, so the other entities skip the (costly) state write.
    _written: tuple[Any, ...] | None = None

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what Home Assistant shows changed."""
        shown = self._shown()
        if shown == self._written:
            return
        self._written = shown
        super()._handle_coordinator_update()

    def _shown(self) -> tuple[Any, ...]:
        """Return what a state write would show (compared, not written)."""
        return (
            self.available,
            self.state,
            self.extra_state_attributes,
            # A number's min/max follow the charger too.
            self.capability_attributes,
        )

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
            # OCPP chargers connect to us: their address is not known.
            configuration_url=(
                f"http://{entry.data[CONF_HOST]}" if CONF_HOST in entry.data else None
            ),
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


class PlanEntity(EvseEntity):
    """An entity of a charger's plan: its settings, or the plan of the last step."""

    def __init__(self, entry: EvseConfigEntry, description: EntityDescription) -> None:
        """Attach to the charger and to its plan."""
        super().__init__(entry, description)
        self.plan = entry.runtime_data.plan

    async def async_added_to_hass(self) -> None:
        """Show every new plan."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.plan.async_add_listener(self._handle_coordinator_update)
        )


class LedgerEntity(EvseEntity):
    """An entity of a charger's session ledger, told of every ledger event."""

    def __init__(self, entry: EvseConfigEntry, description: EntityDescription) -> None:
        """Attach to the charger and to its ledger."""
        super().__init__(entry, description)
        self._ledger = entry.runtime_data.ledger

    async def async_added_to_hass(self) -> None:
        """Listen to the ledger."""
        await super().async_added_to_hass()
        self.async_on_remove(self._ledger.async_add_listener(self._handle_event))

    @callback
    def _handle_event(self, event: LedgerEvent, attributes: dict[str, Any]) -> None:
        """Show what the ledger reports."""
        raise NotImplementedError


class SupportedDescription(Protocol):
    """A description that knows whether a charger can back its entity."""

    @property
    def has_fn(self) -> Callable[[ChargerSnapshot], bool]:
        """Whether the charger (its first snapshot) can back the entity."""
        ...


def has_capability(capability: Capability) -> Callable[[ChargerSnapshot], bool]:
    """``has_fn`` for entities that need one capability."""
    return lambda snapshot: capability in snapshot.capabilities


@callback
def async_add_supported_entities[DescriptionT: SupportedDescription, EntityT: Entity](
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[EvseConfigEntry, DescriptionT], EntityT],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add the entities the charger can back, now and whenever it can back more.

    A charger may report a value only later: an OCPP charger sends the
    measurands it was configured for after it connects, and a temperature
    probe can answer only after a reboot. Entities are never removed here:
    a value that goes away shows as unknown.
    """
    coordinator = entry.runtime_data.coordinator
    pending = list(descriptions)

    @callback
    def _add_supported() -> None:
        snapshot = coordinator.data
        supported = [d for d in pending if d.has_fn(snapshot)]
        if not supported:
            return
        for description in supported:
            pending.remove(description)
        async_add_entities(entity_class(entry, d) for d in supported)

    _add_supported()
    entry.async_on_unload(coordinator.async_add_listener(_add_supported))


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
