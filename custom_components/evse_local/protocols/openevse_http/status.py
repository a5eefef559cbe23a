"""Read the WiFi module's ``/status`` document (and ``/ws`` deltas).

Units (``status_field_units.json``): ``amp`` in milliamps, temperatures in
tenths of a degree (``false`` or -2560 when absent), ``session_energy`` in
Wh, ``total_energy`` in kWh; the deprecated ``wattsec`` (Ws) and
``watthour`` (Wh) are the only counters on older firmware.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypedDict

from ..errors import EvseProtocolError
from ..models import ChargerState, FaultCounters, ServiceLevel, state_from_code

TEMPERATURE_ABSENT = -2560

SERVICE_LEVELS: dict[int, ServiceLevel] = {
    0: ServiceLevel.AUTO,
    1: ServiceLevel.LEVEL_1,
    2: ServiceLevel.LEVEL_2,
}


def number(document: Mapping[str, Any], key: str) -> float | None:
    """Read a numeric field: ``None`` when absent or ``false``.

    Booleans are not numbers here: the firmware writes ``false`` for absent
    sensors. Anything else that is not a finite number (a string, ``NaN``,
    ``1e999``, an integer too large for a float) is a protocol error.
    """
    value = document.get(key)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int | float):
        raise EvseProtocolError(f"/status: {key}={value!r} is not a number")
    try:
        result = float(value)
    except OverflowError as err:
        raise EvseProtocolError(f"/status: {key} is out of range") from err
    if not math.isfinite(result):
        raise EvseProtocolError(f"/status: {key}={value!r} is not a finite number")
    return result


def energy(document: Mapping[str, Any], key: str) -> float | None:
    """Read an energy counter: a negative one is garbage, not a reading."""
    value = number(document, key)
    if value is not None and value < 0:
        raise EvseProtocolError(f"/status: {key}={value!r} is negative")
    return value


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
    if (wh := energy(status, "session_energy")) is not None:
        return wh
    if (watt_seconds := energy(status, "wattsec")) is not None:
        return watt_seconds / 3600
    return None


def lifetime_energy_wh(status: Mapping[str, Any]) -> float | None:
    """Lifetime energy in Wh: ``total_energy`` is kWh, ``watthour`` is Wh."""
    if (kwh := energy(status, "total_energy")) is not None:
        return kwh * 1000
    return energy(status, "watthour")


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
    product = current * voltage
    if not math.isfinite(product):
        # Two finite readings whose product overflows: garbage, not a power.
        raise EvseProtocolError(f"/status: {current} A x {voltage} V overflows")
    return round(product, 1)


class StatusFields(TypedDict):
    """The snapshot fields ``/status`` carries on every WiFi firmware."""

    state: ChargerState
    charging: bool
    paused: bool
    charging_current: float | None
    voltage: float | None
    power: float | None
    session_energy: float | None
    lifetime_energy: float | None
    session_time: int | None
    temperatures: tuple[float | None, float | None, float | None]
    pilot_current: int | None
    fault_counters: FaultCounters | None
    wifi_signal: int | None


def status_fields(status: Mapping[str, Any]) -> StatusFields:
    """Read a ``/status`` document (or one merged from ``/ws`` deltas)."""
    code = integer(status, "state")
    if code is None:
        raise EvseProtocolError("/status has no state")
    state = state_from_code(code)
    current_ma = number(status, "amp")
    current = None if current_ma is None else round(current_ma / 1000, 2)
    voltage = number(status, "voltage")
    elapsed = integer(status, "session_elapsed")
    return {
        "state": state,
        "charging": state is ChargerState.CHARGING,
        "paused": state in (ChargerState.SLEEPING, ChargerState.DISABLED),
        "charging_current": current,
        "voltage": voltage,
        "power": power_w(status, current, voltage),
        "session_energy": session_energy_wh(status),
        "lifetime_energy": lifetime_energy_wh(status),
        "session_time": elapsed if elapsed is not None else integer(status, "elapsed"),
        "temperatures": (
            temperature(status, "temp1"),
            temperature(status, "temp2"),
            temperature(status, "temp3"),
        ),
        "pilot_current": integer(status, "pilot"),
        "fault_counters": fault_counters(status),
        "wifi_signal": integer(status, "srssi"),
    }
