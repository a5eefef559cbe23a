"""One accepted charge point: its state, its snapshot and its commands.

An :class:`OcppStation` outlives connections: a reconnect attaches a new
:class:`OcppConnection`, the state (transaction, limits, last readings)
stays. ``export_state``/``restore_state`` carry it over a restart.

Current control has two layers, as OCPP 1.6 intends (§3.13):

- the **session** current is a ``TxProfile`` on the running transaction:
  our current limit, or 0 A for a pause (the session stays alive and resumes
  without a new authorisation). It ends with the transaction by itself, so
  the station puts it back at every StartTransaction: a pause and a current
  limit last until they are changed, like a setting;
- the **fallback** is a ``TxDefaultProfile``: what every new session starts
  at, also while Home Assistant is away. It is written only when asked
  (``set_default_limit``: a charging group's safe current, or a saved
  current), so frequent control never touches the charger's stored profiles.

A charger that refuses a TxProfile but takes a TxDefaultProfile gets
everything as its TxDefaultProfile (the fallback is then the live limit);
one that refuses profiles altogether falls back to
RemoteStop/RemoteStartTransaction (and ``profiles_refused`` tells the
integration to raise a repair issue).

Cards are answered from the owner's :class:`Authorization`; at every
connection (and card change) the charger's configuration is read and its
local list brought in step (``sync_local_list``), so the cards work while
the central system is away. A known charger that connects without booting
is asked (TriggerMessage) for the status it would have sent at a boot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..energy_guard import LifetimeEnergyGuard, rated_power
from ..errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseError,
    EvseUnsupportedError,
    EvseWriteNotAppliedError,
)
from ..models import (
    Capability,
    ChargerSnapshot,
    ChargerState,
    DiagnosticsStatus,
    FirmwareStatus,
    OcppErrorCode,
    OcppStatus,
)
from ._lib import call
from .authorization import (
    OPEN,
    Authorization,
    AuthorizationStatus,
    LocalListStatus,
    tag_key,
)
from .connection import BootInfo, ocpp_time, utc_now
from .measurands import (
    MQ200_MEASURANDS,
    WANTED_MEASURANDS,
    MeterSample,
    as_phases,
    parse_timestamp,
    summarise,
)

if TYPE_CHECKING:
    from .connection import OcppConnection

_LOGGER = logging.getLogger(__name__)

CONNECTOR = 1
"""The MQ 200 has one connector; 0 addresses the whole charger."""
PROFILE_ID = 7301
"""Our TxDefaultProfile's id: re-sending it replaces it, nothing piles up."""
SESSION_PROFILE_ID = 7302
"""Our TxProfile's id (the running session)."""
STACK_LEVEL = 8
"""Above a vendor cloud's usual level 0, below the MQ 200's maximum of 99."""
MIN_CURRENT = 6
"""IEC 61851: the lowest current a pilot may offer."""
DEFAULT_MAX_CURRENT = 32
DEFAULT_ID_TAG = "evse_local"
METER_INTERVAL_KEY = "MeterValueSampleInterval"
STATE_VERSION = 2
STATUS_GRACE = 2.0
"""Seconds a (re)connected charger has to report its status before its
last known one is published (OCPP 1.6 section 4.9: it reports every
connector after an accepted boot)."""

CAPABILITIES = frozenset(
    {
        Capability.PUSH,
        Capability.PAUSE,
        Capability.MAX_CURRENT,
        Capability.AVAILABILITY,
        Capability.UNLOCK,
        Capability.RESTART,
        Capability.ID_TAGS,
        Capability.RESERVATION,
        Capability.FIRMWARE,
        Capability.CONFIGURATION,
    }
)
RECOVERY_WAIT = 5.0
"""Seconds a known charger that connects has to boot before it is asked
(TriggerMessage) for the status it would have sent at a boot."""
HEARTBEAT_RANGE = (10, 86400)
"""HeartbeatInterval we give a charger: two missed ones end its connection."""
_FIRMWARE_STATUSES = {
    "Idle": FirmwareStatus.IDLE,
    "Downloading": FirmwareStatus.DOWNLOADING,
    "Downloaded": FirmwareStatus.DOWNLOADED,
    "DownloadFailed": FirmwareStatus.DOWNLOAD_FAILED,
    "Installing": FirmwareStatus.INSTALLING,
    "Installed": FirmwareStatus.INSTALLED,
    "InstallationFailed": FirmwareStatus.INSTALLATION_FAILED,
}
_DIAGNOSTICS_STATUSES = {
    "Idle": DiagnosticsStatus.IDLE,
    "Uploading": DiagnosticsStatus.UPLOADING,
    "Uploaded": DiagnosticsStatus.UPLOADED,
    "UploadFailed": DiagnosticsStatus.UPLOAD_FAILED,
}

_STATUSES = {
    "Available": OcppStatus.AVAILABLE,
    "Preparing": OcppStatus.PREPARING,
    "Charging": OcppStatus.CHARGING,
    "SuspendedEVSE": OcppStatus.SUSPENDED_EVSE,
    "SuspendedEV": OcppStatus.SUSPENDED_EV,
    "Finishing": OcppStatus.FINISHING,
    "Reserved": OcppStatus.RESERVED,
    "Unavailable": OcppStatus.UNAVAILABLE,
    "Faulted": OcppStatus.FAULTED,
}
_STATES = {
    OcppStatus.AVAILABLE: ChargerState.NOT_CONNECTED,
    OcppStatus.PREPARING: ChargerState.CONNECTED,
    OcppStatus.CHARGING: ChargerState.CHARGING,
    OcppStatus.SUSPENDED_EV: ChargerState.CONNECTED,
    OcppStatus.SUSPENDED_EVSE: ChargerState.SLEEPING,
    OcppStatus.FINISHING: ChargerState.COMPLETE,
    OcppStatus.RESERVED: ChargerState.NOT_CONNECTED,
    OcppStatus.UNAVAILABLE: ChargerState.DISABLED,
    OcppStatus.FAULTED: ChargerState.FAULT,
}
_VEHICLE_STATUSES = frozenset(
    {
        OcppStatus.PREPARING,
        OcppStatus.CHARGING,
        OcppStatus.SUSPENDED_EV,
        OcppStatus.SUSPENDED_EVSE,
        OcppStatus.FINISHING,
    }
)
# A charger-wide (connector 0) status that outranks the connector's.
_CHARGER_WIDE = frozenset({OcppStatus.UNAVAILABLE, OcppStatus.FAULTED})
_REFUSED = frozenset({"Rejected", "NotSupported", "NotImplemented"})


def _error_code(text: str) -> OcppErrorCode | None:
    """``GroundFailure`` -> ``OcppErrorCode.GROUND_FAILURE`` (None if unknown)."""
    snake = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    try:
        return OcppErrorCode(snake.lower())
    except ValueError:
        return None


