"""``mq200``: a Blink MQ 200 charge point speaking OCPP 1.6J to a central system.

Unlike the other simulators this one is a websocket *client*: it dials the
central system at ``<url>/<charge point id>`` (subprotocol ``ocpp1.6``, HTTP
Basic auth ``<charge point id>:<password>`` when a password is given), built
on the ``ocpp`` library's ``ChargePoint`` over ``aiohttp``.

What it does, from the MQ 200 manual (seed 004, section 7.3.3) and the peers
material in ``shared/peers/ocpp``:

- configuration keys of the manual's "OCPP 1.6 Settings" with their defaults;
  ``ChangeConfiguration`` validates: unknown key -> ``NotSupported``, read-only
  key or bad value -> ``Rejected``; the measurand lists accept only the four
  measurands the MQ 200 supports (Current.Import,
  Energy.Active.Import.Register, Temperature, Voltage);
- BootNotification (vendor ``Blink``, model ``MQ 200``), retried every
  ``interval`` while Pending/Rejected, Heartbeat every HeartbeatInterval,
  StatusNotification for connector 0 (the charger) and 1 (the cable);
- a single-phase J1772 session: plug in -> Preparing -> Authorize +
  StartTransaction -> Charging; car full -> SuspendedEV; a limit below 6 A
  -> SuspendedEVSE; unplug -> StopTransaction, Finishing, Available; a remote
  stop leaves the connector in Finishing until the car is unplugged;
- MeterValues every MeterValueSampleInterval during a transaction, with the
  configured measurands; the register grows with current x voltage x time;
- Smart Charging in amps only (ChargingScheduleAllowedChargingRateUnit is
  ``Current``): TxDefaultProfile, TxProfile and ChargePointMaxProfile.
  Within a purpose the highest stack level wins; a TxProfile overrules the
  TxDefaultProfile and goes away with its transaction; a
  ChargePointMaxProfile caps both;
- RemoteStart/Stop, ChangeAvailability (``Scheduled`` during a
  transaction), Reset (stops the transaction, closes, reconnects after
  ``reboot_seconds`` and boots again), UnlockConnector, TriggerMessage,
  DataTransfer (``UnknownVendorId``), Get/Clear/Set charging profiles and
  GetCompositeSchedule;
- RFID cards (:meth:`Mq200Simulator.swipe`): a card on the local list (or
  in the authorisation cache) starts at once with ``LocalPreAuthorize``,
  any other is sent in Authorize; offline, a listed card still starts
  (``LocalAuthorizeOffline``), an unknown one only with
  ``AllowOfflineTxForUnknownId``, and StartTransaction/StopTransaction of
  such a session are queued until the central system accepts a boot again;
- Local Auth List Management (GetLocalListVersion: ``-1`` while
  ``LocalAuthListEnabled`` is off; SendLocalList Full/Differential with
  ``VersionMismatch``, at most ``SendLocalListMaxLength`` per request and
  ``LocalAuthListMaxLength`` in all) and ClearCache;
- Reservation: ReserveNow (``Occupied`` with a car or a session,
  ``Faulted``, ``Unavailable``), the connector ``Reserved`` until the
  expiry, where only the reserved card (or its parent tag) may start;
  CancelReservation;
- Firmware Management: UpdateFirmware downloads the image over HTTP at its
  retrieve date (Downloading, Downloaded or DownloadFailed), installs it
  once no session runs (Installing; an image that does not start with
  ``MQ200 firmware <version>`` is InstallationFailed), reboots and reports
  Installed with the new version in BootNotification; GetDiagnostics
  POSTs a log file to the location (Uploading, Uploaded or UploadFailed).
  Everything else gets the library's CallError ``NotImplemented``.

Choices where the material is silent: SupportedFeatureProfiles does not list
RemoteTrigger (the manual's list) yet TriggerMessage is answered, as central
systems rely on it; MeterValues outside a transaction only with
``idle_meter_values``; messages that fall into an offline period are lost,
not queued, except the transaction messages of a session started offline;
charging profiles, the local list and the cache survive a reset; with
``boot_on_reconnect=False`` a charger that only lost its connection carries
on without a new BootNotification (OCPP boots only after a reboot).

Time is simulated: ``time_factor`` simulated seconds pass per real second
(``0`` freezes time; :meth:`Mq200Simulator.advance` then moves it and sends
whatever falls due, deterministically). Each simulator runs two tasks, one
reading the websocket and one driving the charger, so a hundred of them fit
in one process (:func:`start_fleet`).

Example::

    async with Mq200Simulator(url, "MQ200-001", password="s3cret", time_factor=0) as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()  # StatusNotification, Authorize, StartTransaction, ...
        await sim.advance(60)  # MeterValues every MeterValueSampleInterval
        print(sim.frames_sent["MeterValues"], sim.frames_received["SetChargingProfile"])
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp
from ocpp.routing import after as _after  # type: ignore[import-untyped, unused-ignore]
from ocpp.routing import on as _on  # type: ignore[import-untyped, unused-ignore]
from ocpp.v16 import (  # type: ignore[import-untyped, unused-ignore]
    ChargePoint,
    call,
    call_result,
)

_LOGGER = logging.getLogger(__name__)

type _Handler = Callable[..., Any]


def _handles(action: str) -> Callable[[_Handler], _Handler]:
    """``ocpp.routing.on``, typed."""
    decorator: Callable[[_Handler], _Handler] = _on(action)
    return decorator


def _after_handling(action: str) -> Callable[[_Handler], _Handler]:
    """``ocpp.routing.after``, typed."""
    decorator: Callable[[_Handler], _Handler] = _after(action)
    return decorator


# The ocpp library logs every frame at INFO; keep that apart from ours.
_WIRE_LOGGER = logging.getLogger(f"{__name__}.wire")

MQ200_KIND = "mq200"
VENDOR = "Blink"
MODEL = "MQ 200"
FIRMWARE = "MQ200-1.6.0-sim"
SUBPROTOCOL = "ocpp1.6"

CURRENT = "Current.Import"
ENERGY = "Energy.Active.Import.Register"
TEMPERATURE = "Temperature"
VOLTAGE = "Voltage"
SUPPORTED_MEASURANDS = (CURRENT, ENERGY, TEMPERATURE, VOLTAGE)
"""The only measurands the MQ 200 samples (seed 004)."""

MIN_CURRENT = 6.0
"""J1772: below 6 A the pilot cannot offer current."""
BOOT_RETRY_SECONDS = 600
"""The manual's "Boot Notification Interval" (used when the CS gives 0)."""
FAULT_ERROR_CODE = "OtherError"

_ACCEPTED = "Accepted"
_REJECTED = "Rejected"
_NOT_SUPPORTED = "NotSupported"
_CALL, _RESULT, _ERROR = 2, 3, 4


# ---------------------------------------------------------------- configuration


