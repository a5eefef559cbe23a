"""EVSE Local: home EV chargers on the local network, no cloud."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_RESTORED,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_GROUP_ID,
    CONF_MAX_CURRENT,
    CONF_MEMBERS,
    CONF_METER_INTERVAL,
    CONF_PROTOCOL,
    DEFAULT_OCPP_MAX_CURRENT,
    DOMAIN,
    LOGGER,
    OCPP_METER_INTERVAL,
    PROTOCOL_OCPP,
)
from .coordinator import (
    EvseCoordinator,
    charger_store,
    controls_store,
    limit_store,
)
from .energy_manager import EnergyManager, energy_store
from .group import group_of
from .helpers import async_connect
from .id_tags import async_migrate_free_charging, authorization_from_options
from .ledger import SessionLedger, ledger_store, recorder_store, statistic_ids
from .ocpp_server import (
    TlsMismatchError,
    async_acquire_server,
    async_release_server,
    tls_issue_id,
)
from .ocpp_services import async_setup_ocpp_services
from .plan import PlanRunner, plan_store
from .protocols.charger import Charger
from .protocols.errors import EvseAuthenticationError, EvseError, EvsePortInUseError
from .protocols.models import Capability
from .protocols.ocpp import OcppCharger
from .runtime import (
    EvseConfigEntry,
    EvseRuntimeData,
    GroupConfigEntry,
    GroupRuntimeData,
    is_group,
)
from .services import async_setup_services

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]
# Removing a charger waits this long to release what it holds of ours.
REMOVE_TIMEOUT = 10.0
# A charging group is a virtual device with settings and results only.
GROUP_PLATFORMS = [Platform.NUMBER, Platform.SELECT, Platform.SENSOR]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, for every charger."""
    async_setup_services(hass)
    async_setup_ocpp_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
    """Bring an entry from an older version to this one."""
    if entry.version > 1:
        return False  # from a newer release: cannot be read
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(
            entry, options=async_migrate_free_charging(hass, entry), minor_version=2
        )
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: EvseConfigEntry | GroupConfigEntry
) -> bool:
    """Set up a charger, or a charging group."""
    if is_group(entry):
        return await _async_setup_group(hass, entry)
    return await _async_setup_charger(hass, entry)


async def _async_setup_group(hass: HomeAssistant, entry: GroupConfigEntry) -> bool:
    """Start the group's controller; members may load before or after it."""
    member_ids = list(entry.options.get(CONF_MEMBERS, ()))
    manager = EnergyManager(hass, entry, member_ids)
    entry.runtime_data = GroupRuntimeData(manager=manager)
    await hass.config_entries.async_forward_entry_setups(entry, GROUP_PLATFORMS)
    _async_remove_stale_group_entities(hass, entry)
    # Before the group's first step: a member being reloaded counts as
    # offline (at its maximum), which would squeeze the others for a while.
    for charger_id in _chargers_to_hand_over(hass):
        await hass.config_entries.async_reload(charger_id)
    await manager.async_start()
    return True


@callback
def _chargers_to_hand_over(
    hass: HomeAssistant, *, leaving: str | None = None
) -> list[str]:
    """Return the loaded chargers whose own energy manager is wrong now.

    A charger in a group has none (the group's controls it, and its own
    charging mode and solar entities go); a charger that left one (the
    group's members changed, or the group ``leaving`` is being removed)
    gets its own back. A reload puts it right.
    """
    result = []
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if is_group(entry):
            continue
        group = group_of(hass, entry.entry_id)
        in_group = group is not None and group.entry_id != leaving
        if in_group == (entry.runtime_data.energy is not None):
            result.append(entry.entry_id)
    return result


@callback
def _async_remove_stale_group_entities(
    hass: HomeAssistant, entry: GroupConfigEntry
) -> None:
    """Forget entities of members (or solar inputs) the group no longer has.

    Every enabled entity the group still has was just added; the others have
    no state, or one restored from the registry.
    """
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.disabled_by is not None:
            continue
        state = hass.states.get(registered.entity_id)
        if state is None or state.attributes.get(ATTR_RESTORED):
            registry.async_remove(registered.entity_id)