def _number(value: object) -> float | None:
    """Return a finite number, or None (NaN, 1e999, 400-digit integers)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError, OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass(slots=True)
class _Transaction:
    transaction_id: int
    meter_start: float
    started: datetime
    id_tag: str
    stopped: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started"] = self.started.isoformat()
        data["stopped"] = self.stopped.isoformat() if self.stopped else None
        return data

    @classmethod
    def from_json(cls, data: object) -> _Transaction | None:
        if not isinstance(data, Mapping):
            return None
        started = parse_timestamp(data.get("started"))
        transaction_id = data.get("transaction_id")
        meter_start = _number(data.get("meter_start"))
        if (
            started is None
            or not isinstance(transaction_id, int)
            or meter_start is None
        ):
            return None
        return cls(
            transaction_id=transaction_id,
            meter_start=meter_start,
            started=started,
            id_tag=str(data.get("id_tag") or ""),
            stopped=parse_timestamp(data.get("stopped")),
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation the charger accepted (ReserveNow)."""

    reservation_id: int
    id_tag: str
    expiry: datetime

    def to_json(self) -> dict[str, Any]:
        """JSON-safe, as the station stores it."""
        return {
            "reservation_id": self.reservation_id,
            "id_tag": self.id_tag,
            "expiry": self.expiry.isoformat(),
        }

    @classmethod
    def from_json(cls, data: object) -> Reservation | None:
        """Read back :meth:`to_json` (None if unusable)."""
        if not isinstance(data, Mapping):
            return None
        reservation_id = data.get("reservation_id")
        expiry = parse_timestamp(data.get("expiry"))
        if not isinstance(reservation_id, int) or expiry is None:
            return None
        return cls(reservation_id, str(data.get("id_tag") or ""), expiry)


@dataclass(frozen=True, slots=True)
class ConfigurationValue:
    """One configuration key as GetConfiguration reported it."""

    value: str | None
    readonly: bool


_SECRET = re.compile(r"pass|secret|token|credential|authorizationkey|privatekey", re.I)


def is_secret(key: str) -> bool:
    """Whether a configuration key holds a secret (a password, a token)."""
    return bool(_SECRET.search(key))


_MEASUREMENTS = (
    "energy_wh",
    "current",
    "offered_current",
    "voltage",
    "power",
    "temperature",
)
_PHASE_MEASUREMENTS = ("phase_currents", "phase_voltages", "phase_powers")
# What a reconnect makes unknown: everything but the energy register.
_LIVE_MEASUREMENTS = tuple(name for name in _MEASUREMENTS if name != "energy_wh")


