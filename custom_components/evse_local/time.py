"""Time entities: start and stop of the daily charging timer; the plan's ready time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    EvseEntity,
    PlanEntity,
    async_add_supported_entities,
    has_capability,
)
from .helpers import evse_command
from .protocols.models import Capability, ChargerSnapshot, ChargeTimer
from .runtime import EvseConfigEntry

PARALLEL_UPDATES = 1

NO_WINDOW = ChargeTimer(start=time(0, 0), stop=time(0, 0))
"""What a RAPI charger holds while no window is set (``$GD 0 0 0 0``)."""


@dataclass(frozen=True, kw_only=True)
class EvseTimeDescription(TimeEntityDescription):
    """Which end of the timer window an entity edits."""

    value_fn: Callable[[ChargeTimer], time]
    replace_fn: Callable[[ChargeTimer, time], ChargeTimer]
    has_fn: Callable[[ChargerSnapshot], bool]


DESCRIPTIONS: tuple[EvseTimeDescription, ...] = (
    EvseTimeDescription(
        key="timer_start",
        translation_key="timer_start",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda window: window.start,
        replace_fn=lambda window, value: replace(window, start=value),
        has_fn=has_capability(Capability.TIMER),
    ),
    EvseTimeDescription(
        key="timer_stop",
        translation_key="timer_stop",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda window: window.stop,
        replace_fn=lambda window, value: replace(window, stop=value),
        has_fn=has_capability(Capability.TIMER),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the timer window entities when the charger has a timer; the ready time."""
    async_add_supported_entities(entry, async_add_entities, EvseTime, DESCRIPTIONS)
    async_add_entities(PlanReadyTime(entry, d) for d in PLAN_READY_DESCRIPTIONS)


PLAN_READY_DESCRIPTIONS = (
    TimeEntityDescription(key="plan_ready_time", translation_key="plan_ready_time"),
)


class PlanReadyTime(PlanEntity, TimeEntity):
    """When the plan's target must be in the car (the next such time)."""

    @property
    def native_value(self) -> time:
        """The ready time in force."""
        return self.plan.ready_time

    async def async_set_value(self, value: time) -> None:
        """Plan for the new ready time."""
        self.plan.async_set(ready_time=value)


class EvseTime(EvseEntity, TimeEntity):
    """One end of the daily window.

    While the timer is off the charger forgets its window, so the last one
    seen is shown and edited; the timer switch turns it on again. Before any
    window was seen, the charger's own "none" (00:00 to 00:00) is shown: an
    entity that stays unknown would tell nothing.
    """

    entity_description: EvseTimeDescription

    @property
    def native_value(self) -> time:
        """The window's start or stop."""
        window = self.coordinator.timer_window or NO_WINDOW
        return self.entity_description.value_fn(window)

    @evse_command
    async def async_set_value(self, value: time) -> None:
        """Change one end; write it to the charger if the timer is on."""
        coordinator = self.coordinator
        window = coordinator.timer_window or NO_WINDOW
        window = self.entity_description.replace_fn(window, value)
        coordinator.timer_window = window
        if coordinator.data.timer_enabled and window.start != window.stop:
            await coordinator.charger.set_timer(window.start, window.stop)
        else:
            self.async_write_ha_state()