class KeyKind(StrEnum):
    """How a configuration value is checked."""

    BOOL = "bool"
    INT = "int"
    PERCENT = "percent"
    MEASURANDS = "measurands"
    ROTATION = "rotation"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One configuration key: its default, whether it is read-only, its kind."""

    name: str
    default: str
    readonly: bool = False
    kind: KeyKind = KeyKind.INT


_ALL_MEASURANDS = ",".join(SUPPORTED_MEASURANDS)
_ROTATIONS = frozenset(
    {"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"}
)

CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("AllowOfflineTxForUnknownId", "true", kind=KeyKind.BOOL),
    ConfigKey("AuthorizationCacheEnabled", "true", kind=KeyKind.BOOL),
    ConfigKey("AuthorizeRemoteTxRequests", "true", kind=KeyKind.BOOL),
    ConfigKey("BlinkRepeat", "0"),
    ConfigKey("ClockAlignedDataInterval", "0"),
    ConfigKey("ConnectionTimeOut", "900"),
    ConfigKey("GetConfigurationMaxKeys", "60", readonly=True),
    ConfigKey("HeartbeatInterval", "0"),
    ConfigKey("LightIntensity", "100", kind=KeyKind.PERCENT),
    ConfigKey("LocalAuthorizeOffline", "true", kind=KeyKind.BOOL),
    ConfigKey("LocalPreAuthorize", "true", kind=KeyKind.BOOL),
    ConfigKey("MaxEnergyOnInvalidId", "7360"),
    ConfigKey("MeterValuesAlignedData", ENERGY, kind=KeyKind.MEASURANDS),
    ConfigKey("MeterValuesAlignedDataMaxLength", "10", readonly=True),
    ConfigKey("MeterValuesSampledData", ENERGY, kind=KeyKind.MEASURANDS),
    ConfigKey("MeterValuesSampledDataMaxLength", "10", readonly=True),
    ConfigKey("MeterValueSampleInterval", "0"),
    ConfigKey("MinimumStatusDuration", "10"),
    ConfigKey("NumberOfConnectors", "1", readonly=True),
    ConfigKey("ResetRetries", "0"),
    ConfigKey("ConnectorPhaseRotation", "NotApplicable", kind=KeyKind.ROTATION),
    ConfigKey("ConnectorPhaseRotationMaxLength", "1", readonly=True),
    ConfigKey("StopTransactionOnEVSideDisconnect", "true", kind=KeyKind.BOOL),
    ConfigKey("StopTransactionOnInvalidId", "true", kind=KeyKind.BOOL),
    ConfigKey("StopTxnAlignedData", _ALL_MEASURANDS, kind=KeyKind.MEASURANDS),
    ConfigKey("StopTxnAlignedDataMaxLength", "10", readonly=True),
    ConfigKey("StopTxnSampledData", _ALL_MEASURANDS, kind=KeyKind.MEASURANDS),
    ConfigKey("StopTxnSampledDataMaxLength", "10", readonly=True),
    ConfigKey(
        "SupportedFeatureProfiles",
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging",
        readonly=True,
        kind=KeyKind.TEXT,
    ),
    ConfigKey("SupportedFeatureProfilesMaxLength", "6", readonly=True),
    ConfigKey("TransactionMessageAttempts", "10"),
    ConfigKey("TransactionMessageRetryInterval", "10"),
    ConfigKey("UnlockConnectorOnEVSideDisconnect", "true", kind=KeyKind.BOOL),
    ConfigKey("WebSocketPingInterval", "120"),
    ConfigKey("LocalAuthListEnabled", "true", kind=KeyKind.BOOL),
    ConfigKey("LocalAuthListMaxLength", "100", readonly=True),
    ConfigKey("SendLocalListMaxLength", "100", readonly=True),
    ConfigKey(
        "ReserveConnectorZeroSupported", "true", readonly=True, kind=KeyKind.BOOL
    ),
    ConfigKey("ChargeProfileMaxStackLevel", "99", readonly=True),
    ConfigKey(
        "ChargingScheduleAllowedChargingRateUnit",
        "Current",
        readonly=True,
        kind=KeyKind.TEXT,
    ),
    ConfigKey("ChargingScheduleMaxPeriods", "32", readonly=True),
    ConfigKey(
        "ConnectorSwitch3to1PhaseSupported", "false", readonly=True, kind=KeyKind.BOOL
    ),
    ConfigKey("MaxChargingProfilesInstalled", "10", readonly=True),
)
KEYS_BY_NAME = {key.name: key for key in CONFIG_KEYS}


def value_is_valid(key: ConfigKey, value: str, max_items: int = 10) -> bool:
    """Whether the MQ 200 would take ``value`` for ``key``."""
    if key.kind is KeyKind.BOOL:
        return value.lower() in {"true", "false"}
    if key.kind is KeyKind.MEASURANDS:
        items = [item.strip() for item in value.split(",") if item.strip()]
        return len(items) <= max_items and all(
            item in SUPPORTED_MEASURANDS for item in items
        )
    if key.kind is KeyKind.ROTATION:
        return value in _ROTATIONS
    if key.kind is KeyKind.TEXT:
        return True
    if not value.isdigit():
        return False
    return key.kind is not KeyKind.PERCENT or int(value) <= 100


# ---------------------------------------------------------------- quirks


class ProfileRefusal(StrEnum):
    """How a charger that does not do Smart Charging answers SetChargingProfile."""

    REJECTED = "rejected"
    """``status: Rejected``."""
    NOT_SUPPORTED = "not_supported"
    """``status: NotSupported``."""
    CALL_ERROR = "call_error"
    """A CallError ``NotSupported``."""


@dataclass(slots=True)
class Mq200Quirks:
    """Behaviour seen on Blink firmware (or other chargers), off by default."""

    blink_units: bool = False
    """Units spelled ``Amp`` and ``Volt`` (Blink HQ 200 capture)."""
    nanosecond_timestamps: bool = False
    """Nine fractional digits in timestamps (Blink HQ 200 capture)."""
    transaction_started: bool = False
    """Send the non-standard ``TransactionStarted`` (the HQ 200's shape, idTag
    an object) before StartTransaction."""
    duplicate_stop: bool = False
    """Send every StopTransaction twice (seen from the SAP simulator)."""
    energy_glitch_every: int = 0
    """Every n-th energy sample reads ``energy_glitch_value`` (the register
    itself goes on)."""
    energy_glitch_value: str = "0.0"
    """What a glitching energy sample says, as is: ``"-5"``, ``"1e999"``."""
    refuse_profiles: ProfileRefusal | None = None
    """Refuse every SetChargingProfile this way."""
    rejected_keys: set[str] = field(default_factory=set)
    """ChangeConfiguration of these keys is ``Rejected`` whatever the value."""
    ignored_keys: set[str] = field(default_factory=set)
    """ChangeConfiguration of these keys answers ``Accepted`` but keeps the
    old value (firmware that ignores a write; GetConfiguration shows it)."""
    call_error_codes: dict[str, object] = field(default_factory=dict)
    """Answer these actions with a CALLERROR carrying this error code, as is:
    an OCPP 2.0 code (``MessageTypeNotSupported``), ``None`` (JSON null) or a
    number; none of them is an OCPP 1.6 code."""
    local_list: LocalListRefusal | None = None
    """Refuse local list management this way."""
    refuse_triggers: bool = False
    """Answer every TriggerMessage ``Rejected`` (a busy or locked-down charger)."""


class LocalListRefusal(StrEnum):
    """How a charger refuses the central system's local list."""

    NOT_SUPPORTED = "not_supported"
    """No Local Auth List Management: a CallError ``NotSupported`` to
    GetLocalListVersion and SendLocalList."""
    FAILED = "failed"
    """SendLocalList answered ``Failed`` (its storage is full or broken)."""


# ---------------------------------------------------------------- the charger


@dataclass(slots=True)
class ChargingProfile:
    """An installed charging profile (amps only)."""

    id: int
    connector_id: int
    stack_level: int
    purpose: str
    kind: str
    periods: list[tuple[float, float]]
    """(start_period s, limit A), sorted."""
    start: float
    """Simulated clock second the schedule starts (Absolute/Recurring)."""
    duration: float | None = None
    recurrency: str | None = None
    transaction_id: int | None = None

    def limit_at(self, clock: float, transaction_start: float | None) -> float | None:
        """Return the limit in force at ``clock`` (None outside the schedule)."""
        start = self.start
        if self.kind == "Relative":
            start = clock if transaction_start is None else transaction_start
        elapsed = clock - start
        if elapsed < 0:
            return None
        if self.kind == "Recurring":
            elapsed %= 604800 if self.recurrency == "Weekly" else 86400
        if self.duration is not None and elapsed >= self.duration:
            return None
        limit = None
        for start_period, period_limit in self.periods:
            if start_period <= elapsed:
                limit = period_limit
        return limit


@dataclass(slots=True)
class Transaction:
    """A transaction (id 0 until the central system numbers it)."""

    id: int
    id_tag: str
    meter_start: int
    started_at: float
    reservation_id: int | None = None
    unsent: bool = False
    """Started offline: StartTransaction is still to be sent."""


@dataclass(frozen=True, slots=True)
class SimReservation:
    """A ReserveNow the charger accepted."""

    id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: float
    """Simulated clock second it ends."""

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """Whether this card may use the reserved connector."""
        wanted = {self.id_tag.casefold()}
        if self.parent_id_tag:
            wanted.add(self.parent_id_tag.casefold())
        return id_tag.casefold() in wanted or (
            parent_id_tag is not None and parent_id_tag.casefold() in wanted
        )