class OcppStation:
    """An accepted charge point, connected or not."""

    def __init__(
        self,
        charge_point_id: str,
        *,
        password: str | None = None,
        meter_interval: int = 10,
        max_current_limit: int = DEFAULT_MAX_CURRENT,
        id_tag: str = DEFAULT_ID_TAG,
    ) -> None:
        """Set up a station with nothing reported yet."""
        self.charge_point_id = charge_point_id
        self.password = password
        self.meter_interval = meter_interval
        self.max_current_limit = max_current_limit
        self.id_tag = id_tag
        self.boot: BootInfo | None = None
        self.profiles_refused = False
        """The charger refused our charging profile: pause/resume fall back to
        RemoteStop/RemoteStartTransaction and the current cannot be set."""
        self.accepted_measurands: tuple[str, ...] | None = None
        self.requests = 0
        """Commands sent to the charger."""
        self._connection: OcppConnection | None = None
        self._accepted = asyncio.Event()
        self._listeners: set[Callable[[ChargerSnapshot], None]] = set()
        self._last_heard: float | None = None
        self._status: OcppStatus | None = None
        self._charger_status: OcppStatus | None = None
        self._error: OcppErrorCode | None = None
        self._connector_available: bool | None = None
        self._last_heartbeat: datetime | None = None
        self._meter = MeterSample()
        self._session_energy: float | None = None
        # The register through the energy guard: one odd reading never
        # inflates (or shrinks) the session.
        self._session_guard: LifetimeEnergyGuard | None = None
        self._status_reported = asyncio.Event()
        self._drawn_before: set[tuple[str, int | None]] = set()
        self._transaction: _Transaction | None = None
        self._last_transaction: _Transaction | None = None
        self._stopped_ids: deque[int] = deque(maxlen=32)
        self._next_transaction_id = 1
        self._current_limit: int | None = None
        self._default_limit: int | None = None
        self._limit_unknown = False
        self.session_profiles_refused = False
        """A TxProfile was refused: the TxDefaultProfile carries the limit."""
        self._clear_old_default = False
        self._paused = False
        self._remote_stopped = False
        self._last_snapshot: ChargerSnapshot | None = None
        # Who may charge, and the charger's copy of that list.
        self.authorization = OPEN
        """The owner's cards; every card is accepted until the owner says."""
        self.local_list_status = LocalListStatus.UNMANAGED
        self._list_version = 0
        self._list_fingerprint: tuple[Any, ...] = ()
        self._sent_version: int | None = None
        """The list version the charger last Accepted from us."""
        self._sent_list: dict[str, dict[str, Any]] = {}
        """What that version holds, by tag key: the base of a differential."""
        self._clear_cache = False
        self._authorization_set = False
        self._accepted_basis: tuple[frozenset[str], bool] | None = None
        """Cards accepted (and free charging) at the last sync: what a
        removal is measured against."""
        self._list_lock = asyncio.Lock()
        self._refused_id_tag: str | None = None
        self._waiting_tag: str | None = None
        """The refused card of a car still plugged in (started once allowed)."""
        self.heartbeat_interval: int | None = None
        """The owner's HeartbeatInterval for this charger (None: the server's)."""
        self.configuration: dict[str, ConfigurationValue] = {}
        """The charger's configuration keys, as last read (GetConfiguration)."""
        self._reservation: Reservation | None = None
        self._next_reservation_id = 1
        self._firmware_status: FirmwareStatus | None = None
        self._diagnostics_status: DiagnosticsStatus | None = None

    # --- connection --------------------------------------------------------

    @property
    def connected(self) -> bool:
        """A live connection whose boot was accepted."""
        connection = self._connection
        return connection is not None and connection.accepted and not connection.closed

    @property
    def connection(self) -> OcppConnection | None:
        """The current websocket session, if any."""
        return self._connection

    @property
    def last_heard(self) -> float | None:
        """``time.monotonic()`` of the last frame from the charger."""
        if self._connection is not None:
            return self._connection.transport.last_heard
        return self._last_heard

    def attach(self, connection: OcppConnection, *, accepted: bool) -> None:
        """Serve ``connection`` (the server closes any previous one).

        Readings from before are not current any more: they are unknown
        until the charger reports them on this connection.
        """
        self._connection = connection
        self._status_reported.clear()
        self._clear_live_readings()
        connection.attach(self, accepted=accepted)
        if accepted:
            self._accepted.set()
            connection.spawn(
                self._recover(connection), f"ocpp recover {self.charge_point_id}"
            )

    def _clear_live_readings(self) -> None:
        """Forget current, power, voltage, temperature; keep the register."""
        meter = self._meter
        self._drawn_before |= _drawn(meter)
        for name in _LIVE_MEASUREMENTS:
            setattr(meter, name, None)
        for name in _PHASE_MEASUREMENTS:
            setattr(meter, name, {})

    def detach(self, connection: OcppConnection) -> None:
        """Forget ``connection`` (ended); a newer one may already be attached."""
        if self._connection is not connection:
            return
        self._last_heard = connection.transport.last_heard
        self._connection = None
        self._accepted.clear()

    async def listen(self, on_update: Callable[[ChargerSnapshot], None]) -> None:
        """Push snapshots from the next accepted connection until it ends."""
        while True:
            await self._accepted.wait()
            connection = self._connection
            if connection is not None and connection.accepted:
                break
            await asyncio.sleep(0)  # pragma: no cover - a close raced the wake-up
        if not await self._wait_for_status(connection):
            return
        self._listeners.add(on_update)
        try:
            on_update(self.snapshot)
            await connection.ended.wait()
        finally:
            self._listeners.discard(on_update)

    async def _wait_for_status(self, connection: OcppConnection) -> bool:
        """Wait (up to ``STATUS_GRACE``) for the connector's status.

        A charger that rebooted while charging comes back Available: its
        last status from before must not be republished, not even for the
        moment until its StatusNotification. False if the connection ended.
        """
        waits = [
            asyncio.ensure_future(self._status_reported.wait()),
            asyncio.ensure_future(connection.ended.wait()),
        ]
        try:
            await asyncio.wait(
                waits, timeout=STATUS_GRACE, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in waits:
                waiting.cancel()
        return not connection.closed

    def _changed(self, *, force: bool = False) -> None:
        snapshot = self.snapshot
        if snapshot == self._last_snapshot and not force:
            return
        self._last_snapshot = snapshot
        for listener in list(self._listeners):
            listener(snapshot)

    # --- cp -> cs ----------------------------------------------------------

    def handle_boot(self, connection: OcppConnection, boot: BootInfo) -> None:
        """Note a (re)boot accepted on ``connection``."""
        self.boot = boot
        # New firmware may support profiles now: ask again.
        self.profiles_refused = False
        # A reboot: nothing measured before it is current.
        self._clear_live_readings()
        if self._connection is connection:
            self._accepted.set()
        # Not in the snapshot, but listeners re-read the device info.
        self._changed(force=True)

    async def configure(self, connection: OcppConnection) -> None:
        """After an accepted boot: meter interval, measurands, our profile."""
        try:
            await self._apply_meter_interval(connection, self.meter_interval)
        except EvseError as err:
            _LOGGER.info("%s: meter interval not set: %s", self.charge_point_id, err)
        for measurands in (WANTED_MEASURANDS, MQ200_MEASURANDS):
            try:
                status = await self._configure(
                    connection, "MeterValuesSampledData", ",".join(measurands)
                )
            except EvseCommandRejectedError:
                continue
            except EvseError as err:
                _LOGGER.info("%s: measurands not set: %s", self.charge_point_id, err)
                return
            # Accepted or RebootRequired (refusals raised above).
            _LOGGER.debug("%s: measurands %s", self.charge_point_id, status)
            self.accepted_measurands = measurands
            break
        # A reboot may have dropped our profiles: put them back.
        try:
            await self._restore_profiles()
        except EvseCommandRejectedError:
            self.profiles_refused = True
        except EvseError as err:
            _LOGGER.info("%s: profile not restored: %s", self.charge_point_id, err)
        await self._catch_up(connection)
        self._changed()

    async def _restore_profiles(self) -> None:
        if self._clear_old_default:
            # Before version 2 the live limit (and pause) was our
            # TxDefaultProfile: it must not stay the fallback.
            await self._send(call.ClearChargingProfile(id=PROFILE_ID))
            self._clear_old_default = False
        if self._default_limit is not None and not self.session_profiles_refused:
            await self._set_profile(self._default_limit, default=True)
        if self._transaction is not None:
            await self._apply_session()

    async def session_started(self) -> None:
        """Put our pause or current limit on a new session (its TxProfile)."""
        if self.profiles_refused or (self._current_limit is None and not self._paused):
            return
        try:
            await self._apply_session()
        except EvseError as err:
            _LOGGER.info("%s: session profile not set: %s", self.charge_point_id, err)
        self._changed()

    async def set_meter_interval(self, seconds: int) -> None:
        """Sample every ``seconds`` from now on: at once, or when it connects.

        Raises :class:`EvseCommandRejectedError` when the charger refuses the
        interval, :class:`EvseWriteNotAppliedError` when it accepts it but
        reads back another; a connection lost meanwhile is not an error.
        """
        connection = self._connection
        if connection is not None and connection.accepted and not connection.closed:
            try:
                await self._apply_meter_interval(connection, seconds)
            except EvseConnectionError as err:
                _LOGGER.debug(
                    "%s: interval kept for later: %s", self.charge_point_id, err
                )
        self.meter_interval = seconds

    async def _apply_meter_interval(
        self, connection: OcppConnection, seconds: int
    ) -> None:
        """Set MeterValueSampleInterval; read it back where GetConfiguration works."""
        status = await self._configure(connection, METER_INTERVAL_KEY, str(seconds))
        if status != "Accepted":
            return  # RebootRequired: the old value stays until the reboot
        self.requests += 1
        try:
            result = await connection.send_call(
                call.GetConfiguration(key=[METER_INTERVAL_KEY])
            )
        except EvseCommandRejectedError:
            return  # no GetConfiguration: nothing to check with
        values = [
            str(item.get("value"))
            for item in result.configuration_key or []
            if isinstance(item, Mapping) and item.get("key") == METER_INTERVAL_KEY
        ]
        if values and values[0] != str(seconds):
            raise EvseWriteNotAppliedError(
                "ChangeConfiguration", f"{METER_INTERVAL_KEY} reads {values[0]}"
            )

    async def _configure(self, connection: OcppConnection, key: str, value: str) -> str:
        self.requests += 1
        result = await connection.send_call(
            call.ChangeConfiguration(key=key, value=value)
        )
        status = str(result.status)
        if status in _REFUSED:
            raise EvseCommandRejectedError("ChangeConfiguration", f"{key}: {status}")
        return status

    def handle_heartbeat(self) -> None:
        """Note that the charger is alive."""
        self._last_heartbeat = utc_now()
        self._changed()

    def handle_status(
        self, connector_id: int, status: str, error_code: str, extra: Mapping[str, Any]
    ) -> None:
        """Take a StatusNotification: connector 0 is the charger, 1 the socket."""
        known = _STATUSES[status]  # the schema admits no other status
        if error_code != "NoError":
            _LOGGER.debug(
                "%s: %s on connector %s (%s)",
                self.charge_point_id,
                error_code,
                connector_id,
                extra.get("info") or extra.get("vendor_error_code") or "no detail",
            )
        if connector_id == 0:
            self._charger_status = known
            if known in _CHARGER_WIDE:
                self._error = _error_code(error_code)
        else:
            self._status = known
            self._error = _error_code(error_code)
        if known is OcppStatus.UNAVAILABLE:
            self._connector_available = False
        elif connector_id == 0 or known is not OcppStatus.FAULTED:
            self._connector_available = True
        if connector_id != 0:
            self._status_reported.set()
            if known is OcppStatus.AVAILABLE:
                self._nothing_drawn()
                # Free for anyone: a reservation expired or was cancelled there,
                # the car that waited for its card has gone.
                self._reservation = None
                self._waiting_tag = None
        self._changed()

    def _nothing_drawn(self) -> None:
        """Available: no car, no current; a session still open is over.

        Chargers send MeterValues only during a transaction: without this,
        the last session's current and power would stay on screen. The
        StopTransaction of a session may have been lost while offline.
        """
        meter = self._meter
        # What the charger reported, now or before a reconnect cleared it.
        for name, phase in _drawn(meter) | self._drawn_before:
            if phase is None:
                setattr(meter, name, 0.0)
            else:
                getattr(meter, name)[phase] = 0.0
        transaction = self._transaction
        if transaction is not None:
            _LOGGER.debug(
                "%s: Available without a stop of transaction %s: ended",
                self.charge_point_id,
                transaction.transaction_id,
            )
            transaction.stopped = utc_now()
            self._last_transaction = transaction
            self._transaction = None
            self._session_guard = None

    def handle_meter_values(self, payload: Mapping[str, Any]) -> None:
        """Take a MeterValues frame (already snake_case)."""
        self._merge(summarise(payload.get("meter_value")))
        self._changed()

    def _merge(self, sample: MeterSample) -> None:
        meter = self._meter
        for name in _MEASUREMENTS:
            value = getattr(sample, name)
            if value is not None:
                setattr(meter, name, value)
        for name in _PHASE_MEASUREMENTS:
            phases = getattr(sample, name)
            if phases:
                setattr(meter, name, dict(phases))
        if sample.energy_wh is not None:
            self._apply_register(sample.energy_wh)

    def _rated_power(self) -> float:
        meter = self._meter
        three_phase = bool(meter.phase_currents or meter.phase_voltages)
        return rated_power(self.max_current_limit, three_phase=three_phase)

    def _apply_register(self, register: float) -> None:
        """Count the session from the register, through the energy guard.

        Some chargers' register drops to zero mid-session and counts on from
        there (a restart, confirmed by the readings after it); one odd
        reading (0, a spike) is held back and dropped.
        """
        transaction = self._transaction
        if transaction is None:
            return
        guard = self._session_guard
        if guard is None:
            # Restored from before a restart: continue from the session so far.
            guard = LifetimeEnergyGuard.restore(
                {
                    "energy_offset": 0.0,
                    "energy_last_raw": transaction.meter_start
                    + (self._session_energy or 0.0),
                }
            )
            if guard is None:  # pragma: no cover - restore accepts these numbers
                return
            self._session_guard = guard
        total = guard.update(register, time.time(), self._rated_power())
        if total is not None:
            self._session_energy = max(total - transaction.meter_start, 0.0)

    def authorize(self, id_tag: str) -> dict[str, Any]:
        """Answer a card (Authorize, StartTransaction).

        Our own tag (RemoteStartTransaction) is always accepted; a refused
        card is remembered, so the owner can see what to add.
        """
        if tag_key(id_tag) == tag_key(self.id_tag):
            return {"status": AuthorizationStatus.ACCEPTED.value}
        info = self.authorization.id_tag_info(id_tag, utc_now())
        if info["status"] != AuthorizationStatus.ACCEPTED:
            _LOGGER.info(
                "%s: card %s refused (%s)",
                self.charge_point_id,
                id_tag,
                info["status"],
            )
            self._refused_id_tag = id_tag
            # A car waits at the charger (or is about to: the Authorize may
            # come before the Preparing status): allowed in time, the card
            # starts it. An Available status forgets it again.
            self._waiting_tag = id_tag
            self._changed()
        return info

    def handle_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, extra: Mapping[str, Any]
    ) -> int:
        """Start a session; return our transaction id."""
        reservation = self._reservation
        if (
            reservation is not None
            and extra.get("reservation_id") == reservation.reservation_id
        ):
            # The reservation is used up by this session.
            self._reservation = None
        transaction_id = self._next_transaction_id
        self._next_transaction_id += 1
        start = _number(meter_start)
        if start is None or start < 0:
            # A meterStart no float can hold: count from the last register.
            _LOGGER.debug(
                "%s: meterStart %.40r ignored", self.charge_point_id, meter_start
            )
            start = self._meter.energy_wh or 0.0
        self._transaction = _Transaction(
            transaction_id=transaction_id,
            meter_start=start,
            started=utc_now(),
            id_tag=id_tag,
        )
        self._session_energy = 0.0
        self._session_guard = LifetimeEnergyGuard()
        self._session_guard.update(start, time.time(), self._rated_power())
        if self._remote_stopped:
            # Someone started charging again after our RemoteStop pause.
            self._remote_stopped = False
            self._paused = False
        _LOGGER.debug(
            "%s: transaction %s on connector %s (%s)",
            self.charge_point_id,
            transaction_id,
            connector_id,
            extra.get("timestamp"),
        )
        self._changed()
        return transaction_id

    def handle_stop_transaction(self, payload: Mapping[str, Any]) -> None:
        """End a session; a duplicate of a stop we saw changes nothing."""
        transaction_id = payload.get("transaction_id")
        if transaction_id in self._stopped_ids:
            _LOGGER.debug(
                "%s: duplicate stop of %s", self.charge_point_id, transaction_id
            )
            return
        if isinstance(transaction_id, int):
            self._stopped_ids.append(transaction_id)
        self._merge(summarise(payload.get("transaction_data")))
        transaction = self._transaction
        if transaction is None or transaction.transaction_id != transaction_id:
            _LOGGER.debug(
                "%s: stop of unknown transaction %r",
                self.charge_point_id,
                transaction_id,
            )
            self._changed()
            return
        meter_stop = _number(payload.get("meter_stop"))
        if meter_stop is not None and meter_stop >= 0:
            self._meter.energy_wh = meter_stop
            self._apply_register(meter_stop)
        transaction.stopped = utc_now()
        self._last_transaction = transaction
        self._transaction = None
        self._session_guard = None
        self._changed()

    # --- snapshot ----------------------------------------------------------

    @property
    def _limit(self) -> int:
        """What a session runs at when not paused."""
        if self._current_limit is not None:
            return self._current_limit
        if self._default_limit is not None:
            return self._default_limit
        return self.max_current_limit

    @property
    def snapshot(self) -> ChargerSnapshot:
        """Everything known right now (None: not reported yet)."""
        status = self._status or self._charger_status
        if self._charger_status in _CHARGER_WIDE:
            status = self._charger_status
        meter = self._meter
        power = meter.power
        if power is None:
            power = _power(meter)
        transaction = self._transaction or self._last_transaction
        session_time = None
        if transaction is not None:
            end = transaction.stopped or utc_now()
            session_time = max(int((end - transaction.started).total_seconds()), 0)
        return ChargerSnapshot(
            state=_STATES[status] if status else ChargerState.UNDETERMINED,
            vehicle_connected=None if status is None else status in _VEHICLE_STATUSES,
            charging=None if status is None else status is OcppStatus.CHARGING,
            paused=self._paused,
            charging_current=meter.current,
            voltage=meter.voltage,
            power=power,
            session_energy=self._session_energy,
            lifetime_energy=meter.energy_wh,
            session_time=session_time,
            temperatures=(meter.temperature, None, None),
            pilot_current=None
            if meter.offered_current is None
            else round(meter.offered_current),
            # Unknown after a command whose answer never came.
            max_current=None if self._limit_unknown else self._limit,
            fallback_current=self._default_limit,
            min_current_limit=MIN_CURRENT,
            max_current_limit=self.max_current_limit,
            phase_currents=as_phases(meter.phase_currents),
            phase_voltages=as_phases(meter.phase_voltages),
            phase_powers=as_phases(meter.phase_powers),
            capabilities=CAPABILITIES,
            ocpp_status=status,
            ocpp_error=self._error,
            connector_available=self._connector_available,
            last_heartbeat=self._last_heartbeat,
            transaction_id=(
                self._transaction.transaction_id if self._transaction else None
            ),
            id_tag=transaction.id_tag or None if transaction else None,
            id_tag_name=self._tag_name(transaction),
            refused_id_tag=self._refused_id_tag,
            reserved_until=self._reserved_until(),
            firmware_status=self._firmware_status,
            diagnostics_status=self._diagnostics_status,
        )

    def _tag_name(self, transaction: _Transaction | None) -> str | None:
        if transaction is None or not transaction.id_tag:
            return None
        known = self.authorization.find(transaction.id_tag)
        return known.name or None if known is not None else None

    def _reserved_until(self) -> datetime | None:
        reservation = self._reservation
        if reservation is None or reservation.expiry <= utc_now():
            return None
        return reservation.expiry

    # --- commands ----------------------------------------------------------

    def _live(self) -> OcppConnection:
        connection = self._connection
        if connection is None or not connection.accepted or connection.closed:
            raise EvseConnectionError(f"{self.charge_point_id} is not connected")
        return connection

    async def _send(self, payload: Any) -> str:
        """Send a command; the reply's ``status``."""
        connection = self._live()
        self.requests += 1
        result = await connection.send_call(payload)
        return str(result.status)

    async def _set_profile(self, amps: int, *, default: bool) -> None:
        """Install our TxDefaultProfile, or the running session's TxProfile."""
        # Absolute from a day ago: a charger clock running a little behind
        # ours must not see a schedule that starts in the future.
        start = utc_now() - timedelta(days=1)
        profile: dict[str, Any] = {
            "charging_profile_id": PROFILE_ID if default else SESSION_PROFILE_ID,
            "stack_level": STACK_LEVEL,
            "charging_profile_purpose": "TxDefaultProfile" if default else "TxProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": {
                "charging_rate_unit": "A",
                "start_schedule": ocpp_time(start),
                "charging_schedule_period": [{"start_period": 0, "limit": float(amps)}],
            },
        }
        if not default and self._transaction is not None:
            profile["transaction_id"] = self._transaction.transaction_id
        status = await self._send(
            call.SetChargingProfile(
                connector_id=CONNECTOR, cs_charging_profiles=profile
            )
        )
        if status != "Accepted":
            raise EvseCommandRejectedError("SetChargingProfile", status)

    async def _apply_session(self) -> None:
        """Bring the running session's profile in line with pause and limit."""
        limit = 0 if self._paused else self._current_limit
        if self.session_profiles_refused:
            await self._set_profile(
                self._limit if limit is None else limit, default=True
            )
            self._default_limit = self._limit if limit is None else limit
            return
        if self._transaction is None:
            return
        if limit is None:
            # No limit of ours: the fallback (TxDefaultProfile) applies.
            await self._send(call.ClearChargingProfile(id=SESSION_PROFILE_ID))
            return
        try:
            await self._set_profile(limit, default=False)
        except EvseCommandRejectedError:
            # No TxProfile on this charger: the default profile carries it.
            await self._set_profile(limit, default=True)
            self.session_profiles_refused = True
            self._default_limit = limit

    async def set_current_limit(self, amps: int) -> None:
        """Limit the charging current: this session and the next ones.

        Sent as the running session's TxProfile (nothing is stored on the
        charger); without a session it is sent when the next one starts.
        """
        if not MIN_CURRENT <= amps <= self.max_current_limit:
            raise ValueError(
                f"{amps} A is outside {MIN_CURRENT}..{self.max_current_limit} A"
            )
        self._live()
        if self.profiles_refused:
            raise EvseUnsupportedError("the charger refuses charging profiles")
        previous = self._current_limit
        self._current_limit = amps
        try:
            if not self._paused:
                await self._apply_session()
        except EvseCommandRejectedError:
            self._current_limit = previous
            self.profiles_refused = True
            self._changed()
            raise
        except EvseError:
            # Whether it arrived is unknown: counted at the maximum until a
            # profile is confirmed again.
            self._limit_unknown = True
            self._changed()
            raise
        self._limit_unknown = False
        self._changed()

    async def set_default_limit(self, amps: int) -> None:
        """Write the TxDefaultProfile: what every new session starts at.

        This is what the charger keeps doing without Home Assistant (the
        fallback a charging group relies on); the charger stores it, so it
        is written only when it changes.
        """
        if not 0 <= amps <= self.max_current_limit:
            raise ValueError(f"{amps} A is outside 0..{self.max_current_limit} A")
        self._live()
        if self.profiles_refused:
            raise EvseUnsupportedError("the charger refuses charging profiles")
        if self.session_profiles_refused:
            raise EvseUnsupportedError(
                "the charger's default profile carries the live current"
            )
        try:
            await self._set_profile(amps, default=True)
        except EvseCommandRejectedError:
            self.profiles_refused = True
            self._changed()
            raise
        except EvseError:
            self._default_limit = None
            self._changed()
            raise
        self._default_limit = amps
        self._changed()

    async def set_paused(self, paused: bool) -> None:
        """Pause (0 A session profile) or resume; RemoteStop/Start fallback.

        Like the current limit, a pause lasts until it is undone: a new
        session starts paused too.
        """
        self._live()
        if not self.profiles_refused:
            previous = self._paused
            self._paused = paused
            try:
                await self._apply_session()
            except EvseCommandRejectedError as err:
                _LOGGER.info(
                    "%s: profile refused (%s), using remote start/stop",
                    self.charge_point_id,
                    err.reply,
                )
                self._paused = previous
                self.profiles_refused = True
            except EvseError:
                self._paused = previous
                raise
            else:
                self._remote_stopped = False
                self._changed()
                return
        if paused:
            await self._remote_stop()
        else:
            await self._remote_start()
        self._paused = paused
        self._changed()

    async def _remote_stop(self) -> None:
        transaction = self._transaction
        if transaction is None:
            return
        status = await self._send(
            call.RemoteStopTransaction(transaction_id=transaction.transaction_id)
        )
        if status != "Accepted":
            raise EvseCommandRejectedError("RemoteStopTransaction", status)
        self._remote_stopped = True

    async def _remote_start(self) -> None:
        self._remote_stopped = False
        if self._transaction is not None:
            return
        status = await self._send(
            call.RemoteStartTransaction(id_tag=self.id_tag, connector_id=CONNECTOR)
        )
        if status != "Accepted":
            raise EvseCommandRejectedError("RemoteStartTransaction", status)

    async def set_available(self, available: bool) -> None:
        """ChangeAvailability of the whole charger (Scheduled counts as done)."""
        kind = "Operative" if available else "Inoperative"
        status = await self._send(call.ChangeAvailability(connector_id=0, type=kind))
        if status not in ("Accepted", "Scheduled"):
            raise EvseCommandRejectedError("ChangeAvailability", status)
        self._connector_available = available
        self._changed()

    async def reset(self, *, hard: bool = False) -> None:
        """Restart the charger (Soft waits for a running session to stop)."""
        status = await self._send(call.Reset(type="Hard" if hard else "Soft"))
        if status != "Accepted":
            raise EvseCommandRejectedError("Reset", status)

    async def unlock(self) -> None:
        """Release the cable on connector 1."""
        status = await self._send(call.UnlockConnector(connector_id=CONNECTOR))
        if status == "NotSupported":
            raise EvseUnsupportedError("the charger has no connector lock")
        if status != "Unlocked":
            raise EvseCommandRejectedError("UnlockConnector", status)

    async def trigger_status(self) -> None:
        """Ask for a StatusNotification of connector 1 now."""
        status = await self._send(
            call.TriggerMessage(
                requested_message="StatusNotification", connector_id=CONNECTOR
            )
        )
        if status != "Accepted":
            raise EvseCommandRejectedError("TriggerMessage", status)

    async def trigger_boot(self, connection: OcppConnection) -> None:
        """Ask a just-approved charger (still Pending) to boot again now.

        Best effort: a charger without the RemoteTrigger profile (the MQ 200
        lists none) retries its BootNotification on its own after the
        Pending interval, and that boot is accepted too.
        """
        try:
            self.requests += 1
            result = await connection.send_call(
                call.TriggerMessage(requested_message="BootNotification")
            )
        except EvseError as err:
            _LOGGER.debug("%s: no boot trigger: %s", self.charge_point_id, err)
            return
        _LOGGER.debug("%s: boot trigger %s", self.charge_point_id, result.status)

    # --- cards, reservations, firmware, configuration -----------------------

    def set_authorization(self, authorization: Authorization) -> None:
        """Answer cards from ``authorization`` from now on.

        The charger's copy (its local list) follows at the next
        :meth:`sync_local_list`, which every connection also runs.
        """
        if self._accepted_basis is None and self._authorization_set:
            # Cards were answered from the old list before any sync: a card
            # it accepted may sit in the charger's cache.
            self._accepted_basis = _accepted(self.authorization, utc_now())
        self._authorization_set = True
        self.authorization = authorization
        self._changed()

    def _current_list_version(self) -> int:
        """Our list's version: one more for every change of what it holds."""
        fingerprint = self.authorization.fingerprint
        if fingerprint != self._list_fingerprint:
            self._list_version += 1
            self._list_fingerprint = fingerprint
        return self._list_version

    @property
    def local_list_capacity(self) -> int | None:
        """How many cards the charger's local list holds (None: not known)."""
        return self._config_int("LocalAuthListMaxLength")

    def _config_int(self, key: str) -> int | None:
        held = self.configuration.get(key)
        if held is None or held.value is None:
            return None
        try:
            number = int(held.value)
        except ValueError:
            return None
        return number if number > 0 else None

    async def sync_local_list(self) -> LocalListStatus:
        """Bring the charger's local list (and its cache) in line with ours.

        A card that was refused at a car still plugged in, and is allowed
        now, starts that car's session (RemoteStartTransaction): the owner
        adds the card and the car charges, without plugging in again.
        """
        async with self._list_lock:
            status = await self._sync_local_list()
            await self._clear_revoked_cache()
        if status is not self.local_list_status:
            self.local_list_status = status
            self._changed(force=True)
        await self._start_waiting_car()
        return status

    async def _start_waiting_car(self) -> None:
        waiting = self._waiting_tag
        if (
            waiting is None
            or self._transaction is not None
            or self._status not in _VEHICLE_STATUSES
            or self.authorization.id_tag_info(waiting, utc_now())["status"]
            != AuthorizationStatus.ACCEPTED
        ):
            return
        self._waiting_tag = None
        try:
            status = await self._send(
                call.RemoteStartTransaction(id_tag=waiting, connector_id=CONNECTOR)
            )
        except EvseError as err:
            _LOGGER.info("%s: waiting car not started: %s", self.charge_point_id, err)
            return
        _LOGGER.debug(
            "%s: remote start for %s: %s", self.charge_point_id, waiting, status
        )

    async def _sync_local_list(self) -> LocalListStatus:
        version = self._current_list_version()
        if version == 0:
            # The owner never listed a card here: a list another central
            # system installed stays as it is.
            return LocalListStatus.UNMANAGED
        connection = self._connection
        if connection is None or not connection.accepted or connection.closed:
            return LocalListStatus.PENDING
        capacity = self.local_list_capacity
        if capacity is not None and len(self.authorization.tags) > capacity:
            return LocalListStatus.TOO_LONG
        try:
            reply = await self._call(connection, call.GetLocalListVersion())
            installed = int(reply.list_version)
            if installed == -1:
                return LocalListStatus.DISABLED
            if installed == version and self._sent_version == version:
                return LocalListStatus.SYNCED
            return await self._send_local_list(connection, installed)
        except EvseCommandRejectedError as err:
            _LOGGER.debug("%s: no local list: %s", self.charge_point_id, err)
            return LocalListStatus.NOT_SUPPORTED
        except (EvseError, TypeError, ValueError) as err:
            _LOGGER.info("%s: local list not sent: %s", self.charge_point_id, err)
            return LocalListStatus.PENDING

    async def _send_local_list(
        self, connection: OcppConnection, installed: int
    ) -> LocalListStatus:
        """SendLocalList: the changes since our last list, or all of it.

        A list longer than ``SendLocalListMaxLength`` goes in parts, each
        with the next version number (a differential must be newer than the
        list it changes); the last part carries our version.
        """
        entries = {
            tag_key(entry["id_tag"]): entry
            for entry in self.authorization.local_list(utc_now())
        }
        sent = self._sent_list
        if self._sent_version is not None and installed == self._sent_version:
            kind = "Differential"
            changes = [
                entry for key, entry in entries.items() if sent.get(key) != entry
            ]
            changes += [
                {"id_tag": entry["id_tag"]}
                for key, entry in sent.items()
                if key not in entries
            ]
        else:
            kind, changes = "Full", list(entries.values())
        size = self._config_int("SendLocalListMaxLength") or len(changes) or 1
        parts = [
            changes[start : start + size] for start in range(0, len(changes), size)
        ]
        parts = parts or [[]]
        # Every part needs a version above the charger's.
        final = max(self._list_version, installed + len(parts))
        self._list_version = final
        self._sent_version = None
        for number, part in enumerate(parts):
            status = await self._send(
                call.SendLocalList(
                    list_version=final - len(parts) + 1 + number,
                    update_type=kind if number == 0 else "Differential",
                    local_authorization_list=part,
                )
            )
            if status == "NotSupported":
                return LocalListStatus.NOT_SUPPORTED
            if status != "Accepted":
                _LOGGER.warning(
                    "%s: the charger refused its card list (%s)",
                    self.charge_point_id,
                    status,
                )
                return LocalListStatus.FAILED
        self._sent_version = final
        self._sent_list = entries
        return LocalListStatus.SYNCED

    async def _clear_revoked_cache(self) -> None:
        """ClearCache once a card lost its right to charge.

        The charger's authorisation cache would otherwise still let a
        removed card (or any card, after free charging) charge offline.
        """
        authorization = self.authorization
        accepted, free_charging = now_accepted = _accepted(authorization, utc_now())
        basis = self._accepted_basis
        if basis is not None and (
            (basis[1] and not free_charging) or basis[0] - accepted
        ):
            self._clear_cache = True
        self._accepted_basis = now_accepted
        connection = self._connection
        if not self._clear_cache or connection is None or connection.closed:
            return
        try:
            status = await self._send(call.ClearCache())
        except EvseCommandRejectedError:
            status = "NotSupported"
        except EvseError as err:
            _LOGGER.info("%s: cache not cleared: %s", self.charge_point_id, err)
            return
        _LOGGER.debug("%s: ClearCache %s", self.charge_point_id, status)
        self._clear_cache = False

    async def _call(self, connection: OcppConnection, payload: Any) -> Any:
        self.requests += 1
        return await connection.send_call(payload)

    async def _catch_up(self, connection: OcppConnection) -> None:
        """After a boot or a reconnection: its configuration, then our cards."""
        try:
            await self._get_configuration(connection, None)
        except EvseError as err:
            _LOGGER.debug("%s: no configuration: %s", self.charge_point_id, err)
        await self.sync_local_list()

    async def _recover(self, connection: OcppConnection) -> None:
        """Ask a known charger that connects without booting for what it missed.

        A charger that only lost its network does not boot again, so it does
        not repeat its StatusNotification: without a TriggerMessage the
        status would wait for the next change.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RECOVERY_WAIT):
                await connection.first_call.wait()
        if connection.first_action == "BootNotification" or connection.closed:
            return
        try:
            await self._trigger(connection, "StatusNotification", None)
            if self._transaction is not None:
                await self._trigger(connection, "MeterValues", CONNECTOR)
        except EvseError as err:
            _LOGGER.debug(
                "%s: no trigger after reconnect: %s", self.charge_point_id, err
            )
        await self._catch_up(connection)
        self._changed()

    async def _trigger(
        self, connection: OcppConnection, message: str, connector: int | None
    ) -> None:
        result = await self._call(
            connection,
            call.TriggerMessage(requested_message=message, connector_id=connector),
        )
        if result.status != "Accepted":
            raise EvseCommandRejectedError("TriggerMessage", str(result.status))

    async def reserve(
        self, id_tag: str, expiry: datetime, *, parent_id_tag: str | None = None
    ) -> Reservation:
        """ReserveNow: keep connector 1 for ``id_tag`` until ``expiry``.

        The charger's refusal (``Occupied``, ``Faulted``, ``Unavailable``,
        ``Rejected``) is raised as :class:`EvseCommandRejectedError`.
        """
        if expiry <= utc_now():
            raise ValueError("the reservation would end in the past")
        self._live()
        reservation_id = self._next_reservation_id
        self._next_reservation_id += 1
        status = await self._send(
            call.ReserveNow(
                connector_id=CONNECTOR,
                expiry_date=ocpp_time(expiry),
                id_tag=id_tag,
                reservation_id=reservation_id,
                parent_id_tag=parent_id_tag,
            )
        )
        if status != "Accepted":
            raise EvseCommandRejectedError("ReserveNow", status)
        self._reservation = Reservation(reservation_id, id_tag, expiry)
        self._changed()
        return self._reservation

    @property
    def reservation(self) -> Reservation | None:
        """The reservation in force, if any."""
        return self._reservation if self._reserved_until() is not None else None

    async def cancel_reservation(self, reservation_id: int | None = None) -> None:
        """CancelReservation (ours when no id is given)."""
        if reservation_id is None:
            if (current := self.reservation) is None:
                raise ValueError("nothing is reserved")
            reservation_id = current.reservation_id
        status = await self._send(call.CancelReservation(reservation_id=reservation_id))
        if status != "Accepted":
            raise EvseCommandRejectedError("CancelReservation", status)
        if (
            self._reservation is not None
            and self._reservation.reservation_id == reservation_id
        ):
            self._reservation = None
        self._changed()

    async def update_firmware(
        self,
        location: str,
        *,
        retrieve_date: datetime | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
    ) -> None:
        """UpdateFirmware from ``location``; FirmwareStatusNotification follows."""
        connection = self._live()
        await self._call(
            connection,
            call.UpdateFirmware(
                location=location,
                retrieve_date=ocpp_time(retrieve_date or utc_now()),
                retries=retries,
                retry_interval=retry_interval,
            ),
        )
        self._firmware_status = FirmwareStatus.REQUESTED
        self._changed()

    def handle_firmware_status(self, status: str) -> None:
        """Take a FirmwareStatusNotification."""
        self._firmware_status = _FIRMWARE_STATUSES[status]  # the schema's enum
        self._changed()

    async def get_diagnostics(
        self,
        location: str,
        *,
        start: datetime | None = None,
        stop: datetime | None = None,
    ) -> str | None:
        """GetDiagnostics to ``location``: the file name (None: nothing to send)."""
        connection = self._live()
        result = await self._call(
            connection,
            call.GetDiagnostics(
                location=location,
                start_time=ocpp_time(start) if start else None,
                stop_time=ocpp_time(stop) if stop else None,
            ),
        )
        file_name = result.file_name or None
        if file_name is not None:
            self._diagnostics_status = DiagnosticsStatus.REQUESTED
            self._changed()
        return file_name

    def handle_diagnostics_status(self, status: str) -> None:
        """Take a DiagnosticsStatusNotification."""
        self._diagnostics_status = _DIAGNOSTICS_STATUSES[status]  # the schema's enum
        self._changed()

    async def get_composite_schedule(self, duration: int = 3600) -> dict[str, Any]:
        """GetCompositeSchedule of connector 1 in amps: what the charger will do.

        Returns the schedule as the charger reported it (snake_case), or
        ``{"status": "Rejected"}``.
        """
        connection = self._live()
        result = await self._call(
            connection,
            call.GetCompositeSchedule(
                connector_id=CONNECTOR, duration=duration, charging_rate_unit="A"
            ),
        )
        if result.status != "Accepted":
            return {"status": str(result.status)}
        return {
            "status": "Accepted",
            "schedule_start": result.schedule_start,
            "charging_schedule": result.charging_schedule,
        }

    async def get_configuration(
        self, keys: Sequence[str] | None = None
    ) -> tuple[dict[str, ConfigurationValue], list[str]]:
        """GetConfiguration of ``keys`` (all without).

        Returns the keys the charger knows and the names it does not.
        """
        return await self._get_configuration(self._live(), keys)

    async def _get_configuration(
        self, connection: OcppConnection, keys: Sequence[str] | None
    ) -> tuple[dict[str, ConfigurationValue], list[str]]:
        result = await self._call(
            connection, call.GetConfiguration(key=list(keys) if keys else None)
        )
        known: dict[str, ConfigurationValue] = {}
        for item in result.configuration_key or []:
            if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                value = item.get("value")
                known[item["key"]] = ConfigurationValue(
                    None if value is None else str(value), item.get("readonly") is True
                )
        if keys:
            self.configuration.update(known)
        else:
            self.configuration = known
        return known, [str(key) for key in result.unknown_key or []]

    async def change_configuration(self, key: str, value: str) -> str:
        """ChangeConfiguration, verified by reading it back.

        Returns ``Accepted`` or ``RebootRequired``; a refusal raises
        :class:`EvseCommandRejectedError`, a value that reads back different
        :class:`EvseWriteNotAppliedError`. A new ``HeartbeatInterval`` is
        also what every later boot is told, and what the watchdog allows.
        """
        heartbeat: int | None = None
        if key == "HeartbeatInterval":
            heartbeat = int(value) if value.strip().isdigit() else -1
            if not HEARTBEAT_RANGE[0] <= heartbeat <= HEARTBEAT_RANGE[1]:
                raise ValueError(
                    f"HeartbeatInterval must be {HEARTBEAT_RANGE[0]}"
                    f"..{HEARTBEAT_RANGE[1]} s"
                )
            value = str(heartbeat)
        connection = self._live()
        status = await self._configure(connection, key, value)
        if status == "Accepted":
            try:
                known, _ = await self._get_configuration(connection, [key])
            except EvseCommandRejectedError:
                known = {}  # no GetConfiguration: nothing to check with
            read = known.get(key)
            if (
                read is not None
                and read.value is not None
                and _config_text(read.value) != _config_text(value)
            ):
                raise EvseWriteNotAppliedError(
                    "ChangeConfiguration", f"{key} reads {read.value}"
                )
        if heartbeat is not None:
            self.heartbeat_interval = heartbeat
            connection.use_heartbeat_interval(heartbeat)
        return status

    # --- persistence -------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """JSON-safe state for the integration to store."""
        meter = self._meter
        return {
            "version": STATE_VERSION,
            "boot": asdict(self.boot) if self.boot else None,
            "status": self._status,
            "charger_status": self._charger_status,
            "error": self._error,
            "connector_available": self._connector_available,
            "last_heartbeat": (
                self._last_heartbeat.isoformat() if self._last_heartbeat else None
            ),
            "meter": {name: getattr(meter, name) for name in _MEASUREMENTS}
            | {
                name: {str(k): v for k, v in getattr(meter, name).items()}
                for name in _PHASE_MEASUREMENTS
            },
            "session_energy": self._session_energy,
            "session_guard": (
                self._session_guard.export() if self._session_guard else None
            ),
            "transaction": self._transaction.to_json() if self._transaction else None,
            "last_transaction": (
                self._last_transaction.to_json() if self._last_transaction else None
            ),
            "next_transaction_id": self._next_transaction_id,
            "current_limit": self._current_limit,
            "default_limit": self._default_limit,
            "session_profiles_refused": self.session_profiles_refused,
            "paused": self._paused,
            "remote_stopped": self._remote_stopped,
            "profiles_refused": self.profiles_refused,
            "accepted_measurands": (
                list(self.accepted_measurands) if self.accepted_measurands else None
            ),
            "local_list": {
                "version": self._current_list_version(),
                "fingerprint": [list(item) for item in self._list_fingerprint],
                "sent_version": self._sent_version,
                "sent": list(self._sent_list.values()),
                "clear_cache": self._clear_cache,
                "accepted_basis": (
                    None
                    if self._accepted_basis is None
                    else [sorted(self._accepted_basis[0]), self._accepted_basis[1]]
                ),
            },
            "refused_id_tag": self._refused_id_tag,
            "heartbeat_interval": self.heartbeat_interval,
            "reservation": self._reservation.to_json() if self._reservation else None,
            "next_reservation_id": self._next_reservation_id,
            "firmware_status": self._firmware_status,
            "diagnostics_status": self._diagnostics_status,
            "configuration": {
                key: [held.value, held.readonly]
                for key, held in self.configuration.items()
            },
        }

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Take back what :meth:`export_state` gave; odd entries are skipped.

        The snapshot is then complete enough to create entities, while
        ``connected`` stays False until the charger connects.
        """
        version = data.get("version")
        if version not in (1, STATE_VERSION):
            _LOGGER.debug(
                "%s: ignoring stored state %r",
                self.charge_point_id,
                data.get("version"),
            )
            return
        boot = data.get("boot")
        if isinstance(boot, Mapping):
            self.boot = BootInfo(
                **{
                    k: _text(boot.get(k))
                    for k in ("vendor", "model", "serial", "firmware")
                }
            )
        self._status = _enum(OcppStatus, data.get("status"))
        self._charger_status = _enum(OcppStatus, data.get("charger_status"))
        self._error = _enum(OcppErrorCode, data.get("error"))
        available = data.get("connector_available")
        self._connector_available = available if isinstance(available, bool) else None
        self._last_heartbeat = parse_timestamp(data.get("last_heartbeat"))
        meter = data.get("meter")
        if isinstance(meter, Mapping):
            for name in _MEASUREMENTS:
                setattr(self._meter, name, _number(meter.get(name)))
            for name in _PHASE_MEASUREMENTS:
                setattr(self._meter, name, _phases(meter.get(name)))
        self._session_energy = _number(data.get("session_energy"))
        guard = data.get("session_guard")
        self._session_guard = (
            LifetimeEnergyGuard.restore(guard) if isinstance(guard, Mapping) else None
        )
        self._transaction = _Transaction.from_json(data.get("transaction"))
        self._last_transaction = _Transaction.from_json(data.get("last_transaction"))
        next_id = data.get("next_transaction_id")
        if isinstance(next_id, int) and next_id > 0:
            self._next_transaction_id = next_id
        limit = data.get("current_limit")
        self._current_limit = limit if isinstance(limit, int) else None
        default = data.get("default_limit")
        self._default_limit = default if isinstance(default, int) else None
        self.session_profiles_refused = data.get("session_profiles_refused") is True
        # Version 1 kept the live limit (or a 0 A pause) in our
        # TxDefaultProfile: cleared at the next connection.
        self._clear_old_default = version == 1
        self._paused = data.get("paused") is True
        self._remote_stopped = data.get("remote_stopped") is True
        self.profiles_refused = data.get("profiles_refused") is True
        measurands = data.get("accepted_measurands")
        self.accepted_measurands = (
            tuple(str(m) for m in measurands) if isinstance(measurands, list) else None
        )
        self._restore_management(data)
        self._last_snapshot = None

    def _restore_management(self, data: Mapping[str, Any]) -> None:
        """Cards, reservation, firmware and configuration (all optional)."""
        local_list = data.get("local_list")
        if isinstance(local_list, Mapping):
            version = local_list.get("version")
            fingerprint = local_list.get("fingerprint")
            if isinstance(version, int) and isinstance(fingerprint, list):
                self._list_version = version
                self._list_fingerprint = tuple(
                    tuple(item) for item in fingerprint if isinstance(item, list)
                )
            sent_version = local_list.get("sent_version")
            self._sent_version = sent_version if isinstance(sent_version, int) else None
            sent = local_list.get("sent")
            self._sent_list = {
                tag_key(entry["id_tag"]): entry
                for entry in (sent if isinstance(sent, list) else [])
                if isinstance(entry, dict) and isinstance(entry.get("id_tag"), str)
            }
            self._clear_cache = local_list.get("clear_cache") is True
            basis = local_list.get("accepted_basis")
            if isinstance(basis, list) and len(basis) == 2:
                keys, free = basis
                self._accepted_basis = (
                    frozenset(str(key) for key in keys)
                    if isinstance(keys, list)
                    else frozenset(),
                    free is True,
                )
        self._refused_id_tag = _text(data.get("refused_id_tag"))
        heartbeat = data.get("heartbeat_interval")
        self.heartbeat_interval = heartbeat if isinstance(heartbeat, int) else None
        self._reservation = Reservation.from_json(data.get("reservation"))
        next_reservation = data.get("next_reservation_id")
        if isinstance(next_reservation, int) and next_reservation > 0:
            self._next_reservation_id = next_reservation
        firmware = data.get("firmware_status")
        self._firmware_status = (
            FirmwareStatus(firmware) if firmware in set(FirmwareStatus) else None
        )
        diagnostics = data.get("diagnostics_status")
        self._diagnostics_status = (
            DiagnosticsStatus(diagnostics)
            if diagnostics in set(DiagnosticsStatus)
            else None
        )
        configuration = data.get("configuration")
        if isinstance(configuration, Mapping):
            self.configuration = {
                str(key): ConfigurationValue(_text(held[0]), held[1] is True)
                for key, held in configuration.items()
                if isinstance(held, list) and len(held) == 2
            }


