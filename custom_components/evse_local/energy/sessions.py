"""Charging sessions from a charger's readings: when, how much, what it cost.

Plain Python, no Home Assistant. A :class:`SessionRecorder` is fed one
:class:`Reading` at a time (and price changes in between) and says when a
session starts and ends; each finished :class:`Session` holds its energy,
its cost, its solar share, the id tag that started it, and its energy and
cost per clock hour (for long-term statistics).

How it counts:

- **Energy** is the rise of the charger's lifetime counter between two
  readings (its session counter until it reports one), spread evenly
  over the time between them; cost = sum of energy x the price in force at
  that time, solar energy = sum of energy x the solar share reported with the
  reading. A counter that falls, or rises faster than any home charger can
  deliver, is a glitch until the next reading confirms it: one odd value
  neither loses nor invents energy.
- **A session** runs from plug-in to unplug. Both edges must be confirmed by
  a second reading in a row, or by lasting :data:`CONFIRM_SECONDS` (a
  charger that pushes only what changes sends no second reading), so one
  odd ``car_state`` never splits a session nor makes a ghost one. A new
  OCPP transaction is the charger's own word that a car is there: it starts
  a session at once. A transaction that ends while the car stays plugged in
  (a pause on a charger that refuses charging profiles) does not end it.
- **A car that is already there** at the first reading (Home Assistant
  started, or restarted without an open session) starts a session that is
  recorded from then on, but not announced: when it came is unknown.
- **Restarts**: :meth:`SessionRecorder.export_state` keeps the open session
  and the counters' baselines; after :meth:`~SessionRecorder.restore_state`
  the first reading continues the session, or closes it when the car left
  while Home Assistant was down. Prices and the solar share of a downtime
  longer than :data:`BLIND_SECONDS` are unknown: that energy counts as
  unpriced and not solar.
- **Limits**: a reached session limit is reported once per session, from
  the integration's own enforcer (``Reading.limit_reached``) or, for
  chargers that enforce their own, when the charger stops charging with the
  session at the limit it showed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

# No home AC charger delivers more (22 kW three-phase, 19.2 kW at 80 A): a
# counter rising faster is misread.
MAX_POWER_W = 50_000.0
# Coarse counters (go-e: 0.1 kWh) rise in steps this large at once.
COUNTER_SLACK_WH = 250.0
# An unplug (or plug-in) seen once is confirmed by a second reading or by
# lasting this long without a reading that says otherwise.
CONFIRM_SECONDS = 60.0
# Home Assistant down longer than this: the prices and sun of that time are
# unknown (a routine restart is shorter, and keeps the price it had).
BLIND_SECONDS = 900.0
# A charger that stops this close to the limit it showed has reached it.
LIMIT_TOLERANCE = 0.02
HOUR_SECONDS = 3600

_STATE_VERSION = 1


class LimitKind(StrEnum):
    """Which session limit was reached."""

    ENERGY = "energy"
    TIME = "time"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """What one read of the charger (and the meters around it) said.

    ``vehicle_connected`` None: the charger did not say. ``solar_share`` is
    the share (0..1) of the charging power that the sun
    covers now (None: no solar inputs, or not known now).
    ``energy_limit_kwh``/``time_limit_minutes`` are the limits the charger
    itself enforces (0 or None: none); ``limit_reached`` says that the
    integration's own enforcer reached its limit.
    """

    at: datetime
    vehicle_connected: bool | None
    charging: bool | None = None
    transaction_id: int | None = None
    lifetime_wh: float | None = None
    session_wh: float | None = None
    session_seconds: int | None = None
    energy_limit_kwh: float | None = None
    time_limit_minutes: int | None = None
    limit_reached: LimitKind | None = None
    solar_share: float | None = None
    id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class HourEnergy:
    """A session's energy (Wh) and cost in one clock hour (UTC)."""

    start: datetime
    energy_wh: float
    cost: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A finished charging session.

    ``cost`` is None when no price was known at any time of the session;
    ``priced_wh`` is the energy that had a price (less than ``energy_wh``
    when the price sensor was unavailable for a while). ``solar_wh`` is
    None without solar inputs.
    """

    session_id: str
    charger: str
    started_at: datetime
    ended_at: datetime
    energy_wh: float
    cost: float | None = None
    priced_wh: float = 0.0
    currency: str | None = None
    solar_wh: float | None = None
    id_tag: str | None = None
    hours: tuple[HourEnergy, ...] = ()

    @property
    def duration(self) -> timedelta:
        """How long the car was plugged in."""
        return self.ended_at - self.started_at

    @property
    def solar_share(self) -> float | None:
        """The share of the energy the sun gave (None: no solar inputs)."""
        if self.solar_wh is None:
            return None
        return self.solar_wh / self.energy_wh if self.energy_wh > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Serialise for storage: hours as ``[epoch start, Wh, cost]``."""
        return {
            "id": self.session_id,
            "charger": self.charger,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "energy_wh": self.energy_wh,
            "cost": self.cost,
            "priced_wh": self.priced_wh,
            "currency": self.currency,
            "solar_wh": self.solar_wh,
            "id_tag": self.id_tag,
            "hours": [
                [int(hour.start.timestamp()), hour.energy_wh, hour.cost]
                for hour in self.hours
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        """Read back what :meth:`as_dict` wrote (KeyError/ValueError if not)."""
        return cls(
            session_id=str(data["id"]),
            charger=str(data["charger"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            ended_at=datetime.fromisoformat(data["ended_at"]),
            energy_wh=float(data["energy_wh"]),
            cost=_optional_float(data.get("cost")),
            priced_wh=float(data.get("priced_wh") or 0.0),
            currency=data.get("currency"),
            solar_wh=_optional_float(data.get("solar_wh")),
            id_tag=data.get("id_tag"),
            hours=tuple(
                HourEnergy(_utc(start), float(wh), float(cost))
                for start, wh, cost in data.get("hours", ())
            ),
        )


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """A car was plugged in (confirmed), or a transaction started."""

    session_id: str
    started_at: datetime
    id_tag: str | None


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """A session finished."""

    session: Session


@dataclass(frozen=True, slots=True)
class LimitReached:
    """The session reached its energy or time limit."""

    session_id: str
    at: datetime
    kind: LimitKind
    energy_wh: float


type SessionEvent = SessionStarted | SessionEnded | LimitReached


def hourly_totals(
    sessions: Iterable[Session],
) -> list[tuple[datetime, float, float]]:
    """Return energy (kWh) and cost per clock hour over ``sessions``, oldest first.

    Two sessions in one hour (one ends at 10:20, the next starts at 10:40)
    add up in it: the long-term statistics have one row per hour.
    """
    hours: dict[datetime, list[float]] = {}
    for session in sessions:
        for hour in session.hours:
            totals = hours.setdefault(hour.start, [0.0, 0.0])
            totals[0] += hour.energy_wh / 1000
            totals[1] += hour.cost
    return [(start, hours[start][0], hours[start][1]) for start in sorted(hours)]


def solar_share(
    charging_w: float, grid_w: float | None, battery_w: float | None = None
) -> float | None:
    """Return the share of the chargers' power that the sun covers now.

    ``grid_w``: positive = importing; ``battery_w``: positive = charging the
    home battery. Whatever is imported, or taken from a discharging home
    battery, counts as feeding the chargers first: what is left of their
    power is solar. None when the grid power is unknown or nothing charges.
    """
    if grid_w is None or not math.isfinite(grid_w) or charging_w <= 0:
        return None
    bought = max(grid_w, 0.0) + max(-(battery_w or 0.0), 0.0)
    return min(1.0, max(0.0, (charging_w - bought) / charging_w))


_PER_KWH = {"kwh": 1.0, "mwh": 0.001, "wh": 1000.0}


def price_unit(unit: str | None) -> tuple[float, str | None] | None:
    """Read a price sensor's unit: (factor to a price per kWh, currency).

    ``EUR/kWh`` is (1, "EUR"), ``EUR/MWh`` (0.001, "EUR"); a sensor without a
    unit is taken as a price per kWh in no known currency. None: not a
    price per unit of energy.
    """
    if not unit:
        return 1.0, None
    currency, slash, energy = unit.rpartition("/")
    factor = _PER_KWH.get(energy.strip().lower())
    if not slash or factor is None:
        return None
    return factor, currency.strip() or None


# ---------------------------------------------------------------- internals


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _plausible_wh(seconds: float) -> float:
    return COUNTER_SLACK_WH + MAX_POWER_W * max(seconds, 0.0) / HOUR_SECONDS


@dataclass(slots=True)
class _Counter:
    """A charger energy counter, read with a guard against odd values."""

    value: float | None = None
    at: float | None = None
    suspect: float | None = None
    suspect_at: float | None = None

    def step(self, value: float | None, at: float) -> tuple[float, float] | None:
        """Return (Wh since, since when) for a new reading; None: nothing to add.

        A value that does not fit the last accepted one (lower, or higher
        than any charger can deliver meanwhile) is held as a suspect: a
        glitch is then skipped by the next reading, while a real counter
        reset or jump is accepted when the next reading fits the suspect.
        """
        if value is None or not math.isfinite(value):
            return None
        if self.value is None or self.at is None:
            self._accept(value, at)
            return None
        since = self.at
        delta = value - self.value
        if 0 <= delta <= _plausible_wh(at - since):
            self._accept(value, at)
            return delta, since
        if (
            self.suspect is not None
            and self.suspect_at is not None
            and 0 <= value - self.suspect <= _plausible_wh(at - self.suspect_at)
        ):
            since = self.suspect_at
            delta = value - self.suspect
            self._accept(value, at)
            return delta, since
        self.suspect, self.suspect_at = value, at
        return None

    def _accept(self, value: float, at: float) -> None:
        self.value, self.at = value, at
        self.suspect = self.suspect_at = None

    def export(self) -> list[float | None]:
        return [self.value, self.at, self.suspect, self.suspect_at]

    @classmethod
    def restore(cls, data: Any) -> _Counter:
        if not isinstance(data, list) or len(data) != 4:
            return cls()
        if not all(item is None or isinstance(item, int | float) for item in data):
            return cls()
        return cls(*data)


@dataclass(slots=True)
class _Open:
    """A session in progress (or a plug-in waiting for its confirmation)."""

    started_at: float
    transaction_id: int | None = None
    id_tag: str | None = None
    energy_wh: float = 0.0
    cost: float | None = None
    priced_wh: float = 0.0
    currency: str | None = None
    solar_wh: float | None = None
    # Clock hour (epoch seconds) -> [Wh, cost].
    hours: dict[int, list[float]] = field(default_factory=dict)
    # The limits the charger showed during the session (they may clear
    # themselves when reached).
    energy_limit_kwh: float | None = None
    time_limit_minutes: int | None = None
    limit_reported: bool = False
    # False: the car was there at the first reading (Home Assistant started
    # with it plugged in): when it came is unknown, so no start is announced.
    plug_in_seen: bool = True

    @property
    def session_id(self) -> str:
        return str(round(self.started_at * 1000))

    def add(
        self,
        start: float,
        end: float,
        energy_wh: float,
        *,
        prices: list[tuple[float, float | None]],
        share: float | None,
        currency: str | None,
    ) -> None:
        """Spread ``energy_wh`` evenly over [start, end] into hours and prices."""
        self.energy_wh += energy_wh
        if share is not None:
            self.solar_wh = (self.solar_wh or 0.0) + energy_wh * share
        for seg_start, seg_end, price in _segments(start, end, prices):
            part = (
                energy_wh * (seg_end - seg_start) / (end - start)
                if end > start
                else energy_wh
            )
            hour = self.hours.setdefault(
                int(seg_start // HOUR_SECONDS) * HOUR_SECONDS, [0.0, 0.0]
            )
            hour[0] += part
            if price is not None:
                cost = part / 1000 * price
                hour[1] += cost
                self.cost = (self.cost or 0.0) + cost
                self.priced_wh += part
                if currency is not None:
                    self.currency = currency

    def note_price(self, price: float | None) -> None:
        """Note that a price is known now: the cost is no longer unknown."""
        if price is not None and self.cost is None:
            self.cost = 0.0

    def note_share(self, share: float | None) -> None:
        """Note that the sun is measured now: solar energy is no longer unknown."""
        if share is not None and self.solar_wh is None:
            self.solar_wh = 0.0

    def finish(self, charger: str, ended_at: float) -> Session:
        return Session(
            session_id=self.session_id,
            charger=charger,
            started_at=_utc(self.started_at),
            ended_at=_utc(max(ended_at, self.started_at)),
            energy_wh=round(self.energy_wh, 3),
            cost=None if self.cost is None else round(self.cost, 6),
            priced_wh=round(self.priced_wh, 3),
            currency=self.currency,
            solar_wh=None if self.solar_wh is None else round(self.solar_wh, 3),
            id_tag=self.id_tag,
            hours=tuple(
                HourEnergy(_utc(start), round(wh, 3), round(cost, 6))
                for start, (wh, cost) in sorted(self.hours.items())
            ),
        )

    def export(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "energy_wh": self.energy_wh,
            "cost": self.cost,
            "priced_wh": self.priced_wh,
            "currency": self.currency,
            "solar_wh": self.solar_wh,
            "hours": [[start, wh, cost] for start, (wh, cost) in self.hours.items()],
            "energy_limit_kwh": self.energy_limit_kwh,
            "time_limit_minutes": self.time_limit_minutes,
            "limit_reported": self.limit_reported,
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> _Open:
        """Read back :meth:`export` (KeyError/TypeError/ValueError if not)."""
        return cls(
            started_at=float(data["started_at"]),
            transaction_id=data.get("transaction_id"),
            id_tag=data.get("id_tag"),
            energy_wh=float(data["energy_wh"]),
            cost=_optional_float(data.get("cost")),
            priced_wh=float(data.get("priced_wh") or 0.0),
            currency=data.get("currency"),
            solar_wh=_optional_float(data.get("solar_wh")),
            hours={
                int(start): [float(wh), float(cost)]
                for start, wh, cost in data.get("hours", ())
            },
            energy_limit_kwh=_optional_float(data.get("energy_limit_kwh")),
            time_limit_minutes=data.get("time_limit_minutes"),
            limit_reported=bool(data.get("limit_reported")),
        )


def _segments(
    start: float, end: float, prices: list[tuple[float, float | None]]
) -> list[tuple[float, float, float | None]]:
    """Cut [start, end] at clock hours and price changes: (from, to, price)."""
    cuts = {start, end}
    hour = (math.floor(start / HOUR_SECONDS) + 1) * HOUR_SECONDS
    while hour < end:
        cuts.add(float(hour))
        hour += HOUR_SECONDS
    cuts.update(at for at, _ in prices if start < at < end)
    points = sorted(cuts)
    if len(points) == 1:
        return [(start, end, _price_at(prices, start))]
    return [
        (begin, finish, _price_at(prices, begin))
        for begin, finish in itertools.pairwise(points)
    ]


def _price_at(prices: list[tuple[float, float | None]], at: float) -> float | None:
    """Return the price in force at ``at`` (changes are sorted by time)."""
    price: float | None = None
    for changed_at, value in prices:
        if changed_at > at:
            break
        price = value
    return price


class SessionRecorder:
    """Turns one charger's readings into sessions and their events."""

    def __init__(self, charger: str) -> None:
        """Start with nothing seen (see :meth:`restore_state` after a restart)."""
        self.charger = charger
        self._lifetime = _Counter()
        self._session = _Counter()
        # Price changes (time, price per kWh), oldest first; trimmed to what
        # an energy interval still to come may need.
        self._prices: list[tuple[float, float | None]] = []
        self._currency: str | None = None
        self._last_share: float | None = None
        self._open: _Open | None = None
        self._pending: _Open | None = None
        self._pending_since: float | None = None
        self._unplugged_at: float | None = None
        self._seen_at: float | None = None
        self._first_reading = True
        self._blind: tuple[float, float] | None = None
        self._restored = False
        self.dirty = False
        """Something worth keeping across a restart changed (see :meth:`stored`)."""

    # ------------------------------------------------------------ views

    @property
    def open_session(self) -> Session | None:
        """The session in progress so far (ending now), or None."""
        if self._open is None:
            return None
        return self._open.finish(self.charger, self._seen_at or self._open.started_at)

    @property
    def confirm_due(self) -> datetime | None:
        """When :meth:`tick` could confirm a plug-in or unplug seen once."""
        since = self._unplugged_at if self._open is not None else self._pending_since
        return None if since is None else _utc(since + CONFIRM_SECONDS)

    # ------------------------------------------------------------ inputs

    def set_price(
        self, at: datetime, price: float | None, currency: str | None = None
    ) -> None:
        """Take ``price`` per kWh as the price from ``at`` on (None: unknown).

        Call it when the price sensor changes, and once at start; a price
        equal to the last one changes nothing.
        """
        if price is not None and not math.isfinite(price):
            price = None
        if currency is not None:
            self._currency = currency
        if self._prices and self._prices[-1][1] == price:
            return
        moment = at.timestamp()
        if self._prices and moment < self._prices[-1][0]:
            moment = self._prices[-1][0]
        self._seen_at = max(moment, self._seen_at or moment)
        self._prices.append((moment, price))
        for session in (self._open, self._pending):
            if session is not None:
                session.note_price(price)
                self.dirty = True

    def update(self, reading: Reading) -> list[SessionEvent]:
        """Fold in one reading; return what happened, in order."""
        now = reading.at.timestamp()
        if self._seen_at is not None:
            now = max(now, self._seen_at)
        events: list[SessionEvent] = []
        connected = reading.vehicle_connected is True or (
            reading.transaction_id is not None
        )
        absent = reading.vehicle_connected is False and reading.transaction_id is None
        restored, self._restored = self._restored, False

        if (
            self._open is not None
            and restored
            and reading.transaction_id is not None
            and self._open.transaction_id not in (None, reading.transaction_id)
        ):
            # A different transaction after a restart: the car we knew left
            # while Home Assistant was down.
            events.append(self._close(self._open, self._blind_end(now)))
        created = False
        if self._open is None and self._pending is None and connected:
            self._pending = _Open(started_at=now, plug_in_seen=not self._first_reading)
            self._pending_since = now
            created = True
        self._first_reading = False
        self._count_energy(reading, now)

        if self._open is not None:
            if connected:
                if self._unplugged_at is not None:
                    # One odd reading: the session goes on.
                    self._unplugged_at = None
                    self.dirty = True
                self._follow(self._open, reading)
            elif absent:
                if restored:
                    # The car left while Home Assistant was down.
                    events.append(
                        self._close(
                            self._open, self._unplugged_at or self._blind_end(now)
                        )
                    )
                elif self._unplugged_at is None:
                    self._unplugged_at = now
                    self.dirty = True
                else:
                    events.append(self._close(self._open, self._unplugged_at))
        elif self._pending is not None:
            if connected:
                self._follow(self._pending, reading)
            # A transaction is the charger's word; a plug-in needs a second look.
            if connected and (reading.transaction_id is not None or not created):
                events += self._start(self._pending)
            elif absent:
                self._pending = None
                self._pending_since = None
        if self._open is not None and (limit := self._limit(self._open, reading, now)):
            events.append(limit)
        self._after(reading, now)
        return events

    def tick(self, now: datetime) -> list[SessionEvent]:
        """Confirm a plug-in or unplug that lasted long enough without a reading.

        Call it only while the charger answers: a charger that cannot be
        read has not confirmed anything.
        """
        moment = now.timestamp()
        if self._seen_at is not None:
            moment = max(moment, self._seen_at)
        self._seen_at = moment
        due = self.confirm_due
        if due is None or moment < due.timestamp():
            return []
        if self._open is not None and self._unplugged_at is not None:
            return [self._close(self._open, self._unplugged_at)]
        if self._pending is not None:
            return self._start(self._pending)
        return []  # pragma: no cover - confirm_due says one of them waits

    # ------------------------------------------------------------ steps

    def _blind_end(self, now: float) -> float:
        """When a session that ended unseen ended: the last moment it was seen."""
        if self._blind is not None:
            return self._blind[0]
        return now

    def _count_energy(self, reading: Reading, now: float) -> None:
        """Add the energy since the last reading to the session it belongs to."""
        # The lifetime counter once it has a value; until then the session
        # counter (an OCPP charger reports its register with the first
        # MeterValues, after StartTransaction has set the session to 0).
        by_session = self._session.step(reading.session_wh, now)
        if self._lifetime.value is None:
            self._lifetime.step(reading.lifetime_wh, now)
            counted = by_session
        else:
            counted = self._lifetime.step(reading.lifetime_wh, now)
        share = reading.solar_share
        if share is not None and not 0 <= share <= 1:
            share = None
        target = self._open or self._pending
        if target is not None:
            target.note_share(share)
            target.note_price(_price_at(self._prices, now))
        if share is None:
            share = self._last_share
        if counted is None or target is None:
            return
        energy_wh, since = counted
        if self._blind is not None and since < self._blind[1]:
            # Part of it flowed while Home Assistant was down: sun unknown.
            share = None
        if energy_wh > 0:
            target.add(
                since,
                now,
                energy_wh,
                prices=self._prices,
                share=share,
                currency=self._currency,
            )
            self.dirty = True

    def _follow(self, session: _Open, reading: Reading) -> None:
        """Keep what the charger says about the running session."""
        if reading.transaction_id is not None:
            session.transaction_id = reading.transaction_id
        if reading.id_tag:
            session.id_tag = reading.id_tag

    def _start(self, pending: _Open) -> list[SessionEvent]:
        self._open, self._pending, self._pending_since = pending, None, None
        self._unplugged_at = None
        self.dirty = True
        if not pending.plug_in_seen:
            return []
        return [
            SessionStarted(pending.session_id, _utc(pending.started_at), pending.id_tag)
        ]

    def _close(self, session: _Open, ended_at: float) -> SessionEnded:
        self._open = None
        self._unplugged_at = None
        self.dirty = True
        return SessionEnded(session.finish(self.charger, ended_at))

    def _limit(
        self, session: _Open, reading: Reading, now: float
    ) -> LimitReached | None:
        """Report a reached limit once per session."""
        if reading.energy_limit_kwh:
            session.energy_limit_kwh = reading.energy_limit_kwh
        elif reading.energy_limit_kwh == 0 and reading.charging:
            # Cleared while charging: the user's doing, not a reached limit.
            session.energy_limit_kwh = None
        if reading.time_limit_minutes:
            session.time_limit_minutes = reading.time_limit_minutes
        elif reading.time_limit_minutes == 0 and reading.charging:
            session.time_limit_minutes = None
        if session.limit_reported:
            return None
        kind = reading.limit_reached
        if kind is None and reading.charging is False and reading.vehicle_connected:
            kind = self._charger_limit(session, reading)
        if kind is None:
            return None
        session.limit_reported = True
        self.dirty = True
        return LimitReached(session.session_id, _utc(now), kind, session.energy_wh)

    @staticmethod
    def _charger_limit(session: _Open, reading: Reading) -> LimitKind | None:
        """Whether a charger that stopped did so at the limit it showed."""
        near = 1 - LIMIT_TOLERANCE
        if (
            session.energy_limit_kwh
            and reading.session_wh is not None
            and reading.session_wh >= session.energy_limit_kwh * 1000 * near
        ):
            return LimitKind.ENERGY
        if (
            session.time_limit_minutes
            and reading.session_seconds is not None
            and reading.session_seconds >= session.time_limit_minutes * 60 * near
        ):
            return LimitKind.TIME
        return None

    def _after(self, reading: Reading, now: float) -> None:
        """Remember this reading's share; forget prices no longer needed."""
        self._seen_at = now
        share = reading.solar_share
        self._last_share = share if share is not None and 0 <= share <= 1 else None
        oldest = min(
            (
                counter.at
                for counter in (self._lifetime, self._session)
                if counter.at is not None
            ),
            default=now,
        )
        for counter in (self._lifetime, self._session):
            if counter.suspect_at is not None:
                oldest = min(oldest, counter.suspect_at)
        # Keep the price in force at ``oldest`` and every change after it.
        while len(self._prices) > 1 and self._prices[1][0] <= oldest:
            del self._prices[0]
        if self._blind is not None and oldest >= self._blind[1]:
            self._blind = None

    # ------------------------------------------------------------ storage

    def stored(self) -> dict[str, Any]:
        """Return what to save, and clear the dirty mark."""
        self.dirty = False
        return self.export_state()

    def export_state(self) -> dict[str, Any]:
        """Return what must survive a restart, as JSON-ready data."""
        return {
            "version": _STATE_VERSION,
            "lifetime": self._lifetime.export(),
            "session": self._session.export(),
            "prices": [[at, price] for at, price in self._prices],
            "currency": self._currency,
            "open": None if self._open is None else self._open.export(),
            "unplugged_at": self._unplugged_at,
            "seen_at": self._seen_at,
        }

    def restore_state(
        self,
        data: Mapping[str, Any] | None,
        now: datetime,
        *,
        finished: Container[str] = (),
    ) -> None:
        """Take back :meth:`export_state` data after a restart at ``now``.

        An open session whose id is in ``finished`` was kept as finished
        before the restart (its end was saved first): it is not reopened.
        Anything malformed is dropped: the next session then starts afresh.
        """
        if not data or data.get("version") != _STATE_VERSION:
            return
        self._lifetime = _Counter.restore(data.get("lifetime"))
        self._session = _Counter.restore(data.get("session"))
        try:
            self._prices = [
                (float(at), _optional_float(price))
                for at, price in data.get("prices") or ()
            ]
            opened = data.get("open")
            self._open = None if opened is None else _Open.restore(opened)
            unplugged = data.get("unplugged_at")
            self._unplugged_at = None if unplugged is None else float(unplugged)
            seen = data.get("seen_at")
            self._seen_at = None if seen is None else float(seen)
        except KeyError, TypeError, ValueError:
            self._prices, self._open, self._unplugged_at = [], None, None
            self._seen_at = None
        if self._open is not None and self._open.session_id in finished:
            self._open, self._unplugged_at = None, None
        currency = data.get("currency")
        self._currency = currency if isinstance(currency, str) else None
        self._restored = self._open is not None
        moment = now.timestamp()
        if self._seen_at is not None and moment - self._seen_at > BLIND_SECONDS:
            # Down too long to guess: prices and sun of that time are unknown.
            self._blind = (self._seen_at, moment)
            last_change = self._prices[-1][0] if self._prices else self._seen_at
            self._prices.append((max(self._seen_at, last_change), None))
        self.dirty = False
