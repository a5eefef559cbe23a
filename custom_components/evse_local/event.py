"""Event entity: what happens to a charger's sessions, for automations."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import LedgerEntity
from .ledger import LedgerEvent
from .runtime import EvseConfigEntry

# The ledger does the work; the entity only reports what it found.
PARALLEL_UPDATES = 0

DESCRIPTIONS: tuple[EventEntityDescription, ...] = (
    EventEntityDescription(
        key="charging_session",
        translation_key="charging_session",
        event_types=[event.value for event in LedgerEvent],
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's session event entity."""
    async_add_entities(
        SessionEventEntity(entry, description) for description in DESCRIPTIONS
    )


class SessionEventEntity(LedgerEntity, EventEntity):
    """Reports a session starting or ending, a limit reached, a plan not met."""

    @callback
    def _handle_event(self, event: LedgerEvent, attributes: dict[str, Any]) -> None:
        """Fire every ledger event."""
        self._trigger_event(event.value, attributes)
        self._written = self._shown()
        self.async_write_ha_state()
