"""Solar forecasts: what the panels will give, and what of it the car gets.

Plain Python, no Home Assistant. :func:`parse_solar_attributes` reads the
attributes of a solar forecast sensor into :class:`PvPeriod` s (aware UTC,
sorted, never overlapping, an average PV power each);
:func:`combine_forecasts` adds several sensors up (a sensor per day or per
array); :func:`car_solar_energy` turns production into the energy the car is
expected to take from the surplus, the planner's ``solar`` input.

Attribute shapes understood (looked up in each integration's sources;
``docs/solar-forecast.md`` has an example of each):

- **Solcast** (HACS ``BJReplay/ha-solcast-solar``, domain ``solcast_solar``):
  ``detailedForecast`` on the *forecast today* / *tomorrow* / *day 3...*
  sensors, a list of ``{period_start, pv_estimate, pv_estimate10,
  pv_estimate90}``: the average power in kW of the 30 minutes from
  ``period_start``; ``detailedHourly`` the same per hour. The cautious
  ``pv_estimate10`` (the 10th percentile: nine days in ten the sun gives at
  least that) is used when the entry has it, the median ``pv_estimate``
  otherwise. A plan that counts on the median buys too little on half the
  days, and what the sun then fails to give must be bought late, dearer or
  not in time; counting low costs at most a little grid energy the sun
  would have replaced (the solar controller still charges from it).
- **Open-Meteo Solar Forecast** (HACS ``rany2/ha-open-meteo-solar-forecast``)
  and a REST sensor on the **Forecast.Solar** API (``result`` as attributes):
  ``watts``, a mapping of ISO time to the PV power (W) at that moment; the
  power between two samples at most an hour apart is their mean (the
  trapezoid). Without ``watts``: ``wh_period``, a mapping of ISO time to the
  energy (Wh) of the period that starts then, until the next key (at most
  an hour). Home Assistant's own Forecast.Solar sensors carry no series.

Rules, so that odd data never surprises the planner:

- Times are ``datetime`` objects or ISO 8601 strings (``T`` or a space);
  naive times are read in ``tz`` (Forecast.Solar's API gives local times),
  skipped without it.
- Powers and energies are numbers or numeric strings; negative, non-finite,
  absurd (above a gigawatt) or unparsable values are skipped and counted in
  :attr:`SolarForecast.skipped`, as are entries that are not mappings or
  lack a time, and periods overlapping one already kept (the earlier wins).
- Gaps are not filled: a time without a forecast gives the car nothing.
- :class:`SolarDataError` (with a :class:`SolarError` reason usable as a
  translation key): no known attribute (the wrong sensor), an attribute of
  the wrong type, or entries of which none is usable. Empty lists (a
  forecast not fetched yet) are an empty forecast, not an error.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from .planner import EnergySlot
from .prices import to_price, to_utc

# Samples further apart than this are not joined: a gap, not a long period.
MAX_SAMPLE_GAP = timedelta(minutes=60)
KW = 1000.0
# Above this a value is garbage, not a forecast (a gigawatt is a power plant).
MAX_PV_POWER_W = 1e9
# The house's consumption while the sun shines, when the user gives none.
DEFAULT_HOUSE_POWER_W = 500.0


class SolarSource(StrEnum):
    """Which shape the forecast was read from."""

    SOLCAST = "solcast"
    WATTS = "watts"
    """Open-Meteo Solar Forecast or the Forecast.Solar API: power samples."""
    WH_PERIOD = "wh_period"
    """Open-Meteo Solar Forecast without ``watts``: energy per period."""


class SolarError(StrEnum):
    """Why a forecast could not be read (a translation key)."""

    NO_FORECAST = "solar_no_forecast"
    """None of the known attributes: not a solar forecast sensor."""
    MALFORMED = "solar_malformed"
    """A known attribute of the wrong type."""
    NO_USABLE_VALUES = "solar_no_usable_values"
    """Entries, but not one with a usable time and value."""


class SolarDataError(ValueError):
    """A forecast that cannot be used; ``reason`` says why."""

    def __init__(self, reason: SolarError, detail: str) -> None:
        """Keep the reason for the translated message."""
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PvPeriod:
    """The panels' average power (W) from ``start`` to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    power_w: float

    @property
    def energy_wh(self) -> float:
        """The period's energy."""
        return self.power_w * (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class SolarForecast:
    """Normalised PV periods: UTC, sorted, never overlapping, maybe gaps."""

    source: SolarSource
    periods: tuple[PvPeriod, ...]
    skipped: int = 0
    estimate: str | None = None
    """Solcast: which estimate was read (``pv_estimate10`` when present)."""

    @property
    def energy_wh(self) -> float:
        """The whole forecast's energy."""
        return sum(period.energy_wh for period in self.periods)


_SOLCAST_LISTS = (
    ("detailedForecast", timedelta(minutes=30)),
    ("detailedHourly", timedelta(minutes=60)),
)
# The cautious estimate first (see the module docstring).
_SOLCAST_ESTIMATES = ("pv_estimate10", "pv_estimate")


def parse_solar_attributes(
    attributes: Mapping[str, Any], *, tz: tzinfo | None = None
) -> SolarForecast:
    """Read a solar forecast sensor's attributes (see the module docstring)."""
    for name, length in _SOLCAST_LISTS:
        if name in attributes:
            return _solcast(name, attributes[name], length, tz)
    if "watts" in attributes:
        return _watts(_as_mapping("watts", attributes["watts"]), tz)
    if "wh_period" in attributes:
        return _wh_period(_as_mapping("wh_period", attributes["wh_period"]), tz)
    raise SolarDataError(
        SolarError.NO_FORECAST,
        "no solar forecast attribute (detailedForecast, detailedHourly, watts, "
        "wh_period) on this sensor",
    )


def _as_mapping(name: str, value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise SolarDataError(
        SolarError.MALFORMED, f"attribute {name} is not a mapping of time to value"
    )


def _value(raw: Any) -> float | None:
    """Return a finite, non-negative number; None otherwise (PV never consumes)."""
    value = to_price(raw)
    return value if value is not None and value >= 0 else None


def _solcast(
    name: str, raw: Any, length: timedelta, tz: tzinfo | None
) -> SolarForecast:
    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        raise SolarDataError(
            SolarError.MALFORMED, f"attribute {name} is not a list of periods"
        )
    periods: list[PvPeriod] = []
    used: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        start = to_utc(item.get("period_start"), tz)
        if start is None:
            continue
        for key in _SOLCAST_ESTIMATES:
            kw = _value(item.get(key))
            if kw is not None:
                periods.append(PvPeriod(start, start + length, kw * KW))
                used.add(key)
                break
    estimate = next((key for key in _SOLCAST_ESTIMATES if key in used), None)
    return _finish(SolarSource.SOLCAST, periods, len(raw), estimate)


def _samples(raw: Mapping[Any, Any], tz: tzinfo | None) -> list[tuple[datetime, float]]:
    samples = []
    for key, value in raw.items():
        moment = to_utc(key, tz)
        number = _value(value)
        if moment is not None and number is not None:
            samples.append((moment, number))
    samples.sort()
    return samples


def _watts(raw: Mapping[Any, Any], tz: tzinfo | None) -> SolarForecast:
    samples = _samples(raw, tz)
    periods = [
        PvPeriod(left, right, (left_w + right_w) / 2)
        for (left, left_w), (right, right_w) in itertools.pairwise(samples)
        if left < right and right - left <= MAX_SAMPLE_GAP
    ]
    # Samples, not periods: a forecast of n samples has n - 1 periods.
    unusable = len(raw) - len(samples)
    return _finish(SolarSource.WATTS, periods, len(periods) + unusable)


def _wh_period(raw: Mapping[Any, Any], tz: tzinfo | None) -> SolarForecast:
    samples = _samples(raw, tz)
    periods = []
    for index, (start, wh) in enumerate(samples):
        following = samples[index + 1][0] if index + 1 < len(samples) else None
        length = MAX_SAMPLE_GAP
        if following is not None and start < following <= start + MAX_SAMPLE_GAP:
            length = following - start
        periods.append(
            PvPeriod(start, start + length, wh * 3600 / length.total_seconds())
        )
    return _finish(SolarSource.WH_PERIOD, periods, len(raw))


def _finish(
    source: SolarSource,
    periods: list[PvPeriod],
    raw_count: int,
    estimate: str | None = None,
) -> SolarForecast:
    periods = [p for p in periods if p.power_w <= MAX_PV_POWER_W]
    if raw_count and not periods:
        raise SolarDataError(
            SolarError.NO_USABLE_VALUES,
            f"none of the {raw_count} forecast entries has a usable time and value",
        )
    periods.sort(key=lambda period: (period.start, period.end))
    kept: list[PvPeriod] = []
    for period in periods:
        if kept and period.start < kept[-1].end:
            continue
        kept.append(period)
    return SolarForecast(
        source=source,
        periods=tuple(kept),
        skipped=raw_count - len(kept),
        estimate=estimate,
    )


def combine_forecasts(forecasts: Iterable[SolarForecast]) -> tuple[PvPeriod, ...]:
    """Add several forecasts up (a sensor per day, or per array).

    Where periods of different sensors overlap, their powers add, as the
    arrays' outputs do; the result is cut at every period edge.
    """
    periods = [period for forecast in forecasts for period in forecast.periods]
    edges = sorted({moment for p in periods for moment in (p.start, p.end)})
    power = [0.0] * len(edges)
    covered = [False] * len(edges)
    for period in periods:
        first = bisect.bisect_left(edges, period.start)
        last = bisect.bisect_left(edges, period.end)
        for index in range(first, last):
            power[index] += period.power_w
            covered[index] = True
    return tuple(
        PvPeriod(edges[index], edges[index + 1], power[index])
        for index in range(len(edges) - 1)
        if covered[index]
    )


def car_solar_energy(
    periods: Iterable[PvPeriod],
    *,
    now: datetime,
    until: datetime,
    house_w: float,
    min_power_w: float,
    max_power_w: float,
    cars: int = 1,
) -> list[EnergySlot]:
    """Return the energy the car is expected to take from the surplus.

    Per period between ``now`` and ``until``: surplus = PV power - the
    house's typical consumption, shared by ``cars`` (a group's members that
    count on the sun), none below ``min_power_w`` (the car's minimum
    current: the solar controller would not start) and at most
    ``max_power_w`` (the charger's maximum, or its share of the circuit).
    """
    begin, finish = now.astimezone(UTC), until.astimezone(UTC)
    slots = []
    for period in periods:
        start, end = max(period.start, begin), min(period.end, finish)
        surplus = (period.power_w - max(0.0, house_w)) / max(1, cars)
        if end <= start or surplus < min_power_w or surplus <= 0:
            continue
        power = min(surplus, max_power_w)
        energy = power * (end - start).total_seconds() / 3600
        if math.isfinite(energy) and energy > 0:
            slots.append(EnergySlot(start, end, energy))
    return slots
