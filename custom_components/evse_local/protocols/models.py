"""The normalised charger snapshot every protocol adapter fills.

Entity descriptions read these fields and nothing else, so one set of
descriptions serves every charger kind. ``None`` always means "this charger
does not report it", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

from .errors import EvseProtocolError


class ChargerState(StrEnum):
    """Charger state, normalised across protocols (J1772 plus faults)."""

    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    CHARGING = "charging"
    VENT_REQUIRED = "vent_required"
    DIODE_CHECK_FAILED = "diode_check_failed"
    GFCI_FAULT = "gfci_fault"
    NO_GROUND = "no_ground"
    STUCK_RELAY = "stuck_relay"
    GFCI_SELF_TEST_FAILED = "gfci_self_test_failed"
    OVER_TEMPERATURE = "over_temperature"
    OVER_CURRENT = "over_current"
    RELAY_CLOSURE_FAULT = "relay_closure_fault"
    FAULT = "fault"
    SLEEPING = "sleeping"
    DISABLED = "disabled"
    STARTING = "starting"
    """State 0: the controller has booted but not finished its self-test."""
    COMPLETE = "complete"
    """go-e: charging finished, the car is still connected."""
    UNDETERMINED = "undetermined"
    """go-e car state 0 without an error: seen after updates, not a fault."""


FAULT_STATES = frozenset(
    {
        ChargerState.VENT_REQUIRED,
        ChargerState.DIODE_CHECK_FAILED,
        ChargerState.GFCI_FAULT,
        ChargerState.NO_GROUND,
        ChargerState.STUCK_RELAY,
        ChargerState.GFCI_SELF_TEST_FAILED,
        ChargerState.OVER_TEMPERATURE,
        ChargerState.OVER_CURRENT,
        ChargerState.RELAY_CLOSURE_FAULT,
        ChargerState.FAULT,
    }
)

# J1772/OpenEVSE state codes (J1772EvseController.h); shared by RAPI $GS/$AT
# and the WiFi module's numeric ``state`` field.
_J1772_STATES: dict[int, ChargerState] = {
    0x00: ChargerState.STARTING,
    0x01: ChargerState.NOT_CONNECTED,
    0x02: ChargerState.CONNECTED,
    0x03: ChargerState.CHARGING,
    0x04: ChargerState.VENT_REQUIRED,
    0x05: ChargerState.DIODE_CHECK_FAILED,
    0x06: ChargerState.GFCI_FAULT,
    0x07: ChargerState.NO_GROUND,
    0x08: ChargerState.STUCK_RELAY,
    0x09: ChargerState.GFCI_SELF_TEST_FAILED,
    0x0A: ChargerState.OVER_TEMPERATURE,
    0x0B: ChargerState.OVER_CURRENT,
    0x0E: ChargerState.RELAY_CLOSURE_FAULT,
    0xFE: ChargerState.SLEEPING,
    0xFF: ChargerState.DISABLED,
}


def state_from_code(code: int) -> ChargerState:
    """Map an OpenEVSE state code; unlisted fault codes become ``FAULT``.

    A code outside 0..255 is not a state but garbage.
    """
    if code in _J1772_STATES:
        return _J1772_STATES[code]
    if 0x05 <= code < 0xFE:
        return ChargerState.FAULT
    raise EvseProtocolError(f"state code {code} is out of range")


class ServiceLevel(StrEnum):
    """J1772 service level."""

    LEVEL_1 = "level_1"
    LEVEL_2 = "level_2"
    AUTO = "auto"


class ChargerError(StrEnum):
    """go-e ``ERROR`` register."""

    NONE = "none"
    RCCB = "rccb"
    PHASE = "phase"
    NO_GROUND = "no_ground"
    INTERNAL = "internal"


class AccessControl(StrEnum):
    """go-e ``ACCESS_STATE``: who may start a charge."""

    OPEN = "open"
    RFID_APP = "rfid_app"
    PRICE_AUTOMATIC = "price_automatic"
    SCHEDULER = "scheduler"


class CableLock(StrEnum):
    """go-e ``CABLE_LOCK_MODE``."""

    WHILE_CAR_CONNECTED = "while_car_connected"
    UNLOCK_AFTER_CHARGING = "unlock_after_charging"
    ALWAYS_LOCKED = "always_locked"


class Capability(StrEnum):
    """What a charger can be asked to do (found by probing, not by version)."""

    PAUSE = "pause"
    MAX_CURRENT = "max_current"
    PERSIST_MAX_CURRENT = "persist_max_current"
    SERVICE_LEVEL = "service_level"
    ENERGY_LIMIT = "energy_limit"
    TIME_LIMIT = "time_limit"
    COMBINED_LIMITS = "combined_limits"
    LIMITS_NEED_VEHICLE = "limits_need_vehicle"
    TIMER = "timer"
    RESTART = "restart"
    PUSH = "push"
    ACCESS_CONTROL = "access_control"
    CABLE_LOCK = "cable_lock"
    LED = "led"
    BUTTON_CURRENTS = "button_currents"
    CLOUD = "cloud"
    ABSOLUTE_MAX_CURRENT = "absolute_max_current"
    AVAILABILITY = "availability"
    UNLOCK = "unlock"
    FALLBACK_CAPS_CURRENT = "fallback_caps_current"
    """The saved current (what it offers without us) also caps every volatile
    set point: current OpenEVSE firmware's ``max_current_soft``."""
    ID_TAGS = "id_tags"
    """Cards (RFID id tags) are authorised by the integration (OCPP)."""
    RESERVATION = "reservation"
    FIRMWARE = "firmware"
    """Firmware update and diagnostics upload from a URL (OCPP)."""
    CONFIGURATION = "configuration"
    """Named configuration keys can be read and changed (OCPP)."""


