"""Price forecasts: a price sensor's attributes as a list of price slots.

Plain Python, no Home Assistant: the caller passes ``state.attributes`` of
the sensor the user picked (and Home Assistant's time zone for naive times)
and gets a :class:`PriceForecast`: slots with an aware start and end (UTC)
and a price per kWh, sorted and without overlaps. A user without dynamic
prices describes a :class:`FixedTariff` (daily off-peak windows) instead.

Attribute shapes understood (looked up in each integration's sources;
``docs/price-sensors.md`` has an example of each):

- **Nord Pool** (HACS ``custom-components/nordpool``): ``raw_today`` and
  ``raw_tomorrow``, entries ``{start, end, value}`` with datetimes and a
  ``value`` that is None until published; ``tomorrow_valid`` says whether
  tomorrow is in. Energi Data Service uses the same lists with entries
  ``{hour, price}``.
- **ENTSO-e** (HACS ``JaccoR/hass-entso-e``): ``prices_today`` and
  ``prices_tomorrow``, entries ``{time, price}`` with ``time`` an ISO string
  (``2025-10-01 00:00:00+02:00``) and no end (its ``prices`` repeats them).
- **Tibber** priceInfo (a REST or template sensor on the Tibber API):
  ``today`` and ``tomorrow``, entries ``{total, energy, tax, startsAt,
  level}``; ``total`` is the price.
- **Octopus Energy** (HACS ``BottlecapDave``): ``rates``, entries ``{start,
  end, value_inc_vat}``.
- **An action response kept in a template sensor** (core
  ``tibber.get_prices``, core ``nordpool.get_prices_for_date``): ``prices``,
  a list, or the whole response ``{home or area: list}`` with one key;
  entries ``{start_time, price}`` (Tibber) or ``{start, end, price}`` (Nord
  Pool, per MWh: give the sensor the unit ``EUR/MWh``).

Rules, so that odd data never surprises the planner:

- Times are ``datetime`` objects or ISO 8601 strings (``T`` or a space).
  Naive times are read in ``tz``; without ``tz`` such an entry is skipped.
- An entry without an end lasts until the next entry, but never longer than
  the spacing to the entry before it nor than 60 minutes: a missing entry in
  a list of quarter hours leaves a gap (an unknown price) instead of
  stretching its neighbour. 15- and 60-minute slots may be mixed.
- Prices are numbers or numeric strings, per kWh in the sensor's currency;
  ``unit`` (or the Nord Pool ``unit`` attribute) ``MWh``/``Wh`` is scaled to
  kWh. Negative prices are kept: they are real (paid to consume).
- Skipped and counted in :attr:`PriceForecast.skipped`: entries that are not
  mappings, lack a start or a price, have an unparsable or non-finite
  number, an end not after the start, or overlap a slot already kept (the
  slot that starts first wins; at the same start the shorter one, so 15
  minutes beat an hour). The same slot twice with two prices keeps the
  higher price (a plan never expects to pay less than the sensor may ask).
- Gaps are not filled: the planner treats a time without a price as
  unknown.
- :class:`PriceDataError` (with a :class:`PriceError` reason usable as a
  translation key): no known attribute at all (the wrong sensor), a list
  attribute that is not a list, or entries of which none is usable. Empty
  lists (no prices published yet) are not an error: the forecast is empty.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any

# The longest slot we infer from the spacing of entries that carry no end.
MAX_INFERRED_SLOT = timedelta(minutes=60)
# Fixed tariffs are cut in quarter hours, the day-ahead market's unit.
FIXED_TARIFF_SLOT = timedelta(minutes=15)


class PriceSource(StrEnum):
    """Which shape the forecast was read from."""

    NORDPOOL = "nordpool"
    ENTSOE = "entsoe"
    TIBBER = "tibber"
    OCTOPUS = "octopus"
    GENERIC = "generic"
    """A ``prices`` list: an action response kept in a template sensor."""
    FIXED = "fixed"


class PriceError(StrEnum):
    """Why a forecast could not be read (a translation key)."""

    NO_FORECAST = "price_no_forecast"
    """None of the known attributes: not a price forecast sensor."""
    MALFORMED = "price_malformed"
    """A known attribute that is not a list of entries."""
    NO_USABLE_PRICES = "price_no_usable_prices"
    """Entries, but not one with a usable time and price."""
    INVALID_TARIFF = "price_invalid_tariff"
    """A fixed tariff that cannot be used (no windows, one price only...)."""


class PriceDataError(ValueError):
    """A forecast or tariff that cannot be used; ``reason`` says why."""

    def __init__(self, reason: PriceError, detail: str) -> None:
        """Keep the reason for the translated message."""
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """One price, per kWh, from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    price: float

    @property
    def duration(self) -> timedelta:
        """The slot's length (UTC arithmetic, so DST days are right)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PriceForecast:
    """Normalised price slots: UTC, sorted, never overlapping, maybe gaps."""

    source: PriceSource
    slots: tuple[PriceSlot, ...]
    skipped: int = 0
    relative: bool = False
    """Prices only rank times (a fixed tariff without prices): no money."""
    tomorrow_available: bool | None = None
    """What the sensor says about tomorrow (Nord Pool ``tomorrow_valid``)."""
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the starts for :meth:`price_at`."""
        object.__setattr__(self, "_starts", tuple(s.start for s in self.slots))

    @property
    def end(self) -> datetime | None:
        """Until when prices are known (the last slot's end)."""
        return self.slots[-1].end if self.slots else None

    def price_at(self, moment: datetime) -> float | None:
        """Return the price at ``moment`` (aware), or None if there is none."""
        index = bisect.bisect_right(self._starts, moment.astimezone(UTC)) - 1
        if index >= 0 and moment < self.slots[index].end:
            return self.slots[index].price
        return None


