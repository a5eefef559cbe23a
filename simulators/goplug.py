"""``goplug``: GoPlug Pro 32, controlled only through RAPI over HTTP.

Seed 000 documents the RAPI dialect (OpenEVSE RAPI >= 5 style): hex ``$GS``
``state elapsed pilotstate vflags``, a 3-field ``$GC min max pilot`` (max
32 A), ``$GG`` in real milliamps and millivolts, ``$GV`` ``E6.4.0 6.0.0``,
plus ``$S4``/``$G4`` (authorisation lock). Nothing public shows its HTTP
side, so it is taken to be the OpenEVSE ``/r`` handler: ``json=1`` gives
``{"cmd","ret"}`` JSON, otherwise an HTML page (GoPlug-branded, ESP32
layout). ``/`` is a small HTML page titled GoPlug; every other path is 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .device import Device, DeviceKind
from .http_common import GOPLUG_HTML, RapiEndpoint, index_page
from .rapi import RAPI_GOPLUG, RapiProcessor

if TYPE_CHECKING:
    from .server import Simulator


class GoPlugDevice(Device):
    """GoPlug Pro 32 with its RAPI-over-HTTP endpoint."""

    kind = DeviceKind.GOPLUG
    description = (
        f"GoPlug Pro 32, firmware {RAPI_GOPLUG.firmware} (RAPI {RAPI_GOPLUG.protocol})"
    )

    def __init__(self, sim: Simulator) -> None:
        """Wire ``/r`` to the GoPlug controller."""
        super().__init__(sim)
        self.processor = RapiProcessor(
            self.model, RAPI_GOPLUG, lowercase_hex=sim.options.lowercase_hex
        )
        self.rapi = RapiEndpoint(sim, self.processor, GOPLUG_HTML)

    def add_routes(self, app: web.Application) -> None:
        """``/`` and ``/r`` only."""
        app.router.add_get("/", index_page("GoPlug", "GoPlug Pro 32"))
        self.rapi.add_routes(app)

    def curl_examples(self, url: str) -> list[str]:
        """Typical RAPI calls."""
        return [*super().curl_examples(url), f"curl '{url}/r?json=1&rapi=$SC+16+V'"]
