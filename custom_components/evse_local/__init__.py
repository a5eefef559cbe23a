"""EVSE Local: home EV chargers on the local network, no cloud."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import (
    EvseConfigEntry,
    EvseCoordinator,
    EvseRuntimeData,
    limit_store,
)
from .helpers import async_connect
from .protocols.errors import EvseAuthenticationError, EvseError
from .protocols.models import Capability
from .services import async_setup_services

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, for every charger."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
    """Connect to the charger, read it once, and set up its entities."""
    try:
        charger = await async_connect(hass, entry.data)
    except EvseAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="authentication_failed"
        ) from err
    except EvseError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"host": entry.data[CONF_HOST], "error": str(err)},
        ) from err
    if entry.unique_id is not None and charger.info.serial != entry.unique_id:
        # Another charger now answers at this address: never mix their data.
        await charger.close()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="wrong_device",
            translation_placeholders={"host": entry.data[CONF_HOST]},
        )
    coordinator = EvseCoordinator(hass, entry, charger)
    await coordinator.async_restore_limits()
    try:
        await coordinator.async_config_entry_first_refresh()
    except Exception:
        # Setup will be retried with a new connection: release this one
        # (a Modbus charger holds an open TCP connection).
        await charger.close()
        raise
    entry.runtime_data = EvseRuntimeData(charger=charger, coordinator=coordinator)

    if Capability.PUSH in coordinator.data.capabilities:
        entry.async_create_background_task(
            hass, coordinator.async_run_push(), f"{DOMAIN} push {entry.title}"
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
    """Unload the platforms; background tasks end with the entry."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.charger.close()
    return unloaded


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EvseConfigEntry, device_entry: dr.AnyDeviceEntry
) -> bool:
    """Let the user remove a device unless it is the charger this entry serves.

    The live device is identified like in ``EvseEntity``: by the charger's
    serial, or by the entry id for firmware that reports no identity. An entry
    with a unique id always serves that serial (setup refuses any other).
    """
    if entry.unique_id is not None:
        identifier = entry.unique_id
    elif entry.state is ConfigEntryState.LOADED:
        identifier = entry.runtime_data.charger.info.serial or entry.entry_id
    else:
        # Not connected and no stored identity: which device is live is unknown.
        return False
    return (DOMAIN, identifier) not in device_entry.identifiers


async def async_remove_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> None:
    """Forget a session limit stored for a charger that is removed."""
    await limit_store(hass, entry.entry_id).async_remove()
