"""The OCPP central system inside Home Assistant, shared by every OCPP charger.

OCPP chargers are websocket clients: they connect to us. One server per
address and port serves every OCPP entry; the first entry that loads starts
it and the last one to unload stops it, so approving or removing one charger
never disconnects another. Entries sharing a server must agree on its TLS
files (``ws://`` or ``wss://``): the flows refuse a mismatch, and at setup the
running server (or else the oldest entry) decides, whatever the load order.

A charger that connects with an id no entry knows starts a discovery flow
("Charger X wants to connect") and is kept waiting with BootNotification
``Pending`` until the user accepts it; its flow ends if it goes away and does
not come back within :data:`OCPP_DISCOVERY_GRACE`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
)
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_BIND_ADDRESS,
    CONF_CHARGE_POINT_ID,
    CONF_PROTOCOL,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_OCPP_PORT,
    DOMAIN,
    LOGGER,
    OCPP_HEARTBEAT_INTERVAL,
    OCPP_METER_INTERVAL,
    PROTOCOL_OCPP,
)
from .protocols.ocpp import CentralSystem, PendingCharger

type ServerAddress = tuple[str, int]
type TlsFiles = tuple[str, str] | None
"""Certificate and key file of a ``wss://`` server; None for ``ws://``."""

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
    tls: TlsFiles
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


def tls_files(data: Mapping[str, Any]) -> TlsFiles:
    """Return the TLS files an entry (or a flow's input) asks its server for."""
    certificate = data.get(CONF_SSL_CERTIFICATE)
    key = data.get(CONF_SSL_KEY)
    return (str(certificate), str(key)) if certificate and key else None


def _entries_at(hass: HomeAssistant, address: ServerAddress) -> list[ConfigEntry[Any]]:
    """OCPP entries served at ``address``, oldest first."""
    entries = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP
        and entry.source != SOURCE_IGNORE
        and entry.disabled_by is None
        and server_address(entry.data) == address
    ]
    return sorted(entries, key=lambda entry: (entry.created_at, entry.entry_id))


def tls_in_use(
    hass: HomeAssistant, data: Mapping[str, Any], *, other_than: str | None = None
) -> tuple[TlsFiles, str] | None:
    """Return the TLS files the server at this address is held to, and by whom.

    The running server's if an entry other than ``other_than`` uses it, else
    the oldest other entry's at that address; None when there is none.
    """
    address = server_address(data)
    shared = hass.data.get(OCPP_SERVERS, OcppServers()).servers.get(address)
    others = [e for e in _entries_at(hass, address) if e.entry_id != other_than]
    if shared is not None and (users := shared.users - {other_than}):
        holders = [e.title for e in others if e.entry_id in users]
        return shared.tls, holders[0] if holders else ""
    if others:
        return tls_files(others[0].data), others[0].title
    return None


class TlsMismatchError(Exception):
    """An entry's TLS files differ from those of the server it must share."""

    def __init__(self, port: int, other: str) -> None:
        """Name the port and the charger whose settings win."""
        super().__init__(f"port {port} serves {other} with other TLS settings")
        self.port = port
        self.other = other


def tls_issue_id(entry_id: str) -> str:
    """Return the repair issue id raised while an entry's TLS files disagree."""
    return f"ocpp_tls_mismatch_{entry_id}"


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
    hass: HomeAssistant, entry: ConfigEntry[Any]
) -> CentralSystem:
    """Start (or join) the central system an entry uses.

    Raises ``EvsePortInUseError`` when the port cannot be opened; a repair
    issue says what to do, and it is removed as soon as the port opens.
    Raises :class:`TlsMismatchError` when the entry's TLS files differ from
    the running server's or, with none running, the oldest entry's at that
    address: which entry wins never depends on which loads first.
    """
    servers = hass.data.setdefault(OCPP_SERVERS, OcppServers())
    data = entry.data
    address = server_address(data)
    async with servers.lock:
        shared = servers.servers.get(address)
        # Itself included: the oldest entry decides when nothing runs yet.
        decided = tls_in_use(hass, data)
        if decided is not None and decided[0] != tls_files(data):
            other = decided[1]
            ir.async_create_issue(
                hass,
                DOMAIN,
                tls_issue_id(entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="ocpp_tls_mismatch",
                translation_placeholders={
                    "charger": entry.title,
                    "other": other,
                    "port": str(address[1]),
                },
            )
            raise TlsMismatchError(address[1], other)
        ir.async_delete_issue(hass, DOMAIN, tls_issue_id(entry.entry_id))
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
            shared = servers.servers[address] = SharedServer(server, tls_files(data))
        shared.users.add(entry.entry_id)
        return shared.server


async def async_release_server(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Leave the central system; the last entry to leave stops it.

    The server is found by the entry, not its data: a reconfigured entry
    unloads with its new port already stored.
    """
    servers = hass.data.get(OCPP_SERVERS)
    if servers is None:
        return
    async with servers.lock:
        for address, shared in list(servers.servers.items()):
            if entry.entry_id not in shared.users:
                continue
            shared.server.remove_station(str(entry.data[CONF_CHARGE_POINT_ID]))
            shared.users.discard(entry.entry_id)
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