# ------------------------------------------------------------------ shapes


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which attributes hold the entry lists of one integration."""

    source: PriceSource
    lists: tuple[str, ...]
    fallback: tuple[str, ...] = ()
    """Read only when none of ``lists`` is present."""
    needs_mappings: bool = False
    """The attribute names are generic: only lists of mappings count."""


# Order matters: Nord Pool also has ``today``/``tomorrow`` (plain numbers,
# no times), so its ``raw_`` lists are looked for first.
_SHAPES = (
    _Shape(PriceSource.NORDPOOL, ("raw_today", "raw_tomorrow")),
    _Shape(PriceSource.ENTSOE, ("prices_today", "prices_tomorrow")),
    _Shape(PriceSource.TIBBER, ("today", "tomorrow"), needs_mappings=True),
    _Shape(PriceSource.GENERIC, (), fallback=("prices",)),
    _Shape(PriceSource.OCTOPUS, ("rates",)),
)
_START_KEYS = ("start", "startsAt", "start_time", "time", "hour")
_END_KEYS = ("end", "endsAt", "end_time")
# ``total`` first: Tibber's ``energy`` is the spot part of ``total``.
_PRICE_KEYS = ("total", "price", "value", "value_inc_vat")
_PER_KWH = {"kwh": 1.0, "mwh": 1 / 1000, "wh": 1000.0}


@dataclass(slots=True)
class _Entry:
    start: datetime
    end: datetime | None
    price: float


def parse_price_attributes(
    attributes: Mapping[str, Any],
    *,
    tz: tzinfo | None = None,
    unit: str | None = None,
) -> PriceForecast:
    """Read a price sensor's attributes (see the module docstring).

    ``tz`` reads naive times (Home Assistant's time zone); ``unit`` is the
    sensor's unit of measurement (``EUR/kWh``, ``öre/MWh``...), used to
    scale prices to per kWh.
    """
    shape, lists = _find_lists(attributes)
    scale = _scale(unit if unit is not None else attributes.get("unit"))
    entries: list[_Entry] = []
    raw_count = 0
    for raw in lists:
        raw_count += len(raw)
        for item in raw:
            entry = _entry(item, tz)
            if entry is not None:
                entry.price *= scale
                entries.append(entry)
    skipped = raw_count - len(entries)
    if raw_count and not entries:
        raise PriceDataError(
            PriceError.NO_USABLE_PRICES,
            f"none of the {raw_count} price entries has a usable time and price",
        )
    slots, dropped = _normalise(entries)
    tomorrow = attributes.get("tomorrow_valid")
    return PriceForecast(
        source=shape.source,
        slots=slots,
        skipped=skipped + dropped,
        tomorrow_available=tomorrow if isinstance(tomorrow, bool) else None,
    )


def _find_lists(
    attributes: Mapping[str, Any],
) -> tuple[_Shape, list[Sequence[Any]]]:
    for shape in _SHAPES:
        names = [name for name in shape.lists if name in attributes] or [
            name for name in shape.fallback if name in attributes
        ]
        if not names:
            continue
        lists = [_as_list(name, attributes[name]) for name in names]
        if shape.needs_mappings and not any(
            isinstance(item, Mapping) for raw in lists for item in raw
        ):
            # Nord Pool's plain ``today`` list, or an unrelated attribute.
            continue
        return shape, lists
    raise PriceDataError(
        PriceError.NO_FORECAST,
        "no price forecast attribute (raw_today, prices_today, today, prices, "
        "rates) on this sensor",
    )


def _as_list(name: str, value: Any) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, Mapping) and name == "prices":
        # An action response kept whole: tibber.get_prices gives
        # {"prices": {"<home>": [...]}}, nordpool.get_prices_for_date {"<area>": [...]}.
        homes = list(value.values())
        if len(homes) == 1:
            return _as_list(name, homes[0])
        raise PriceDataError(
            PriceError.MALFORMED,
            f"attribute {name} holds {len(homes)} homes or areas; pick one in the template",
        )
    if isinstance(value, list | tuple):
        return value
    raise PriceDataError(
        PriceError.MALFORMED, f"attribute {name} is not a list of price entries"
    )


def _scale(unit: Any) -> float:
    if not isinstance(unit, str):
        return 1.0
    energy = unit.rsplit("/", 1)[-1].strip().lower()
    return _PER_KWH.get(energy, 1.0)


def _first(item: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        if item.get(key) is not None:
            return item[key]
    return None


def _entry(item: Any, tz: tzinfo | None) -> _Entry | None:
    if not isinstance(item, Mapping):
        return None
    start = to_utc(_first(item, _START_KEYS), tz)
    price = to_price(_first(item, _PRICE_KEYS))
    if start is None or price is None:
        return None
    raw_end = _first(item, _END_KEYS)
    end = to_utc(raw_end, tz)
    if raw_end is not None and (end is None or end <= start):
        return None
    return _Entry(start, end, price)


def to_utc(value: Any, tz: tzinfo | None) -> datetime | None:
    """Return a datetime or ISO string as aware UTC; None if it is neither.

    Naive values are wall times in ``tz`` (None without ``tz``).
    """
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.utcoffset() is None:
        if tz is None:
            return None
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def to_price(value: Any) -> float | None:
    """Return a finite number (or numeric string) as float; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float | Decimal):
        return None
    try:
        number = float(value)
    except OverflowError:
        # An int beyond any float (10**400): not a usable number.
        return None
    return number if math.isfinite(number) else None


