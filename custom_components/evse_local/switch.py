"""Switches: charging enabled (pause/resume), the daily timer, one block plans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import EvseCoordinator
from .entity import (
    EvseEntity,
    PlanEntity,
    async_add_supported_entities,
    has_capability,
)
from .helpers import evse_command
from .protocols.models import Capability, ChargerSnapshot
from .runtime import EvseConfigEntry

PARALLEL_UPDATES = 1


async def _enable_timer(coordinator: EvseCoordinator) -> None:
    window = coordinator.timer_window
    if window is None or window.start == window.stop:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="timer_window_missing"
        )
    await coordinator.charger.set_timer(window.start, window.stop)


@dataclass(frozen=True, kw_only=True)
class EvseSwitchDescription(SwitchEntityDescription):
    """How to read and flip one switch."""

    value_fn: Callable[[ChargerSnapshot], bool | None]
    set_fn: Callable[[EvseCoordinator, bool], Awaitable[None]]
    has_fn: Callable[[ChargerSnapshot], bool]


DESCRIPTIONS: tuple[EvseSwitchDescription, ...] = (
    EvseSwitchDescription(
        # Off pauses (sleep): the car stays plugged in and the session goes on.
        key="charging_enabled",
        translation_key="charging_enabled",
        has_fn=has_capability(Capability.PAUSE),
        value_fn=lambda snapshot: (
            None if snapshot.paused is None else not snapshot.paused
        ),
        set_fn=lambda coordinator, on: coordinator.async_set_paused(not on),
    ),
    EvseSwitchDescription(
        # OCPP ChangeAvailability: off takes the charger out of service.
        key="available",
        translation_key="available",
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.AVAILABILITY),
        value_fn=lambda snapshot: snapshot.connector_available,
        set_fn=lambda coordinator, on: coordinator.charger.set_available(on),
    ),
    EvseSwitchDescription(
        key="timer",
        translation_key="timer",
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.TIMER),
        value_fn=lambda snapshot: snapshot.timer_enabled,
        set_fn=lambda coordinator, on: (
            _enable_timer(coordinator) if on else coordinator.charger.clear_timer()
        ),
    ),
    EvseSwitchDescription(
        key="led_energy_saving",
        translation_key="led_energy_saving",
        entity_category=EntityCategory.CONFIG,
        has_fn=has_capability(Capability.LED),
        value_fn=lambda snapshot: snapshot.led_energy_saving,
        set_fn=lambda coordinator, on: coordinator.charger.set_led_energy_saving(on),
    ),
    EvseSwitchDescription(
        key="cloud_disabled",
        translation_key="cloud_disabled",
        entity_category=EntityCategory.DIAGNOSTIC,
        has_fn=has_capability(Capability.CLOUD),
        value_fn=lambda snapshot: snapshot.cloud_disabled,
        set_fn=lambda coordinator, on: coordinator.charger.set_cloud_disabled(on),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches this charger supports, and the plan's block switch."""
    async_add_supported_entities(entry, async_add_entities, EvseSwitch, DESCRIPTIONS)
    async_add_entities(
        PlanContinuousSwitch(entry, d) for d in PLAN_CONTINUOUS_DESCRIPTIONS
    )


class EvseSwitch(EvseEntity, SwitchEntity):
    """A charger switch; shows the state the charger confirms."""

    entity_description: EvseSwitchDescription

    @property
    def is_on(self) -> bool | None:
        """The state in the latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @evse_command
    async def async_turn_on(self, /, **kwargs: Any) -> None:
        """Turn on."""
        await self.entity_description.set_fn(self.coordinator, True)

    @evse_command
    async def async_turn_off(self, /, **kwargs: Any) -> None:
        """Turn off."""
        await self.entity_description.set_fn(self.coordinator, False)


PLAN_CONTINUOUS_DESCRIPTIONS = (
    SwitchEntityDescription(
        key="plan_continuous",
        translation_key="plan_continuous",
        entity_category=EntityCategory.CONFIG,
    ),
)


class PlanContinuousSwitch(PlanEntity, SwitchEntity):
    """Plan one uninterrupted block (some cars dislike pauses) or the cheapest slots."""

    @property
    def is_on(self) -> bool:
        """Whether the plan is one block."""
        return self.plan.continuous

    async def async_turn_on(self, /, **kwargs: Any) -> None:
        """Plan one block."""
        self.plan.async_set(continuous=True)

    async def async_turn_off(self, /, **kwargs: Any) -> None:
        """Plan the cheapest slots."""
        self.plan.async_set(continuous=False)
