"""Diagnostics: the entry (secrets redacted), the device, its last snapshot and sessions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .runtime import EvseConfigEntry, GroupConfigEntry, is_group

# The host name embeds the serial or MAC on every supported charger; an OCPP
# charge point id usually is the serial.
TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    "serial",
    "mac",
    "hostname",
    "charge_point_id",
}


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
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "device": async_redact_data(asdict(runtime.charger.info), TO_REDACT),
        "push_connected": coordinator.push_connected,
        "last_update_success": coordinator.last_update_success,
        "requests_sent": runtime.charger.requests,
        "snapshot": snapshot,
        # An RFID card number opens the charger: never in a bug report.
        "sessions": async_redact_data(runtime.ledger.diagnostics(), {"id_tag"}),
    }