def _normalise(entries: list[_Entry]) -> tuple[tuple[PriceSlot, ...], int]:
    """Infer missing ends, sort, drop overlaps; return the slots and drops."""
    starts = sorted({entry.start for entry in entries})
    index = {start: position for position, start in enumerate(starts)}
    candidates: list[PriceSlot] = []
    for entry in entries:
        end = entry.end
        if end is None:
            end = entry.start + _inferred_length(starts, index[entry.start])
        candidates.append(PriceSlot(entry.start, end, entry.price))
    candidates.sort(key=lambda slot: (slot.start, slot.end))
    kept: list[PriceSlot] = []
    dropped = 0
    for slot in candidates:
        if kept and slot.start < kept[-1].end:
            last = kept[-1]
            if (slot.start, slot.end) == (last.start, last.end):
                if slot.price != last.price:
                    kept[-1] = PriceSlot(
                        last.start, last.end, max(slot.price, last.price)
                    )
                    dropped += 1
                continue
            dropped += 1
            continue
        kept.append(slot)
    return tuple(kept), dropped


def _inferred_length(starts: list[datetime], position: int) -> timedelta:
    spacings = []
    if position + 1 < len(starts):
        spacings.append(starts[position + 1] - starts[position])
    if position > 0:
        spacings.append(starts[position] - starts[position - 1])
    usable = [spacing for spacing in spacings if spacing <= MAX_INFERRED_SLOT]
    return min(usable) if usable else MAX_INFERRED_SLOT


