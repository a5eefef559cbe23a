"""OpenEVSE WiFi firmware with the JSON API (``/claims``, ``/limit``, ``/ws``).

From WiFi firmware 5.0.0 on, ``/r`` refuses every RAPI command but ``$G…``,
so this adapter never sends RAPI at all. Control goes through a claim of our
own (``/claims/<client>``), in the WiFi module's RAM. Pause and current limit
are settings: the claim is made without ``auto_release``, so it outlasts an
unplug, and it is put back when the module forgot it (a reboot of the WiFi
module clears every claim). The user's own override (the charger's button or
web UI, priority 1000) outranks every claim (ours: 500), so a command from
Home Assistant that contradicts it ends it first. A steady poll is one
``GET /status``; ``/config`` and ``/limit`` are read again only when the
status says their version changed. While ``/ws`` is connected, no polling is
needed at all: the firmware pushes the changed status fields.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp

from ..charger import Charger, ControlSettings, SessionLimit
from ..errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseUnsupportedError,
)
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
_CLAIM_KEYS = ("state", "charge_current", "max_current")

_LOGGER = logging.getLogger(__name__)

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
        # Our claim as the charger holds it; ``_claim_known`` False: read it
        # again before trusting it (a lost connection may have been a reboot).
        self._claim: dict[str, Any] = {}
        self._claim_known = False
        # Our own command moved ``claims_version``: no need to read it back.
        self._own_claims_change = False
        # The websocket is connected: ``_status`` is at most moments old.
        self._pushing = False
        self._seen_versions: dict[str, Any] = {}

    @property
    def requests(self) -> int:
        """HTTP requests sent so far."""
        return self.transport.requests

    async def setup(self) -> None:
        """Read our own claim (left from before a restart) and the limit.

        Until saved settings are restored, that claim is the setting.
        """
        await self._read_claim()
        self.controls.paused = self._claim.get("state") == "disabled"
        current = self._claim.get("charge_current")
        self.controls.current = (
            current
            if isinstance(current, int) and not isinstance(current, bool)
            else None
        )
        self._limit = await self._read_limit()
        self._remember_versions(self._status)

    async def _read_claim(self) -> None:
        try:
            claim = expect_object(
                "/claims", await self.transport.get_json(f"/claims/{CLAIM_CLIENT}")
            )
        except EvseUnsupportedError:
            claim = {}
        self._claim = {key: claim[key] for key in _CLAIM_KEYS if key in claim}
        if claim.get("auto_release") is True:
            # Made by an older version: it would end at the unplug. Made again.
            self._claim["auto_release"] = True
        self._claim_known = True

    def _wanted_claim(self, settings: ControlSettings | None = None) -> dict[str, Any]:
        """Return the claim that expresses the settings ({} = none at all)."""
        settings = settings or self.controls
        claim: dict[str, Any] = {}
        if settings.paused:
            claim["state"] = "disabled"
        if settings.current is not None:
            claim["charge_current"] = settings.current
        return claim

    async def _restore_claim(self) -> bool:
        """Put our claim back where the charger lost or changed it.

        True when it was sent: the status read before it is out of date.
        """
        try:
            if not self._claim_known:
                await self._read_claim()
            wanted = self._wanted_claim()
            if self._claim != wanted:
                _LOGGER.debug("claim %s found, %s restored", self._claim, wanted)
                await self._post_claim(wanted)
                return True
        except (
            EvseCommandRejectedError,
            EvseProtocolError,
            EvseUnsupportedError,
        ) as err:
            # Tried again when the claims change or the connection comes back;
            # the reading itself is still good.
            _LOGGER.debug("claim not restored: %s", err)
            self._claim_known = True
        return False

    def _remember_versions(self, status: dict[str, Any]) -> None:
        self._seen_versions = {
            key: status.get(key)
            for key in ("config_version", "limit_version", "limit", "claims_version")
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
        cannot poison what is merged after it. A move of ``claims_version``
        that was not ours means our claim must be read again.
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
        if status.get("claims_version") != seen.get("claims_version"):
            if self._own_claims_change:
                self._own_claims_change = False
            else:
                # Someone else's change, or a restarted module: read ours again.
                self._claim_known = False
        self._status, self._config, self._limit = status, config, limit
        self._remember_versions(status)
        self.snapshot = snapshot
        return snapshot

    async def poll(self) -> ChargerSnapshot:
        """One ``GET /status`` (plus ``/config``/``/limit`` if they changed).

        Then our claim is put back if the charger lost it, and the status
        read again to show what the charger does now.
        """
        try:
            status = expect_object("/status", await self.transport.get_json("/status"))
            snapshot = await self._read_status(status)
            if await self._restore_claim():
                status = expect_object(
                    "/status", await self.transport.get_json("/status")
                )
                snapshot = await self._read_status(status)
                self._own_claims_change = False
        except EvseConnectionError:
            # Maybe a reboot of the WiFi module: it forgets every claim.
            self._claim_known = False
            raise
        return snapshot

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
                self._pushing = True
                if self.snapshot is not None:
                    # Connected: from here on the firmware pushes every change.
                    on_update(self.snapshot)
                async for message in websocket:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        break
                    delta = parse_json("/ws", message.data)
                    if not isinstance(delta, dict):
                        continue  # not a status delta: nothing to merge
                    snapshot = await self._read_status({**self._status, **delta})
                    # A claim put back moves the charger: it pushes that next.
                    await self._restore_claim()
                    on_update(snapshot)
        except aiohttp.WSServerHandshakeError as err:
            if err.status == 404:
                raise EvseUnsupportedError(
                    "/ws: no websocket on this firmware"
                ) from err
            raise EvseConnectionError(f"/ws: {err}") from err
        except aiohttp.ClientError as err:
            raise EvseConnectionError(f"/ws: {err}") from err
        finally:
            # Whatever ended the push, the module may have restarted.
            self._claim_known = False
            self._pushing = False

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
        """Make the charger hold ``claim`` as ours ({}: release it)."""
        path = f"/claims/{CLAIM_CLIENT}"
        if claim:
            # Without auto_release: a setting outlasts the unplug.
            await self.transport.send_json(
                "POST", path, {**claim, "auto_release": False}
            )
        elif self._claim or not self._claim_known:
            # Already released is fine.
            with contextlib.suppress(EvseUnsupportedError):
                await self.transport.send_json("DELETE", path)
        if claim != self._claim:
            self._own_claims_change = True
        self._claim = claim
        self._claim_known = True

    async def _manual_override(self) -> dict[str, Any]:
        """Return the override made on the charger itself ({} if none).

        A pushed status says whether there is one; a polled one may be an
        interval old (a button pressed since), so then it is asked.
        """
        if self._pushing and self._status.get("manual_override") == 0:
            return {}
        try:
            override = await self.transport.get_json("/override")
        except EvseUnsupportedError:
            return {}
        return override if isinstance(override, dict) else {}

    async def _set_override(self, override: dict[str, Any]) -> None:
        """Replace the charger's override; without state or current, end it."""
        if any(key in override for key in _CLAIM_KEYS):
            await self.transport.send_json("POST", "/override", override)
        else:
            await self.transport.send_json("DELETE", "/override")

    async def set_paused(self, paused: bool) -> None:
        """Pause with ``state: disabled`` in our claim; resume by dropping it.

        A pause or start made on the charger itself outranks every claim:
        turning charging on (or off) in Home Assistant ends it, or the
        switch would do nothing.
        """
        override = await self._manual_override()
        state = override.get("state")
        if state in ("active", "disabled") and (state == "disabled") != paused:
            await self._set_override(
                {key: value for key, value in override.items() if key != "state"}
            )
        await self._post_claim(
            self._wanted_claim(replace(self.controls, paused=paused))
        )
        self.controls.remember_paused(paused)

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """Claim a charge current (volatile), or write the soft maximum.

        A current in the charger's own override (its button sets one) would
        outrank ours: it is taken out of the override, its pause or start
        stays.
        """
        override = await self._manual_override()
        if override.get("charge_current", amps) != amps:
            await self._set_override(
                {
                    key: value
                    for key, value in override.items()
                    if key != "charge_current"
                }
            )
        if persist:
            await self.transport.send_json(
                "POST", "/config", {"max_current_soft": amps}
            )
        current = None if persist else amps
        await self._post_claim(
            self._wanted_claim(replace(self.controls, current=current))
        )
        self.controls.remember_current(current)

    async def release_controls(self) -> None:
        """Release our claim: the charger goes back to its own settings."""
        await self._post_claim({})
        self.controls.remember_paused(False)
        self.controls.remember_current(None)

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
