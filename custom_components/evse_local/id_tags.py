"""The owner's RFID cards (OCPP id tags): kept in the entry's options.

The options flow and the actions change the list through the same checks
here; the station answers Authorize/StartTransaction from it and keeps the
charger's local list in step. Set-ups from before cards were managed keep
answering every card (free charging) and get a repair issue suggesting the
list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import (
    CONF_FREE_CHARGING,
    CONF_ID_TAGS,
    CONF_PROTOCOL,
    DOMAIN,
    PROTOCOL_OCPP,
)
from .protocols.ocpp import OcppCharger
from .protocols.ocpp.authorization import (
    Authorization,
    IdTag,
    LocalListStatus,
    tag_key,
    valid_id_tag,
)
from .protocols.ocpp.station import OcppStation

# Local list states the owner can do something about.
_LIST_ISSUES = {
    LocalListStatus.FAILED: "ocpp_local_list_failed",
    LocalListStatus.TOO_LONG: "ocpp_local_list_too_long",
    LocalListStatus.DISABLED: "ocpp_local_list_disabled",
}


class IdTagError(ValueError):
    """A card that cannot be added or removed; ``key`` is the translation key."""

    def __init__(self, key: str, **placeholders: str) -> None:
        """Remember the translation key and its placeholders."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders


def authorization_from_options(options: Mapping[str, Any]) -> Authorization:
    """Return the cards an entry's options hold (free charging off when unset)."""
    return Authorization.from_json(
        options.get(CONF_ID_TAGS, ()),
        free_charging=options.get(CONF_FREE_CHARGING) is True,
    )


def options_with(
    options: Mapping[str, Any], authorization: Authorization
) -> dict[str, Any]:
    """Return the entry's options holding ``authorization``."""
    return {
        **options,
        CONF_ID_TAGS: [tag.to_json() for tag in authorization.tags],
        CONF_FREE_CHARGING: authorization.free_charging,
    }


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; without a time zone it is the local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(moment)


def new_id_tag(
    authorization: Authorization,
    *,
    id_tag: str,
    name: str | None,
    expiry: datetime | None,
    parent: str | None,
    capacity: int | None,
) -> Authorization:
    """Add a card after checking it; raises :class:`IdTagError`."""
    id_tag = id_tag.strip()
    if not valid_id_tag(id_tag):
        raise IdTagError("invalid_id_tag", id_tag=id_tag)
    if authorization.find(id_tag) is not None:
        raise IdTagError("id_tag_exists", id_tag=id_tag)
    parent = (parent or "").strip() or None
    if parent is not None and not valid_id_tag(parent):
        raise IdTagError("invalid_id_tag", id_tag=parent)
    if expiry is not None:
        expiry = as_utc(expiry)
        if expiry <= dt_util.utcnow():
            raise IdTagError("expiry_in_past", expiry=expiry.isoformat())
    if capacity is not None and len(authorization.tags) >= capacity:
        # The charger could not hold it offline: refused rather than half-kept.
        raise IdTagError("local_list_full", capacity=str(capacity))
    tag = IdTag(
        id_tag=id_tag, name=(name or "").strip() or id_tag, expiry=expiry, parent=parent
    )
    return Authorization(
        (*authorization.tags, tag), free_charging=authorization.free_charging
    )


def without_id_tags(authorization: Authorization, id_tags: list[str]) -> Authorization:
    """Remove cards; raises :class:`IdTagError` for one that is not listed."""
    keys = set()
    for id_tag in id_tags:
        if authorization.find(id_tag) is None:
            raise IdTagError("id_tag_unknown", id_tag=id_tag)
        keys.add(tag_key(id_tag))
    return Authorization(
        tuple(tag for tag in authorization.tags if tag_key(tag.id_tag) not in keys),
        free_charging=authorization.free_charging,
    )


def loaded_station(entry: ConfigEntry[Any]) -> OcppStation | None:
    """Return the station of a loaded OCPP entry."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    charger = entry.runtime_data.charger
    return charger.station if isinstance(charger, OcppCharger) else None


async def async_apply(
    hass: HomeAssistant, entry: ConfigEntry[Any], options: Mapping[str, Any]
) -> LocalListStatus | None:
    """Answer cards from ``options`` now and send the list to the charger.

    Returns where the charger's list stands (None: the entry is not loaded;
    it takes the list when it loads).
    """
    if options.get(CONF_FREE_CHARGING) is not True:
        ir.async_delete_issue(hass, DOMAIN, free_charging_issue_id(entry.entry_id))
    station = loaded_station(entry)
    if station is None:
        return None
    station.set_authorization(authorization_from_options(options))
    return await station.sync_local_list()


def free_charging_issue_id(entry_id: str) -> str:
    """Return the repair issue suggesting a card list to a set-up accepting any."""
    return f"ocpp_free_charging_{entry_id}"


def local_list_issue_id(entry_id: str) -> str:
    """Return the repair issue raised while the charger's list is not in step."""
    return f"ocpp_local_list_{entry_id}"


@callback
def async_migrate_free_charging(
    hass: HomeAssistant, entry: ConfigEntry[Any]
) -> dict[str, Any]:
    """Options of an entry from before card lists: every card still charges.

    An OCPP charger set up before answered every card Accepted; that stays
    until the owner lists cards, and a repair issue says why it should.
    """
    options = dict(entry.options)
    if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
        options[CONF_FREE_CHARGING] = True
        ir.async_create_issue(
            hass,
            DOMAIN,
            free_charging_issue_id(entry.entry_id),
            is_fixable=False,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="ocpp_free_charging",
            translation_placeholders={"charger": entry.title},
        )
    return options


@callback
def async_track_local_list(
    hass: HomeAssistant, entry: ConfigEntry[Any], status: LocalListStatus
) -> None:
    """Open a repair issue while the charger's card list cannot follow."""
    issue_id = local_list_issue_id(entry.entry_id)
    if (key := _LIST_ISSUES.get(status)) is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=key,
        translation_placeholders={"charger": entry.title},
    )


def describe(authorization: Authorization) -> list[dict[str, Any]]:
    """Return the cards as an action's response lists them."""
    now = dt_util.utcnow()
    return [
        {
            "id_tag": tag.id_tag,
            "name": tag.name,
            "expiry": tag.expiry.isoformat() if tag.expiry else None,
            "parent_id_tag": tag.parent,
            "status": tag.status(now).value.lower(),
        }
        for tag in authorization.tags
    ]