class ApiGeneration(StrEnum):
    """How we talk to an OpenEVSE-family charger."""

    OPENEVSE_JSON = "openevse_json"
    """WiFi firmware with ``/claims``: RAPI writes are blocked, JSON API."""
    OPENEVSE_RAPI = "openevse_rapi"
    """Older WiFi firmware: ``/status`` plus every RAPI command over ``/r``."""
    RAPI = "rapi"
    """RAPI over ``/r`` only (GoPlug Pro 32)."""
    GOE_MODBUS = "goe_modbus"
    """go-e Charger over Modbus TCP."""
    OCPP16 = "ocpp16"
    """A charge point connected to our OCPP 1.6J central system (Blink MQ 200)."""


class OcppStatus(StrEnum):
    """OCPP 1.6 ChargePointStatus of connector 1 (the charger's one socket)."""

    AVAILABLE = "available"
    PREPARING = "preparing"
    CHARGING = "charging"
    SUSPENDED_EVSE = "suspended_evse"
    SUSPENDED_EV = "suspended_ev"
    FINISHING = "finishing"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"


class OcppErrorCode(StrEnum):
    """OCPP 1.6 ChargePointErrorCode from the last StatusNotification."""

    CONNECTOR_LOCK_FAILURE = "connector_lock_failure"
    EV_COMMUNICATION_ERROR = "ev_communication_error"
    GROUND_FAILURE = "ground_failure"
    HIGH_TEMPERATURE = "high_temperature"
    INTERNAL_ERROR = "internal_error"
    LOCAL_LIST_CONFLICT = "local_list_conflict"
    NO_ERROR = "no_error"
    OTHER_ERROR = "other_error"
    OVER_CURRENT_FAILURE = "over_current_failure"
    OVER_VOLTAGE = "over_voltage"
    POWER_METER_FAILURE = "power_meter_failure"
    POWER_SWITCH_FAILURE = "power_switch_failure"
    READER_FAILURE = "reader_failure"
    RESET_FAILURE = "reset_failure"
    UNDER_VOLTAGE = "under_voltage"
    WEAK_SIGNAL = "weak_signal"


class FirmwareStatus(StrEnum):
    """OCPP 1.6 FirmwareStatus, plus ``requested`` until the charger reports."""

    IDLE = "idle"
    REQUESTED = "requested"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    DOWNLOAD_FAILED = "download_failed"
    INSTALLING = "installing"
    INSTALLED = "installed"
    INSTALLATION_FAILED = "installation_failed"


