"""Devices: the charger's device stays, stale devices can be deleted."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.evse_local import async_remove_config_entry_device
from custom_components.evse_local.const import DOMAIN
from simulators import Simulator

from .conftest import add_charger

# The current command, and its deprecated alias (removed in 2027.9) that
# names the config entry as well.
REMOVE_COMMANDS = (
    "config/device_registry/remove",
    "config/device_registry/remove_config_entry",
)


async def _remove(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    command: str,
    device: dr.DeviceEntry,
) -> dict[str, Any]:
    """Ask over the websocket API, as the device page's Delete does."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    message: dict[str, Any] = {"type": command, "device_id": device.id}
    if command.endswith("remove_config_entry"):
        message["config_entry_id"] = device.config_entry_id
    await client.send_json_auto_id(message)
    response: dict[str, Any] = await client.receive_json()
    return response


def _orphan(
    device_registry: dr.DeviceRegistry, entry_id: str, identifier: str
) -> dr.DeviceEntry:
    """A device the entry once made, for a charger it no longer serves."""
    return device_registry.async_get_or_create(
        config_entry_id=entry_id,
        identifiers={(DOMAIN, identifier)},
        manufacturer="OpenEVSE",
        name="Old charger",
    )


@pytest.mark.parametrize("command", REMOVE_COMMANDS)
async def test_live_charger_cannot_be_removed(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    current_sim: Simulator,
    command: str,
) -> None:
    """The charger the entry serves is refused; removing the entry removes it."""
    entry = await add_charger(hass, current_sim)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, current_sim.identity.serial), entry.entry_id
    )
    assert device is not None
    assert device.config_entry_id == entry.entry_id

    response = await _remove(hass, hass_ws_client, command, device)

    assert not response["success"]
    assert "rejected by integration" in response["error"]["message"]
    assert device_registry.async_get(device.id) is not None


@pytest.mark.parametrize("command", REMOVE_COMMANDS)
async def test_stale_device_can_be_removed(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    current_sim: Simulator,
    command: str,
) -> None:
    """A device of another charger (say, one replaced) can be deleted."""
    entry = await add_charger(hass, current_sim)
    stale = _orphan(device_registry, entry.entry_id, "OLDSERIAL01")

    response = await _remove(hass, hass_ws_client, command, stale)

    assert response["success"], response
    assert device_registry.async_get(stale.id) is None
    live = device_registry.async_get_device_by_identifier(
        (DOMAIN, current_sim.identity.serial), entry.entry_id
    )
    assert live is not None


async def test_charger_without_identity(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    legacy_sim: Simulator,
) -> None:
    """Old firmware: the device is keyed by entry id and kept; others go."""
    entry = await add_charger(hass, legacy_sim)
    assert entry.unique_id is None
    live = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert live is not None
    stale = _orphan(device_registry, entry.entry_id, "OLDSERIAL01")

    refused = await _remove(hass, hass_ws_client, REMOVE_COMMANDS[0], live)
    removed = await _remove(hass, hass_ws_client, REMOVE_COMMANDS[0], stale)

    assert not refused["success"]
    assert removed["success"], removed
    assert device_registry.async_get(live.id) is not None
    assert device_registry.async_get(stale.id) is None


async def test_not_loaded_entry(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry
) -> None:
    """Without a connection, only the stored serial tells the live device."""
    with_serial = MockConfigEntry(
        domain=DOMAIN, unique_id="A1B2C3D4E5F6", data={CONF_HOST: "192.0.2.1"}
    )
    without_serial = MockConfigEntry(domain=DOMAIN, data={CONF_HOST: "192.0.2.2"})
    with_serial.add_to_hass(hass)
    without_serial.add_to_hass(hass)
    live = _orphan(device_registry, with_serial.entry_id, "A1B2C3D4E5F6")
    stale = _orphan(device_registry, with_serial.entry_id, "OLDSERIAL01")
    unknown = _orphan(device_registry, without_serial.entry_id, "OLDSERIAL02")

    assert not await async_remove_config_entry_device(hass, with_serial, live)
    assert await async_remove_config_entry_device(hass, with_serial, stale)
    # No serial stored and not connected: nothing is known to be stale.
    assert not await async_remove_config_entry_device(hass, without_serial, unknown)
