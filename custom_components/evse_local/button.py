"""Buttons: restart the charger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import EvseEntity, async_add_supported_entities, has_capability
from .helpers import evse_command
from .protocols.charger import Charger
from .protocols.models import Capability, ChargerSnapshot
from .runtime import EvseConfigEntry

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseButtonDescription(ButtonEntityDescription):
    """What pressing one button does."""

    press_fn: Callable[[Charger], Awaitable[None]]
    has_fn: Callable[[ChargerSnapshot], bool]


DESCRIPTIONS: tuple[EvseButtonDescription, ...] = (
    EvseButtonDescription(
        key="restart",
        translation_key="restart",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.RESTART),
        press_fn=lambda charger: charger.restart(),
    ),
    EvseButtonDescription(
        # OCPP UnlockConnector: frees a cable stuck in the socket.
        key="unlock",
        translation_key="unlock",
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.UNLOCK),
        press_fn=lambda charger: charger.unlock(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons this charger supports."""
    async_add_supported_entities(entry, async_add_entities, EvseButton, DESCRIPTIONS)


class EvseButton(EvseEntity, ButtonEntity):
    """A charger button."""

    entity_description: EvseButtonDescription

    @evse_command
    async def async_press(self) -> None:
        """Send the command."""
        await self.entity_description.press_fn(self.coordinator.charger)
