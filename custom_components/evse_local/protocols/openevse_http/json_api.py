"""OpenEVSE WiFi firmware with the JSON API (``/claims``, ``/limit``, ``/ws``).

From WiFi firmware 5.0.0 on, ``/r`` refuses every RAPI command but ``$G…``,
so this adapter never sends RAPI at all. Control goes through a claim of our
own (``/claims/<client>``): volatile, auto-released when the car unplugs, and
outranked by the user's own override button. A steady poll is one
``GET /status``; ``/config`` and ``/limit`` are read again only when the
status says their version changed. While ``/ws`` is connected, no polling is
needed at all: the firmware pushes the changed status fields.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp

from ..charger import Charger, SessionLimit
from ..errors import EvseConnectionError, EvseProtocolError, EvseUnsupportedError
from ..models import (
    ApiGeneration,
    Capability,
    ChargerSnapshot,
    ChargerState,
    DeviceInfo,
    ServiceLevel,
)
from .status import SERVICE_LEVELS, integer, status_fields
from .transport import HttpTransport, expect_object, parse_json

# The firmware's client ids are EVC(vendor, client) = vendor << 16 | client,
# read back with a signed 32-bit toInt(): the "unregistered" vendor 0xFFFE
# would overflow, so EVSE Local uses vendor 0x0E5E, client 1 (< 2**31).
CLAIM_CLIENT = (0x0E5E << 16) | 0x0001
WEBSOCKET_HEARTBEAT = 10.0

_CAPABILITIES = frozenset(
    {
        Capability.PAUSE,
        Capability.MAX_CURRENT,
        Capability.PERSIST_MAX_CURRENT,
        Capability.ENERGY_LIMIT,
        Capability.TIME_LIMIT,
        Capability.RESTART,
        Capability.PUSH,
        # A claim never exceeds max_current_soft, which is also what the
        # charger offers once our claim is gone.
        Capability.FALLBACK_CAPS_CURRENT,
    }
)


def device_info_from_config(
    config: dict[str, Any], status: dict[str, Any], generation: ApiGeneration
) -> DeviceInfo | None:
    """Identity from ``/config`` (serial) or ``/status`` (MAC); None if neither."""
    mac = str(status.get("macaddress") or "") or None
    serial = str(config.get("wifi_serial") or "") or (
        mac.replace(":", "").upper() if mac else None
    )
    if not serial:
        return None
    return DeviceInfo(
        serial=serial,
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        generation=generation,
        firmware=str(config.get("firmware") or "") or None,
        wifi_firmware=str(config.get("version") or "") or None,
        mac=mac,
        hostname=str(config.get("hostname") or "") or None,
    )


class OpenEvseJsonCharger(Charger):
    """An OpenEVSE whose WiFi firmware offers ``/claims``."""

    def __init__(
        self,
        transport: HttpTransport,
        info: DeviceInfo,
        *,
        config: dict[str, Any],
        status: dict[str, Any],
    ) -> None:
        """Start from the ``/config`` and ``/status`` read while probing."""
        super().__init__(info)
        self.transport = transport
        self._config = config
        self._status = status
        self._limit: dict[str, Any] | None = None
        self._claim: dict[str, Any] = {}
        self._seen_versions: dict[str, Any] = {}

    @property
    def requests(self) -> int:
        """HTTP requests sent so far."""
        return self.transport.requests

    async def setup(self) -> None:
        """Read our own claim (left from before a restart) and the limit."""
        try:
            claim = expect_object(
                "/claims", await self.transport.get_json(f"/claims/{CLAIM_CLIENT}")
            )
        except EvseUnsupportedError:
            claim = {}
        self._claim = {
            key: claim[key]
            for key in ("state", "charge_current", "max_current")
            if key in claim
        }
        self._limit = await self._read_limit()
        self._remember_versions(self._status)

    def _remember_versions(self, status: dict[str, Any]) -> None:
        self._seen_versions = {
            key: status.get(key) for key in ("config_version", "limit_version", "limit")
        }

    async def _read_limit(self) -> dict[str, Any] | None:
        try:
            limit = await self.transport.get_json("/limit")
        except EvseUnsupportedError:
            return None
        return expect_object("/limit", limit) if limit else None

    async def _read_status(self, status: dict[str, Any]) -> ChargerSnapshot:
        """Build the snapshot of ``status``; keep what it read only if sound.

        ``/config`` and ``/limit`` are read again only when their version
        moved. A document that fails to read leaves the last good status,
        config and limit in place, so a bad pushed frame (or a bad re-read)
        cannot poison what is merged after it.
        """
        seen = self._seen_versions
        config, limit = self._config, self._limit
        if status.get("config_version") != seen.get("config_version"):
            try:
                config = expect_object(
                    "/config", await self.transport.get_json("/config")
                )
            except EvseUnsupportedError as err:
                # The probe read it: a 404 now is a broken answer, not a
                # firmware without /config.
                raise EvseProtocolError(f"/config is gone: {err}") from err
        if status.get("limit_version") != seen.get("limit_version") or status.get(
            "limit"
        ) != seen.get("limit"):
            limit = await self._read_limit()
        snapshot = self._build(status, config, limit)
        self._status, self._config, self._limit = status, config, limit
        self._remember_versions(status)
        self.snapshot = snapshot
        return snapshot

    async def poll(self) -> ChargerSnapshot:
        """One ``GET /status`` (plus ``/config``/``/limit`` if they changed)."""
        status = expect_object("/status", await self.transport.get_json("/status"))
        return await self._read_status(status)

    async def listen(self, on_update: Callable[[ChargerSnapshot], None]) -> None:
        """Merge the pushed status deltas from ``/ws`` until it closes.

        Only the handshake can say that there is no websocket
        (:class:`EvseUnsupportedError`). In a session, a frame that cannot be
        trusted or a failed ``/config``/``/limit`` re-read ends it with an
        :class:`EvseError`: the caller polls, and reconnects later.
        """
        url = self.transport.base_url + "/ws"
        try:
            async with self.transport.session.ws_connect(
                url,
                headers=self.transport.headers,
                heartbeat=WEBSOCKET_HEARTBEAT,
                timeout=aiohttp.ClientWSTimeout(ws_close=5),
            ) as websocket:
                if self.snapshot is not None:
                    # Connected: from here on the firmware pushes every change.
                    on_update(self.snapshot)
                async for message in websocket:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        break
                    delta = parse_json("/ws", message.data)
                    if not isinstance(delta, dict):
                        continue  # not a status delta: nothing to merge
                    on_update(await self._read_status({**self._status, **delta}))
        except aiohttp.WSServerHandshakeError as err:
            if err.status == 404:
                raise EvseUnsupportedError(
                    "/ws: no websocket on this firmware"
                ) from err
            raise EvseConnectionError(f"/ws: {err}") from err
        except aiohttp.ClientError as err:
            raise EvseConnectionError(f"/ws: {err}") from err

    def _build(
        self,
        status: dict[str, Any],
        config: dict[str, Any],
        limit_document: dict[str, Any] | None,
    ) -> ChargerSnapshot:
        fields = status_fields(status)
        vehicle = status.get("vehicle")
        limit = limit_document or {}
        service = integer(config, "service")
        capabilities = set(_CAPABILITIES)
        if service in SERVICE_LEVELS:
            capabilities.add(Capability.SERVICE_LEVEL)
        return ChargerSnapshot(
            **fields,
            vehicle_connected=(
                bool(vehicle)
                if isinstance(vehicle, int)
                else fields["state"] in (ChargerState.CONNECTED, ChargerState.CHARGING)
            ),
            # Claims steer the pilot: what it offers is the current in force.
            max_current=fields["pilot_current"],
            min_current_limit=integer(config, "min_current_hard"),
            max_current_limit=integer(config, "max_current_hard")
            or integer(config, "max_current_soft"),
            # Without our claim (released at unplug, lost at a reboot of the
            # WiFi module) the charger offers its saved current.
            fallback_current=integer(config, "max_current_soft"),
            service_level=SERVICE_LEVELS.get(service) if service is not None else None,
            energy_limit=(
                (integer(limit, "value") or 0) / 1000
                if limit.get("type") == "energy"
                else 0.0
            ),
            time_limit=integer(limit, "value") if limit.get("type") == "time" else 0,
            capabilities=frozenset(capabilities),
        )

    async def _post_claim(self, claim: dict[str, Any]) -> None:
        path = f"/claims/{CLAIM_CLIENT}"
        if claim:
            await self.transport.send_json(
                "POST", path, {**claim, "auto_release": True}
            )
        elif self._claim:
            # Already released (the car unplugged) is fine.
            with contextlib.suppress(EvseUnsupportedError):
                await self.transport.send_json("DELETE", path)
        self._claim = claim

    async def set_paused(self, paused: bool) -> None:
        """Pause with ``state: disabled`` in our claim; resume by dropping it."""
        claim = {key: value for key, value in self._claim.items() if key != "state"}
        if paused:
            claim["state"] = "disabled"
        await self._post_claim(claim)

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """Claim a charge current (volatile), or write the soft maximum."""
        if persist:
            await self.transport.send_json(
                "POST", "/config", {"max_current_soft": amps}
            )
            claim = {
                key: value
                for key, value in self._claim.items()
                if key != "charge_current"
            }
        else:
            claim = {**self._claim, "charge_current": amps}
        await self._post_claim(claim)

    async def set_fallback_current(self, amps: int) -> None:
        """Write ``max_current_soft`` (saved) and read ``/config`` back.

        Our claim, if any, stays: only what the charger does without us
        changes.
        """
        await self.transport.send_json("POST", "/config", {"max_current_soft": amps})
        self._config = expect_object(
            "/config", await self.transport.get_json("/config")
        )
        if self.snapshot is not None:
            self.snapshot = self._build(self._status, self._config, self._limit)

    async def set_service_level(self, level: ServiceLevel) -> None:
        """Write ``service`` in ``/config`` (0 = auto, 1, 2)."""
        value = next(code for code, name in SERVICE_LEVELS.items() if name is level)
        await self.transport.send_json("POST", "/config", {"service": value})

    async def set_session_limit(
        self, *, energy_kwh: float | None, minutes: int | None
    ) -> SessionLimit:
        """``POST /limit``: one limit (energy in Wh or time in minutes)."""
        if energy_kwh is not None and minutes is not None:
            raise EvseUnsupportedError("one limit at a time")
        if energy_kwh is not None:
            body = {"type": "energy", "value": round(energy_kwh * 1000)}
        elif minutes is not None:
            body = {"type": "time", "value": minutes}
        else:
            raise ValueError("no limit given")
        await self.transport.send_json("POST", "/limit", {**body, "auto_release": True})
        self._limit = body
        return SessionLimit(energy_kwh=energy_kwh, minutes=minutes)

    async def clear_session_limit(self) -> None:
        """``DELETE /limit``; no limit to clear is fine."""
        with contextlib.suppress(EvseUnsupportedError):
            await self.transport.send_json("DELETE", "/limit")
        self._limit = None

    async def restart(self) -> None:
        """Restart the EVSE controller (not the WiFi module)."""
        await self.transport.send_json("POST", "/restart", {"device": "evse"})