@dataclass
class Mq200Model:
    """The charger and the car, single phase. Time only moves with advance()."""

    max_current: float = 32.0
    """Installation maximum (the MQ 200's dial setting)."""
    ev_max_current: float = 32.0
    """What the car's on-board charger takes at most."""
    voltage: float = 240.0
    ambient_c: float = 25.0
    energy_wh: float = 0.0
    """The energy register (lifetime Wh)."""
    auto_start: bool = True
    """Start a transaction when a car is plugged in (free-vend home use)."""
    id_tag: str = "MQ200-LOCAL"
    """The idTag of a transaction started at the charger."""
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    """Wall-clock time at clock 0."""

    clock: float = field(default=0.0, init=False)
    plugged: bool = field(default=False, init=False)
    ev_wants: bool = field(default=False, init=False)
    energy_wanted_wh: float | None = field(default=None, init=False)
    session_wh: float = field(default=0.0, init=False)
    charger_available: bool = field(default=True, init=False)
    connector_available: bool = field(default=True, init=False)
    available_after_transaction: bool | None = field(default=None, init=False)
    fault: str | None = field(default=None, init=False)
    finishing: bool = field(default=False, init=False)
    refused: bool = field(default=False, init=False)
    remote_id_tag: str | None = field(default=None, init=False)
    presented_tag: str | None = field(default=None, init=False)
    """The RFID card last swiped, until a session starts with it."""
    reservation: SimReservation | None = field(default=None, init=False)
    stop_reason: str | None = field(default=None, init=False)
    transaction: Transaction | None = field(default=None, init=False)
    profiles: list[ChargingProfile] = field(default_factory=list, init=False)
    on_change: Callable[[], None] | None = field(default=None, init=False, repr=False)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # ------------------------------------------------------------ the car

    def plug_in(self, energy_wanted_wh: float | None = None) -> None:
        """Plug a car in; it is full after ``energy_wanted_wh`` (None: never)."""
        if self.plugged:
            return
        self.plugged = True
        self.ev_wants = True
        self.finishing = False
        self.refused = False
        self.session_wh = 0.0
        self.energy_wanted_wh = energy_wanted_wh
        self._changed()

    def unplug(self) -> None:
        """Unplug the car (the transaction stops: EVDisconnected)."""
        self.plugged = False
        self.ev_wants = False
        self.finishing = False
        self.refused = False
        self._changed()

    def car_full(self) -> None:
        """Let the car stop taking current (SuspendedEV)."""
        self.ev_wants = False
        self._changed()

    def swipe(self, id_tag: str) -> None:
        """Present an RFID card (before or after plugging in)."""
        self.presented_tag = id_tag
        self.refused = False
        self._changed()

    def car_wants_charge(self) -> None:
        """Let the car take current again."""
        self.ev_wants = self.plugged
        self._changed()

    def set_fault(self, error_code: str = FAULT_ERROR_CODE) -> None:
        """Fault the charger (Faulted with this ChargePointErrorCode)."""
        self.fault = error_code
        self._changed()

    def clear_fault(self) -> None:
        """Clear the fault."""
        self.fault = None
        self._changed()

    def reset_energy_register(self) -> None:
        """Restart the register from zero (a meter reset)."""
        self.energy_wh = 0.0
        self._changed()

    # ------------------------------------------------------------ state

    @property
    def available(self) -> bool:
        """Whether the connector is operative (itself and the charger)."""
        return self.charger_available and self.connector_available

    @property
    def profile_limit(self) -> float | None:
        """The limit the charging profiles set right now (None: no profile)."""
        return self._profile_limit(session=True)

    def _profile_limit(self, *, session: bool) -> float | None:
        """Combine the profiles' limits, with the session's TxProfile or without.

        Within a purpose the highest stack level wins; a TxProfile overrules
        the TxDefaultProfile for its transaction (OCPP 1.6 §3.13.2) and a
        ChargePointMaxProfile caps both.
        """
        transaction = self.transaction
        tx_start = transaction.started_at if transaction is not None else None
        best: dict[str, tuple[int, float]] = {}
        for profile in self.profiles:
            if profile.purpose == "TxProfile" and (transaction is None or not session):
                continue
            limit = profile.limit_at(self.clock, tx_start)
            if limit is None:
                continue
            held = best.get(profile.purpose)
            if held is None or profile.stack_level > held[0]:
                best[profile.purpose] = (profile.stack_level, limit)
        in_force = best.get("TxProfile") or best.get("TxDefaultProfile")
        limits = [
            held[1]
            for held in (in_force, best.get("ChargePointMaxProfile"))
            if held is not None
        ]
        return min(limits) if limits else None

    @property
    def current_limit(self) -> float:
        """The installation maximum capped by the charging profiles."""
        limit = self.profile_limit
        return self.max_current if limit is None else min(self.max_current, limit)

    @property
    def offered_current(self) -> float:
        """Amps the pilot offers: 0 outside a transaction or below 6 A."""
        if self.transaction is None or self.fault or not self.plugged:
            return 0.0
        limit = self.current_limit
        return limit if limit >= MIN_CURRENT else 0.0

    @property
    def could_offer(self) -> float:
        """The most the pilot may offer without the central system doing anything.

        What it offers now, or what a new session starts at (a car plugging
        in, a reboot ending the session): the TxDefaultProfile, capped.
        """
        limit = self._profile_limit(session=False)
        start = self.max_current if limit is None else min(self.max_current, limit)
        return max(self.offered_current, start)

    @property
    def current(self) -> float:
        """Amps the car draws."""
        if not self.ev_wants:
            return 0.0
        return min(self.offered_current, self.ev_max_current)

    @property
    def power(self) -> float:
        """Watts drawn."""
        return self.current * self.voltage

    @property
    def temperature(self) -> float:
        """Degrees Celsius inside the charger (warms with the current)."""
        return self.ambient_c + self.current * 0.25

    @property
    def status(self) -> str:
        """StatusNotification status of connector 1."""
        if self.fault:
            return "Faulted"
        if self.transaction is not None:
            if self.current_limit < MIN_CURRENT:
                return "SuspendedEVSE"
            return "Charging" if self.ev_wants else "SuspendedEV"
        if not self.available:
            return "Unavailable"
        if self.plugged:
            return "Finishing" if self.finishing else "Preparing"
        if self.reservation is not None:
            return "Reserved"
        return "Available"

    @property
    def charger_status(self) -> str:
        """StatusNotification status of connector 0 (the charger)."""
        if self.fault:
            return "Faulted"
        return "Available" if self.charger_available else "Unavailable"

    @property
    def wants_transaction(self) -> bool:
        """A transaction should start now."""
        return (
            self.transaction is None
            and self.plugged
            and self.available
            and not self.fault
            and not self.finishing
            and not self.refused
            and (
                self.auto_start
                or self.remote_id_tag is not None
                or self.presented_tag is not None
            )
        )

    @property
    def starting_tag(self) -> str:
        """The card a session would start with now."""
        return self.remote_id_tag or self.presented_tag or self.id_tag

    def now(self) -> datetime:
        """Wall-clock time of the simulated clock."""
        return self.start_time + timedelta(seconds=self.clock)

    def to_clock(self, when: datetime) -> float:
        """Return the simulated clock second of a wall-clock time."""
        return (when - self.start_time).total_seconds()

    def advance(self, seconds: float) -> None:
        """Move time on and count energy."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.clock += seconds
        if self.reservation is not None and self.clock >= self.reservation.expiry:
            self.reservation = None
        watts = self.power
        if watts <= 0:
            return
        wh = watts * seconds / 3600
        self.energy_wh += wh
        self.session_wh += wh
        if (
            self.energy_wanted_wh is not None
            and self.session_wh >= self.energy_wanted_wh
        ):
            self.car_full()


# ---------------------------------------------------------------- the wire


class _LinkClosedError(Exception):
    """The websocket is gone."""


class _Link:
    """What ``ocpp``'s ChargePoint reads and writes: one aiohttp websocket."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, sim: Mq200Simulator
    ) -> None:
        self.ws = ws
        self.sim = sim

    async def recv(self) -> str:
        while True:
            message = await self.ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                text: str = message.data
                self.sim.count_frame(text, incoming=True)
                return text
            if message.type in {
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            }:
                raise _LinkClosedError
            # Binary frames mean nothing in OCPP-J: ignore them.

    async def send(self, text: str) -> None:
        self.sim.count_frame(text, incoming=False)
        try:
            await self.ws.send_str(text)
        except (aiohttp.ClientConnectionResetError, ConnectionError) as err:
            # The central system (or a stop) closed the socket meanwhile.
            raise _LinkClosedError from err


