"""The J1772 charging-station model shared by every simulated device.

One :class:`EvseModel` is the "controller board" of a simulated charger: the
J1772 state machine, the pilot current, the energy meter, fault counters,
session limits and what is kept in EEPROM. The HTTP front ends (``current``,
``legacy``, ``goplug``) only translate requests into calls on this model, so
all three kinds behave the same way underneath.

Time never passes by itself: :meth:`EvseModel.advance` moves the simulated
clock and accumulates energy deterministically. The CLI calls it once a second;
tests call it with whatever step they need.

Behaviour follows the OpenEVSE controller firmware (open_evse ``rapi_proc.cpp``
and ``J1772EvseController``), not the popular Python emulator, where the two
differ (see ``peers/openevse/emulator/deviations_from_firmware.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, IntFlag, StrEnum

# What an EV typically draws below the offered pilot current.
DRAW_MARGIN_MA = 250

# MAX_CURRENT_CAPACITY_L1 of the controller firmware.
MAX_CURRENT_L1 = 24

# Below this supply voltage "auto" service level detects L1.
L2_MIN_VOLTS = 180.0

# Fault counters saturate like the firmware's 8-bit EEPROM counters.
MAX_FAULT_COUNT = 0xFF

# Temperature reported by RAPI ``$GP`` for a sensor that is not fitted.
TEMP_NOT_INSTALLED = -2560

# Float slack when checking whether a limit was reached exactly.
_EPSILON = 1e-6


class EvseState(IntEnum):
    """EVSE states as numbered by the controller firmware."""

    UNKNOWN = 0x00
    NOT_CONNECTED = 0x01
    CONNECTED = 0x02
    CHARGING = 0x03
    VENT_REQUIRED = 0x04
    DIODE_CHECK_FAILED = 0x05
    GFCI_FAULT = 0x06
    NO_GROUND = 0x07
    STUCK_RELAY = 0x08
    GFI_SELF_TEST_FAILED = 0x09
    OVER_TEMPERATURE = 0x0A
    OVER_CURRENT = 0x0B
    SLEEPING = 0xFE
    DISABLED = 0xFF


class FaultKind(StrEnum):
    """Faults that :meth:`EvseModel.fault` can raise, with their EVSE state."""

    VENT = "vent"
    DIODE = "diode"
    GFCI = "gfci"
    NO_GROUND = "no_ground"
    STUCK_RELAY = "stuck_relay"
    GFI_SELF_TEST = "gfi_self_test"
    OVER_TEMPERATURE = "over_temperature"
    OVER_CURRENT = "over_current"

    @property
    def state(self) -> EvseState:
        """EVSE state shown while this fault is active."""
        return _FAULT_STATES[self]


_FAULT_STATES: dict[FaultKind, EvseState] = {
    FaultKind.VENT: EvseState.VENT_REQUIRED,
    FaultKind.DIODE: EvseState.DIODE_CHECK_FAILED,
    FaultKind.GFCI: EvseState.GFCI_FAULT,
    FaultKind.NO_GROUND: EvseState.NO_GROUND,
    FaultKind.STUCK_RELAY: EvseState.STUCK_RELAY,
    FaultKind.GFI_SELF_TEST: EvseState.GFI_SELF_TEST_FAILED,
    FaultKind.OVER_TEMPERATURE: EvseState.OVER_TEMPERATURE,
    FaultKind.OVER_CURRENT: EvseState.OVER_CURRENT,
}


class Mode(StrEnum):
    """What the controller was told to do: ``$FE``, ``$FS`` or ``$FD``."""

    ACTIVE = "active"
    SLEEP = "sleep"
    DISABLED = "disabled"


class ServiceLevel(StrEnum):
    """Configured J1772 service level (``$SL 1|2|A``)."""

    L1 = "1"
    L2 = "2"
    AUTO = "A"


class VFlags(IntFlag):
    """Controller ``m_wVFlags`` bits, reported by RAPI 5 ``$GS`` and ``/status``."""

    HARD_FAULT = 0x0002
    LIMIT_SLEEP = 0x0004
    AUTH_LOCKED = 0x0008
    TIME_LIMIT = 0x0010
    NOGND_TRIPPED = 0x0020
    CHARGING_ON = 0x0040
    GFI_TRIPPED = 0x0080
    EV_CONNECTED = 0x0100
    SESSION_ENDED = 0x0200
    EV_CONNECTED_PREV = 0x0400
    TIMER_ON = 0x1000
    CHARGE_LIMIT = 0x2000


class SettingFlags(IntFlag):
    """Controller settings bits reported by RAPI ``$GE``."""

    L2 = 0x0001
    DIODE_CHECK_DISABLED = 0x0002
    VENT_CHECK_DISABLED = 0x0004
    GROUND_CHECK_DISABLED = 0x0008
    RELAY_CHECK_DISABLED = 0x0010
    AUTO_SERVICE_LEVEL_DISABLED = 0x0020
    MONO_LCD = 0x0100
    GFI_TEST_DISABLED = 0x0200
    TEMP_CHECK_DISABLED = 0x0400
    BUTTON_DISABLED = 0x8000


class Feature(StrEnum):
    """Safety checks and options toggled by RAPI ``$FF <letter> 0|1``."""

    BUTTON = "B"
    DIODE = "D"
    ECHO = "E"
    GFI_SELF_TEST = "F"
    GROUND = "G"
    RELAY = "R"
    TEMPERATURE = "T"
    VENT = "V"
    AUTO_LOCK = "A"


@dataclass(slots=True)
class GatewayLimit:
    """A session limit set through the WiFi module's ``/limit`` endpoint.

    ``value`` is in Wh for ``energy`` and in minutes for ``time``; ``soc`` and
    ``range`` are stored but never reached (the simulator has no vehicle data).
    """

    type: str
    value: int
    auto_release: bool = True


@dataclass(slots=True)
class DelayTimer:
    """The ``$ST`` start/stop timer (stored and reported, not enforced)."""

    start_hour: int = 0
    start_minute: int = 0
    end_hour: int = 0
    end_minute: int = 0

    @property
    def enabled(self) -> bool:
        """The firmware treats an all-zero timer as "no timer"."""
        return any((self.start_hour, self.start_minute, self.end_hour, self.end_minute))


Listener = Callable[[str], None]

# Event names passed to listeners.
EVENT_CHANGE = "change"
EVENT_UNPLUG = "unplug"
EVENT_BOOT = "boot"


@dataclass
class EvseModel:
    """A simulated EVSE controller with its J1772 state machine and meter.

    Construct it with the hardware limits of the charger; everything else starts
    at power-on defaults. Mutators mirror what a user, a car or a RAPI command
    can do; read-only properties give what the firmware would report.
    """

    min_current: int = 6
    max_hw_current: int = 80
    eeprom_current: int = 32
    voltage: float = 240.0
    has_voltmeter: bool = False
    temperatures: tuple[int | None, int | None, int | None] = (340, None, None)
    mcu_id: str | None = None
    total_wh: float = 0.0
    service_setting: ServiceLevel = ServiceLevel.AUTO
    rtc_start: datetime = field(
        default_factory=lambda: datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    )

    # Persistent (EEPROM) state.
    eeprom_writes: int = field(default=0, init=False)
    gfci_count: int = field(default=0, init=False)
    no_ground_count: int = field(default=0, init=False)
    stuck_relay_count: int = field(default=0, init=False)
    features: dict[Feature, bool] = field(init=False)
    timer: DelayTimer = field(default_factory=DelayTimer, init=False)
    ammeter_calibration: tuple[int, int] = field(default=(220, 0), init=False)
    voltmeter_calibration: tuple[int, int] = field(default=(1, 0), init=False)
    mono_lcd: bool = field(default=False, init=False)

    # Volatile (RAM) controller state.
    current_capacity: int = field(init=False)
    mode: Mode = field(default=Mode.ACTIVE, init=False)
    fault_kind: FaultKind | None = field(default=None, init=False)
    auth_locked: bool = field(default=False, init=False)
    charge_limit_kwh: int = field(default=0, init=False)
    time_limit_15: int = field(default=0, init=False)
    limit_sleep: bool = field(default=False, init=False)
    gateway_limit: GatewayLimit | None = field(default=None, init=False)
    boots: int = field(default=0, init=False)

    # The physical world: the car and the clock.
    connected: bool = field(default=False, init=False)
    ev_ready: bool = field(default=True, init=False)
    ev_max_current: int | None = field(default=None, init=False)
    clock: float = field(default=0.0, init=False)
    relay_closures: int = field(default=0, init=False)

    # Session meter.
    session_ws: float = field(default=0.0, init=False)
    elapsed: float = field(default=0.0, init=False)
    in_session: bool = field(default=False, init=False)
    session_ended: bool = field(default=False, init=False)

    _drawing: bool = field(default=False, init=False, repr=False)
    _connected_prev: bool = field(default=False, init=False, repr=False)
    _gateway_limit_hit: bool = field(default=False, init=False, repr=False)
    _listeners: list[Listener] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        """Apply power-on defaults derived from the constructor arguments."""
        self.features = dict.fromkeys(Feature, True)
        self.features[Feature.ECHO] = False
        self.features[Feature.AUTO_LOCK] = False
        self.eeprom_current = self._clamp(self.eeprom_current)[0]
        self.current_capacity = self.eeprom_current

    # ------------------------------------------------------------------ events

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every change; return a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: str) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _changed(self) -> None:
        if not self._can_draw():
            # A car that lost permission has to start over (state B first).
            self._drawing = False
        self._emit(EVENT_CHANGE)

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> EvseState:
        """The EVSE state the firmware would report now."""
        if self.fault_kind is not None:
            return self.fault_kind.state
        if self.mode is Mode.DISABLED:
            return EvseState.DISABLED
        if self.mode is Mode.SLEEP or self.limit_sleep:
            return EvseState.SLEEPING
        if not self.connected:
            return EvseState.NOT_CONNECTED
        if self._drawing:
            return EvseState.CHARGING
        return EvseState.CONNECTED

    @property
    def charging(self) -> bool:
        """True while the contactor is closed and the car draws current."""
        return self.state is EvseState.CHARGING

    @property
    def pilot_state(self) -> EvseState:
        """J1772 state seen on the pilot line (``$GS`` pilotstate)."""
        if self.mode is Mode.DISABLED:
            # Pilot held at -12 V: the controller cannot see the car.
            return EvseState.UNKNOWN
        if not self.connected:
            return EvseState.NOT_CONNECTED
        return EvseState.CHARGING if self.ev_ready else EvseState.CONNECTED

    @property
    def connect_state(self) -> int:
        """``$G0``: 0 not connected, 1 connected, 2 unknown (pilot at -12 V)."""
        if self.mode is Mode.DISABLED:
            return 2
        return int(self.connected)

    @property
    def service_level(self) -> int:
        """Effective service level (1 or 2), auto-detected from the voltage."""
        if self.service_setting is ServiceLevel.AUTO:
            return 2 if self.voltage >= L2_MIN_VOLTS else 1
        return int(self.service_setting)

    @property
    def max_current(self) -> int:
        """Highest current the active service level allows (``$GC`` max)."""
        if self.service_level == 1:
            return min(self.max_hw_current, MAX_CURRENT_L1)
        return self.max_hw_current

    @property
    def measured_milliamps(self) -> int:
        """What the ammeter reads: a bit below the pilot while charging."""
        if not self.charging:
            return 0
        amps = self.current_capacity
        if self.ev_max_current is not None:
            amps = min(amps, self.ev_max_current)
        return max(0, amps * 1000 - DRAW_MARGIN_MA)

    @property
    def measured_millivolts(self) -> int:
        """``$GG`` millivolts, or -1 when no voltmeter is fitted."""
        return round(self.voltage * 1000) if self.has_voltmeter else -1

    @property
    def power_watts(self) -> float:
        """Charging power: measured amps times supply voltage."""
        return self.measured_milliamps / 1000 * self.voltage

    @property
    def session_wh(self) -> float:
        """Energy of the current (or last) session in Wh."""
        return self.session_ws / 3600

    @property
    def vflags(self) -> VFlags:
        """The controller's volatile flags (``$GS`` 5.x, ``/status`` flags)."""
        flags = VFlags(0)
        conditions = {
            VFlags.HARD_FAULT: self.fault_kind is FaultKind.STUCK_RELAY,
            VFlags.LIMIT_SLEEP: self.limit_sleep,
            VFlags.AUTH_LOCKED: self.auth_locked,
            VFlags.TIME_LIMIT: self.time_limit_15 > 0,
            VFlags.NOGND_TRIPPED: self.fault_kind is FaultKind.NO_GROUND,
            VFlags.CHARGING_ON: self.charging,
            VFlags.GFI_TRIPPED: self.fault_kind is FaultKind.GFCI,
            VFlags.EV_CONNECTED: self.connected,
            VFlags.SESSION_ENDED: self.session_ended,
            VFlags.EV_CONNECTED_PREV: self.connected and self._connected_prev,
            VFlags.TIMER_ON: self.timer.enabled,
            VFlags.CHARGE_LIMIT: self.charge_limit_kwh > 0,
        }
        for flag, active in conditions.items():
            if active:
                flags |= flag
        return flags

    @property
    def setting_flags(self) -> SettingFlags:
        """The controller's settings flags (``$GE``)."""
        flags = SettingFlags(0)
        conditions = {
            SettingFlags.L2: self.service_level == 2,
            SettingFlags.DIODE_CHECK_DISABLED: not self.features[Feature.DIODE],
            SettingFlags.VENT_CHECK_DISABLED: not self.features[Feature.VENT],
            SettingFlags.GROUND_CHECK_DISABLED: not self.features[Feature.GROUND],
            SettingFlags.RELAY_CHECK_DISABLED: not self.features[Feature.RELAY],
            SettingFlags.AUTO_SERVICE_LEVEL_DISABLED: (
                self.service_setting is not ServiceLevel.AUTO
            ),
            SettingFlags.MONO_LCD: self.mono_lcd,
            SettingFlags.GFI_TEST_DISABLED: not self.features[Feature.GFI_SELF_TEST],
            SettingFlags.TEMP_CHECK_DISABLED: not self.features[Feature.TEMPERATURE],
            SettingFlags.BUTTON_DISABLED: not self.features[Feature.BUTTON],
        }
        for flag, active in conditions.items():
            if active:
                flags |= flag
        return flags

    @property
    def rtc(self) -> datetime:
        """The controller's real-time clock, driven by the simulated clock."""
        return self.rtc_start + timedelta(seconds=self.clock)

    # ------------------------------------------------------------ the car

    def plug_in(self) -> None:
        """Plug the car in: state 2, charging begins once simulated time passes."""
        if self.connected:
            return
        self.connected = True
        self._connected_prev = False
        self._changed()

    def unplug(self) -> None:
        """Unplug the car: state 1; session limits and limit-sleep are cleared."""
        if not self.connected:
            return
        self.connected = False
        self._connected_prev = True
        self._drawing = False
        if self.in_session:
            self.in_session = False
            self.session_ended = True
        # The firmware cancels SH/S3 limits and wakes from a limit sleep.
        self.charge_limit_kwh = 0
        self.time_limit_15 = 0
        self.limit_sleep = False
        self._gateway_limit_hit = False
        if self.gateway_limit is not None and self.gateway_limit.auto_release:
            self.gateway_limit = None
        self._emit(EVENT_UNPLUG)
        self._changed()

    def set_ev_ready(self, ready: bool) -> None:
        """Say whether the car wants to charge (False: it stays in state 2)."""
        self.ev_ready = ready
        self._changed()

    # ------------------------------------------------------------ controls

    def set_mode(self, mode: Mode) -> None:
        """Enable, pause (sleep) or disable the EVSE, keeping the session."""
        if self.mode is mode:
            return
        self.mode = mode
        self._changed()

    def enable(self) -> None:
        """``$FE``: enable, also waking from a session-limit sleep."""
        self.limit_sleep = False
        self._gateway_limit_hit = False
        self.mode = Mode.ACTIVE
        self._changed()

    def button(self) -> None:
        """``$F1`` / front-panel button: toggle between active and sleep."""
        if self.mode is Mode.ACTIVE and not self.limit_sleep:
            self.set_mode(Mode.SLEEP)
        else:
            self.enable()

    def set_current(self, amps: int, *, volatile: bool) -> tuple[bool, int]:
        """``$SC``: set the pilot current; return (within range, amps set).

        Out-of-range values are clamped, as the firmware does. Without
        ``volatile`` the value is saved to EEPROM (one write each time).
        """
        amps_set, ok = self._clamp(amps)
        self.current_capacity = amps_set
        if not volatile:
            self.eeprom_current = amps_set
            self.eeprom_write()
        self._changed()
        return ok, amps_set

    def _clamp(self, amps: int) -> tuple[int, bool]:
        if amps < self.min_current:
            return self.min_current, False
        if amps > self.max_current:
            return self.max_current, False
        return amps, True

    def set_service_level(self, level: ServiceLevel) -> None:
        """``$SL``: choose L1, L2 or auto-detection (saved to EEPROM)."""
        self.service_setting = level
        self.eeprom_write()
        self.current_capacity = min(self.current_capacity, self.max_current)
        self.eeprom_current = min(self.eeprom_current, self.max_current)
        self._changed()

    def set_voltage(self, volts: float) -> None:
        """Set the supply voltage (``$SV``, ``POST /status`` or a human)."""
        self.voltage = volts
        self._changed()

    def set_feature(self, feature: Feature, enabled: bool) -> None:
        """``$FF``: enable or disable a safety check (saved to EEPROM)."""
        self.features[feature] = enabled
        self.eeprom_write()
        self._changed()

    def set_auth_lock(self, locked: bool) -> None:
        """``$S4``: while locked the car is not allowed to draw current."""
        self.auth_locked = locked
        self._changed()

    def set_total_wh(self, wh: float) -> None:
        """``$SK``: overwrite the lifetime energy counter (saved to EEPROM)."""
        self.total_wh = wh
        self.eeprom_write()
        self._changed()

    def set_timer(self, timer: DelayTimer) -> None:
        """``$ST``: store the delay timer (saved to EEPROM)."""
        self.timer = timer
        self.eeprom_write()
        self._changed()

    def set_rtc(self, moment: datetime) -> None:
        """``$S1``: set the real-time clock."""
        self.rtc_start = moment - timedelta(seconds=self.clock)
        self._changed()

    def eeprom_write(self) -> None:
        """Count one write to non-volatile memory."""
        self.eeprom_writes += 1

    # ------------------------------------------------------------ limits

    @property
    def ev_connected_b_or_c(self) -> bool:
        """SH/S3 are accepted only in J1772 state B or C."""
        return self.state in (EvseState.CONNECTED, EvseState.CHARGING)

    def set_charge_limit(self, kwh: int) -> bool:
        """``$SH``: energy limit for this session (0 cancels); needs a car."""
        if not self.ev_connected_b_or_c:
            return False
        self.charge_limit_kwh = kwh
        self._changed()
        return True

    def set_time_limit(self, count_15min: int) -> bool:
        """``$S3``: time limit in 15-minute units (0 cancels); needs a car."""
        if not self.ev_connected_b_or_c:
            return False
        self.time_limit_15 = count_15min
        self._changed()
        return True

    def set_gateway_limit(self, limit: GatewayLimit | None) -> None:
        """Set or clear the WiFi module's ``/limit`` (checked immediately)."""
        self.gateway_limit = limit
        if self._gateway_limit_hit:
            self._gateway_limit_hit = False
            self.limit_sleep = False
        self._check_limits()
        self._changed()

    def _remaining_seconds(self) -> float | None:
        """Seconds of charging at the present power before a limit is reached."""
        candidates: list[float] = []
        watts = self.power_watts
        if self.charge_limit_kwh > 0 and watts > 0:
            left_ws = self.charge_limit_kwh * 3_600_000 - self.session_ws
            candidates.append(left_ws / watts)
        if self.time_limit_15 > 0:
            candidates.append(self.time_limit_15 * 900 - self.elapsed)
        limit = self.gateway_limit
        if limit is not None and limit.type == "energy" and watts > 0:
            candidates.append((limit.value * 3600 - self.session_ws) / watts)
        if limit is not None and limit.type == "time":
            candidates.append(limit.value * 60 - self.elapsed)
        return min(candidates) if candidates else None

    def _check_limits(self) -> None:
        """Sleep when a session limit is reached (as the firmware does)."""
        if self.limit_sleep or not self.in_session:
            return
        ws = self.session_ws + _EPSILON
        elapsed = self.elapsed + _EPSILON
        if self.charge_limit_kwh > 0 and ws >= self.charge_limit_kwh * 3_600_000:
            # The firmware cancels the controller's own limit once reached.
            self.charge_limit_kwh = 0
            self.limit_sleep = True
        if self.time_limit_15 > 0 and elapsed >= self.time_limit_15 * 900:
            self.time_limit_15 = 0
            self.limit_sleep = True
        limit = self.gateway_limit
        if limit is not None and (
            (limit.type == "energy" and ws >= limit.value * 3600)
            or (limit.type == "time" and elapsed >= limit.value * 60)
        ):
            self.limit_sleep = True
            self._gateway_limit_hit = True

    # ------------------------------------------------------------ faults

    def fault(self, kind: FaultKind | str) -> None:
        """Raise a fault: charging stops and the matching counter goes up."""
        kind = FaultKind(kind)
        self.fault_kind = kind
        if kind is FaultKind.GFCI:
            self.gfci_count = min(MAX_FAULT_COUNT, self.gfci_count + 1)
        elif kind is FaultKind.NO_GROUND:
            self.no_ground_count = min(MAX_FAULT_COUNT, self.no_ground_count + 1)
        elif kind is FaultKind.STUCK_RELAY:
            self.stuck_relay_count = min(MAX_FAULT_COUNT, self.stuck_relay_count + 1)
        self._changed()

    def clear_fault(self) -> None:
        """Clear the active fault; the session is kept."""
        self.fault_kind = None
        self._changed()

    # ------------------------------------------------------------ power

    def reboot(self) -> None:
        """Restart the controller: RAM state is lost, EEPROM state is kept."""
        self.current_capacity = self.eeprom_current
        self.mode = Mode.ACTIVE
        self.fault_kind = None
        self.auth_locked = False
        self.charge_limit_kwh = 0
        self.time_limit_15 = 0
        self.limit_sleep = False
        self._gateway_limit_hit = False
        self._drawing = False
        self.in_session = False
        self.session_ended = False
        self.session_ws = 0.0
        self.elapsed = 0.0
        self.boots += 1
        self._emit(EVENT_BOOT)
        self._changed()

    # ------------------------------------------------------------ time

    def _can_draw(self) -> bool:
        return (
            self.connected
            and self.ev_ready
            and self.mode is Mode.ACTIVE
            and not self.limit_sleep
            and self.fault_kind is None
            and not self.auth_locked
        )

    def advance(self, seconds: float) -> None:
        """Move the simulated clock on; accumulate energy and elapsed time.

        A car that is allowed to charge starts drawing at the beginning of the
        step. Session limits stop charging at the exact moment they are reached.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.clock += seconds
        if self._can_draw() and not self._drawing:
            self._drawing = True
            self.relay_closures += 1
            if not self.in_session:
                self.in_session = True
                self.session_ended = False
                self.session_ws = 0.0
                self.elapsed = 0.0
        if self.charging:
            self._charge(seconds)
        self._connected_prev = self.connected
        self._changed()

    def _charge(self, seconds: float) -> None:
        remaining = self._remaining_seconds()
        step = seconds if remaining is None else max(0.0, min(seconds, remaining))
        ws = self.power_watts * step
        self.session_ws += ws
        self.total_wh += ws / 3600
        self.elapsed += step
        if remaining is not None and remaining <= seconds:
            self._check_limits()
