"""MeterValues ``sampledValue`` lists to plain numbers in canonical units.

Charge points are lax here: Blink firmware spells units ``Amp``/``Volt`` and
sends nanosecond timestamps, simulators send per-phase values next to the
total, every value is a string. This module accepts all of that and never
raises for a single odd value: it is skipped (one DEBUG line) so the rest of
the frame still counts. Skipped: anything that is not a finite number (NaN,
``1e999``, 400 digits) and energy below zero.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)

ENERGY_REGISTER = "Energy.Active.Import.Register"
CURRENT_IMPORT = "Current.Import"
CURRENT_OFFERED = "Current.Offered"
VOLTAGE = "Voltage"
POWER_IMPORT = "Power.Active.Import"
TEMPERATURE = "Temperature"

WANTED_MEASURANDS = (
    ENERGY_REGISTER,
    CURRENT_IMPORT,
    VOLTAGE,
    TEMPERATURE,
    POWER_IMPORT,
)
"""What we ask every charge point to sample (MeterValuesSampledData)."""
MQ200_MEASURANDS = (ENERGY_REGISTER, CURRENT_IMPORT, VOLTAGE, TEMPERATURE)
"""The four the MQ 200 supports (seed 004 section 7.3.3): the fallback."""

# Unit spelling (lower case) -> (canonical unit, conversion).
type _Convert = Callable[[float], float]


def _same(value: float) -> float:
    return value


def _kilo(value: float) -> float:
    return value * 1000


def _fahrenheit(value: float) -> float:
    return (value - 32) * 5 / 9


def _kelvin(value: float) -> float:
    return value - 273.15


_UNITS: dict[str, tuple[str, _Convert]] = {
    "wh": ("Wh", _same),
    "kwh": ("Wh", _kilo),
    "w": ("W", _same),
    "kw": ("W", _kilo),
    "a": ("A", _same),
    "amp": ("A", _same),
    "amps": ("A", _same),
    "ampere": ("A", _same),
    "v": ("V", _same),
    "volt": ("V", _same),
    "volts": ("V", _same),
    "celsius": ("°C", _same),
    "fahrenheit": ("°C", _fahrenheit),
    "k": ("°C", _kelvin),
    "percent": ("%", _same),
    "varh": ("varh", _same),
    "kvarh": ("varh", _kilo),
    "var": ("var", _same),
    "kvar": ("var", _kilo),
}

# OCPP 1.6 says the unit defaults to Wh; a charger that omits it on a current
# or voltage means A or V, so the default follows the measurand.
_DEFAULT_UNITS = {
    "Energy": "Wh",
    "Power": "W",
    "Current": "A",
    "Voltage": "V",
    "Temperature": "Celsius",
    "SoC": "Percent",
}

_PHASE_INDEX = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}


def parse_timestamp(text: object) -> datetime | None:
    """Parse an OCPP timestamp (Blink sends nanoseconds); naive means UTC."""
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One sampled value, converted to its canonical unit."""

    measurand: str
    value: float
    unit: str
    phase: str | None = None
    context: str | None = None
    location: str | None = None


def normalise_unit(measurand: str, value: float, unit: str | None) -> tuple[float, str]:
    """``value`` in canonical units (Wh, W, A, V, °C, %) and that unit.

    Unknown spellings pass through unchanged so nothing is silently rescaled.
    """
    spelling = unit or _DEFAULT_UNITS.get(measurand.split(".", 1)[0], "Wh")
    known = _UNITS.get(spelling.strip().lower())
    if known is None:
        return value, spelling
    canonical, convert = known
    return convert(value), canonical


