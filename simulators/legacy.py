"""``legacy``: OpenEVSE with ESP8266 WiFi firmware 2.9.x, controller 5.0.1.

Only ``/status`` and ``/config`` (shaped like the ``v2_json`` fixtures) and
``/r`` exist; there are no claims, limits, override or websocket (404). Every
RAPI 4.0.1 command is accepted on ``/r``: this is how such a unit is
controlled. ``$GS`` is decimal ``state elapsed``, ``$GC`` is ``min max``.

``/status`` has no ``session_energy``/``total_energy``/``vehicle``:
``wattsec`` is the session in watt-seconds and ``watthour`` the lifetime
total in Wh. ``/config`` has no serial number; ``$GI`` did not exist in
RAPI 4.0.1 and answers ``$NK`` unless ``DeviceOptions.legacy_gi`` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .device import Device, DeviceKind
from .http_common import (
    LEGACY_HTML,
    RapiEndpoint,
    index_page,
    json_response,
    plain_number,
)
from .model import Feature
from .rapi import RAPI_4_0_1, RapiProcessor

if TYPE_CHECKING:
    from .server import Simulator

WIFI_VERSION = "2.9.1"


class LegacyDevice(Device):
    """OpenEVSE WiFi 2.9.1 (ESP8266) in front of a 5.0.1 controller."""

    kind = DeviceKind.LEGACY
    description = f"OpenEVSE WiFi {WIFI_VERSION}, controller {RAPI_4_0_1.firmware} (RAPI {RAPI_4_0_1.protocol})"

    def __init__(self, sim: Simulator) -> None:
        """Wire ``/r`` to a RAPI 4.0.1 controller."""
        super().__init__(sim)
        extra = frozenset({"GI"}) if sim.options.legacy_gi else frozenset()
        self.processor = RapiProcessor(
            self.model,
            RAPI_4_0_1,
            lowercase_hex=sim.options.lowercase_hex,
            extra_commands=extra,
        )
        self.rapi = RapiEndpoint(sim, self.processor, LEGACY_HTML)

    @property
    def has_mcu_id(self) -> bool:
        """Only with ``legacy_gi``: RAPI 4.0.1 has no ``$GI``."""
        return self.sim.options.legacy_gi

    def add_routes(self, app: web.Application) -> None:
        """``/``, ``/status``, ``/config`` and ``/r``; nothing else."""
        app.router.add_get("/", index_page("OpenEVSE", "OpenEVSE WiFi"))
        app.router.add_get("/status", self._get_status)
        app.router.add_get("/config", self._get_config)
        self.rapi.add_routes(app)

    def curl_examples(self, url: str) -> list[str]:
        """Typical calls: status and RAPI control."""
        return [
            f"curl {url}/status",
            f"curl '{url}/r?json=1&rapi=$SC+16+V'",
            f"curl '{url}/r?rapi=$GS'",
        ]

    def status(self) -> dict[str, Any]:
        """Build the ``/status`` document of WiFi firmware 2.9.x."""
        model = self.model
        temps = [False if temp is None else temp for temp in model.temperatures]
        return {
            "mode": "STA",
            "wifi_client_connected": 1,
            "net_connected": 1,
            "srssi": -56,
            "ipaddress": self.sim.ip,
            "emoncms_connected": 0,
            "packets_sent": 0,
            "packets_success": 0,
            "mqtt_connected": 0,
            "ohm_hour": "NotConnected",
            "free_heap": 12448,
            "comm_sent": len(self.sim.rapi_frames),
            "comm_success": len(self.sim.rapi_frames),
            "rapi_connected": 1,
            "amp": model.measured_milliamps,
            "voltage": plain_number(model.voltage),
            "pilot": model.current_capacity,
            "temp1": temps[0],
            "temp2": temps[1],
            "temp3": temps[2],
            "state": int(model.state),
            "elapsed": int(model.elapsed),
            "wattsec": int(model.session_ws),
            "watthour": int(model.total_wh),
            "gfcicount": model.gfci_count,
            "nogndcount": model.no_ground_count,
            "stuckcount": model.stuck_relay_count,
            "divertmode": 1,
            "solar": 0,
            "grid_ie": 0,
            "charge_rate": 0,
            "divert_update": 0,
            "ota_update": 0,
        }

    def config(self) -> dict[str, Any]:
        """Build the ``/config`` document of WiFi firmware 2.9.x (no serial)."""
        model = self.model
        credentials = self.sim.credentials
        return {
            "firmware": self.processor.dialect.firmware,
            "protocol": self.processor.dialect.protocol,
            "espflash": 4194304,
            "version": WIFI_VERSION,
            "diodet": int(not model.features[Feature.DIODE]),
            "gfcit": int(not model.features[Feature.GFI_SELF_TEST]),
            "groundt": int(not model.features[Feature.GROUND]),
            "relayt": int(not model.features[Feature.RELAY]),
            "ventt": int(not model.features[Feature.VENT]),
            "tempt": int(not model.features[Feature.TEMPERATURE]),
            "service": model.service_level,
            "scale": model.ammeter_calibration[0],
            "offset": model.ammeter_calibration[1],
            "ssid": "simulated-wifi",
            "pass": "_DUMMY_PASSWORD",
            "www_username": credentials[0] if credentials else "",
            "www_password": "_DUMMY_PASSWORD" if credentials else "",
            "hostname": "openevse",
            "emoncms_server": "data.openevse.com/emoncms",
            "emoncms_node": "0",
            "emoncms_apikey": "",
            "emoncms_fingerprint": "",
            "mqtt_server": "",
            "mqtt_port": 1883,
            "mqtt_topic": "openevse",
            "mqtt_user": "",
            "mqtt_pass": "",
            "mqtt_solar": "",
            "mqtt_grid_ie": "",
            "mqtt_vrms": "",
            "mqtt_announce_topic": "openevse/announce/0000",
            "ohm": "",
            "divert_attack_smoothing_factor": 0.4,
            "divert_decay_smoothing_factor": 0.05,
            "divert_min_charge_time": 600,
            "flags": 3,
            "emoncms_enabled": False,
            "mqtt_enabled": False,
            "ohm_enabled": False,
            "divert_enabled": False,
            "charge_mode": "fast",
        }

    async def _get_status(self, _request: web.Request) -> web.Response:
        return json_response(self.status())

    async def _get_config(self, _request: web.Request) -> web.Response:
        return json_response(self.config())
