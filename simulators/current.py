"""``current``: OpenEVSE with WiFi firmware v5.x on controller 8.x (RAPI 5.2.1).

The JSON API of the ESP32 WiFi firmware (``web_server.cpp``, ``evse_man.cpp``):
``/status``, ``/config``, ``/claims``, ``/override``, ``/limit``, ``/restart``,
the ``/ws`` push channel, and ``/r`` restricted to ``$G...`` reads (everything
else is refused with HTTP 400 ``RAPI_RESPONSE_BLOCKED`` since WiFi fw 5.0.0).

Units on ``/status`` follow the firmware: ``amp`` in mA, temperatures in
tenths of a degree (``false`` for an absent sensor), ``session_energy`` in Wh,
``total_energy`` in kWh, ``voltage`` in V, ``power`` in W.

``service`` in ``/config`` is the firmware's ``ServiceLevel`` enum:
0 = auto-detect, 1 = L1, 2 = L2; ``/status`` ``service_level`` is the level in
effect (1 or 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .claims import (
    CLIENT_MANUAL,
    PRIORITY_API,
    PRIORITY_MANUAL,
    STATE_ACTIVE,
    STATE_DISABLED,
    ClaimError,
    ClaimProperties,
    ClaimsManager,
    Target,
)
from .device import Device, DeviceKind
from .http_common import (
    ESP32_HTML,
    RapiEndpoint,
    compact_json,
    index_page,
    json_response,
    message,
    plain_number,
    read_json,
)
from .model import (
    EVENT_BOOT,
    EVENT_UNPLUG,
    EvseState,
    Feature,
    GatewayLimit,
    Mode,
    ServiceLevel,
)
from .rapi import RAPI_5_2_1, RapiProcessor

if TYPE_CHECKING:
    from .server import Simulator

WIFI_VERSION = "v5.1.2"

# The firmware never returns stored secrets, only this placeholder.
DUMMY_PASSWORD = "___DUMMY_PASSWORD___"  # noqa: S105 - a placeholder
_SECRET_KEYS = ("pass", "www_password", "mqtt_pass", "emoncms_apikey")

# /status fields that only move with the clock: not worth a websocket frame.
_CLOCK_FIELDS = frozenset({"time", "local_time", "uptime", "free_heap", "freeram"})

_SERVICE_LEVELS = {0: ServiceLevel.AUTO, 1: ServiceLevel.L1, 2: ServiceLevel.L2}
_SERVICE_NUMBERS = {level: number for number, level in _SERVICE_LEVELS.items()}

_CHECK_FEATURES = {
    "diode_check": Feature.DIODE,
    "gfci_check": Feature.GFI_SELF_TEST,
    "ground_check": Feature.GROUND,
    "relay_check": Feature.RELAY,
    "vent_check": Feature.VENT,
    "temp_check": Feature.TEMPERATURE,
}

_LIMIT_TYPES = ("energy", "time", "soc", "range")

# LCD colours reported in /status (OPENEVSE_LCD_*).
_RED, _GREEN, _YELLOW, _VIOLET, _TEAL = 1, 2, 3, 5, 6

_HEAP = 167436


class CurrentDevice(Device):
    """OpenEVSE WiFi v5.1.2 gateway in front of an 8.2.3 controller."""

    kind = DeviceKind.CURRENT
    description = f"OpenEVSE WiFi {WIFI_VERSION}, controller {RAPI_5_2_1.firmware} (RAPI {RAPI_5_2_1.protocol})"

    def __init__(self, sim: Simulator) -> None:
        """Create the gateway state (claims, config, versions) around the model."""
        super().__init__(sim)
        self.processor = RapiProcessor(
            self.model, RAPI_5_2_1, lowercase_hex=sim.options.lowercase_hex
        )
        self.rapi = RapiEndpoint(
            sim,
            self.processor,
            ESP32_HTML,
            blocked=lambda frame: not frame.startswith("$G"),
        )
        self.claims = ClaimsManager()
        self.wifi_config: dict[str, Any] = {}
        self.config_version = 1
        self.override_version = 0
        self.limit_version = 0
        self.external: dict[str, float] = {"solar": 0, "grid_ie": 0}
        self._boot_clock = self.model.clock
        self._energy_base = self.model.total_wh
        self._clients: dict[web.WebSocketResponse, dict[str, Any]] = {}
        self._raw: list[str] = []
        self._transports: list[asyncio.Transport] = []
        self._changed = asyncio.Event()
        self._broadcaster: asyncio.Task[None] | None = None
        self.model.add_listener(self._on_model_event)

    # ------------------------------------------------------------ lifecycle

    def on_start(self) -> None:
        """Start pushing status deltas to websocket clients."""
        if not self.wifi_config:
            self.wifi_config = self._default_wifi_config()
        self._broadcaster = asyncio.get_running_loop().create_task(
            self._broadcast_loop(), name=f"evse-sim-ws-{self.sim.port}"
        )

    async def on_stop(self) -> None:
        """Drop websockets without a close frame, as a rebooting unit would."""
        for transport in self._transports:
            transport.abort()
        self._transports.clear()
        if self._broadcaster is not None:
            self._broadcaster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._broadcaster
            self._broadcaster = None

    def gateway_boot(self) -> None:
        """Forget claims, override and limit: the WiFi module restarted."""
        self.claims.clear()
        self.config_version = 1
        self.override_version = 0
        self.limit_version = 0
        self.external = {"solar": 0, "grid_ie": 0}
        self._boot_clock = self.model.clock
        self.model.set_gateway_limit(None)
        self.apply_target()

    def changed(self) -> None:
        """Wake the websocket broadcaster."""
        self._changed.set()

    def push_raw(self, text: str) -> None:
        """Queue ``text`` for every websocket client, sent as it is."""
        self._raw.append(text)
        self._changed.set()

    def button(self) -> None:
        """Press the front button: like ``LcdTask::onButton``, the manual override.

        Without an override it claims the opposite of what the EVSE does
        (``auto_release``); with one, it releases it.
        """
        if CLIENT_MANUAL in self.claims:
            self.claims.release(CLIENT_MANUAL)
            self.override_version += 1
            self.apply_target()
            return
        active = self.model.state not in (EvseState.SLEEPING, EvseState.DISABLED)
        self._set_override(
            ClaimProperties(
                state=STATE_DISABLED if active else STATE_ACTIVE, auto_release=True
            )
        )

    def _on_model_event(self, event: str) -> None:
        if event == EVENT_UNPLUG:
            had_override = CLIENT_MANUAL in self.claims
            if self.claims.release_auto():
                if had_override and CLIENT_MANUAL not in self.claims:
                    self.override_version += 1
                self.apply_target()
        elif event == EVENT_BOOT:
            # EvseManager re-applies its target when the controller boots.
            self.apply_target()

    # ------------------------------------------------------------ claims

    def target(self) -> Target:
        """Arbitrate the claims against the configured current."""
        return self.claims.target(
            soft_max=self.model.eeprom_current, hard_min=self.model.min_current
        )

    def apply_target(self) -> None:
        """Drive the controller like EvseManager: ``$FS``/``$FE`` and ``$SC V``."""
        target = self.target()
        self.model.set_mode(Mode.ACTIVE if target.active else Mode.SLEEP)
        if self.model.current_capacity != target.pilot:
            # Volatile: the gateway never wears the EEPROM for claims.
            self.model.set_current(target.pilot, volatile=True)

    # ------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        """Register the WiFi firmware API."""
        router = app.router
        router.add_get("/", index_page("OpenEVSE", "OpenEVSE WiFi"))
        router.add_get("/status", self._get_status)
        router.add_post("/status", self._post_status)
        router.add_get("/config", self._get_config)
        router.add_post("/config", self._post_config)
        router.add_get("/claims", self._get_claims)
        router.add_get("/claims/target", self._get_claims_target)
        router.add_get("/claims/{client}", self._get_claim)
        router.add_post("/claims/{client}", self._post_claim)
        router.add_delete("/claims/{client}", self._delete_claim)
        router.add_get("/override", self._get_override)
        router.add_post("/override", self._post_override)
        router.add_patch("/override", self._patch_override)
        router.add_delete("/override", self._delete_override)
        router.add_get("/limit", self._get_limit)
        router.add_post("/limit", self._post_limit)
        router.add_delete("/limit", self._delete_limit)
        router.add_get("/restart", self._get_restart)
        router.add_post("/restart", self._post_restart)
        router.add_get("/ws", self._websocket)
        self.rapi.add_routes(app, "/rapi")

    def curl_examples(self, url: str) -> list[str]:
        """Typical calls against the JSON API."""
        return [
            f"curl {url}/status",
            f'curl -X POST -d \'{{"state":"disabled"}}\' {url}/claims/20',
            f"curl '{url}/r?json=1&rapi=$GS'",
        ]

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """Build the ``/status`` document (also the source of websocket deltas)."""
        model = self.model
        state = model.state
        temps: list[int | bool] = [
            False if temp is None else temp for temp in model.temperatures
        ]
        present = [temp for temp in model.temperatures if temp is not None]
        now = model.rtc
        added_kwh = (model.total_wh - self._energy_base) / 1000
        return {
            "mode": "STA",
            "wifi_client_connected": 1,
            "eth_connected": 0,
            "net_connected": 1,
            "ipaddress": self.sim.ip,
            "macaddress": self.sim.identity.mac,
            "emoncms_connected": 0,
            "packets_sent": 0,
            "packets_success": 0,
            "mqtt_connected": 0,
            "ocpp_connected": 0,
            "rfid_failure": 0,
            "ohm_hour": "NotConnected",
            "free_heap": _HEAP,
            "comm_sent": len(self.sim.rapi_frames),
            "comm_success": len(self.sim.rapi_frames),
            "rapi_connected": 1,
            "evse_connected": 1,
            "amp": model.measured_milliamps,
            "voltage": plain_number(model.voltage),
            "power": plain_number(round(model.power_watts, 2)),
            "pilot": model.current_capacity,
            "max_current": self.target().max_current,
            "temp": max(present) if present else False,
            "temp_max": max(present) if present else False,
            "temp1": temps[0],
            "temp2": temps[1],
            "temp3": temps[2],
            "temp4": False,
            "state": int(state),
            "status": (
                "disabled"
                if state in (EvseState.SLEEPING, EvseState.DISABLED)
                else "active"
            ),
            "flags": int(model.vflags),
            "vehicle": int(model.connected),
            "colour": self._colour(state),
            "manual_override": int(CLIENT_MANUAL in self.claims),
            "freeram": _HEAP,
            "divertmode": 1,
            "srssi": -59,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "local_time": now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "offset": "+0000",
            "uptime": int(model.clock - self._boot_clock),
            "session_elapsed": int(model.elapsed),
            "session_energy": round(model.session_wh, 3),
            "total_energy": round(model.total_wh / 1000, 6),
            "total_day": round(added_kwh, 6),
            "total_week": round(added_kwh, 6),
            "total_month": round(added_kwh, 6),
            "total_year": round(added_kwh, 6),
            "total_switches": model.relay_closures,
            "elapsed": int(model.elapsed),
            "wattsec": int(model.session_ws),
            "watthour": plain_number(round(model.total_wh, 3)),
            "gfcicount": model.gfci_count,
            "nogndcount": model.no_ground_count,
            "stuckcount": model.stuck_relay_count,
            "solar": self.external["solar"],
            "grid_ie": self.external["grid_ie"],
            "charge_rate": 0,
            "divert_update": 0,
            "divert_active": False,
            "shaper": 0,
            "shaper_live_pwr": 0,
            "shaper_cur": 0,
            "shaper_updated": False,
            "service_level": model.service_level,
            "limit": model.gateway_limit is not None,
            "ota_update": 0,
            "config_version": self.config_version,
            "claims_version": self.claims.version,
            "override_version": self.override_version,
            "schedule_version": 1,
            "schedule_plan_version": 1,
            "limit_version": self.limit_version,
            "vehicle_state_update": 0,
            "tesla_vehicle_count": False,
            "tesla_vehicle_id": False,
            "tesla_vehicle_name": False,
        }

    def _colour(self, state: EvseState) -> int:
        if state is EvseState.NOT_CONNECTED:
            return _GREEN
        if state is EvseState.CONNECTED:
            return _YELLOW
        if state is EvseState.CHARGING:
            return _TEAL
        if state in (EvseState.SLEEPING, EvseState.DISABLED):
            return _TEAL if self.model.connected else _VIOLET
        return _RED

    async def _get_status(self, _request: web.Request) -> web.Response:
        return json_response(self.status())

    async def _post_status(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return message("Could not parse JSON", 400)
        if isinstance(body.get("voltage"), int | float):
            self.model.set_voltage(float(body["voltage"]))
        for key in ("solar", "grid_ie"):
            if isinstance(body.get(key), int | float):
                self.external[key] = body[key]
        return json_response(body)

    # ------------------------------------------------------------ config

    def _default_wifi_config(self) -> dict[str, Any]:
        identity = self.sim.identity
        return {
            "ssid": "simulated-wifi",
            "pass": "secret",
            "ap_ssid": "",
            "ap_pass": "",
            "lang": "en",
            "www_username": self.sim.credentials[0] if self.sim.credentials else "",
            "www_password": self.sim.credentials[1] if self.sim.credentials else "",
            "www_certificate_id": "",
            "hostname": identity.hostname,
            "sntp_hostname": "pool.ntp.org",
            "time_zone": "Etc/UTC|UTC0",
            "limit_default_type": "",
            "limit_default_value": 0,
            "emoncms_server": "",
            "emoncms_node": "",
            "emoncms_apikey": "",
            "emoncms_fingerprint": "",
            "mqtt_server": "",
            "mqtt_port": 1883,
            "mqtt_topic": "openevse",
            "mqtt_user": "",
            "mqtt_pass": "",
            "mqtt_certificate_id": "",
            "mqtt_announce_topic": f"openevse/announce/{identity.serial[-4:].lower()}",
            "ocpp_server": "",
            "divert_type": 1,
            "led_brightness": 125,
            "flags": 0,
            "emoncms_enabled": False,
            "mqtt_enabled": False,
            "ohm_enabled": False,
            "sntp_enabled": True,
            "divert_enabled": False,
            "current_shaper_enabled": False,
            "pause_uses_disabled": False,
            "ocpp_enabled": False,
            "rfid_enabled": False,
            "factory_write_lock": True,
            "is_threephase": False,
            "wizard_passed": True,
            "default_state": True,
            "mqtt_protocol": "mqtt",
            "charge_mode": "fast",
        }

    def config(self) -> dict[str, Any]:
        """Build the ``/config`` document."""
        model = self.model
        identity = self.sim.identity
        doc: dict[str, Any] = {
            "mqtt_supported_protocols": ["mqtt", "mqtts"],
            "http_supported_protocols": ["http"],
            "buildenv": "openevse_wifi_v1",
            "version": WIFI_VERSION,
            "wifi_serial": identity.serial,
            "protocol": "-",
            "espinfo": "ESP32r1 2 core WiFi BLE BT",
            "espflash": 4194304,
            "firmware": self.processor.dialect.firmware,
            "evse_serial": "",
            "diode_check": model.features[Feature.DIODE],
            "gfci_check": model.features[Feature.GFI_SELF_TEST],
            "ground_check": model.features[Feature.GROUND],
            "relay_check": model.features[Feature.RELAY],
            "vent_check": model.features[Feature.VENT],
            "temp_check": model.features[Feature.TEMPERATURE],
            "max_current_soft": model.eeprom_current,
            "service": _SERVICE_NUMBERS[model.service_setting],
            "scale": model.ammeter_calibration[0],
            "offset": model.ammeter_calibration[1],
            "min_current_hard": model.min_current,
            "max_current_hard": model.max_current,
        }
        for key, value in self.wifi_config.items():
            secret = key in _SECRET_KEYS and value
            doc[key] = DUMMY_PASSWORD if secret else value
        return doc

    async def _get_config(self, _request: web.Request) -> web.Response:
        return json_response(self.config())

    async def _post_config(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return message("Could not parse JSON", 400)
        modified = self._apply_evse_config(body)
        for key, value in body.items():
            if key not in self.wifi_config or value == DUMMY_PASSWORD:
                continue
            if type(value) is not type(self.wifi_config[key]):
                continue
            if self.wifi_config[key] != value:
                self.wifi_config[key] = value
                modified = True
        user = self.wifi_config["www_username"]
        self.sim.credentials = (
            (user, self.wifi_config["www_password"]) if user else None
        )
        if modified:
            self.config_version += 1
        return json_response(
            {
                "config_version": self.config_version,
                "msg": "done" if modified else "no change",
            }
        )

    def _apply_evse_config(self, body: dict[str, Any]) -> bool:
        """Apply the settings that live in the controller's EEPROM."""
        model = self.model
        modified = False
        soft = body.get("max_current_soft")
        if (
            isinstance(soft, int)
            and not isinstance(soft, bool)
            and soft != model.eeprom_current
        ):
            model.set_current(soft, volatile=False)
            self.apply_target()
            modified = True
        service = body.get("service")
        if isinstance(service, int) and service in _SERVICE_LEVELS:
            level = _SERVICE_LEVELS[service]
            if level is not model.service_setting:
                model.set_service_level(level)
                self.apply_target()
                modified = True
        for key, feature in _CHECK_FEATURES.items():
            enabled = body.get(key)
            if isinstance(enabled, bool) and enabled != model.features[feature]:
                model.set_feature(feature, enabled)
                modified = True
        return modified

    # ------------------------------------------------------------ claims

    async def _get_claims(self, _request: web.Request) -> web.Response:
        return json_response([claim.to_json() for claim in self.claims.all()])

    async def _get_claims_target(self, _request: web.Request) -> web.Response:
        target = self.target()
        winners = {
            "state": target.state_client,
            "charge_current": target.charge_current_client,
            "max_current": target.max_current_client,
        }
        return json_response(
            {
                "properties": {
                    "state": STATE_ACTIVE if target.active else STATE_DISABLED,
                    "charge_current": target.pilot,
                    "max_current": target.max_current,
                    "auto_release": False,
                },
                "claims": {k: v for k, v in winners.items() if v is not None},
            }
        )

    @staticmethod
    def _client(request: web.Request) -> int | None:
        text = request.match_info["client"]
        return int(text) if text.isdigit() else None

    async def _get_claim(self, request: web.Request) -> web.Response:
        client = self._client(request)
        claim = None if client is None else self.claims.get(client)
        if claim is None:
            return message("Not found", 404)
        return json_response({"priority": claim.priority} | claim.properties.to_json())

    async def _post_claim(self, request: web.Request) -> web.Response:
        client = self._client(request)
        if client is None:
            return message("Not found", 404)
        try:
            props = ClaimProperties.from_json(await read_json(request))
        except ClaimError:
            return message("Could not parse JSON", 400)
        try:
            self.claims.claim(client, PRIORITY_API, props)
        except ClaimError:
            return message("Could not make claim", 400)
        self.apply_target()
        return message("done")

    async def _delete_claim(self, request: web.Request) -> web.Response:
        client = self._client(request)
        if client is None or not self.claims.release(client):
            return message("Not found", 404)
        if client == CLIENT_MANUAL:
            self.override_version += 1
        self.apply_target()
        return message("done")

    # ------------------------------------------------------------ override

    def _nothing(self, text: str) -> web.Response:
        if self.sim.options.empty_as_404:
            return message(text, 404)
        return json_response({})

    async def _get_override(self, _request: web.Request) -> web.Response:
        claim = self.claims.get(CLIENT_MANUAL)
        if claim is None:
            return self._nothing("No manual override")
        return json_response(claim.properties.to_json())

    def _set_override(self, props: ClaimProperties) -> None:
        self.claims.claim(CLIENT_MANUAL, PRIORITY_MANUAL, props)
        self.override_version += 1
        self.apply_target()

    async def _post_override(self, request: web.Request) -> web.Response:
        try:
            props = ClaimProperties.from_json(
                await read_json(request), default_auto_release=True
            )
        except ClaimError:
            return message("Failed to parse JSON", 400)
        self._set_override(props)
        return message("Created", 201)

    async def _patch_override(self, _request: web.Request) -> web.Response:
        if CLIENT_MANUAL in self.claims:
            self.claims.release(CLIENT_MANUAL)
            self.override_version += 1
            self.apply_target()
        else:
            # Toggle: the opposite of what the EVSE is doing now.
            active = self.model.state not in (EvseState.SLEEPING, EvseState.DISABLED)
            self._set_override(
                ClaimProperties(
                    state=STATE_DISABLED if active else STATE_ACTIVE,
                    charge_current=self.model.eeprom_current,
                    auto_release=True,
                )
            )
        return message("Updated")

    async def _delete_override(self, _request: web.Request) -> web.Response:
        if not self.claims.release(CLIENT_MANUAL):
            # Firmware text, typo included.
            return message("Failed to release manual overide", 500)
        self.override_version += 1
        self.apply_target()
        return message("Deleted")

    # ------------------------------------------------------------ limit

    async def _get_limit(self, _request: web.Request) -> web.Response:
        limit = self.model.gateway_limit
        if limit is None:
            return self._nothing("No limit")
        return json_response(
            {
                "type": limit.type,
                "value": limit.value,
                "auto_release": limit.auto_release,
            }
        )

    async def _post_limit(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return message("failed to parse JSON", 400)
        kind = body.get("type")
        value = body.get("value")
        auto_release = body.get("auto_release", True)
        if (
            kind not in _LIMIT_TYPES
            or not isinstance(value, int)
            or isinstance(value, bool)
            or value < 0
            or not isinstance(auto_release, bool)
        ):
            return message("failed to parse JSON", 400)
        self.model.set_gateway_limit(GatewayLimit(str(kind), value, auto_release))
        self.limit_version += 1
        return message("done", 201)

    async def _delete_limit(self, _request: web.Request) -> web.Response:
        if self.model.gateway_limit is None:
            if self.sim.options.empty_as_404:
                return message("No limit to clear", 404)
            return message("no limit")
        self.model.set_gateway_limit(None)
        self.limit_version += 1
        return message("done")

    # ------------------------------------------------------------ restart

    async def _get_restart(self, _request: web.Request) -> web.Response:
        self.sim.schedule_reboot(controller=False)
        return web.Response(text="1")

    async def _post_restart(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return message("Couldn't parse json", 400)
        device = body.get("device")
        if device is None:
            return message("wrong payload", 400)
        if device == "gateway":
            self.sim.schedule_reboot(controller=False)
            return message("restart gateway")
        if device == "evse":
            self.model.reboot()
            return message("restart evse")
        return message("unknown device", 404)

    # ------------------------------------------------------------ websocket

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.transport is not None:
            self._transports.append(request.transport)
        try:
            if self.sim.options.ws_full_status_on_connect:
                self._clients[ws] = {}
                await self._send(ws, self.status())
            else:
                self._clients[ws] = self.status()
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_ws_text(ws, msg.data)
        except ConnectionError:
            pass  # the client went away; nothing to clean up but the registry
        finally:
            self._clients.pop(ws, None)
            if request.transport in self._transports:
                self._transports.remove(request.transport)
        return ws

    async def _on_ws_text(self, ws: web.WebSocketResponse, text: str) -> None:
        with contextlib.suppress(ValueError):
            doc = json.loads(text)
            if isinstance(doc, dict) and isinstance(doc.get("ping"), int):
                await ws.send_str('{"pong": 1}')
                self.sim.ws_frames_sent += 1

    async def _send(self, ws: web.WebSocketResponse, doc: dict[str, Any]) -> None:
        await ws.send_str(compact_json(doc))
        self.sim.ws_frames_sent += 1
        self._clients[ws].update(doc)

    async def _broadcast_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            raw, self._raw = self._raw, []
            for text in raw:
                for ws in list(self._clients):
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.send_str(text)
                        self.sim.ws_frames_sent += 1
            status = self.status()
            for ws, seen in list(self._clients.items()):
                delta = {
                    key: value
                    for key, value in status.items()
                    if key not in _CLOCK_FIELDS and not _same(seen.get(key), value)
                }
                if not delta or ws.closed:
                    continue
                try:
                    await self._send(ws, delta)
                except ConnectionError, RuntimeError:
                    self._clients.pop(ws, None)


def _same(old: object, new: object) -> bool:
    """Equal values of the same type (``False`` must differ from ``0``)."""
    return type(old) is type(new) and old == new