class _Mq200ChargePoint(ChargePoint):  # type: ignore[misc, unused-ignore]
    """The ``ocpp`` library's ChargePoint with the MQ 200's handlers."""

    sim: Mq200Simulator

    async def route_message(self, raw_msg: str) -> None:
        """Route a frame; a CALL named in ``call_error_codes`` gets that error."""
        odd_codes = self.sim.quirks.call_error_codes
        frame: Any = None
        if odd_codes:
            with contextlib.suppress(ValueError):
                frame = json.loads(raw_msg)
        if (
            isinstance(frame, list)
            and len(frame) == 4
            and frame[0] == _CALL
            and isinstance(frame[2], str)
            and frame[2] in odd_codes
        ):
            error = [_ERROR, frame[1], odd_codes[frame[2]], "not handled here", {}]
            await self._send(json.dumps(error))
            return
        await super().route_message(raw_msg)

    async def raw_call(self, action: str, payload: Any) -> tuple[int, Any]:
        """Send any CALL (even one OCPP 1.6 lacks); return (type id, payload)."""
        unique_id = str(self._unique_id_generator())
        frame = json.dumps([_CALL, unique_id, action, payload], separators=(",", ":"))
        async with self._call_lock:
            await self._send(frame)
            reply = await self._get_specific_response(unique_id, self._response_timeout)
        if reply.message_type_id == _ERROR:
            return _ERROR, reply.error_code
        return _RESULT, reply.payload

    @_handles("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        return self.sim.get_configuration(key)

    @_handles("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return call_result.ChangeConfiguration(
            status=self.sim.change_configuration(key, value)
        )

    @_handles("RemoteStartTransaction")
    def on_remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        return call_result.RemoteStartTransaction(
            status=self.sim.remote_start(id_tag, connector_id, charging_profile)
        )

    @_handles("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        return call_result.RemoteStopTransaction(
            status=self.sim.remote_stop(transaction_id)
        )

    @_handles("SetChargingProfile")
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        await self.sim.transaction_taken_in()
        return call_result.SetChargingProfile(
            status=self.sim.set_charging_profile(connector_id, cs_charging_profiles)
        )

    @_handles("ClearChargingProfile")
    def on_clear_charging_profile(
        self,
        id: int | None = None,  # noqa: A002 - the OCPP field name
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> Any:
        return call_result.ClearChargingProfile(
            status=self.sim.clear_charging_profile(
                id, connector_id, charging_profile_purpose, stack_level
            )
        )

    @_handles("GetCompositeSchedule")
    def on_get_composite_schedule(
        self,
        connector_id: int,
        duration: int,
        charging_rate_unit: str | None = None,
        **_: Any,
    ) -> Any:
        return self.sim.composite_schedule(connector_id, duration, charging_rate_unit)

    @_handles("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:  # noqa: A002
        return call_result.ChangeAvailability(
            status=self.sim.change_availability(connector_id, type)
        )

    @_handles("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:  # noqa: A002
        return call_result.Reset(status=_ACCEPTED)

    @_after_handling("Reset")
    def after_reset(self, type: str, **_: Any) -> None:  # noqa: A002
        self.sim.request_reset(type)

    @_handles("UnlockConnector")
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        return call_result.UnlockConnector(status=self.sim.unlock(connector_id))

    @_handles("TriggerMessage")
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        return call_result.TriggerMessage(
            status=self.sim.trigger_status(requested_message, connector_id)
        )

    @_after_handling("TriggerMessage")
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        self.sim.trigger(requested_message, connector_id)

    @_handles("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    @_handles("GetLocalListVersion")
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(
            list_version=self.sim.get_local_list_version()
        )

    @_handles("SendLocalList")
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        return call_result.SendLocalList(
            status=self.sim.send_local_list(
                list_version, update_type, local_authorization_list or []
            )
        )

    @_handles("ClearCache")
    def on_clear_cache(self, **_: Any) -> Any:
        return call_result.ClearCache(status=self.sim.clear_cache())

    @_handles("ReserveNow")
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> Any:
        return call_result.ReserveNow(
            status=self.sim.reserve_now(
                connector_id, expiry_date, id_tag, reservation_id, parent_id_tag
            )
        )

    @_handles("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        return call_result.CancelReservation(
            status=self.sim.cancel_reservation(reservation_id)
        )

    @_handles("UpdateFirmware")
    def on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        self.sim.update_firmware(location, retrieve_date)
        return call_result.UpdateFirmware()

    @_handles("GetDiagnostics")
    def on_get_diagnostics(self, location: str, **_: Any) -> Any:
        return call_result.GetDiagnostics(file_name=self.sim.name_diagnostics())

    @_after_handling("GetDiagnostics")
    def after_get_diagnostics(self, location: str, **_: Any) -> None:
        self.sim.upload_diagnostics(location)


# ---------------------------------------------------------------- the simulator


def _timestamp(when: datetime, *, nanoseconds: bool = False) -> str:
    digits = (
        f"{when.microsecond * 1000:09d}"
        if nanoseconds
        else f"{when.microsecond // 1000:03d}"
    )
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S')}.{digits}Z"


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_TRIGGERABLE = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)


class Mq200Simulator:
    """A simulated Blink MQ 200 connected to the central system at ``url``."""

    kind = MQ200_KIND

    def __init__(
        self,
        url: str,
        charge_point_id: str,
        *,
        password: str | None = None,
        username: str | None = None,
        serial: str | None = None,
        firmware: str = FIRMWARE,
        model: Mq200Model | None = None,
        quirks: Mq200Quirks | None = None,
        time_factor: float = 1.0,
        meter_interval: int | None = None,
        measurands: tuple[str, ...] | None = None,
        idle_meter_values: bool = False,
        validate_schemas: bool = True,
        response_timeout: float = 10.0,
        reconnect_delay: float = 1.0,
        reboot_seconds: float = 1.0,
        unlock_status: str = "Unlocked",
        keep_frames: int = 0,
        boot_on_reconnect: bool = True,
        vendor_keys: tuple[ConfigKey, ...] = (),
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Prepare (but do not connect) a charger.

        ``url`` is the Central System URL; the charge point id is appended
        (URL-quoted). ``username`` defaults to the charge point id (OCPP
        security profile 1). ``time_factor`` simulated seconds pass per real
        second (0: only :meth:`advance` moves time). ``meter_interval`` and
        ``measurands`` preset MeterValueSampleInterval and
        MeterValuesSampledData (the central system may change them).
        ``validate_schemas=False`` skips the ``ocpp`` library's JSON schema
        checks, which run in a thread pool and dominate the cost of a frame.
        ``keep_frames`` keeps that many recent frames in :attr:`frames`.
        ``boot_on_reconnect=False``: after a lost connection (not a reboot)
        it carries on without a BootNotification. ``vendor_keys`` are
        configuration keys beyond the manual's (a firmware's own).
        """
        if time_factor < 0:
            raise ValueError("time_factor must not be negative")
        self.charge_point_id = charge_point_id
        self.url = f"{url.rstrip('/')}/{quote(charge_point_id, safe='')}"
        self.password = password
        self.username = username if username is not None else charge_point_id
        self.serial = serial if serial is not None else charge_point_id
        self.firmware = firmware
        self.model = model if model is not None else Mq200Model()
        self.model.on_change = self._wake_up
        self.quirks = quirks if quirks is not None else Mq200Quirks()
        self.time_factor = time_factor
        self.idle_meter_values = idle_meter_values
        self.validate_schemas = validate_schemas
        self.response_timeout = response_timeout
        self.reconnect_delay = reconnect_delay
        self.reboot_seconds = reboot_seconds
        self.unlock_status = unlock_status
        self.keys = KEYS_BY_NAME | {key.name: key for key in vendor_keys}
        """The configuration keys it knows: the manual's and ``vendor_keys``."""
        self.config = {key.name: key.default for key in self.keys.values()}
        if meter_interval is not None:
            self.config["MeterValueSampleInterval"] = str(meter_interval)
        if measurands is not None:
            self.config["MeterValuesSampledData"] = ",".join(measurands)

        # Counters (see reset_counters).
        self.frames_sent: Counter[str] = Counter()
        """Frames sent: CALLs by action, replies as ``<action>.conf``/``.error``."""
        self.frames_received: Counter[str] = Counter()
        """Frames received, keyed like :attr:`frames_sent`."""
        self.frames: deque[tuple[str, str]] = deque(maxlen=keep_frames)
        """Recent frames as (``"in"``/``"out"``, text) when ``keep_frames``."""
        self.connects = 0
        self.connect_failures = 0
        self.disconnects = 0
        self.call_timeouts = 0

        self.boot_on_reconnect = boot_on_reconnect
        self.local_list: dict[str, dict[str, Any]] = {}
        """The local authorisation list by card (case-folded): idTag + idTagInfo."""
        self.local_list_version = 0
        self.auth_cache: dict[str, dict[str, Any]] = {}
        """Cards the central system accepted (AuthorizationCacheEnabled)."""
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.downloads: list[str] = []
        """URLs the firmware was fetched from."""
        self.uploads: list[str] = []
        """URLs diagnostics were sent to."""
        self._firmware_location: str | None = None
        self._firmware_due = math.inf
        self._image_waiting: tuple[str | None] | None = None
        """A downloaded image waiting for no session: (its version or None)."""
        self._report_installed = False
        self._diagnostics_file: str | None = None
        self._queued: list[tuple[Any, ...]] = []
        """Transaction messages of a session started offline, in order."""
        self._must_boot = True
        self._tasks: set[asyncio.Task[None]] = set()
        self.boot_status: str | None = None
        self.heartbeat_interval = 0
        self._session = session
        self._own_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._cp: _Mq200ChargePoint | None = None
        self._conn_task: asyncio.Task[None] | None = None
        self._drop_tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._hold = asyncio.Event()
        self._hold.set()
        self._next_delay: float | None = None
        self._wake = asyncio.Event()
        self._time_lock = asyncio.Lock()
        self._booted = asyncio.Event()
        self._accepted = asyncio.Event()
        self._connected = asyncio.Event()
        self._last_real: float | None = None
        self._boot_due = math.inf
        self._heartbeat_due = math.inf
        self._meter_due = math.inf
        self._reported: dict[int, str] = {}
        self._triggers: list[tuple[str, int | None]] = []
        self._reset_type: str | None = None
        self._pending_profile: dict[str, Any] | None = None
        self._energy_samples = 0
        self._outgoing: dict[str, str] = {}
        self._incoming: dict[str, str] = {}
        self._starting: asyncio.Event | None = None
        """Set once the StartTransaction in flight is taken in (or given up)."""
        self._start_answered = False

    # ------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """Whether the websocket is open."""
        return self._connected.is_set()

    @property
    def accepted(self) -> bool:
        """Whether the central system accepted the last BootNotification."""
        return self._accepted.is_set()

    @property
    def transaction_id(self) -> int | None:
        """The running transaction's id (given by the central system)."""
        transaction = self.model.transaction
        return transaction.id if transaction is not None else None

    @property
    def meter_interval(self) -> int:
        """MeterValueSampleInterval in force."""
        return int(self.config["MeterValueSampleInterval"])

    @property
    def measurands(self) -> list[str]:
        """MeterValuesSampledData in force."""
        return [m for m in self.config["MeterValuesSampledData"].split(",") if m]

    def describe(self) -> str:
        """One line about what this simulator pretends to be."""
        return f"{VENDOR} {MODEL}, firmware {self.firmware} (OCPP 1.6J, {self.charge_point_id})"

    def snapshot(self) -> dict[str, Any]:
        """State and counters, for humans."""
        model = self.model
        return {
            "kind": MQ200_KIND,
            "url": self.url,
            "connected": self.connected,
            "boot_status": self.boot_status,
            "status": model.status,
            "transaction_id": self.transaction_id,
            "current_limit": model.current_limit,
            "offered": model.offered_current,
            "could_offer": model.could_offer,
            "current": model.current,
            "energy_wh": round(model.energy_wh, 3),
            "local_list_version": self.local_list_version,
            "local_list": sorted(entry["id_tag"] for entry in self.local_list.values()),
            "reservation": None
            if model.reservation is None
            else {"id": model.reservation.id, "id_tag": model.reservation.id_tag},
            "firmware": self.firmware,
            "firmware_status": self.firmware_status,
            "diagnostics_status": self.diagnostics_status,
            "frames_sent": dict(self.frames_sent),
            "frames_received": dict(self.frames_received),
        }

    @property
    def could_offer(self) -> float:
        """The most it may offer without the central system (see the model)."""
        return self.model.could_offer

    def reset_counters(self) -> None:
        """Zero the frame and connection counters."""
        self.frames_sent.clear()
        self.frames_received.clear()
        self.frames.clear()
        self.connects = self.connect_failures = self.disconnects = 0
        self.call_timeouts = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self, *, wait: bool = True) -> None:
        """Connect (retrying until the CS answers); ``wait``: until it answered a boot."""
        if self._conn_task is None:
            self._stopping = False
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._conn_task = asyncio.get_running_loop().create_task(
                self._connection_loop(), name=f"mq200-{self.charge_point_id}"
            )
        if wait:
            await self._booted.wait()

    async def stop(self) -> None:
        """Close the connection cleanly and stop for good."""
        self._stopping = True
        self._hold.set()
        if self._ws is not None:
            await self._ws.close()
        task, self._conn_task = self._conn_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for drop in list(self._drop_tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await drop
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def close(self) -> None:
        """Stop (the name the other simulators use)."""
        await self.stop()

    async def __aenter__(self) -> Self:
        """Connect and wait for the first boot answer."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def wait_accepted(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until a BootNotification is Accepted (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            await self._accepted.wait()

    async def wait_connected(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until the websocket is open."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    # ------------------------------------------------------------ test controls

    async def sync(self) -> None:
        """Send at once what the current state calls for (status, transactions)."""
        await self.advance(0)

    async def advance(self, seconds: float) -> None:
        """Move simulated time on, sending every message that falls due."""
        async with self._time_lock:
            await self._run_clock(seconds)

    async def kill(self, *, reconnect: bool = True) -> None:
        """Drop the TCP connection without a close frame."""
        self._prepare_drop(reconnect, None)
        ws = self._ws
        if ws is not None:
            connection = ws._response.connection  # noqa: SLF001 - aiohttp has no abort()
            if connection is not None and connection.transport is not None:
                connection.transport.abort()

    async def close_connection(self, *, reconnect: bool = True) -> None:
        """Close the websocket cleanly (close frame 1000)."""
        self._prepare_drop(reconnect, None)
        if self._ws is not None:
            await self._ws.close()

    async def reconnect(self) -> None:
        """Close cleanly (if connected) and connect again at once."""
        if self._ws is not None:
            self._prepare_drop(True, 0.0)
            await self._ws.close()
        else:
            self._next_delay = 0.0
            self._hold.set()

    async def send_raw(self, text: str) -> None:
        """Send any text frame (malformed, oversized...) as is."""
        if self._ws is None:
            raise ConnectionError("not connected")
        self.frames_sent["raw"] += 1
        self.frames.append(("out", text))
        await self._ws.send_str(text)

    async def call_raw(self, action: str, payload: Any) -> tuple[int, Any]:
        """Send a CALL of any action; return (3, payload) or (4, error code)."""
        cp = self._cp
        if cp is None:
            raise ConnectionError("not connected")
        return await cp.raw_call(action, payload)

    async def swipe(self, id_tag: str) -> None:
        """Present an RFID card and send what that calls for."""
        self.model.swipe(id_tag)
        await self.sync()

    async def send_status(self, connector_id: int | None = None) -> None:
        """Send StatusNotification now (for one connector, or 0 and 1)."""
        for connector in (0, 1) if connector_id is None else (connector_id,):
            await self._send_status(connector)

    async def send_heartbeat(self) -> None:
        """Send Heartbeat now."""
        await self._call(call.Heartbeat())

    async def send_meter_values(self) -> None:
        """Send MeterValues now with the configured measurands."""
        transaction = self.model.transaction
        now = self._now()
        payload = call.MeterValues(
            connector_id=1,
            meter_value=[
                {
                    "timestamp": now,
                    "sampled_value": self._samples(self.measurands, "Sample.Periodic"),
                }
            ],
            transaction_id=transaction.id
            if transaction is not None and not transaction.unsent
            else None,
        )
        await self._call(payload, raw_units=True)

    # ------------------------------------------------------------ counting

    def count_frame(self, text: str, *, incoming: bool) -> None:
        """Count one frame by action (replies under ``<action>.conf``/``.error``)."""
        counter = self.frames_received if incoming else self.frames_sent
        if self.frames.maxlen:
            self.frames.append(("in" if incoming else "out", text))
        try:
            frame = json.loads(text)
            kind, unique_id = frame[0], frame[1]
        except ValueError, TypeError, KeyError, IndexError:
            counter["invalid"] += 1
            return
        if kind == _CALL:
            action = str(frame[2]) if len(frame) > 2 else "?"
            (self._incoming if incoming else self._outgoing)[unique_id] = action
            counter[action] += 1
            return
        calls = self._outgoing if incoming else self._incoming
        action = calls.pop(unique_id, "?")
        counter[f"{action}.{'error' if kind == _ERROR else 'conf'}"] += 1
        if incoming and action == "StartTransaction":
            self._start_answered = True

    async def transaction_taken_in(self) -> None:
        """Wait until an answered StartTransaction is known to the charger.

        The central system may send the new transaction's TxProfile right
        behind the answer; a charger handles frames in order, so it knows
        the transaction by then. Only waits once the answer has arrived (the
        reader that must deliver it is the one calling).
        """
        starting = self._starting
        if starting is not None and self._start_answered:
            await starting.wait()

    # ------------------------------------------------------------ handlers

    def get_configuration(self, keys: list[str] | None) -> Any:
        """GetConfiguration: every key when none are asked for."""
        names = keys if keys else list(self.keys)
        known = [
            {
                "key": name,
                "readonly": self.keys[name].readonly,
                "value": self.config[name],
            }
            for name in names
            if name in self.keys
        ]
        unknown = [name for name in names if name not in self.keys]
        return call_result.GetConfiguration(
            configuration_key=known, unknown_key=unknown or None
        )

    def change_configuration(self, name: str, value: str) -> str:
        """ChangeConfiguration, validated like the MQ 200."""
        key = self.keys.get(name)
        if key is None:
            return _NOT_SUPPORTED
        if (
            key.readonly
            or not value_is_valid(key, value)
            or name in self.quirks.rejected_keys
        ):
            return _REJECTED
        if name in self.quirks.ignored_keys:
            return _ACCEPTED
        if key.kind is KeyKind.MEASURANDS:
            value = ",".join(item.strip() for item in value.split(",") if item.strip())
        self.config[name] = value
        clock = self.model.clock
        if name == "MeterValueSampleInterval":
            self._meter_due = clock + int(value) if int(value) else math.inf
        elif name == "HeartbeatInterval":
            self.heartbeat_interval = int(value)
            self._heartbeat_due = clock + int(value) if int(value) else math.inf
        self._wake_up()
        return _ACCEPTED

    def remote_start(
        self, id_tag: str, connector_id: int | None, profile: dict[str, Any] | None
    ) -> str:
        """RemoteStartTransaction: start (now or at plug-in) with ``id_tag``."""
        model = self.model
        if (
            connector_id not in {None, 1}
            or model.transaction is not None
            or not model.available
            or model.fault
        ):
            return _REJECTED
        if (
            profile is not None
            and profile.get("charging_profile_purpose") != "TxProfile"
        ):
            return _REJECTED
        model.remote_id_tag = id_tag
        model.finishing = False
        model.refused = False
        self._pending_profile = profile
        self._wake_up()
        return _ACCEPTED

    def remote_stop(self, transaction_id: int) -> str:
        """RemoteStopTransaction of the running transaction."""
        if self.transaction_id != transaction_id:
            return _REJECTED
        self.model.stop_reason = "Remote"
        self._wake_up()
        return _ACCEPTED

    def set_charging_profile(self, connector_id: int, raw: dict[str, Any]) -> str:
        """SetChargingProfile (amps only; replaces same id or purpose + level)."""
        refusal = self.quirks.refuse_profiles
        if refusal is ProfileRefusal.CALL_ERROR:
            raise _not_supported_error()
        if refusal is not None:
            return (
                _NOT_SUPPORTED if refusal is ProfileRefusal.NOT_SUPPORTED else _REJECTED
            )
        profile = self._parse_profile(connector_id, raw)
        if profile is None:
            return _REJECTED
        self._install(profile)
        return _ACCEPTED

    def clear_charging_profile(
        self,
        profile_id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str:
        """ClearChargingProfile: every profile matching all the criteria given."""
        self.catch_up()
        model = self.model
        keep = [
            profile
            for profile in model.profiles
            if (profile_id is not None and profile.id != profile_id)
            or (connector_id is not None and profile.connector_id != connector_id)
            or (purpose is not None and profile.purpose != purpose)
            or (stack_level is not None and profile.stack_level != stack_level)
        ]
        if len(keep) == len(model.profiles):
            return "Unknown"
        model.profiles = keep
        self._wake_up()
        return _ACCEPTED

    def composite_schedule(
        self, connector_id: int, duration: int, unit: str | None
    ) -> Any:
        """GetCompositeSchedule: one period, the limit in force now."""
        if connector_id not in {0, 1}:
            return call_result.GetCompositeSchedule(status=_REJECTED)
        model = self.model
        limit = model.current_limit
        if unit == "W":
            limit *= model.voltage
        now = self._now()
        return call_result.GetCompositeSchedule(
            status=_ACCEPTED,
            connector_id=connector_id,
            schedule_start=now,
            charging_schedule={
                "duration": duration,
                "start_schedule": now,
                "charging_rate_unit": unit or "A",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": round(limit, 1)}
                ],
            },
        )

    def change_availability(self, connector_id: int, kind: str) -> str:
        """ChangeAvailability of the charger (0) or the connector (1)."""
        model = self.model
        if connector_id not in {0, 1}:
            return _REJECTED
        operative = kind == "Operative"
        if not operative and model.transaction is not None:
            model.available_after_transaction = False
            return "Scheduled"
        if connector_id == 0:
            model.charger_available = operative
        else:
            model.connector_available = operative
        if operative:
            model.charger_available = model.connector_available = True
        self._wake_up()
        return _ACCEPTED

    def request_reset(self, kind: str) -> None:
        """Reset accepted: stop the transaction, close, boot again."""
        self._reset_type = kind
        self._wake_up()

    def unlock(self, connector_id: int) -> str:
        """UnlockConnector: stops a running transaction when it unlocks."""
        if connector_id != 1:
            return "NotSupported"
        if self.unlock_status == "Unlocked" and self.model.transaction is not None:
            self.model.stop_reason = "UnlockCommand"
            self._wake_up()
        return self.unlock_status

    def trigger_status(self, message: str, connector_id: int | None) -> str:
        """TriggerMessage: whether the message can be sent."""
        if message not in _TRIGGERABLE:
            return "NotImplemented"
        if self.quirks.refuse_triggers:
            return _REJECTED
        if connector_id not in {None, 0, 1}:
            return _REJECTED
        return _ACCEPTED

    def trigger(self, message: str, connector_id: int | None) -> None:
        """Queue a triggered message (sent after the TriggerMessage answer)."""
        if self.trigger_status(message, connector_id) == _ACCEPTED:
            self._triggers.append((message, connector_id))
            self._wake_up()

    def get_local_list_version(self) -> int:
        """GetLocalListVersion: -1 while the list is switched off."""
        if self.quirks.local_list is LocalListRefusal.NOT_SUPPORTED:
            raise _not_supported_error("Local Auth List Management is not supported")
        if self.config["LocalAuthListEnabled"] != "true":
            return -1
        return self.local_list_version

    def send_local_list(
        self, version: int, update_type: str, entries: list[dict[str, Any]]
    ) -> str:
        """SendLocalList, checked like OCPP 1.6 section 5.15 asks."""
        refusal = self.quirks.local_list
        if refusal is LocalListRefusal.NOT_SUPPORTED:
            raise _not_supported_error("Local Auth List Management is not supported")
        if (
            refusal is LocalListRefusal.FAILED
            or self.config["LocalAuthListEnabled"] != "true"
            or len(entries) > int(self.config["SendLocalListMaxLength"])
        ):
            return "Failed"
        if update_type == "Differential":
            if version <= self.local_list_version:
                return "VersionMismatch"
            updated = dict(self.local_list)
        else:
            updated = {}
        for entry in entries:
            key = str(entry["id_tag"]).casefold()
            info = entry.get("id_tag_info")
            if info is None:
                updated.pop(key, None)
            else:
                updated[key] = {"id_tag": entry["id_tag"], **info}
        if len(updated) > int(self.config["LocalAuthListMaxLength"]):
            return "Failed"
        self.local_list = updated
        self.local_list_version = version
        return _ACCEPTED

    def clear_cache(self) -> str:
        """ClearCache: forget every card the central system accepted."""
        self.auth_cache.clear()
        return _ACCEPTED

    def reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None,
    ) -> str:
        """ReserveNow of connector 1 (or 0: the whole charger)."""
        model = self.model
        if connector_id not in {0, 1}:
            return _REJECTED
        if model.fault:
            return "Faulted"
        if not model.available:
            return "Unavailable"
        held = model.reservation
        if (
            model.transaction is not None
            or model.plugged
            or (held is not None and held.id != reservation_id)
        ):
            return "Occupied"
        model.reservation = SimReservation(
            reservation_id,
            id_tag,
            parent_id_tag,
            model.to_clock(_parse_time(expiry_date)),
        )
        self._wake_up()
        return _ACCEPTED

    def cancel_reservation(self, reservation_id: int) -> str:
        """CancelReservation: Accepted for the reservation in force."""
        held = self.model.reservation
        if held is None or held.id != reservation_id:
            return _REJECTED
        self.model.reservation = None
        self._wake_up()
        return _ACCEPTED

    def update_firmware(self, location: str, retrieve_date: str) -> None:
        """UpdateFirmware: download at the retrieve date (simulated clock)."""
        self._firmware_location = location
        self._firmware_due = max(
            self.model.clock, self.model.to_clock(_parse_time(retrieve_date))
        )
        self._wake_up()

    def name_diagnostics(self) -> str:
        """Name the file GetDiagnostics will upload."""
        stamp = self.model.now().strftime("%Y%m%dT%H%M%SZ")
        self._diagnostics_file = f"{self.charge_point_id}-{stamp}.log"
        return self._diagnostics_file

    def upload_diagnostics(self, location: str) -> None:
        """Start the upload (after the GetDiagnostics answer went out)."""
        name = self._diagnostics_file or self.name_diagnostics()
        self._spawn(self._upload_diagnostics(location, name))

    # ------------------------------------------------------------ internals

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _listed(self, id_tag: str) -> dict[str, Any] | None:
        """Return the card's entry on the local list, else in the cache (expiry applied)."""
        key = id_tag.casefold()
        entry: dict[str, Any] | None = None
        if self.config["LocalAuthListEnabled"] == "true":
            entry = self.local_list.get(key)
        if entry is None and self.config["AuthorizationCacheEnabled"] == "true":
            entry = self.auth_cache.get(key)
        if entry is None:
            return None
        expiry = entry.get("expiry_date")
        if (
            entry.get("status") == _ACCEPTED
            and expiry is not None
            and _parse_time(expiry) <= self.model.now()
        ):
            return {**entry, "status": "Expired"}
        return entry

    def _cache(self, id_tag: str, info: dict[str, Any]) -> None:
        """Remember the central system's answer (only Accepted cards stay)."""
        if self.config["AuthorizationCacheEnabled"] != "true":
            return
        key = id_tag.casefold()
        if info.get("status") == _ACCEPTED:
            self.auth_cache[key] = {"id_tag": id_tag, **info}
        else:
            self.auth_cache.pop(key, None)

    def _offline_step(self) -> None:
        """No central system: start or stop sessions on the charger's own."""
        model = self.model
        transaction = model.transaction
        if transaction is not None and not model.plugged:
            self._queued.append(
                (
                    "stop",
                    transaction,
                    int(model.energy_wh),
                    self._now(),
                    "EVDisconnected",
                )
            )
            model.transaction = None
            model.profiles = [p for p in model.profiles if p.purpose != "TxProfile"]
            return
        if not model.wants_transaction or model.remote_id_tag is not None:
            return
        id_tag = model.starting_tag
        model.presented_tag = None
        listed = self._listed(id_tag)
        reservation = model.reservation
        parent = listed.get("parent_id_tag") if listed else None
        allowed = (
            listed is not None
            and listed["status"] == _ACCEPTED
            and self.config["LocalAuthorizeOffline"] == "true"
        ) or (listed is None and self.config["AllowOfflineTxForUnknownId"] == "true")
        if not allowed or (
            reservation is not None and not reservation.admits(id_tag, parent)
        ):
            model.refused = True
            return
        model.reservation = None
        transaction = Transaction(
            0,
            id_tag,
            int(model.energy_wh),
            model.clock,
            reservation_id=reservation.id if reservation else None,
            unsent=True,
        )
        model.transaction = transaction
        self._queued.append(("start", transaction, self._now()))

    async def _flush_queue(self) -> None:
        """Send the transaction messages of an offline session, in order."""
        while self._queued and self._cp is not None:
            kind, transaction, *rest = self._queued[0]
            if kind == "start":
                reply = await self._call(
                    call.StartTransaction(
                        connector_id=1,
                        id_tag=transaction.id_tag,
                        meter_start=transaction.meter_start,
                        timestamp=rest[0],
                        reservation_id=transaction.reservation_id,
                    )
                )
                if reply is None:
                    return  # tried again at the next reconciliation
                transaction.id = int(reply.transaction_id)
                transaction.unsent = False
                self._cache(transaction.id_tag, reply.id_tag_info)
                if (
                    reply.id_tag_info["status"] != _ACCEPTED
                    and self.model.transaction is transaction
                    and self.config["StopTransactionOnInvalidId"] == "true"
                ):
                    self.model.stop_reason = "DeAuthorized"
            else:
                meter_stop, timestamp, reason = rest
                await self._call(
                    call.StopTransaction(
                        meter_stop=meter_stop,
                        timestamp=timestamp,
                        transaction_id=transaction.id,
                        reason=reason,
                        id_tag=transaction.id_tag,
                    )
                )
            self._queued.pop(0)

    async def _notify_firmware(self, status: str) -> None:
        self.firmware_status = status
        await self._call(call.FirmwareStatusNotification(status=status))

    async def _download_firmware(self, location: str) -> None:
        await self._notify_firmware("Downloading")
        image = await self._fetch(location)
        if image is None:
            await self._notify_firmware("DownloadFailed")
            return
        await self._notify_firmware("Downloaded")
        self._image_waiting = (_image_version(image),)
        self._wake_up()

    async def _fetch(self, location: str) -> bytes | None:
        """GET the image (HTTP only: FTP is not simulated)."""
        self.downloads.append(location)
        if self._session is None or not location.startswith(("http://", "https://")):
            return None
        try:
            async with self._session.get(
                location, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if response.status != 200:
                    return None
                return await response.read()
        except aiohttp.ClientError, OSError, TimeoutError:
            return None

    async def _install_image(self) -> None:
        """Install a downloaded image (no session runs), then reboot."""
        waiting, self._image_waiting = self._image_waiting, None
        if waiting is None:
            return
        await self._notify_firmware("Installing")
        (version,) = waiting
        if version is None:
            await self._notify_firmware("InstallationFailed")
            return
        self.firmware = version
        self._report_installed = True
        self._reset_type = "Hard"

    async def _upload_diagnostics(self, location: str, name: str) -> None:
        self.diagnostics_status = "Uploading"
        await self._call(call.DiagnosticsStatusNotification(status="Uploading"))
        self.uploads.append(location)
        uploaded = False
        if self._session is not None and location.startswith(("http://", "https://")):
            url = f"{location}{name}" if location.endswith("/") else location
            log = "\n".join(
                [f"{self.describe()}", *(f"{k}={v}" for k, v in self.config.items())]
            )
            try:
                async with self._session.post(
                    url,
                    data=log.encode(),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as response:
                    uploaded = response.status < 300
            except aiohttp.ClientError, OSError, TimeoutError:
                uploaded = False
        self.diagnostics_status = "Uploaded" if uploaded else "UploadFailed"
        await self._call(
            call.DiagnosticsStatusNotification(status=self.diagnostics_status)
        )

    def _is_stopping(self) -> bool:
        return self._stopping

    def _wake_up(self) -> None:
        self._wake.set()

    def _now(self) -> str:
        return _timestamp(
            self.model.now(), nanoseconds=self.quirks.nanosecond_timestamps
        )

    def _prepare_drop(self, reconnect: bool, delay: float | None) -> None:
        self._next_delay = delay
        if reconnect:
            self._hold.set()
        else:
            self._hold.clear()

    def _parse_profile(
        self, connector_id: int, raw: dict[str, Any]
    ) -> ChargingProfile | None:
        schedule = raw.get("charging_schedule", {})
        purpose = raw.get("charging_profile_purpose")
        model = self.model
        if schedule.get("charging_rate_unit") != "A" or connector_id not in {0, 1}:
            return None
        if (purpose == "ChargePointMaxProfile") != (connector_id == 0):
            return None
        if purpose == "TxProfile":
            transaction = model.transaction
            wanted = raw.get("transaction_id")
            if transaction is None or wanted not in {None, transaction.id}:
                return None
        periods = sorted(
            (float(period["start_period"]), float(period["limit"]))
            for period in schedule.get("charging_schedule_period", [])
        )
        if not periods or len(periods) > int(self.config["ChargingScheduleMaxPeriods"]):
            return None
        start = schedule.get("start_schedule")
        duration = schedule.get("duration")
        return ChargingProfile(
            id=int(raw["charging_profile_id"]),
            connector_id=connector_id,
            stack_level=int(raw["stack_level"]),
            purpose=str(purpose),
            kind=str(raw.get("charging_profile_kind", "Absolute")),
            periods=periods,
            start=model.clock if start is None else model.to_clock(_parse_time(start)),
            duration=None if duration is None else float(duration),
            recurrency=raw.get("recurrency_kind"),
            transaction_id=model.transaction.id
            if purpose == "TxProfile" and model.transaction is not None
            else None,
        )

    def catch_up(self) -> None:
        """Bring the model to the running clock's now (energy included).

        On a running clock the model only moves when the driver wakes (at
        the next MeterValues or heartbeat): done before a command changes
        what the car draws (or it would apply back to the last wake-up), and
        by whoever wants the energy of this very moment.
        """
        if self.time_factor <= 0 or self._last_real is None:
            return
        now = asyncio.get_running_loop().time()
        self.model.advance(max(0.0, now - self._last_real) * self.time_factor)
        self._last_real = now

    def _install(self, profile: ChargingProfile) -> None:
        self.catch_up()
        model = self.model
        model.profiles = [
            held
            for held in model.profiles
            if held.id != profile.id
            and not (
                held.purpose == profile.purpose
                and held.stack_level == profile.stack_level
                and held.connector_id == profile.connector_id
            )
        ]
        model.profiles.append(profile)
        self._wake_up()

    def _samples(self, measurands: list[str], context: str) -> list[dict[str, str]]:
        model = self.model
        blink = self.quirks.blink_units
        samples = []
        for measurand in measurands:
            if measurand == ENERGY:
                self._energy_samples += 1
                every = self.quirks.energy_glitch_every
                glitch = every > 0 and self._energy_samples % every == 0
                if glitch:
                    samples.append(
                        {
                            "value": self.quirks.energy_glitch_value,
                            "context": context,
                            "measurand": measurand,
                            "unit": "Wh",
                        }
                    )
                    continue
                value, unit = model.energy_wh, "Wh"
            elif measurand == CURRENT:
                value, unit = model.current, "Amp" if blink else "A"
            elif measurand == VOLTAGE:
                value, unit = model.voltage, "Volt" if blink else "V"
            else:
                value, unit = model.temperature, "Celsius"
            samples.append(
                {
                    "value": f"{value:.1f}",
                    "context": context,
                    "measurand": measurand,
                    "unit": unit,
                }
            )
        return samples

    async def _call(self, payload: Any, *, raw_units: bool = False) -> Any:
        """Send a CALL; None on CallError, timeout or a lost connection."""
        cp = self._cp
        if cp is None:
            return None
        skip = not self.validate_schemas or (raw_units and self.quirks.blink_units)
        try:
            return await cp.call(payload, skip_schema_validation=skip)
        except TimeoutError:
            self.call_timeouts += 1
            return None

    async def _send_status(self, connector: int) -> None:
        model = self.model
        status = model.status if connector else model.charger_status
        self._reported[connector] = status
        await self._call(
            call.StatusNotification(
                connector_id=connector,
                error_code=model.fault or "NoError",
                status=status,
                timestamp=self._now(),
            )
        )

    async def _report_statuses(self) -> None:
        model = self.model
        for connector, status in ((0, model.charger_status), (1, model.status)):
            if self._reported.get(connector) != status:
                await self._send_status(connector)

    async def _boot(self) -> None:
        reply = await self._call(
            call.BootNotification(
                charge_point_vendor=VENDOR,
                charge_point_model=MODEL,
                charge_point_serial_number=self.serial,
                charge_box_serial_number=self.serial,
                firmware_version=self.firmware,
            )
        )
        clock = self.model.clock
        self._booted.set()
        if reply is None:
            self._boot_due = clock + BOOT_RETRY_SECONDS
            return
        self.boot_status = str(reply.status)
        interval = int(reply.interval)
        if self.boot_status != _ACCEPTED:
            self._accepted.clear()
            self._boot_due = clock + (interval or BOOT_RETRY_SECONDS)
            return
        self._boot_due = math.inf
        self._must_boot = False
        if interval > 0:
            self.config["HeartbeatInterval"] = str(interval)
        self.heartbeat_interval = int(self.config["HeartbeatInterval"])
        self._heartbeat_due = (
            clock + self.heartbeat_interval if self.heartbeat_interval else math.inf
        )
        self._meter_due = (
            clock + self.meter_interval if self.meter_interval else math.inf
        )
        self._reported.clear()
        self._accepted.set()

    def _next_due(self) -> float:
        if self._cp is None:
            return math.inf
        if not self._accepted.is_set():
            return self._boot_due
        return min(self._heartbeat_due, self._meter_due, self._firmware_due)

    async def _fire(self) -> None:
        clock = self.model.clock
        if not self._accepted.is_set():
            await self._boot()
            return
        if self._heartbeat_due <= clock:
            self._heartbeat_due = (
                clock + self.heartbeat_interval if self.heartbeat_interval else math.inf
            )
            await self.send_heartbeat()
        if self._meter_due <= clock:
            self._meter_due = (
                clock + self.meter_interval if self.meter_interval else math.inf
            )
            if self.model.transaction is not None or self.idle_meter_values:
                await self.send_meter_values()
        if self._firmware_due <= clock:
            self._firmware_due = math.inf
            location, self._firmware_location = self._firmware_location, None
            if location is not None:
                self._spawn(self._download_firmware(location))

    async def _run_clock(self, seconds: float) -> None:
        """Advance the model to clock + seconds, firing timers on the way."""
        model = self.model
        target = model.clock + seconds
        while (due := self._next_due()) <= target:
            model.advance(max(0.0, due - model.clock))
            await self._fire()
        model.advance(max(0.0, target - model.clock))
        if self._cp is not None:
            await self._reconcile()
        else:
            self._offline_step()

    async def _reconcile(self) -> None:
        """Send what the state calls for: triggered messages, statuses, transactions."""
        while self._triggers:
            message, connector = self._triggers.pop(0)
            await self._send_triggered(message, connector)
        if not self._accepted.is_set():
            return
        await self._flush_queue()
        if self._report_installed:
            self._report_installed = False
            await self._notify_firmware("Installed")
        model = self.model
        transaction = model.transaction
        reason = model.stop_reason
        if self._reset_type is not None:
            reason = f"{self._reset_type}Reset"
        elif transaction is not None and not model.plugged:
            reason = "EVDisconnected"
        if transaction is not None and reason is not None:
            await self._stop_transaction(transaction, reason)
        # Preparing goes out before Authorize/StartTransaction, Charging after.
        await self._report_statuses()
        if model.wants_transaction:
            await self._start_transaction()
            await self._report_statuses()
        if self._image_waiting is not None and model.transaction is None:
            await self._install_image()
        if self._reset_type is not None:
            self._reset_type = None
            self._accepted.clear()
            self._begin_drop(self.reboot_seconds)

    async def _send_triggered(self, message: str, connector: int | None) -> None:
        if message == "BootNotification":
            await self._boot()
        elif message == "Heartbeat":
            await self.send_heartbeat()
        elif message == "MeterValues":
            await self.send_meter_values()
        elif message == "StatusNotification":
            await self.send_status(connector)
        elif message == "DiagnosticsStatusNotification":
            busy = self.diagnostics_status == "Uploading"
            await self._call(
                call.DiagnosticsStatusNotification(
                    status=self.diagnostics_status if busy else "Idle"
                )
            )
        else:
            busy = self.firmware_status in {"Downloading", "Downloaded", "Installing"}
            await self._call(
                call.FirmwareStatusNotification(
                    status=self.firmware_status if busy else "Idle"
                )
            )

    async def _start_transaction(self) -> None:
        model = self.model
        remote = model.remote_id_tag is not None
        id_tag = model.starting_tag
        model.remote_id_tag = model.presented_tag = None
        listed = self._listed(id_tag)
        reservation = model.reservation
        parent = listed.get("parent_id_tag") if listed else None
        if reservation is not None and not reservation.admits(id_tag, parent):
            # Another card at a reserved connector: refused on the spot.
            model.refused = True
            return
        if remote and self.config["AuthorizeRemoteTxRequests"] != "true":
            pass
        elif (
            listed is not None
            and listed["status"] == _ACCEPTED
            and self.config["LocalPreAuthorize"] == "true"
        ):
            pass  # on the local list (or in the cache): no need to ask
        else:
            reply = await self._call(call.Authorize(id_tag=id_tag))
            if reply is None or reply.id_tag_info["status"] != _ACCEPTED:
                if reply is not None:
                    self._cache(id_tag, reply.id_tag_info)
                model.refused = True
                return
            self._cache(id_tag, reply.id_tag_info)
        meter_start = int(model.energy_wh)
        now = self._now()
        if self.quirks.transaction_started:
            await self._transaction_started(id_tag, now)
        starting = self._starting = asyncio.Event()
        self._start_answered = False
        reservation_id = reservation.id if reservation is not None else None
        try:
            reply = await self._call(
                call.StartTransaction(
                    connector_id=1,
                    id_tag=id_tag,
                    meter_start=meter_start,
                    timestamp=now,
                    reservation_id=reservation_id,
                )
            )
            if reply is None:
                model.refused = True
                return
            model.reservation = None
            transaction = Transaction(
                int(reply.transaction_id),
                id_tag,
                meter_start,
                model.clock,
                reservation_id=reservation_id,
            )
            model.transaction = transaction
            self._cache(id_tag, reply.id_tag_info)
        finally:
            self._starting = None
            starting.set()
        if reply.id_tag_info["status"] != _ACCEPTED:
            model.refused = True
            await self._stop_transaction(transaction, "DeAuthorized")
            return
        profile, self._pending_profile = self._pending_profile, None
        if profile is not None:
            parsed = self._parse_profile(1, profile)
            if parsed is not None:
                self._install(parsed)
        self._meter_due = (
            model.clock + self.meter_interval if self.meter_interval else math.inf
        )

    async def _transaction_started(self, id_tag: str, now: str) -> None:
        model = self.model
        blink = self.quirks.blink_units
        payload = {
            "connectorId": 1,
            "transactionId": 0,
            "idTag": {"id": id_tag},
            "timestamp": now,
            "values": [
                {
                    "timestamp": now,
                    "value": f"{model.energy_wh:.1f}",
                    "context": "Transaction.Begin",
                    "measurand": "Energy.Active.Import.Session",
                    "unit": "Wh",
                },
                {
                    "timestamp": now,
                    "value": f"{model.current:.1f}",
                    "context": "Transaction.Begin",
                    "measurand": CURRENT,
                    "unit": "Amp" if blink else "A",
                },
                {
                    "timestamp": now,
                    "value": f"{model.voltage:.1f}",
                    "context": "Transaction.Begin",
                    "measurand": VOLTAGE,
                    "unit": "Volt" if blink else "V",
                },
            ],
        }
        with contextlib.suppress(TimeoutError):
            await self.call_raw("TransactionStarted", payload)

    async def _stop_transaction(self, transaction: Transaction, reason: str) -> None:
        model = self.model
        model.transaction = None
        model.stop_reason = None
        model.profiles = [p for p in model.profiles if p.purpose != "TxProfile"]
        if model.available_after_transaction is not None:
            model.connector_available = model.available_after_transaction
            model.available_after_transaction = None
        payload = call.StopTransaction(
            meter_stop=int(model.energy_wh),
            timestamp=self._now(),
            transaction_id=transaction.id,
            reason=reason,
            id_tag=transaction.id_tag,
        )
        for _ in range(2 if self.quirks.duplicate_stop else 1):
            await self._call(payload)
        if model.plugged:
            # After a reboot a plugged-in car starts a new session at once.
            model.finishing = not reason.endswith("Reset")
        elif reason == "EVDisconnected":
            # Finishing for the moment the cable is coiled, then Available.
            self._reported[1] = "Finishing"
            await self._call(
                call.StatusNotification(
                    connector_id=1,
                    error_code="NoError",
                    status="Finishing",
                    timestamp=self._now(),
                )
            )

    def _begin_drop(self, delay: float) -> None:
        """Close the connection from the driver task itself (a reset)."""
        self._must_boot = True
        self._prepare_drop(True, delay)
        ws = self._ws
        if ws is None:  # pragma: no cover - the driver runs only while connected
            return
        task = asyncio.get_running_loop().create_task(ws.close())
        self._drop_tasks.add(task)
        task.add_done_callback(self._drop_tasks.discard)

    async def _connection_loop(self) -> None:
        """Connect, run one session, reconnect; until stop()."""
        session = self._session
        if session is None:  # pragma: no cover - start() creates it
            raise RuntimeError("not started")
        headers = (
            {"Authorization": aiohttp.encode_basic_auth(self.username, self.password)}
            if self.password is not None
            else None
        )
        while not self._stopping:
            await self._hold.wait()
            try:
                ws = await session.ws_connect(
                    self.url, protocols=(SUBPROTOCOL,), headers=headers, autoping=True
                )
            except (aiohttp.ClientError, OSError) as err:
                self.connect_failures += 1
                _LOGGER.debug("%s: cannot connect: %s", self.charge_point_id, err)
                await asyncio.sleep(self.reconnect_delay)
                continue
            await self._run_session(ws)
            if self._is_stopping():
                break
            delay = (
                self.reconnect_delay if self._next_delay is None else self._next_delay
            )
            self._next_delay = None
            await self._hold.wait()
            await asyncio.sleep(delay)

    async def _run_session(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.connects += 1
        self._ws = ws
        cp = _Mq200ChargePoint(
            self.charge_point_id,
            _Link(ws, self),
            response_timeout=self.response_timeout,
            logger=_WIRE_LOGGER,
        )
        cp.sim = self
        if not self.validate_schemas:
            for handlers in cp.route_map.values():
                handlers["_skip_schema_validation"] = True
        self._cp = cp
        self._boot_due = self.model.clock
        self._heartbeat_due = self._meter_due = math.inf
        self._accepted.clear()
        if not self.boot_on_reconnect and not self._must_boot:
            # Only the connection was lost: it carries on as accepted.
            clock = self.model.clock
            self._boot_due = math.inf
            self._heartbeat_due = (
                clock + self.heartbeat_interval if self.heartbeat_interval else math.inf
            )
            self._meter_due = (
                clock + self.meter_interval if self.meter_interval else math.inf
            )
            self._accepted.set()
        self._connected.set()
        driver = asyncio.get_running_loop().create_task(
            self._drive(), name=f"mq200-{self.charge_point_id}-driver"
        )
        try:
            await cp.start()
        except _LinkClosedError:
            pass
        finally:
            self.disconnects += 1
            self._connected.clear()
            self._accepted.clear()
            self._cp = None
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError, _LinkClosedError):
                await driver
            # A reset closes from its own task: let that close finish first.
            for drop in list(self._drop_tasks):
                await drop
            await ws.close()
            self._ws = None
            self._outgoing.clear()
            self._incoming.clear()

    async def _drive(self) -> None:
        """Run the charger's own clock: timers, state changes, triggers."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()
                async with self._time_lock:
                    now = loop.time()
                    last = now if self._last_real is None else self._last_real
                    self._last_real = now
                    await self._run_clock((now - last) * self.time_factor)
                    due = self._next_due()
                timeout = None
                if self.time_factor > 0 and due < math.inf:
                    timeout = max(0.0, (due - self.model.clock) / self.time_factor)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        except ConnectionError, aiohttp.ClientError:
            # The socket went away under a send; the connection loop notices.
            return


def _not_supported_error(description: str = "Smart Charging is disabled") -> Exception:
    from ocpp.exceptions import (  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415
        NotSupportedError,
    )

    error: Exception = NotSupportedError(description=description)
    return error


def _image_version(image: bytes) -> str | None:
    """Return the version in an MQ 200 image's first line (None: not an image)."""
    first = image.split(b"\n", 1)[0].decode("ascii", "replace").split()
    if len(first) == 3 and first[:2] == ["MQ200", "firmware"]:
        return first[2]
    return None


# ---------------------------------------------------------------- fleets


async def start_fleet(
    url: str,
    count: int,
    *,
    prefix: str = "MQ200-",
    password_for: Callable[[str], str | None] = lambda _cp_id: None,
    meter_interval: int = 1,
    plugged: bool = True,
    time_factor: float = 1.0,
    validate_schemas: bool = False,
    idle_meter_values: bool = False,
    session: aiohttp.ClientSession | None = None,
    wait: bool = True,
) -> list[Mq200Simulator]:
    """Start ``count`` MQ 200s (``<prefix>001``...) and wait for their boots.

    ``wait=False`` returns at once: they keep dialling until a central
    system listens (``scripts/develop`` starts them before Home Assistant
    has one).

    ``plugged`` plugs a car into each, so MeterValues flow every
    ``meter_interval`` once the central system accepts them. Schema
    validation is off by default: it runs in a thread pool and would
    dominate a benchmark. Stop them with :func:`stop_fleet`.
    """
    sims = [
        Mq200Simulator(
            url,
            cp_id,
            password=password_for(cp_id),
            meter_interval=meter_interval,
            time_factor=time_factor,
            validate_schemas=validate_schemas,
            idle_meter_values=idle_meter_values,
            session=session,
        )
        for cp_id in (f"{prefix}{number:03d}" for number in range(1, count + 1))
    ]
    for sim in sims:
        if plugged:
            sim.model.plug_in()
    try:
        await asyncio.gather(*(sim.start(wait=wait) for sim in sims))
    except BaseException:
        await stop_fleet(sims)
        raise
    return sims


async def stop_fleet(sims: list[Mq200Simulator]) -> None:
    """Stop every simulator of a fleet."""
    await asyncio.gather(*(sim.stop() for sim in sims))
