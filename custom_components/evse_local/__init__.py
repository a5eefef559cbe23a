"""EVSE Local: home EV chargers on the local network, no cloud."""

from __future__ import annotations

import ssl

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_MAX_CURRENT,
    CONF_PROTOCOL,
    DEFAULT_OCPP_MAX_CURRENT,
    DOMAIN,
    PROTOCOL_OCPP,
)
from .coordinator import (
    EvseConfigEntry,
    EvseCoordinator,
    EvseRuntimeData,
    charger_store,
    limit_store,
)
from .helpers import async_connect
from .ocpp_server import async_acquire_server, async_release_server
from .protocols.charger import Charger
from .protocols.errors import EvseAuthenticationError, EvseError, EvsePortInUseError
from .protocols.models import Capability
from .protocols.ocpp import OcppCharger
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
    """Connect to the charger (or wait for it to connect), then add its entities."""
    if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
        charger: Charger = await _async_accept_ocpp_charger(hass, entry)
    else:
        charger = await _async_connect_network_charger(hass, entry)
    coordinator = EvseCoordinator(hass, entry, charger)
    await coordinator.async_restore_limits()
    if charger.push_only:
        await coordinator.async_restore_charger()
        coordinator.async_start_disconnected()
    else:
        try:
            await coordinator.async_config_entry_first_refresh()
        except Exception:
            # Setup will be retried with a new connection: release this one
            # (a Modbus charger holds an open TCP connection).
            await charger.close()
            raise
    entry.runtime_data = EvseRuntimeData(charger=charger, coordinator=coordinator)

    if charger.push_only or Capability.PUSH in coordinator.data.capabilities:
        entry.async_create_background_task(
            hass, coordinator.async_run_push(), f"{DOMAIN} push {entry.title}"
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_connect_network_charger(
    hass: HomeAssistant, entry: EvseConfigEntry
) -> Charger:
    """Reach a charger we talk to: HTTP (OpenEVSE, GoPlug) or Modbus (go-e)."""
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
    return charger


async def _async_accept_ocpp_charger(
    hass: HomeAssistant, entry: EvseConfigEntry
) -> Charger:
    """Let this OCPP charger in on the shared central system."""
    try:
        server = await async_acquire_server(hass, entry.entry_id, entry.data)
    except EvsePortInUseError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ocpp_port_in_use",
            translation_placeholders={"port": str(entry.data[CONF_PORT])},
        ) from err
    except (OSError, ssl.SSLError) as err:
        # Certificate or key file missing or unreadable: retrying will not help.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="ocpp_certificate",
            translation_placeholders={"error": str(err)},
        ) from err
    station = server.add_station(
        entry.data[CONF_CHARGE_POINT_ID], password=entry.data.get(CONF_PASSWORD)
    )
    return OcppCharger(
        station,
        max_current=int(entry.data.get(CONF_MAX_CURRENT, DEFAULT_OCPP_MAX_CURRENT)),
    )


async def async_unload_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
    """Unload the platforms; background tasks end with the entry."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.coordinator.async_save_charger()
        await entry.runtime_data.charger.close()
        if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
            await async_release_server(hass, entry.entry_id, entry.data)
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
    """Forget what was stored for a charger that is removed."""
    await limit_store(hass, entry.entry_id).async_remove()
    await charger_store(hass, entry.entry_id).async_remove()
