"""Read the WiFi module's ``/status`` document (and ``/ws`` deltas).

Units (``status_field_units.json``): ``amp`` in milliamps, temperatures in
tenths of a degree (``false`` or -2560 when absent), ``session_energy`` in
Wh, ``total_energy`` in kWh; the deprecated ``wattsec`` (Ws) and
``watthour`` (Wh) are the only counters on older firmware.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import EvseProtocolError
from ..models import FaultCounters, ServiceLevel

TEMPERATURE_ABSENT = -2560

SERVICE_LEVELS: dict[int, ServiceLevel] = {
    0: ServiceLevel.AUTO,
    1: ServiceLevel.LEVEL_1,
    2: ServiceLevel.LEVEL_2,
}


def number(document: Mapping[str, Any], key: str) -> float | None:
    """Read a numeric field: ``None`` when absent or ``false``.

    Booleans are not numbers here: the firmware writes ``false`` for absent
    sensors. Anything else that is not a number is a protocol error.
    """
    value = document.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raise EvseProtocolError(f"/status: {key}={value!r} is not a number")


def integer(document: Mapping[str, Any], key: str) -> int | None:
    """Read a numeric field as an integer."""
    value = number(document, key)
    return None if value is None else round(value)


def temperature(document: Mapping[str, Any], key: str) -> float | None:
    """Tenths of a degree to degrees; absent sensors become ``None``."""
    value = number(document, key)
    if value is None or value <= TEMPERATURE_ABSENT:
        return None
    return value / 10


def session_energy_wh(status: Mapping[str, Any]) -> float | None:
    """Energy of the current session in Wh (new field first)."""
    if (energy := number(status, "session_energy")) is not None:
        return energy
    if (watt_seconds := number(status, "wattsec")) is not None:
        return watt_seconds / 3600
    return None


def lifetime_energy_wh(status: Mapping[str, Any]) -> float | None:
    """Lifetime energy in Wh: ``total_energy`` is kWh, ``watthour`` is Wh."""
    if (kwh := number(status, "total_energy")) is not None:
        return kwh * 1000
    return number(status, "watthour")


def fault_counters(status: Mapping[str, Any]) -> FaultCounters | None:
    """Trip counters, when the firmware reports all three."""
    counts = [integer(status, key) for key in ("gfcicount", "nogndcount", "stuckcount")]
    if any(count is None for count in counts):
        return None
    gfci, no_ground, stuck = (int(count or 0) for count in counts)
    return FaultCounters(gfci=gfci, no_ground=no_ground, stuck_relay=stuck)


def power_w(
    status: Mapping[str, Any], current: float | None, voltage: float | None
) -> float | None:
    """Measured power when reported, else current x voltage."""
    if (power := number(status, "power")) is not None:
        return power
    if current is None or voltage is None:
        return None
    return round(current * voltage, 1)
