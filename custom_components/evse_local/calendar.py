"""Calendar: a charger's charging plan, one event per uninterrupted block.

Home Assistant's own calendar card draws it, so the chosen hours are
visible without a custom card. Read only: the plan is changed through its
entities and actions, never by editing an event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .energy import ChargingBlock, ChargingPlan
from .energy.sessions import price_unit
from .entity import PlanEntity
from .runtime import EvseConfigEntry

PARALLEL_UPDATES = 0

MINUTE = timedelta(minutes=1)

CALENDAR_DESCRIPTIONS = (
    CalendarEntityDescription(key="charging_plan", translation_key="charging_plan"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging plan calendar (chargers only: a group plans per member)."""
    async_add_entities(PlanCalendar(entry, d) for d in CALENDAR_DESCRIPTIONS)


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _ceil_minute(moment: datetime) -> datetime:
    floor = _floor_minute(moment)
    return floor if floor == moment else floor + MINUTE


def _kwh(energy_wh: float) -> str:
    return f"{energy_wh / 1000:.1f} kWh"


class PlanCalendar(PlanEntity, CalendarEntity):
    """The plan's blocks as events, from the block in progress on.

    The plan is made afresh every step from the time now, so a block in
    progress always "starts now" in it. The calendar keeps the moment the
    block began and the energy delivered by then, so the event in progress
    keeps its start and shows the whole block's energy. Times are whole
    minutes (start down, end up, so the event holds the charging): a
    block's end moves by seconds every step with the car's real power, and
    a calendar reads in minutes.
    """

    _events: tuple[CalendarEvent, ...] = ()
    _began: tuple[datetime, float] | None = None
    """The block in progress: when it began, delivered_wh then."""
    _upcoming: datetime | None = None
    """When the next block was to start, at the last plan."""
    _source: tuple[ChargingPlan | None, float] = (None, 0.0)
    """The plan and delivered_wh the events were made from."""

    async def async_added_to_hass(self) -> None:
        """Show the plan as it is before the first step."""
        self._refresh()
        await super().async_added_to_hass()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Take the new plan's events, then write if anything shown changed."""
        self._refresh()
        super()._handle_coordinator_update()

    def _refresh(self) -> None:
        # A pushing charger updates many times per step; the plan and the
        # energy delivered change only at a step (or a cleared plan).
        source = (self.plan.plan, self.plan.delivered_wh)
        if source[0] is not self._source[0] or source[1] != self._source[1]:
            self._source = source
            self._events = self._plan_events()

    def _shown(self) -> tuple[Any, ...]:
        # Every event, not only the next: the calendar card is told of a
        # change through the state write.
        return (self.available, self.state, self._events)

    @property
    def event(self) -> CalendarEvent | None:
        """The block in progress, or the next one."""
        now = dt_util.now()
        return next((e for e in self._events if e.end_datetime_local > now), None)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the blocks that overlap the range."""
        return [
            event
            for event in self._events
            if event.end_datetime_local > start_date
            and event.start_datetime_local < end_date
        ]

    def _plan_events(self) -> tuple[CalendarEvent, ...]:
        runner = self.plan
        plan = runner.plan
        blocks = () if plan is None else plan.blocks()
        if plan is None or not blocks or blocks[0].start > plan.created:
            # Nothing charging now: the next block may begin on time.
            self._began = None
            self._upcoming = blocks[0].start if blocks else None
            return tuple(self._event(block) for block in blocks)
        first, rest = blocks[0], blocks[1:]
        if self._began is None:
            # The step that starts a block comes a few seconds after its
            # planned start: the block began then, not at the step.
            upcoming = self._upcoming
            began = upcoming if upcoming is not None else first.start
            self._began = (min(began, first.start), runner.delivered_wh)
        self._upcoming = None
        began, delivered_then = self._began
        done_wh = max(0.0, runner.delivered_wh - delivered_then)
        return (
            self._event(first, start=began, done_wh=done_wh),
            *(self._event(block) for block in rest),
        )

    def _event(
        self,
        block: ChargingBlock,
        *,
        start: datetime | None = None,
        done_wh: float = 0.0,
    ) -> CalendarEvent:
        """One block; ``done_wh`` already delivered since ``start`` (in progress)."""
        begin = block.start if start is None else start
        energy_wh = done_wh + block.energy_wh
        hours = (block.end - begin).total_seconds() / 3600
        lines = [f"Average power {energy_wh / 1000 / hours:.1f} kW"]
        if done_wh:
            lines.append(f"Still to charge {_kwh(block.energy_wh)}")
        if (solar_wh := block.energy_wh - block.grid_energy_wh) >= 50:
            # A solar forecast counted in the block: the grid tops it up.
            lines.append(f"Expected from the sun {_kwh(solar_wh)}")
        if self.plan.cost is not None:
            # Real prices (not an off-peak window, which ranks but costs nothing).
            rest = " of the rest" if done_wh else ""
            lines.append(f"Expected cost{rest} {block.cost:.2f}{self._currency()}")
            if block.unpriced_energy_wh >= 50:
                lines.append(
                    f"Prices not published yet for {_kwh(block.unpriced_energy_wh)}"
                )
        return CalendarEvent(
            start=_floor_minute(dt_util.as_local(begin)),
            end=_ceil_minute(dt_util.as_local(block.end)),
            summary=f"Charging {_kwh(energy_wh)}",
            description="\n".join(lines),
        )

    def _currency(self) -> str:
        """Return " EUR" from the price sensor's unit ("" if it names none)."""
        entity_id = self.plan.price_entity_id
        state = None if entity_id is None else self.hass.states.get(entity_id)
        if state is None:
            return ""
        unit = price_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
        return "" if unit is None or unit[1] is None else f" {unit[1]}"
