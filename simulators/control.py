"""``/sim/*``: the control surface a human (or a benchmark) drives with curl.

These routes are not part of any real device: they are not counted in
``Simulator.requests``, never need authentication and never suffer injected
faults. Every ``POST /sim/<action>`` answers with the simulator's snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from .faults import Fault
from .http_common import json_response
from .model import FaultKind

if TYPE_CHECKING:
    from .server import Simulator

_Action = Callable[[Mapping[str, str]], None]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "1").lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"{name} must be 0 or 1")
    return value in _TRUE


def _number(query: Mapping[str, str], name: str, default: float | None = None) -> float:
    if name not in query:
        if default is None:
            raise ValueError(f"missing parameter {name}")
        return default
    return float(query[name])


class ControlRoutes:
    """Registers ``GET /sim``, ``GET /sim/state`` and ``POST /sim/<action>``."""

    def __init__(self, sim: Simulator) -> None:
        """Bind the actions to ``sim``."""
        self.sim = sim
        self.actions: dict[str, tuple[_Action, str]] = {
            "plug": (lambda _q: sim.model.plug_in(), "plug the car in"),
            "unplug": (lambda _q: sim.model.unplug(), "unplug the car"),
            "fault": (self._fault, "raise a fault: kind=" + "|".join(FaultKind)),
            "clear_fault": (lambda _q: sim.model.clear_fault(), "clear the fault"),
            "ev_ready": (
                lambda q: sim.model.set_ev_ready(_flag(q, "value")),
                "value=0|1: whether the car wants to charge",
            ),
            "button": (lambda _q: sim.device.button(), "press the front button"),
            "voltage": (
                lambda q: sim.model.set_voltage(_number(q, "value")),
                "value=<volts>: supply voltage",
            ),
            "advance": (
                lambda q: sim.model.advance(_number(q, "seconds", 1.0)),
                "seconds=<n>: move simulated time on",
            ),
            "reboot": (
                self._reboot,
                "seconds=<n>&part=device|gateway|evse: restart (HTTP down)",
            ),
            "inject": (
                self._inject,
                "fault=" + "|".join(Fault) + "&count=<n>&path=<prefix>&delay=<s>",
            ),
            "clear_faults": (lambda _q: sim.clear_faults(), "drop injected faults"),
            "ws_frame": (
                lambda q: sim.push_raw(q.get("text", "")),
                "text=<raw>: push this text as it is over /ws (current)",
            ),
            "config_changed": (
                lambda _q: sim.config_changed(),
                "a setting changed on the unit: config_version moves (current)",
            ),
            "reset_counters": (lambda _q: sim.reset_counters(), "zero the counters"),
        }

    def add_routes(self, app: web.Application) -> None:
        """Register the control routes."""
        app.router.add_get("/sim", self._help)
        app.router.add_get("/sim/state", self._state)
        app.router.add_post("/sim/{action}", self._action)

    def _fault(self, query: Mapping[str, str]) -> None:
        self.sim.model.fault(FaultKind(query.get("kind", FaultKind.GFCI)))

    def _reboot(self, query: Mapping[str, str]) -> None:
        part = query.get("part", "device")
        if part == "evse":
            self.sim.model.reboot()
            return
        if part not in ("device", "gateway"):
            raise ValueError("part must be device, gateway or evse")
        seconds = _number(query, "seconds", self.sim.reboot_seconds)
        self.sim.schedule_reboot(seconds, controller=part == "device")

    def _inject(self, query: Mapping[str, str]) -> None:
        delay = _number(query, "delay") if "delay" in query else None
        self.sim.inject(
            Fault(query.get("fault", "")),
            int(query.get("count", "1")),
            path=query.get("path"),
            delay=delay,
        )

    async def _help(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "kind": str(self.sim.kind),
                "actions": {
                    f"POST /sim/{name}": text
                    for name, (_, text) in self.actions.items()
                },
            }
        )

    async def _state(self, _request: web.Request) -> web.Response:
        return json_response(self.sim.snapshot())

    async def _action(self, request: web.Request) -> web.Response:
        name = request.match_info["action"]
        if name not in self.actions:
            return json_response(
                {"error": f"unknown action {name!r}", "actions": list(self.actions)},
                404,
            )
        try:
            self.actions[name][0](request.query)
        except ValueError as err:
            return json_response({"error": str(err)}, 400)
        self.sim.notify()
        return json_response(self.sim.snapshot())
