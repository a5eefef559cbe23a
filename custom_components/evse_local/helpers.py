"""One decorator turning protocol errors of an action into translated errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .entity import EvseEntity
from .protocols.errors import (
    EvseAuthenticationError,
    EvseCommandBlockedError,
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseError,
    EvseUnsupportedError,
    EvseVehicleRequiredError,
)


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
        except EvseError as err:
            if isinstance(err, EvseAuthenticationError):
                coordinator.config_entry.async_start_reauth(self.hass)
            raise translate_error(err, coordinator.config_entry.title) from err
        await coordinator.async_refresh_after_command()

    return handler