def _power(meter: MeterSample) -> float | None:
    """Compute current x voltage when the charger does not report power."""
    if meter.phase_currents and meter.phase_voltages:
        pairs = [
            (current, meter.phase_voltages[phase])
            for phase, current in meter.phase_currents.items()
            if phase in meter.phase_voltages
        ]
        if pairs:
            return _finite_or_none(sum(current * voltage for current, voltage in pairs))
    if meter.current is not None and meter.voltage is not None:
        return _finite_or_none(meter.current * meter.voltage)
    return None


def _drawn(meter: MeterSample) -> set[tuple[str, int | None]]:
    """Return the current and power readings present: (field, phase or None)."""
    present: set[tuple[str, int | None]] = {
        (name, None)
        for name in ("current", "power")
        if getattr(meter, name) is not None
    }
    for name in ("phase_currents", "phase_powers"):
        present.update((name, phase) for phase in getattr(meter, name))
    return present


def _finite_or_none(value: float) -> float | None:
    """Two absurd but finite readings can multiply to infinity."""
    return value if math.isfinite(value) else None


def _accepted(
    authorization: Authorization, now: datetime
) -> tuple[frozenset[str], bool]:
    """Return the cards ``authorization`` accepts at ``now``, and free charging."""
    return (
        frozenset(
            tag_key(tag.id_tag)
            for tag in authorization.tags
            if tag.status(now) is AuthorizationStatus.ACCEPTED
        ),
        authorization.free_charging,
    )


def _config_text(value: str) -> str:
    """Return a configuration value as chargers compare it (``True`` is ``true``)."""
    return "".join(value.split()).casefold()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _enum[E: (OcppStatus, OcppErrorCode)](kind: type[E], value: object) -> E | None:
    if not isinstance(value, str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def _phases(value: object) -> dict[int, float]:
    if not isinstance(value, Mapping):
        return {}
    phases: dict[int, float] = {}
    for key, raw in value.items():
        number = _number(raw)
        if number is not None and str(key) in ("0", "1", "2"):
            phases[int(key)] = number
    return phases


__all__ = [
    "CAPABILITIES",
    "ConfigurationValue",
    "OcppStation",
    "Reservation",
    "is_secret",
]
