"""Simulated home EV chargers for tests, benchmarks and humans.

Three kinds of HTTP device, each a real aiohttp server on loopback around
one shared J1772 model (:class:`EvseModel`), and one Modbus device:

* ``current``: OpenEVSE, WiFi firmware v5.1.2, controller 8.2.3 / RAPI 5.2.1
  (JSON API, claims, limits, websocket; ``/r`` answers ``$G...`` only);
* ``legacy``: OpenEVSE, WiFi firmware 2.9.1, controller 5.0.1 / RAPI 4.0.1
  (``/status``, ``/config`` and full RAPI on ``/r``);
* ``goplug``: GoPlug Pro 32, RAPI over HTTP only;
* ``goe``: go-e Charger over Modbus TCP (pymodbus server, :class:`GoeSimulator`).

And one OCPP 1.6J charge point, a websocket *client* of a central system:
``mq200``, Blink MQ 200 (:class:`Mq200Simulator`, :func:`start_fleet`).

Use :func:`start_simulator` from tests and ``python -m simulators`` by hand.
"""

from .claims import ClaimProperties, ClaimsManager
from .device import DeviceKind, DeviceOptions, Identity, default_model
from .faults import Fault
from .goe import GoeFault, GoeModel, GoeSimulator, GoeSimulatorStarter
from .model import EvseModel, EvseState, FaultKind, GatewayLimit, Mode, ServiceLevel
from .ocpp_mq200 import (
    Mq200Model,
    Mq200Quirks,
    Mq200Simulator,
    ProfileRefusal,
    start_fleet,
    stop_fleet,
)
from .rapi import RapiDialect, RapiProcessor, RapiReply, parse_frame
from .server import Simulator, SimulatorStarter, start_simulator

__all__ = [
    "ClaimProperties",
    "ClaimsManager",
    "DeviceKind",
    "DeviceOptions",
    "EvseModel",
    "EvseState",
    "Fault",
    "FaultKind",
    "GatewayLimit",
    "GoeFault",
    "GoeModel",
    "GoeSimulator",
    "GoeSimulatorStarter",
    "Identity",
    "Mode",
    "Mq200Model",
    "Mq200Quirks",
    "Mq200Simulator",
    "ProfileRefusal",
    "RapiDialect",
    "RapiProcessor",
    "RapiReply",
    "ServiceLevel",
    "Simulator",
    "SimulatorStarter",
    "default_model",
    "parse_frame",
    "start_fleet",
    "start_simulator",
    "stop_fleet",
]
