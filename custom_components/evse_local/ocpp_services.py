"""Actions of OCPP chargers: cards, reservations, firmware, configuration.

Registered once with the other actions; each names its charger by config
entry. Cards are kept in the entry's options (the options flow edits the
same list); every other action is a command to the connected charger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import probatio
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import CONF_FREE_CHARGING, DOMAIN
from .helpers import translate_error
from .id_tags import (
    IdTagError,
    as_utc,
    async_apply,
    authorization_from_options,
    describe,
    loaded_station,
    new_id_tag,
    options_with,
    without_id_tags,
)
from .protocols.errors import (
    EvseCommandRejectedError,
    EvseError,
    EvseWriteNotAppliedError,
)
from .protocols.models import Capability
from .protocols.ocpp.authorization import LocalListStatus
from .protocols.ocpp.station import HEARTBEAT_RANGE, OcppStation, is_secret
from .runtime import EvseConfigEntry
from .services import CHARGER_SCHEMA, _entry, _run

ATTR_ID_TAG = "id_tag"
ATTR_NAME = "name"
ATTR_EXPIRY = "expiry"
ATTR_PARENT_ID_TAG = "parent_id_tag"
ATTR_UNTIL = "until"
ATTR_DURATION = "duration"
ATTR_RESERVATION_ID = "reservation_id"
ATTR_URL = "url"
ATTR_RETRIEVE_AT = "retrieve_at"
ATTR_START = "start"
ATTR_STOP = "stop"
ATTR_KEYS = "keys"
ATTR_KEY = "key"
ATTR_VALUE = "value"

SERVICE_ADD_ID_TAG = "add_id_tag"
SERVICE_REMOVE_ID_TAG = "remove_id_tag"
SERVICE_LIST_ID_TAGS = "list_id_tags"
SERVICE_RESERVE_NOW = "reserve_now"
SERVICE_CANCEL_RESERVATION = "cancel_reservation"
SERVICE_UPDATE_FIRMWARE = "update_firmware"
SERVICE_GET_DIAGNOSTICS = "get_diagnostics"
SERVICE_GET_CONFIGURATION = "get_ocpp_configuration"
SERVICE_SET_CONFIGURATION = "set_ocpp_configuration"

REDACTED = "**REDACTED**"
# Keys the integration sets itself: changing them here would be undone at
# the charger's next connection.
_MANAGED_KEYS = {
    "MeterValueSampleInterval": "configuration_meter_interval",
    "MeterValuesSampledData": "configuration_measurands",
}
# ReserveNow refusals, each with its own message.
_RESERVATION_REFUSALS = {
    "Occupied": "reservation_occupied",
    "Faulted": "reservation_faulted",
    "Unavailable": "reservation_unavailable",
    "Rejected": "reservation_rejected",
}
_CONFIGURATION_REFUSALS = {
    "NotSupported": "configuration_unknown_key",
    "Rejected": "configuration_rejected",
}

ID_TAG_SCHEMA = CHARGER_SCHEMA.extend(
    {probatio.Required(ATTR_ID_TAG): probatio.All(cv.string, probatio.Length(max=64))}
)
ADD_ID_TAG_SCHEMA = ID_TAG_SCHEMA.extend(
    {
        probatio.Optional(ATTR_NAME): probatio.All(cv.string, probatio.Length(max=100)),
        probatio.Optional(ATTR_EXPIRY): cv.datetime,
        probatio.Optional(ATTR_PARENT_ID_TAG): probatio.All(
            cv.string, probatio.Length(max=64)
        ),
    }
)
RESERVE_SCHEMA = ID_TAG_SCHEMA.extend(
    {
        probatio.Exclusive(ATTR_UNTIL, "end"): cv.datetime,
        probatio.Exclusive(ATTR_DURATION, "end"): probatio.All(
            cv.time_period, cv.positive_timedelta
        ),
    }
)
CANCEL_SCHEMA = CHARGER_SCHEMA.extend(
    {probatio.Optional(ATTR_RESERVATION_ID): cv.positive_int}
)
FIRMWARE_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Required(ATTR_URL): cv.string,
        probatio.Optional(ATTR_RETRIEVE_AT): cv.datetime,
    }
)
DIAGNOSTICS_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Required(ATTR_URL): cv.string,
        probatio.Optional(ATTR_START): cv.datetime,
        probatio.Optional(ATTR_STOP): cv.datetime,
    }
)
GET_CONFIGURATION_SCHEMA = CHARGER_SCHEMA.extend(
    {probatio.Optional(ATTR_KEYS): probatio.All(cv.ensure_list, [cv.string])}
)
SET_CONFIGURATION_SCHEMA = CHARGER_SCHEMA.extend(
    {
        probatio.Required(ATTR_KEY): probatio.All(cv.string, probatio.Length(max=50)),
        probatio.Required(ATTR_VALUE): probatio.All(
            cv.string, probatio.Length(max=500)
        ),
    }
)


def _ocpp(
    call: ServiceCall, capability: Capability
) -> tuple[EvseConfigEntry, OcppStation]:
    """Return the entry and station of an OCPP charger, connected or not.

    Cards can be listed before the charger ever connected.
    """
    entry = _entry(call)
    station = loaded_station(entry)
    if station is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_supported",
            translation_placeholders={"charger": entry.title, "error": capability},
        )
    return entry, station


def _invalid(err: IdTagError) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.key,
        translation_placeholders=err.placeholders,
    )


async def _command[T](
    entry: EvseConfigEntry,
    command: Callable[[], Awaitable[T]],
    refusals: Mapping[str, str],
) -> T:
    """Run a command; a refusal with a message of its own gets that message."""
    try:
        result = await command()
    except EvseWriteNotAppliedError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="configuration_not_applied",
            translation_placeholders={"charger": entry.title, "error": err.reply},
        ) from err
    except EvseCommandRejectedError as err:
        if (key := refusals.get(err.reply.rsplit(": ", 1)[-1])) is not None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={"charger": entry.title, "error": err.reply},
            ) from err
        raise translate_error(err, entry.title) from err
    except EvseError as err:
        raise translate_error(err, entry.title) from err
    await entry.runtime_data.coordinator.async_refresh_after_command()
    return result


def _url(text: str) -> str:
    url = text.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https", "ftp", "ftps") or not parsed.netloc:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_url",
            translation_placeholders={"url": url},
        )
    return url


# --- cards ---------------------------------------------------------------


async def _save_cards(
    call: ServiceCall, entry: EvseConfigEntry, options: dict[str, Any]
) -> dict[str, Any]:
    """Keep the new list (nothing is lost if the charger refuses its copy)."""
    call.hass.config_entries.async_update_entry(entry, options=options)
    status = await async_apply(call.hass, entry, options)
    return {"local_list": (status or LocalListStatus.PENDING).value}


async def _add_id_tag(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.ID_TAGS)
    expiry: datetime | None = call.data.get(ATTR_EXPIRY)
    try:
        authorization = new_id_tag(
            authorization_from_options(entry.options),
            id_tag=call.data[ATTR_ID_TAG],
            name=call.data.get(ATTR_NAME),
            expiry=expiry,
            parent=call.data.get(ATTR_PARENT_ID_TAG),
            capacity=station.local_list_capacity,
        )
    except IdTagError as err:
        raise _invalid(err) from err
    added = authorization.tags[-1]
    result = await _save_cards(call, entry, options_with(entry.options, authorization))
    return {"id_tag": added.id_tag, "name": added.name, **result}


async def _remove_id_tag(call: ServiceCall) -> ServiceResponse:
    entry, _ = _ocpp(call, Capability.ID_TAGS)
    try:
        authorization = without_id_tags(
            authorization_from_options(entry.options), [call.data[ATTR_ID_TAG]]
        )
    except IdTagError as err:
        raise _invalid(err) from err
    return await _save_cards(call, entry, options_with(entry.options, authorization))


async def _list_id_tags(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.ID_TAGS)
    authorization = authorization_from_options(entry.options)
    tags: list[Any] = describe(authorization)
    return {
        "id_tags": tags,
        "free_charging": entry.options.get(CONF_FREE_CHARGING) is True,
        "local_list": station.local_list_status.value,
        "local_list_capacity": station.local_list_capacity,
        "last_refused": station.snapshot.refused_id_tag,
    }


# --- reservations ----------------------------------------------------------


async def _reserve_now(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.RESERVATION)
    until: datetime | None = call.data.get(ATTR_UNTIL)
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    if until is None and duration is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="reservation_end_missing"
        )
    expiry = as_utc(until) if until is not None else dt_util.utcnow() + duration  # type: ignore[operator]
    if expiry <= dt_util.utcnow():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="expiry_in_past",
            translation_placeholders={"expiry": expiry.isoformat()},
        )
    id_tag = str(call.data[ATTR_ID_TAG]).strip()
    known = authorization_from_options(entry.options).find(id_tag)
    reservation = await _command(
        entry,
        lambda: station.reserve(
            id_tag, expiry, parent_id_tag=known.parent if known else None
        ),
        _RESERVATION_REFUSALS,
    )
    return {
        "reservation_id": reservation.reservation_id,
        "id_tag": reservation.id_tag,
        "expiry": reservation.expiry.isoformat(),
    }


async def _cancel_reservation(call: ServiceCall) -> None:
    entry, station = _ocpp(call, Capability.RESERVATION)
    reservation_id: int | None = call.data.get(ATTR_RESERVATION_ID)
    if reservation_id is None and station.reservation is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_reservation",
            translation_placeholders={"charger": entry.title},
        )
    await _command(
        entry,
        lambda: station.cancel_reservation(reservation_id),
        {"Rejected": "reservation_not_cancelled"},
    )


# --- firmware and diagnostics ---------------------------------------------


async def _update_firmware(call: ServiceCall) -> None:
    entry, station = _ocpp(call, Capability.FIRMWARE)
    url = _url(call.data[ATTR_URL])
    retrieve_at: datetime | None = call.data.get(ATTR_RETRIEVE_AT)
    await _run(
        entry,
        lambda: station.update_firmware(
            url, retrieve_date=as_utc(retrieve_at) if retrieve_at else None
        ),
    )


async def _get_diagnostics(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.FIRMWARE)
    url = _url(call.data[ATTR_URL])
    start: datetime | None = call.data.get(ATTR_START)
    stop: datetime | None = call.data.get(ATTR_STOP)
    file_name = await _run(
        entry,
        lambda: station.get_diagnostics(
            url,
            start=as_utc(start) if start else None,
            stop=as_utc(stop) if stop else None,
        ),
    )
    return {"file_name": file_name}


# --- configuration ----------------------------------------------------------


async def _get_configuration(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.CONFIGURATION)
    keys: list[str] | None = call.data.get(ATTR_KEYS) or None
    known, unknown = await _run(entry, lambda: station.get_configuration(keys))
    unknown_keys: list[Any] = unknown
    return {
        "configuration": {
            key: {
                "value": REDACTED if is_secret(key) else held.value,
                "readonly": held.readonly,
            }
            for key, held in known.items()
        },
        "unknown_keys": unknown_keys,
    }


async def _set_configuration(call: ServiceCall) -> ServiceResponse:
    entry, station = _ocpp(call, Capability.CONFIGURATION)
    key = str(call.data[ATTR_KEY]).strip()
    value = str(call.data[ATTR_VALUE]).strip()
    placeholders = {"charger": entry.title, "key": key}
    if (managed := _MANAGED_KEYS.get(key)) is not None or is_secret(key):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=managed or "configuration_secret",
            translation_placeholders=placeholders,
        )
    if key == "HeartbeatInterval" and not (
        value.isdigit() and HEARTBEAT_RANGE[0] <= int(value) <= HEARTBEAT_RANGE[1]
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="heartbeat_out_of_range",
            translation_placeholders={
                "value": value,
                "minimum": str(HEARTBEAT_RANGE[0]),
                "maximum": str(HEARTBEAT_RANGE[1]),
            },
        )
    status = await _command(
        entry,
        lambda: station.change_configuration(key, value),
        _CONFIGURATION_REFUSALS,
    )
    if key == "LocalAuthListEnabled":
        # Switched on: the charger takes the owner's cards now.
        await station.sync_local_list()
    return {"key": key, "value": value, "status": status}


@callback
def async_setup_ocpp_services(hass: HomeAssistant) -> None:
    """Register the OCPP actions (once, with the others)."""
    for name, handler, schema, response in (
        (SERVICE_ADD_ID_TAG, _add_id_tag, ADD_ID_TAG_SCHEMA, SupportsResponse.OPTIONAL),
        (
            SERVICE_REMOVE_ID_TAG,
            _remove_id_tag,
            ID_TAG_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
        (SERVICE_LIST_ID_TAGS, _list_id_tags, CHARGER_SCHEMA, SupportsResponse.ONLY),
        (SERVICE_RESERVE_NOW, _reserve_now, RESERVE_SCHEMA, SupportsResponse.OPTIONAL),
        (
            SERVICE_CANCEL_RESERVATION,
            _cancel_reservation,
            CANCEL_SCHEMA,
            SupportsResponse.NONE,
        ),
        (
            SERVICE_UPDATE_FIRMWARE,
            _update_firmware,
            FIRMWARE_SCHEMA,
            SupportsResponse.NONE,
        ),
        (
            SERVICE_GET_DIAGNOSTICS,
            _get_diagnostics,
            DIAGNOSTICS_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
        (
            SERVICE_GET_CONFIGURATION,
            _get_configuration,
            GET_CONFIGURATION_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_SET_CONFIGURATION,
            _set_configuration,
            SET_CONFIGURATION_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
    ):
        hass.services.async_register(
            DOMAIN,
            name,
            handler,
            schema=schema,
            supports_response=response,
        )