def parse_sampled_value(raw: object) -> Reading | None:
    """One ``sampledValue`` entry, or None when it carries no usable number."""
    if not isinstance(raw, Mapping):
        return None
    if raw.get("format") == "SignedData":
        return None
    measurand = raw.get("measurand") or ENERGY_REGISTER
    text = raw.get("value")
    try:
        # A 400-digit JSON number is an int that no float can hold.
        number = float(text)  # type: ignore[arg-type]
    except TypeError, ValueError, OverflowError:
        number = math.nan
    if not isinstance(measurand, str):
        return None
    unit = raw.get("unit")
    value, canonical = normalise_unit(
        measurand, number, unit if isinstance(unit, str) else None
    )
    # NaN, 1e999, and kWh that overflow as Wh are no readings; neither is a
    # negative energy register.
    if not math.isfinite(value) or (measurand.startswith("Energy") and value < 0):
        _LOGGER.debug("Ignoring sampled value %.40r of %s", text, measurand)
        return None
    return Reading(
        measurand=measurand,
        value=value,
        unit=canonical,
        phase=_text(raw.get("phase")),
        context=_text(raw.get("context")),
        location=_text(raw.get("location")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


type Phases = tuple[float | None, float | None, float | None]


@dataclass(slots=True)
class MeterSample:
    """The latest value of each measurand found in one MeterValues frame."""

    energy_wh: float | None = None
    current: float | None = None
    offered_current: float | None = None
    voltage: float | None = None
    power: float | None = None
    temperature: float | None = None
    timestamp: datetime | None = None
    phase_currents: dict[int, float] = field(default_factory=dict)
    phase_voltages: dict[int, float] = field(default_factory=dict)
    phase_powers: dict[int, float] = field(default_factory=dict)
    phase_energies: dict[int, float] = field(default_factory=dict)

    def add(self, reading: Reading) -> None:
        """Take one reading (later readings of the same kind win).

        Blink HQ's non-standard ``Energy.Active.Import.Session`` is ignored: at
        Transaction.Begin it carries 1439008 Wh, a register, not a session.
        """
        phase = _PHASE_INDEX.get(reading.phase) if reading.phase else None
        if reading.phase and phase is None:
            # L1-L2 voltages or the neutral: not what the snapshot shows.
            return
        match reading.measurand, reading.unit:
            case (m, "A") if m == CURRENT_IMPORT:
                self._put("current", self.phase_currents, phase, reading.value)
            case (m, "A") if m == CURRENT_OFFERED and phase is None:
                self.offered_current = reading.value
            case (m, "V") if m == VOLTAGE:
                self._put("voltage", self.phase_voltages, phase, reading.value)
            case (m, "W") if m == POWER_IMPORT:
                self._put("power", self.phase_powers, phase, reading.value)
            case (m, "Wh") if m == ENERGY_REGISTER:
                self._put("energy_wh", self.phase_energies, phase, reading.value)
            case (m, "°C") if m == TEMPERATURE and reading.location != "EV":
                self.temperature = reading.value
            case _:
                pass

    def _put(
        self, total: str, phases: dict[int, float], phase: int | None, value: float
    ) -> None:
        if phase is None:
            setattr(self, total, value)
        else:
            phases[phase] = value

    def finish(self) -> None:
        """Derive totals a charger only sent per phase."""
        if self.current is None and self.phase_currents:
            self.current = _mean(self.phase_currents.values())
        if self.voltage is None and self.phase_voltages:
            self.voltage = _mean(self.phase_voltages.values())
        if self.power is None and self.phase_powers:
            self.power = sum(self.phase_powers.values())
        if self.energy_wh is None and self.phase_energies:
            self.energy_wh = sum(self.phase_energies.values())


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)


def as_phases(values: Mapping[int, float]) -> Phases | None:
    """Per-phase dict to the snapshot's (L1, L2, L3) tuple; None when empty."""
    if not values:
        return None
    return (values.get(0), values.get(1), values.get(2))


def summarise(meter_values: object) -> MeterSample:
    """Every ``meterValue[].sampledValue[]`` of a frame, in order, as one sample."""
    sample = MeterSample()
    if not isinstance(meter_values, list):
        return sample
    for entry in meter_values:
        if not isinstance(entry, Mapping):
            continue
        stamp = parse_timestamp(entry.get("timestamp"))
        if stamp is not None:
            sample.timestamp = stamp
        values = entry.get("sampledValue", entry.get("sampled_value"))
        if not isinstance(values, list):
            continue
        for raw in values:
            reading = parse_sampled_value(raw)
            if reading is not None:
                sample.add(reading)
    sample.finish()
    return sample