# ------------------------------------------------------------------ fixed


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedTariff:
    """Daily off-peak windows in local wall time, for users without a sensor.

    ``windows``: ``(start, end)`` pairs of naive ``time``; ``end`` before
    ``start`` crosses midnight (23:00-07:00). Prices: both or neither. With
    neither, off-peak ranks as 0 and peak as 1 and the forecast is
    ``relative`` (the plan has an order, no money cost).
    """

    windows: tuple[tuple[time, time], ...]
    off_peak_price: float | None = None
    peak_price: float | None = None

    def __post_init__(self) -> None:
        """Refuse what cannot be planned with."""
        if not self.windows:
            raise PriceDataError(PriceError.INVALID_TARIFF, "no off-peak window")
        for start, end in self.windows:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise PriceDataError(
                    PriceError.INVALID_TARIFF, "window times are local wall times"
                )
            if start == end:
                raise PriceDataError(
                    PriceError.INVALID_TARIFF, f"empty window {start}-{end}"
                )
        prices = (self.off_peak_price, self.peak_price)
        if (prices[0] is None) != (prices[1] is None):
            raise PriceDataError(
                PriceError.INVALID_TARIFF, "give both prices (off-peak and peak)"
            )
        if any(p is not None and to_price(p) is None for p in prices):
            raise PriceDataError(PriceError.INVALID_TARIFF, "a price is not finite")

    def is_off_peak(self, wall: time) -> bool:
        """Whether a local wall time falls in a window."""
        for start, end in self.windows:
            if start < end:
                if start <= wall < end:
                    return True
            elif wall >= start or wall < end:
                return True
        return False

    def forecast(self, start: datetime, end: datetime, tz: tzinfo) -> PriceForecast:
        """Slots from ``start`` to ``end`` (aware), local windows in ``tz``.

        Cut in quarter hours and at every window edge; each slot is off-peak
        when its local wall time is in a window, as a meter's tariff clock
        decides. So on the day clocks go forward a window from 02:30 starts
        when they jump to 03:00, and on the day they go back the repeated
        hour counts twice.
        """
        relative = self.off_peak_price is None
        cheap = 0.0 if self.off_peak_price is None else float(self.off_peak_price)
        dear = 1.0 if self.peak_price is None else float(self.peak_price)
        begin, finish = start.astimezone(UTC), end.astimezone(UTC)
        cuts = set(_quarter_hours(begin, finish))
        day: date = begin.astimezone(tz).date() - timedelta(days=1)
        while datetime.combine(day, time(), tz).astimezone(UTC) < finish:
            for window in self.windows:
                for edge in window:
                    moment = datetime.combine(day, edge, tz).astimezone(UTC)
                    if begin < moment < finish:
                        cuts.add(moment)
            day += timedelta(days=1)
        bounds = sorted(cuts | {begin, finish})
        slots = []
        for left, right in itertools.pairwise(bounds):
            middle = (left + (right - left) / 2).astimezone(tz).time()
            slots.append(
                PriceSlot(left, right, cheap if self.is_off_peak(middle) else dear)
            )
        return PriceForecast(
            source=PriceSource.FIXED, slots=tuple(slots), relative=relative
        )


def _quarter_hours(begin: datetime, finish: datetime) -> Iterable[datetime]:
    """Quarter-hour marks strictly inside (begin, finish), UTC."""
    step = FIXED_TARIFF_SLOT
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    moment = epoch + ((begin - epoch) // step + 1) * step
    while moment < finish:
        yield moment
        moment += step
