"""What every simulated device kind shares: options, identity, the base class."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from aiohttp import web

from .model import EvseModel

if TYPE_CHECKING:
    from .server import Simulator


class DeviceKind(StrEnum):
    """The three simulated chargers."""

    CURRENT = "current"
    LEGACY = "legacy"
    GOPLUG = "goplug"


@dataclass(frozen=True, slots=True)
class DeviceOptions:
    """Behaviour switches where real devices are known to differ.

    ``lowercase_hex``: hex fields of ``$GS``/``$GE``/``$GF`` in lower case, as
    the firmware's ``printf("%02x")`` prints them (``$OK fe 21 03 0500^26``);
    False gives upper case.
    ``ws_full_status_on_connect``: ``current`` pushes the whole ``/status`` on
    a new websocket (the firmware does); False sends only later deltas.
    ``empty_as_404``: ``current`` answers ``GET /limit`` and ``GET /override``
    with 404 when there is none (the OpenAPI spec); False gives 200 ``{}``
    (what firmware HEAD does).
    ``legacy_gi``: let ``legacy`` answer ``$GI``; RAPI 4.0.1 predates it, so by
    default it answers ``$NK`` like the real controller.
    """

    lowercase_hex: bool = True
    ws_full_status_on_connect: bool = True
    empty_as_404: bool = True
    legacy_gi: bool = False


_KIND_BYTES = {
    DeviceKind.CURRENT: 0x43,
    DeviceKind.LEGACY: 0x4C,
    DeviceKind.GOPLUG: 0x47,
}


@dataclass(frozen=True, slots=True)
class Identity:
    """MAC address, serial, host name and MCU id of one simulated unit."""

    mac: str
    serial: str
    hostname: str
    mcu_id: str

    @classmethod
    def create(cls, kind: DeviceKind, seed: int) -> Identity:
        """Derive a stable identity (by default the seed is the TCP port)."""
        kind_byte = _KIND_BYTES[kind]
        octets = [0x02, 0x53, kind_byte, (seed >> 16) & 0xFF, (seed >> 8) & 0xFF]
        octets.append(seed & 0xFF)
        mac = ":".join(f"{octet:02X}" for octet in octets)
        serial = mac.replace(":", "")
        prefix = "goplug" if kind is DeviceKind.GOPLUG else "openevse"
        mcu_prefix = "GOPLUG" if kind is DeviceKind.GOPLUG else "OPENEV"
        return cls(
            mac=mac,
            serial=serial,
            hostname=f"{prefix}-{serial[-4:].lower()}",
            mcu_id=f"{mcu_prefix}{kind_byte:02X}{seed & 0xFFFFFF:06X}",
        )


def default_model(kind: DeviceKind | str) -> EvseModel:
    """Create a model with the hardware of a typical unit of ``kind``."""
    kind = DeviceKind(kind)
    if kind is DeviceKind.CURRENT:
        # Like the 2024 capture (config-new.json): a 48 A unit, MCP9808 only.
        return EvseModel(max_hw_current=48, temperatures=(None, 440, None))
    if kind is DeviceKind.LEGACY:
        # Like v2_json: DS3231 only, no voltmeter, 80 A hardware limit.
        return EvseModel(max_hw_current=80, temperatures=(340, None, None))
    # GoPlug Pro 32: 32 A and a voltmeter ($GG reports real millivolts).
    return EvseModel(
        max_hw_current=32, has_voltmeter=True, temperatures=(233, None, None)
    )


class Device:
    """Base of the per-kind HTTP front ends around one :class:`EvseModel`."""

    kind: ClassVar[DeviceKind]
    description: ClassVar[str]

    def __init__(self, sim: Simulator) -> None:
        """Attach to the simulator that owns the model, counters and faults."""
        self.sim = sim

    @property
    def model(self) -> EvseModel:
        """The controller model."""
        return self.sim.model

    @property
    def has_mcu_id(self) -> bool:
        """Whether this device answers ``$GI`` (gets an MCU id at first start)."""
        return True

    def add_routes(self, app: web.Application) -> None:
        """Register the device's endpoints."""
        raise NotImplementedError

    def on_start(self) -> None:
        """Run once the HTTP server is listening."""

    async def on_stop(self) -> None:
        """Run before the HTTP server stops."""

    def gateway_boot(self) -> None:
        """Reset what the WiFi module keeps in RAM (it restarted)."""

    def button(self) -> None:
        """Press the front-panel button: the controller toggles active and sleep."""
        self.model.button()

    def changed(self) -> None:
        """Note that something a push channel might report has changed."""

    def curl_examples(self, url: str) -> list[str]:
        """List a few commands a human can paste to talk to this device."""
        return [f"curl '{url}/r?json=1&rapi=$GS'"]
