"""HTTP pieces shared by the device kinds: JSON replies and RAPI over ``/r``.

``GET /r?rapi=<frame>`` hands the frame to the controller and returns its
reply, as the OpenEVSE WiFi firmware's ``handleRapi`` does:

* with ``json=1``: ``{"cmd":"<frame>","ret":"<reply>"}`` (HTTP 200, also for
  ``$NK``), or ``{"cmd":"<frame>","error":"RAPI_RESPONSE_..."}`` with HTTP 400
  for a blocked command and 500 for the others (e.g. a timeout);
* without: an HTML page ending in ``<frame><p>&gt;<reply>`` (the old ESP8266
  firmware printed a bare ``>``).

Like the firmware, the JSON is built by string concatenation, so a frame that
contains ``"`` produces invalid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import Fault
from .rapi import RapiProcessor, RapiReply

if TYPE_CHECKING:
    from .server import Simulator


def compact_json(value: Any) -> str:
    """Serialise like ArduinoJson: no spaces."""
    return json.dumps(value, separators=(",", ":"))


def plain_number(value: float) -> float | int:
    """Print whole numbers without ``.0``, as ArduinoJson does (``"voltage":240``)."""
    return int(value) if float(value).is_integer() else value


def json_response(value: Any, status: int = 200) -> web.Response:
    """Build a JSON reply as the firmware sends it."""
    return web.Response(
        text=compact_json(value), status=status, content_type="application/json"
    )


def message(text: str, status: int = 200) -> web.Response:
    """Build the firmware's usual ``{"msg":"..."}`` reply."""
    return json_response({"msg": text}, status)


async def read_json(request: web.Request) -> Any:
    """Return the request body as JSON, or None when it does not parse."""
    try:
        return json.loads(await request.text())
    except ValueError:
        return None


def is_positive(query: Mapping[str, str], name: str) -> bool:
    """Mimic the firmware's ``isPositive``: present and empty, ``1`` or ``true``."""
    value = query.get(name)
    return value is not None and value in ("", "1", "true")


@dataclass(frozen=True, slots=True)
class HtmlStyle:
    """How a device renders ``/r`` without ``json=1``."""

    head: str
    reply_separator: str
    tail: str

    def page(self, body: str = "") -> str:
        """Wrap ``body`` in the complete page."""
        return self.head + body + self.tail


_OPENEVSE_HEAD = (
    "<html><font size='20'><font color=006666>Open</font><b>EVSE</b></font><p>"
    "<b>Open Source Hardware</b><p>RAPI Command Sent<p>Common Commands:<p>"
    "Set Current - $SC XX<p>Set Service Level - $SL 1 - $SL 2 - $SL A<p>"
    "Get Real-time Current - $GG<p>Get Temperatures - $GP<p><p>"
    "<form method='get' action='r'><label><b><i>RAPI Command:</b></i></label>"
)

# ESP8266 WiFi firmware 2.x, byte for byte as in the v1 /r fixtures.
LEGACY_HTML = HtmlStyle(
    head=_OPENEVSE_HEAD
    + "<input name='rapi' length=32><p><input type='submit'></form>",
    reply_separator="<p>>",
    tail="<p></html>",
)

# ESP32 WiFi firmware (web_server.cpp handleRapi).
ESP32_HTML = HtmlStyle(
    head=_OPENEVSE_HEAD
    + "<input id='rapi' name='rapi' length=32><p><input type='submit'></form>",
    reply_separator="<p>&gt;",
    tail=(
        "<script type='text/javascript'>document.getElementById('rapi').focus();"
        "</script><p></html>\r\n\r\n"
    ),
)

# GoPlug: no capture exists; an ESP32-style page with GoPlug branding.
GOPLUG_HTML = HtmlStyle(
    head=(
        "<html><head><title>GoPlug</title></head><body><h1>GoPlug Pro 32</h1>"
        "<p>RAPI Command Sent<p><form method='get' action='r'>"
        "<label>RAPI Command:</label><input id='rapi' name='rapi' length=32>"
        "<p><input type='submit'></form>"
    ),
    reply_separator="<p>&gt;",
    tail="<p></body></html>",
)


class RapiEndpoint:
    """``/r``: tunnel one RAPI frame to the controller (GET or POST)."""

    def __init__(
        self,
        sim: Simulator,
        processor: RapiProcessor,
        html: HtmlStyle,
        *,
        blocked: Callable[[str], bool] = lambda _frame: False,
    ) -> None:
        """Serve ``processor``; ``blocked`` frames never reach it."""
        self.sim = sim
        self.processor = processor
        self.html = html
        self.blocked = blocked

    def add_routes(self, app: web.Application, *paths: str) -> None:
        """Register ``/r`` (and any alias such as ``/rapi``)."""
        for path in ("/r", *paths):
            app.router.add_get(path, self.handle)
            # The firmware registers /r for any method and reads the
            # parameters from the query or a form body (some clients POST).
            app.router.add_post(path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one frame, as JSON or HTML."""
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        as_json = is_positive(params, "json")
        frame = params.get("rapi")
        if frame is None:
            if as_json:
                return message("no rapi parameter", 400)
            return web.Response(text=self.html.page(), content_type="text/html")
        self.sim.record_rapi(frame)
        if self.blocked(frame):
            return self._error(frame, "RAPI_RESPONSE_BLOCKED", 400, as_json=as_json)
        reply = self.processor.process(frame)
        if reply is None:
            return self._error(frame, "RAPI_RESPONSE_TIMEOUT", 500, as_json=as_json)
        reply = self._apply_fault(request.path, reply)
        ret = reply.render()
        if as_json:
            text = '{"cmd":"' + frame + '","ret":"' + ret + '"}'
            return web.Response(text=text, content_type="application/json")
        page = self.html.page(frame + self.html.reply_separator + ret)
        return web.Response(text=page, content_type="text/html")

    def _apply_fault(self, path: str, reply: RapiReply) -> RapiReply:
        taken = self.sim.faults.take(path, rapi=True)
        if taken is None:
            return reply
        fault = taken[0]
        if fault is Fault.BAD_CHECKSUM:
            return reply.with_bad_checksum()
        if fault is Fault.NK:
            return reply.as_nk()
        return reply.with_wrong_field_count()

    def _error(
        self, frame: str, error: str, status: int, *, as_json: bool
    ) -> web.Response:
        if as_json:
            text = '{"cmd":"' + frame + '","error":"' + error + '"}'
            return web.Response(
                text=text, status=status, content_type="application/json"
            )
        page = self.html.page(frame + "<p><strong>Error:</strong>" + error)
        return web.Response(text=page, status=status, content_type="text/html")


def index_page(
    title: str, heading: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Build a tiny ``/`` page, enough for a human or a discovery probe."""
    text = (
        f"<html><head><title>{title}</title></head>"
        f"<body><h1>{heading}</h1></body></html>"
    )

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="text/html")

    return handler
