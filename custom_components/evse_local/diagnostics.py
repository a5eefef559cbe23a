"""Diagnostics: the entry (secrets redacted), the device, its last snapshot and sessions."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .protocols.errors import EvseError
from .protocols.ocpp import OcppCharger
from .protocols.ocpp.station import is_secret
from .runtime import EvseConfigEntry, GroupConfigEntry, is_group

# The host name embeds the serial or MAC on every supported charger; an OCPP
# charge point id usually is the serial; a card's id tag opens the charger.
TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    "serial",
    "mac",
    "hostname",
    "charge_point_id",
    "id_tag",
    "id_tag_name",
    "parent_id_tag",
    "refused_id_tag",
    "name",
}
REDACTED = "**REDACTED**"


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvseConfigEntry | GroupConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug a charger or a group, without secrets."""
    if is_group(entry):
        manager = entry.runtime_data.manager
        return {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            "controller_state": manager.controller.export_state(),
            "last_step": None if manager.result is None else asdict(manager.result),
        }
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    snapshot = asdict(coordinator.data)
    snapshot["capabilities"] = sorted(snapshot["capabilities"])
    diagnostics: dict[str, Any] = {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "device": async_redact_data(asdict(runtime.charger.info), TO_REDACT),
        "push_connected": coordinator.push_connected,
        "last_update_success": coordinator.last_update_success,
        "requests_sent": runtime.charger.requests,
        "snapshot": async_redact_data(snapshot, TO_REDACT),
        # An RFID card number opens the charger: never in a bug report.
        "sessions": async_redact_data(runtime.ledger.diagnostics(), {"id_tag"}),
    }
    if isinstance(runtime.charger, OcppCharger):
        diagnostics["ocpp"] = await _async_ocpp(runtime.charger)
    return diagnostics


async def _async_ocpp(charger: OcppCharger) -> dict[str, Any]:
    """Return the charger's configuration keys (read now when it is connected)."""
    station = charger.station
    schedule: dict[str, Any] | None = None
    if station.connected:
        try:
            await station.get_configuration()
        except EvseError as err:
            configuration_error: str | None = str(err)
        else:
            configuration_error = None
        # What the charger will really offer (its own view of our profiles).
        with contextlib.suppress(EvseError):
            schedule = await station.get_composite_schedule()
    else:
        configuration_error = "not connected: the keys read at its last connection"
    return {
        "configuration": {
            key: {
                "value": REDACTED if is_secret(key) else held.value,
                "readonly": held.readonly,
            }
            for key, held in sorted(station.configuration.items())
        },
        "configuration_error": configuration_error,
        "composite_schedule": schedule,
        "id_tags": len(station.authorization.tags),
        "free_charging": station.authorization.free_charging,
        "local_list": station.local_list_status.value,
        "local_list_capacity": station.local_list_capacity,
        "heartbeat_interval": station.heartbeat_interval,
        "profiles_refused": station.profiles_refused,
    }
