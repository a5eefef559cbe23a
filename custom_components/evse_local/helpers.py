"""One decorator turning protocol errors of an action into translated errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Concatenate

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_PROTOCOL,
    CONF_UNIT_ID,
    DEFAULT_MODBUS_PORT,
    DEFAULT_UNIT_ID,
    DOMAIN,
    PROTOCOL_MODBUS,
)
from .entity import EvseEntity
from .protocols.charger import Charger
from .protocols.detect import connect_charger
from .protocols.errors import (
    EvseAuthenticationError,
    EvseCommandBlockedError,
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseError,
    EvseUnsupportedError,
    EvseVehicleRequiredError,
    EvseWriteNotAppliedError,
)
from .protocols.goe_modbus.charger import connect_goe


async def async_connect(hass: HomeAssistant, data: Mapping[str, Any]) -> Charger:
    """Connect to the charger an entry (or a flow's input) describes."""
    if data.get(CONF_PROTOCOL) == PROTOCOL_MODBUS:
        return await connect_goe(
            data[CONF_HOST],
            port=data.get(CONF_PORT, DEFAULT_MODBUS_PORT),
            unit_id=data.get(CONF_UNIT_ID, DEFAULT_UNIT_ID),
        )
    return await connect_charger(
        async_get_clientsession(hass),
        data[CONF_HOST],
        username=data.get(CONF_USERNAME),
        password=data.get(CONF_PASSWORD),
    )


# Command failures only the user can fix (a firmware update): repair issues.
REPAIRS: dict[type[EvseError], str] = {
    EvseCommandBlockedError: "firmware_blocks_command",
    EvseWriteNotAppliedError: "writes_not_applied",
}


@callback
def async_track_command_outcome(
    hass: HomeAssistant, entry: ConfigEntry, err: EvseError | None = None
) -> None:
    """Open a repair issue for a failure the user must fix; close it on success."""
    for error_class, key in REPAIRS.items():
        issue_id = f"{key}_{entry.entry_id}"
        if isinstance(err, error_class):
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=key,
                translation_placeholders={"charger": entry.title, "error": str(err)},
            )
        else:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def translate_error(err: EvseError, charger: str) -> HomeAssistantError:
    """Return the Home Assistant error a user should see for ``err``."""
    placeholders = {"charger": charger, "error": str(err)}
    if isinstance(err, EvseVehicleRequiredError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="vehicle_required",
            translation_placeholders=placeholders,
        )
    key = "command_failed"
    if isinstance(err, EvseAuthenticationError):
        key = "authentication_failed"
    elif isinstance(err, EvseCommandBlockedError):
        key = "command_blocked"
    elif isinstance(err, EvseCommandRejectedError):
        key = "command_rejected"
    elif isinstance(err, EvseConnectionError):
        key = "communication_error"
    elif isinstance(err, EvseUnsupportedError):
        key = "not_supported"
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def evse_command[EntityT: EvseEntity, **P](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, Any]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Run a charger command from an entity, then show the confirmed state.

    Protocol errors become translated Home Assistant errors; on success the
    coordinator refreshes at once so the entity shows what the charger
    reports, not what we asked for.
    """

    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        coordinator = self.coordinator
        try:
            await func(self, *args, **kwargs)
        except ValueError as err:
            # The protocol refused the value before sending anything.
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_value",
                translation_placeholders={"error": str(err)},
            ) from err
        except EvseError as err:
            if isinstance(err, EvseAuthenticationError):
                coordinator.config_entry.async_start_reauth(self.hass)
            async_track_command_outcome(self.hass, coordinator.config_entry, err)
            raise translate_error(err, coordinator.config_entry.title) from err
        async_track_command_outcome(self.hass, coordinator.config_entry)
        await coordinator.async_refresh_after_command()

    return handler
