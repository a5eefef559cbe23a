"""Actions for every charger: session limits, timer, charging current, plans.

Registered once in ``async_setup``; each call names its charger by config
entry and is checked against what that charger can do before anything is
sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .group import group_of
from .helpers import async_track_command_outcome, translate_error
from .protocols.charger import RAPI_TIME_STEP_MINUTES, RAPI_TIME_STEPS_MAX
from .protocols.errors import EvseError
from .protocols.models import Capability
from .runtime import EvseConfigEntry, is_group

ATTR_ENERGY = "energy"
ATTR_DURATION = "duration"
ATTR_START = "start"
ATTR_STOP = "stop"
ATTR_CURRENT = "current"
ATTR_PERSIST = "persist"

SERVICE_SET_SESSION_LIMIT = "set_session_limit"
SERVICE_CLEAR_SESSION_LIMIT = "clear_session_limit"
SERVICE_SET_TIMER = "set_timer"
SERVICE_CLEAR_TIMER = "clear_timer"
SERVICE_SET_MAX_CURRENT = "set_max_current"
SERVICE_SET_PLAN = "set_plan"
SERVICE_CLEAR_PLAN = "clear_plan"
ATTR_READY_BY = "ready_by"
ATTR_CONTINUOUS = "continuous"
ATTR_SOC = "soc"

CHARGER_SCHEMA = probatio.Schema({probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
SESSION_LIMIT_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Optional(ATTR_ENERGY): probatio.All(
            probatio.Coerce(float), probatio.Range(min=0.1, max=1000)
        ),
        probatio.Optional(ATTR_DURATION): probatio.All(
            cv.time_period, cv.positive_timedelta
        ),
    }
)
TIMER_SCHEMA = CHARGER_SCHEMA.extend(
    {probatio.Required(ATTR_START): cv.time, probatio.Required(ATTR_STOP): cv.time}
)
MAX_CURRENT_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Required(ATTR_CURRENT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=100)
        ),
        probatio.Optional(ATTR_PERSIST, default=False): cv.boolean,
    }
)
PLAN_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Optional(ATTR_ENERGY): probatio.All(
            probatio.Coerce(float), probatio.Range(min=0.1, max=200)
        ),
        probatio.Optional(ATTR_SOC): probatio.All(
            probatio.Coerce(float), probatio.Range(min=1, max=100)
        ),
        probatio.Optional(ATTR_READY_BY): probatio.Any(cv.datetime, cv.time),
        probatio.Optional(ATTR_CONTINUOUS): cv.boolean,
    }
)


def _entry(call: ServiceCall) -> EvseConfigEntry:
    entry: ConfigEntry[Any] = async_get_config_entry(
        call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID]
    )
    if is_group(entry):
        # The config entry selector offers groups too.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="group_not_a_charger",
            translation_placeholders={"name": entry.title},
        )
    return entry


def _require(entry: EvseConfigEntry, capability: Capability) -> None:
    if capability not in entry.runtime_data.coordinator.data.capabilities:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_supported",
            translation_placeholders={"charger": entry.title, "error": capability},
        )


async def _run[T](entry: EvseConfigEntry, command: Callable[[], Awaitable[T]]) -> T:
    """Send a command; translate its errors; refresh to show the result."""
    try:
        result = await command()
    except EvseError as err:
        async_track_command_outcome(entry.runtime_data.coordinator.hass, entry, err)
        raise translate_error(err, entry.title) from err
    async_track_command_outcome(entry.runtime_data.coordinator.hass, entry)
    await entry.runtime_data.coordinator.async_refresh_after_command()
    return result


async def _set_session_limit(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call)
    energy: float | None = call.data.get(ATTR_ENERGY)
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    if energy is None and duration is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="limit_missing"
        )
    coordinator = entry.runtime_data.coordinator
    snapshot = coordinator.data
    minutes: int | None = None
    if duration is not None:
        minutes = max(1, -int(-duration.total_seconds() // 60))
    if coordinator.enforces_limits(snapshot):
        # No native limit on this charger: the integration watches and pauses.
        if not coordinator.charger.push_only:
            # Count from now, not from the last poll (up to an interval ago).
            await coordinator.async_refresh()
            snapshot = coordinator.data
        coordinator.limits.set(
            energy_kwh=energy,
            minutes=minutes,
            now=dt_util.utcnow(),
            snapshot=snapshot,
            read_at=coordinator.read_time,
        )
        coordinator.async_limits_changed()
        return {
            "energy": energy,
            "duration_minutes": minutes,
            "rounded": False,
            "enforced_by": "integration",
        }
    if energy is not None:
        _require(entry, Capability.ENERGY_LIMIT)
    if minutes is not None:
        _require(entry, Capability.TIME_LIMIT)
    if (
        energy is not None
        and minutes is not None
        and Capability.COMBINED_LIMITS not in snapshot.capabilities
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="one_limit_at_a_time",
            translation_placeholders={"charger": entry.title},
        )
    if Capability.LIMITS_NEED_VEHICLE in snapshot.capabilities:
        if (
            minutes is not None
            and minutes > RAPI_TIME_STEPS_MAX * RAPI_TIME_STEP_MINUTES
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duration_too_long",
                translation_placeholders={
                    "maximum": str(RAPI_TIME_STEPS_MAX * RAPI_TIME_STEP_MINUTES)
                },
            )
        if not snapshot.vehicle_connected:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="vehicle_required",
                translation_placeholders={"charger": entry.title},
            )
    charger = entry.runtime_data.charger
    applied = await _run(
        entry,
        lambda: charger.set_session_limit(energy_kwh=energy, minutes=minutes),
    )
    return {
        "energy": applied.energy_kwh,
        "duration_minutes": applied.minutes,
        "rounded": applied.rounded,
        "enforced_by": "charger",
    }


async def _clear_session_limit(call: ServiceCall) -> None:
    entry = _entry(call)
    coordinator = entry.runtime_data.coordinator
    if coordinator.enforces_limits(coordinator.data):
        coordinator.limits.clear()
        coordinator.async_limits_changed()
        return
    capabilities = coordinator.data.capabilities
    if not capabilities & {Capability.ENERGY_LIMIT, Capability.TIME_LIMIT}:
        _require(entry, Capability.ENERGY_LIMIT)
    await _run(entry, entry.runtime_data.charger.clear_session_limit)


async def _set_timer(call: ServiceCall) -> None:
    entry = _entry(call)
    _require(entry, Capability.TIMER)
    start, stop = call.data[ATTR_START], call.data[ATTR_STOP]
    if start == stop:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="timer_window_empty"
        )
    await _run(entry, lambda: entry.runtime_data.charger.set_timer(start, stop))


async def _clear_timer(call: ServiceCall) -> None:
    entry = _entry(call)
    _require(entry, Capability.TIMER)
    await _run(entry, entry.runtime_data.charger.clear_timer)


async def _set_max_current(call: ServiceCall) -> None:
    entry = _entry(call)
    _require(entry, Capability.MAX_CURRENT)
    snapshot = entry.runtime_data.coordinator.data
    amps: int = call.data[ATTR_CURRENT]
    persist: bool = call.data[ATTR_PERSIST]
    low = snapshot.min_current_limit or 6
    high = snapshot.max_current_limit or 80
    if not low <= amps <= high:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="current_out_of_range",
            translation_placeholders={
                "current": str(amps),
                "minimum": str(low),
                "maximum": str(high),
            },
        )
    if persist:
        _require(entry, Capability.PERSIST_MAX_CURRENT)
    await _run(
        entry,
        lambda: entry.runtime_data.charger.set_max_current(amps, persist=persist),
    )


async def _set_plan(call: ServiceCall) -> ServiceResponse:
    """Set a plan; the response is the plan as it stands now."""
    entry = _entry(call)
    energy: float | None = call.data.get(ATTR_ENERGY)
    soc: float | None = call.data.get(ATTR_SOC)
    if energy is None and soc is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="plan_target_missing"
        )
    if soc is not None and not entry.runtime_data.plan.soc_capable:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="soc_without_sensor",
            translation_placeholders={"charger": entry.title},
        )
    ready_by: datetime | time | None = call.data.get(ATTR_READY_BY)
    now = dt_util.now()
    if isinstance(ready_by, datetime):
        moment = dt_util.as_local(
            ready_by
            if ready_by.tzinfo is not None
            else ready_by.replace(tzinfo=dt_util.get_default_time_zone())
        )
        if moment <= now:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ready_time_past",
                translation_placeholders={"ready_by": moment.isoformat()},
            )
        ready_by = moment.time().replace(tzinfo=None)
    plan = entry.runtime_data.plan
    entity_id = plan.price_entity_id
    if entity_id and call.hass.states.get(entity_id) is None:
        # Named in the options but gone (renamed, removed): say so rather
        # than plan without prices in silence.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="price_sensor_missing",
            translation_placeholders={"entity_id": entity_id},
        )
    plan.async_set(
        target_kwh=energy or 0.0,
        target_soc=soc or 0.0,
        ready_time=ready_by,
        continuous=call.data.get(ATTR_CONTINUOUS),
        restart=True,
    )
    # The plan is made by the energy step; run it now for the response.
    manager = entry.runtime_data.energy
    group = group_of(call.hass, entry.entry_id)
    if group is not None and group.state is ConfigEntryState.LOADED:
        manager = group.runtime_data.manager
    if manager is not None:
        await manager.async_step_now()
    return plan.as_response()


async def _clear_plan(call: ServiceCall) -> None:
    entry = _entry(call)
    entry.runtime_data.plan.async_set(target_kwh=0.0, restart=True)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, in ``async_setup``)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_SESSION_LIMIT,
        _set_session_limit,
        schema=SESSION_LIMIT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_PLAN,
        _set_plan,
        schema=PLAN_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    for name, handler, schema in (
        (SERVICE_CLEAR_SESSION_LIMIT, _clear_session_limit, CHARGER_SCHEMA),
        (SERVICE_SET_TIMER, _set_timer, TIMER_SCHEMA),
        (SERVICE_CLEAR_TIMER, _clear_timer, CHARGER_SCHEMA),
        (SERVICE_SET_MAX_CURRENT, _set_max_current, MAX_CURRENT_SCHEMA),
        (SERVICE_CLEAR_PLAN, _clear_plan, CHARGER_SCHEMA),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema=schema)
