"""The OCPP central system inside Home Assistant, shared by every OCPP charger.

OCPP chargers are websocket clients: they connect to us. One server per
address and port serves every OCPP entry; the first entry that loads starts
it and the last one to unload stops it, so approving or removing one charger
never disconnects another. A charger that connects with an id no entry knows
starts a discovery flow ("Charger X wants to connect") and is kept waiting
with BootNotification ``Pending`` until the user accepts it; its flow ends if
it goes away and does not come back within :data:`OCPP_DISCOVERY_GRACE`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_BIND_ADDRESS,
    CONF_CHARGE_POINT_ID,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_OCPP_PORT,
    DOMAIN,
    LOGGER,
    OCPP_HEARTBEAT_INTERVAL,
    OCPP_METER_INTERVAL,
)
from .protocols.ocpp import CentralSystem, PendingCharger

type ServerAddress = tuple[str, int]

OCPP_DISCOVERY_GRACE = 60.0
"""Seconds a discovered charger may be gone before its flow ends: a reboot
or a Wi-Fi blip is shorter, a stranger that tried ids and left is not."""
OCPP_PENDING_INTERVAL = 10
"""BootNotification ``interval`` of a charger told to wait (Pending); one
silent for two of them is dropped."""


@dataclass(slots=True)
class SharedServer:
    """A running central system and the entries that use it."""

    server: CentralSystem
    users: set[str] = field(default_factory=set)


@dataclass(slots=True)
class OcppServers:
    """Every central system this Home Assistant runs, by bind address and port."""

    servers: dict[ServerAddress, SharedServer] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


OCPP_SERVERS: HassKey[OcppServers] = HassKey(f"{DOMAIN}_ocpp_servers")


def server_address(data: Mapping[str, Any]) -> ServerAddress:
    """Where an entry's central system listens."""
    return (
        str(data.get(CONF_BIND_ADDRESS, DEFAULT_BIND_ADDRESS)),
        int(data.get(CONF_PORT, DEFAULT_OCPP_PORT)),
    )


def port_issue_id(port: int) -> str:
    """Return the repair issue id raised while ``port`` cannot be opened."""
    return f"ocpp_port_in_use_{port}"


def _ssl_context(certificate: str, key: str) -> ssl.SSLContext:
    """Build the TLS context for ``wss://`` (OCPP security profile 2); blocking."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    return context


async def async_ssl_context(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> ssl.SSLContext | None:
    """Return the entry's TLS context, or None for plain ``ws://``."""
    certificate = data.get(CONF_SSL_CERTIFICATE)
    key = data.get(CONF_SSL_KEY)
    if not certificate or not key:
        return None
    return await hass.async_add_executor_job(_ssl_context, certificate, key)


def running_server(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> CentralSystem | None:
    """Return the central system already serving this address, if any."""
    shared = hass.data.get(OCPP_SERVERS, OcppServers()).servers.get(
        server_address(data)
    )
    return None if shared is None else shared.server


def running_ports(hass: HomeAssistant) -> list[int]:
    """Ports of the central systems running now (to suggest in the flow)."""
    return [port for _, port in hass.data.get(OCPP_SERVERS, OcppServers()).servers]


async def async_acquire_server(
    hass: HomeAssistant, entry_id: str, data: Mapping[str, Any]
) -> CentralSystem:
    """Start (or join) the central system an entry uses.

    Raises ``EvsePortInUseError`` when the port cannot be opened; a repair
    issue says what to do, and it is removed as soon as the port opens.
    """
    servers = hass.data.setdefault(OCPP_SERVERS, OcppServers())
    address = server_address(data)
    async with servers.lock:
        shared = servers.servers.get(address)
        if shared is None:
            server = CentralSystem(
                host=address[0],
                port=address[1],
                ssl_context=await async_ssl_context(hass, data),
                heartbeat_interval=OCPP_HEARTBEAT_INTERVAL,
                meter_interval=OCPP_METER_INTERVAL,
                pending_retry_interval=OCPP_PENDING_INTERVAL,
                discovery_grace=OCPP_DISCOVERY_GRACE,
                on_unknown_charger=_discovery_starter(hass, data),
                on_charger_left=_discovery_ender(hass),
            )
            try:
                await server.start()
            except Exception:
                ir.async_create_issue(
                    hass,
                    DOMAIN,
                    port_issue_id(address[1]),
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key="ocpp_port_in_use",
                    translation_placeholders={"port": str(address[1])},
                )
                raise
            ir.async_delete_issue(hass, DOMAIN, port_issue_id(address[1]))
            LOGGER.info("OCPP central system listening on %s:%s", *address)
            shared = servers.servers[address] = SharedServer(server)
        shared.users.add(entry_id)
        return shared.server


async def async_release_server(
    hass: HomeAssistant, entry_id: str, data: Mapping[str, Any]
) -> None:
    """Leave the central system; the last entry to leave stops it."""
    servers = hass.data.get(OCPP_SERVERS)
    if servers is None:
        return
    address = server_address(data)
    async with servers.lock:
        shared = servers.servers.get(address)
        if shared is None:
            return
        shared.server.remove_station(str(data[CONF_CHARGE_POINT_ID]))
        shared.users.discard(entry_id)
        if not shared.users:
            del servers.servers[address]
            await shared.server.stop()
            LOGGER.info("OCPP central system on %s:%s stopped", *address)


def _discovery_starter(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> Callable[[PendingCharger], None]:
    """Start a discovery flow for each charger no entry knows."""
    address = server_address(data)
    # A charger found here is served like the entry that started the server.
    tls = {
        key: data[key] for key in (CONF_SSL_CERTIFICATE, CONF_SSL_KEY) if key in data
    }

    @callback
    def _unknown_charger(pending: PendingCharger) -> None:
        LOGGER.info(
            "OCPP charger %s (%s %s) wants to connect",
            pending.charge_point_id,
            pending.vendor,
            pending.model,
        )
        discovery_flow.async_create_flow(
            hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={
                CONF_CHARGE_POINT_ID: pending.charge_point_id,
                CONF_BIND_ADDRESS: address[0],
                CONF_PORT: address[1],
                **tls,
                "vendor": pending.vendor,
                "model": pending.model,
                "serial": pending.serial,
                "firmware": pending.firmware,
            },
        )

    return _unknown_charger


def _discovery_ender(hass: HomeAssistant) -> Callable[[str], None]:
    """End the discovery flow of a charger that went away and stayed away."""

    @callback
    def _charger_left(charge_point_id: str) -> None:
        flows = hass.config_entries.flow.async_progress_by_handler(
            DOMAIN, match_context={"unique_id": charge_point_id}
        )
        for flow in flows:
            if flow["context"].get("source") == SOURCE_INTEGRATION_DISCOVERY:
                LOGGER.info(
                    "OCPP charger %s went away: its discovery ends", charge_point_id
                )
                hass.config_entries.flow.async_abort(flow["flow_id"])

    return _charger_left