async def _async_setup_charger(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
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
    ledger = SessionLedger(hass, entry, coordinator)
    await ledger.async_load()
    plan = PlanRunner(hass, entry)
    await plan.async_load()
    entry.runtime_data = EvseRuntimeData(
        charger=charger, coordinator=coordinator, ledger=ledger, plan=plan
    )
    if group_of(hass, entry.entry_id) is None:
        # Its charging mode (solar, planned) of its own; a group member is
        # the group's to control. In mode Off it sends nothing.
        entry.runtime_data.energy = EnergyManager(hass, entry, [entry.entry_id])

    if charger.push_only or Capability.PUSH in coordinator.data.capabilities:
        entry.async_create_background_task(
            hass, coordinator.async_run_push(), f"{DOMAIN} push {entry.title}"
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # After the platforms: the event entity hears the first reading's news.
    await ledger.async_start()
    # Prices or a new target run the step of whichever manager runs it.
    plan.async_start(coordinator.async_update_listeners)
    if entry.runtime_data.energy is not None:
        await entry.runtime_data.energy.async_start()
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
        server = await async_acquire_server(hass, entry)
    except TlsMismatchError as err:
        # Retrying cannot help: the user must make the settings agree.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="ocpp_tls_mismatch",
            translation_placeholders={"port": str(err.port), "other": err.other},
        ) from err
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
        entry.data[CONF_CHARGE_POINT_ID],
        password=entry.data.get(CONF_PASSWORD),
        meter_interval=int(entry.options.get(CONF_METER_INTERVAL, OCPP_METER_INTERVAL)),
    )
    station.set_authorization(authorization_from_options(entry.options))
    return OcppCharger(
        station,
        max_current=int(entry.data.get(CONF_MAX_CURRENT, DEFAULT_OCPP_MAX_CURRENT)),
    )


async def async_unload_entry(
    hass: HomeAssistant, entry: EvseConfigEntry | GroupConfigEntry
) -> bool:
    """Unload the platforms; background tasks and timers end with the entry."""
    if is_group(entry):
        await entry.runtime_data.manager.async_save_now()
        entry.runtime_data.manager.async_clear_issues()
        unloaded = await hass.config_entries.async_unload_platforms(
            entry, GROUP_PLATFORMS
        )
        if entry.disabled_by is not None:
            # Disabled: its members get their own energy managers back.
            for charger_id in _chargers_to_hand_over(hass):
                hass.config_entries.async_schedule_reload(charger_id)
        return unloaded
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        if entry.runtime_data.energy is not None:
            await entry.runtime_data.energy.async_save_now()
        await entry.runtime_data.ledger.async_save_now()
        await entry.runtime_data.plan.async_save_now()
        await entry.runtime_data.coordinator.async_save_charger()
        await entry.runtime_data.charger.close()
        if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
            await async_release_server(hass, entry)
    return unloaded


async def _async_release_controls(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Hand an OpenEVSE back to itself: its claim of ours outlasts an unplug."""
    try:
        async with asyncio.timeout(REMOVE_TIMEOUT):
            charger = await async_connect(hass, entry.data)
            try:
                await charger.release_controls()
            finally:
                await charger.close()
    except (EvseError, TimeoutError) as err:
        # Gone for good is fine: its WiFi module forgets the claim at a restart.
        LOGGER.debug("%s: claim not released: %s", entry.title, err)


async def async_remove_config_entry_device(
    hass: HomeAssistant,
    entry: EvseConfigEntry | GroupConfigEntry,
    device_entry: dr.AnyDeviceEntry,
) -> bool:
    """Let the user remove a device unless it is the charger this entry serves.

    The live device is identified like in ``EvseEntity``: by the charger's
    serial, or by the entry id for firmware that reports no identity. An entry
    with a unique id always serves that serial (setup refuses any other).
    """
    if is_group(entry):
        identifier = entry.data[CONF_GROUP_ID]
    elif entry.unique_id is not None:
        identifier = entry.unique_id
    elif entry.state is ConfigEntryState.LOADED:
        identifier = entry.runtime_data.charger.info.serial or entry.entry_id
    else:
        # Not connected and no stored identity: which device is live is unknown.
        return False
    return (DOMAIN, identifier) not in device_entry.identifiers


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Forget what was stored for a charger or group that is removed."""
    await energy_store(hass, entry.entry_id).async_remove()
    ir.async_delete_issue(hass, DOMAIN, tls_issue_id(entry.entry_id))
    if not is_group(entry):
        await limit_store(hass, entry.entry_id).async_remove()
        await charger_store(hass, entry.entry_id).async_remove()
        await controls_store(hass, entry.entry_id).async_remove()
        await ledger_store(hass, entry.entry_id).async_remove()
        await plan_store(hass, entry.entry_id).async_remove()
        await recorder_store(hass, entry.entry_id).async_remove()
        if "recorder" in hass.config.components:
            # Its sessions are gone: so are the statistics made from them.
            get_instance(hass).async_clear_statistics(list(statistic_ids(entry)))
        if CONF_PROTOCOL not in entry.data:
            await _async_release_controls(hass, entry)
        return
    # Its members get their own energy managers back (once it is gone).
    for charger_id in _chargers_to_hand_over(hass, leaving=entry.entry_id):
        hass.config_entries.async_schedule_reload(charger_id)
