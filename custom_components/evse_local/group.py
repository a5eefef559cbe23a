"""Charging groups: the second kind of config entry, and who belongs where.

Plain helpers on config entries; the typed runtime data lives in
``runtime.py`` (which knows the energy manager; nothing here does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import CONF_GRID_POWER, CONF_KIND, CONF_MEMBERS, DOMAIN, KIND_GROUP


def is_group_entry(entry: ConfigEntry[Any]) -> bool:
    """Whether an entry is a charging group (chargers have no ``kind``)."""
    return bool(entry.data.get(CONF_KIND) == KIND_GROUP)


def charger_entries(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """Every charger entry of this integration, loaded or not."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if not is_group_entry(entry)
    ]


def group_entries(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """Every charging group entry."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if is_group_entry(entry)
    ]


def group_of(hass: HomeAssistant, charger_entry_id: str) -> ConfigEntry[Any] | None:
    """Return the group a charger belongs to (a charger is in at most one)."""
    # Asked with every reading of every charger (the ledger's solar share):
    # one pass over the entries, no list of groups built first.
    # A disabled group controls nothing: its chargers are their own.
    for entry in hass.config_entries.async_entries(DOMAIN):
        if (
            entry.data.get(CONF_KIND) == KIND_GROUP
            and entry.disabled_by is None
            and charger_entry_id in (entry.options.get(CONF_MEMBERS, ()))
        ):
            return entry
    return None


def has_solar_inputs(options: Mapping[str, Any]) -> bool:
    """Solar charging needs a grid power sensor; the rest is optional."""
    return bool(options.get(CONF_GRID_POWER))