class DiagnosticsStatus(StrEnum):
    """OCPP 1.6 DiagnosticsStatus, plus ``requested`` until the charger reports."""

    IDLE = "idle"
    REQUESTED = "requested"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    UPLOAD_FAILED = "upload_failed"


@dataclass(frozen=True, slots=True)
class ChargeTimer:
    """A daily start/stop charging window."""

    start: time
    stop: time


@dataclass(frozen=True, slots=True)
class FaultCounters:
    """Lifetime trip counters kept by the controller."""

    gfci: int
    no_ground: int
    stuck_relay: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """Who the charger is; read once at setup."""

    serial: str | None
    """Serial, MAC or controller id; None when the firmware reports none."""
    manufacturer: str
    model: str
    generation: ApiGeneration
    firmware: str | None = None
    wifi_firmware: str | None = None
    mac: str | None = None
    hostname: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerSnapshot:
    """Everything a charger reported at one point in time."""

    state: ChargerState
    vehicle_connected: bool | None = None
    charging: bool | None = None
    paused: bool | None = None
    charging_current: float | None = None
    """Measured current in A."""
    voltage: float | None = None
    power: float | None = None
    """Power in W, measured or current x voltage."""
    session_energy: float | None = None
    """Energy of the current or last session in Wh."""
    lifetime_energy: float | None = None
    """Device energy counter in Wh (may reset; the integration keeps it monotonic)."""
    session_time: int | None = None
    """Seconds of the current or last session."""
    temperatures: tuple[float | None, float | None, float | None] = (None, None, None)
    """Up to three sensors, in degrees Celsius."""
    pilot_current: int | None = None
    """Current offered to the vehicle by the pilot, in A."""
    max_current: int | None = None
    """Configured charging current set point, in A."""
    fallback_current: int | None = None
    """What the charger offers without Home Assistant (after a reboot, an
    unplug, a released claim): its persistent current setting, in A; None
    when it cannot be read."""
    min_current_limit: int | None = None
    max_current_limit: int | None = None
    service_level: ServiceLevel | None = None
    energy_limit: float | None = None
    """Session energy limit in kWh; 0 when none is set."""
    time_limit: int | None = None
    """Session time limit in minutes; 0 when none is set."""
    timer: ChargeTimer | None = None
    timer_enabled: bool | None = None
    fault_counters: FaultCounters | None = None
    wifi_signal: int | None = None
    """RSSI in dBm."""
    # Three-phase chargers (go-e): per phase L1, L2, L3.
    phase_voltages: tuple[float | None, float | None, float | None] | None = None
    phase_currents: tuple[float | None, float | None, float | None] | None = None
    phase_powers: tuple[float | None, float | None, float | None] | None = None
    """Per-phase power in W."""
    power_factors: tuple[float | None, float | None, float | None] | None = None
    """Per-phase power factor in %."""
    neutral_voltage: float | None = None
    error: ChargerError | None = None
    cable_current_limit: int | None = None
    """Ampere coding of the plugged Type 2 cable; 0 when no cable."""
    phases_before_contactor: int | None = None
    phases_after_contactor: int | None = None
    access_control: AccessControl | None = None
    cable_lock: CableLock | None = None
    led_brightness: int | None = None
    led_energy_saving: bool | None = None
    absolute_max_current: int | None = None
    button_currents: tuple[int, ...] | None = None
    """Current of each push-button level (0 = level skipped)."""
    cloud_disabled: bool | None = None
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    # OCPP charge points.
    ocpp_status: OcppStatus | None = None
    ocpp_error: OcppErrorCode | None = None
    connector_available: bool | None = None
    """Operative (True) or Inoperative (False) after ChangeAvailability."""
    last_heartbeat: datetime | None = None
    transaction_id: int | None = None
    """Our id of the running transaction; None when none runs."""
    id_tag: str | None = None
    """The card (id tag) that started the current or last session."""
    id_tag_name: str | None = None
    """The owner's name for that card, when it is on the owner's list."""
    refused_id_tag: str | None = None
    """The last card that was refused: what to add to let it charge."""
    reserved_until: datetime | None = None
    """End of the reservation in force (OCPP ReserveNow); None: not reserved."""
    firmware_status: FirmwareStatus | None = None
    diagnostics_status: DiagnosticsStatus | None = None
