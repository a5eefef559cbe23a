"""Chargers controlled with RAPI: the shared control logic and GoPlug.

Settings that rarely change (current capacity, service level, limits, timer,
temperatures, fault counters) are read once at setup and then one per poll,
in rotation, so a steady poll stays at a fixed, small number of frames.
What our own commands change is updated from their replies at once.

Pause (``$FS``) and a volatile current (``$SC n V``) survive an unplug but
not a restart of the controller. After anything that may have been one (a
failed read, our own restart, the state "starting", the session's energy or
time going back with no plug-in since, Home Assistant starting) the next
read puts them back: ``$SC n V`` and ``$FS``, both volatile.
"""

from __future__ import annotations

import logging
from datetime import time
from typing import TypedDict

from ..charger import (
    RAPI_TIME_STEP_MINUTES,
    RAPI_TIME_STEPS_MAX,
    Charger,
    SessionLimit,
    rapi_time_steps,
)
from ..errors import EvseCommandRejectedError, EvseError, EvseProtocolError
from ..models import (
    Capability,
    ChargerSnapshot,
    ChargerState,
    ChargeTimer,
    DeviceInfo,
    FaultCounters,
    ServiceLevel,
    state_from_code,
)
from .client import RapiClient
from .commands import ReplyValues

# $GE flags (ECF_*) and $GS/$AT vflags (ECVF_*), J1772EvseController.h.
FLAG_L2 = 0x0001
FLAG_AUTO_SERVICE_LEVEL_DISABLED = 0x0020
VFLAG_CHARGING_ON = 0x0040
VFLAG_EV_CONNECTED = 0x0100
VFLAG_TIMER_ON = 0x1000
TEMPERATURE_ABSENT = -2560

_SERVICE_LEVEL_PARAM = {
    ServiceLevel.LEVEL_1: "1",
    ServiceLevel.LEVEL_2: "2",
    ServiceLevel.AUTO: "A",
}
_PLUGGED_STATES = (ChargerState.CONNECTED, ChargerState.CHARGING)
# Charging is allowed: a pause of ours would show as sleeping (or disabled).
_ENABLED_STATES = (ChargerState.NOT_CONNECTED, *_PLUGGED_STATES)

_LOGGER = logging.getLogger(__name__)


def _int(values: ReplyValues, key: str) -> int | None:
    value = values.get(key)
    return value if isinstance(value, int) else None


def _energy(values: ReplyValues, key: str) -> int | None:
    """Read a ``$GU`` counter: printed unsigned, so below 0 is garbage."""
    value = _int(values, key)
    if value is not None and value < 0:
        raise EvseProtocolError(f"$GU: {key}={value} is negative")
    return value


def _clock(hour: int | None, minute: int | None) -> time:
    if hour is None or minute is None or not (0 <= hour < 24 and 0 <= minute < 60):
        raise EvseProtocolError(f"$GD: invalid time {hour}:{minute}")
    return time(hour, minute)


def _temperature(values: ReplyValues, key: str) -> float | None:
    tenths = _int(values, key)
    if tenths is None or tenths <= TEMPERATURE_ABSENT:
        return None
    return tenths / 10


class ControlFields(TypedDict):
    """Snapshot fields that come from the RAPI settings."""

    max_current: int | None
    min_current_limit: int | None
    max_current_limit: int | None
    service_level: ServiceLevel | None
    energy_limit: float | None
    time_limit: int | None
    timer: ChargeTimer | None
    timer_enabled: bool | None
    capabilities: frozenset[Capability]


class RapiControlledCharger(Charger):
    """Control through RAPI set commands, settings read in rotation."""

    rotation: tuple[str, ...] = ("GE", "GD", "G3", "GH", "GC")

    def __init__(self, rapi: RapiClient, info: DeviceInfo) -> None:
        """Use ``rapi`` for every command."""
        super().__init__(info)
        self.rapi = rapi
        self.settings: dict[str, ReplyValues] = {}
        self._supported: list[str] = []
        self._next = 0
        # Settings to read again first: after a failed read the charger may
        # have restarted (its volatile current back at the saved one).
        self._stale: set[str] = set()
        # The controller may have restarted since the last read (and forgot
        # our pause and volatile current); also true until the first read.
        self._may_have_restarted = True
        # Session energy and time of the last read, and whether a car was
        # unplugged since that session began (then they may start again).
        self._session_counters: tuple[float | None, int | None] | None = None
        self._unplugged_since_session = False

    async def setup(self) -> None:
        """Read every setting once; commands answered ``$NK`` are not offered."""
        for code in self.rotation:
            try:
                self.settings[code] = await self.rapi.query(code)
            except EvseCommandRejectedError:
                continue
            self._supported.append(code)

    async def read_next_setting(self) -> None:
        """Refresh one setting (round robin)."""
        if not self._supported:
            return
        # A setting a failed command left unknown goes first, then those a
        # restart may have changed.
        missing = [
            code
            for code in self._supported
            if code not in self.settings or code in self._stale
        ]
        if missing:
            code = missing[0]
        else:
            code = self._supported[self._next % len(self._supported)]
            self._next += 1
        self.settings[code] = await self.rapi.query(code)
        self._stale.discard(code)

    def mark_stale(self) -> None:
        """Read every setting again after a failed read, the current first."""
        self._stale = set(self._supported)
        self._may_have_restarted = True

    def _watch_session(self, snapshot: ChargerSnapshot) -> None:
        """Notice a restart: session energy and time going back with no unplug."""
        if snapshot.vehicle_connected is False:
            self._unplugged_since_session = True
        counters = (snapshot.session_energy, snapshot.session_time)
        previous, self._session_counters = self._session_counters, counters
        if previous is None or not any(
            new is not None and old is not None and new < old
            for new, old in zip(counters, previous, strict=True)
        ):
            return
        if self._unplugged_since_session:
            self._unplugged_since_session = False  # a new car, a new session
        else:
            self._may_have_restarted = True

    async def restore_controls(self, snapshot: ChargerSnapshot) -> bool:
        """Put back what a restart forgets; True if anything was sent.

        At any other read, a charger that charges although we paused it was
        resumed on the charger itself (its button, its timer): that is the
        setting now, and is not undone after a later restart.
        """
        self._watch_session(snapshot)
        state = snapshot.state
        controls = self.controls
        if not self._may_have_restarted:
            if controls.paused and state in _ENABLED_STATES:
                controls.remember_paused(False)
            return False
        if state is ChargerState.STARTING:
            return False  # still booting: at the next read
        sent = False
        try:
            if controls.current is not None:
                await self.set_max_current(controls.current)
                sent = True
            if controls.paused and state in _ENABLED_STATES:
                await self.rapi.execute("FS")
                sent = True
        except EvseCommandRejectedError as err:
            # Refused (over temperature, a fault): the reading still counts.
            _LOGGER.debug("settings not restored: %s", err)
        self._may_have_restarted = False
        return sent

    def forget_session_limits(self) -> None:
        """Drop ``$SH``/``$S3`` limits: the firmware clears them on unplug."""
        for code, key in (("GH", "kwh"), ("G3", "count")):
            if code in self.settings:
                self.settings[code] = {key: 0}

    def control_fields(self) -> ControlFields:
        """Snapshot fields that come from the settings."""
        settings = self.settings
        capacity = settings.get("GE", {})
        flags = _int(capacity, "flags")
        service_level: ServiceLevel | None = None
        if flags is not None:
            if not flags & FLAG_AUTO_SERVICE_LEVEL_DISABLED:
                service_level = ServiceLevel.AUTO
            elif flags & FLAG_L2:
                service_level = ServiceLevel.LEVEL_2
            else:
                service_level = ServiceLevel.LEVEL_1
        timer: ChargeTimer | None = None
        timer_enabled: bool | None = None
        if (window := settings.get("GD")) is not None:
            start = _clock(_int(window, "start_hour"), _int(window, "start_minute"))
            stop = _clock(_int(window, "stop_hour"), _int(window, "stop_minute"))
            timer_enabled = start != stop
            timer = ChargeTimer(start=start, stop=stop) if timer_enabled else None
        capacity_range = settings.get("GC", {})
        steps = _int(settings.get("G3", {}), "count")
        capabilities = {
            Capability.PAUSE,
            Capability.MAX_CURRENT,
            Capability.PERSIST_MAX_CURRENT,
            Capability.RESTART,
            Capability.COMBINED_LIMITS,
            Capability.LIMITS_NEED_VEHICLE,
        }
        optional = {
            "GE": Capability.SERVICE_LEVEL,
            "GD": Capability.TIMER,
            "G3": Capability.TIME_LIMIT,
            "GH": Capability.ENERGY_LIMIT,
        }
        capabilities.update(cap for code, cap in optional.items() if code in settings)
        energy_limit = _int(settings.get("GH", {}), "kwh")
        return {
            "max_current": _int(capacity, "amps"),
            "min_current_limit": _int(capacity_range, "min_amps"),
            "max_current_limit": _int(capacity_range, "max_amps"),
            "service_level": service_level,
            "energy_limit": None if energy_limit is None else float(energy_limit),
            "time_limit": None if steps is None else steps * RAPI_TIME_STEP_MINUTES,
            "timer": timer,
            "timer_enabled": timer_enabled,
            "capabilities": frozenset(capabilities),
        }

    async def set_paused(self, paused: bool) -> None:
        """``$FS`` sleeps (the session stays), ``$FE`` enables again."""
        await self.rapi.execute("FS" if paused else "FE")
        self.controls.remember_paused(paused)

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """``$SC amps V`` (volatile) unless ``persist`` asks for the EEPROM."""
        try:
            amps_set = await self.rapi.set_current(amps, persist=persist)
        except EvseError:
            # It may or may not have been applied: unknown until read again
            # (a charging group counts an unknown current at the maximum).
            self.settings.pop("GE", None)
            raise
        applied = amps if amps_set is None else amps_set
        if "GE" in self.settings:
            self.settings["GE"] = {**self.settings["GE"], "amps": applied}
        # Saved to EEPROM, it is what the controller starts with anyway.
        self.controls.remember_current(None if persist else applied)

    async def set_fallback_current(self, amps: int) -> None:
        """``$SC amps``: saved to EEPROM, what the controller starts with.

        It becomes the current in force too. The EEPROM value cannot be read
        back apart from that; the reply confirms it.
        """
        await self.set_max_current(amps, persist=True)

    async def set_service_level(self, level: ServiceLevel) -> None:
        """``$SL 1|2|A``, then read the flags back."""
        await self.rapi.execute("SL", _SERVICE_LEVEL_PARAM[level])
        self.settings["GE"] = await self.rapi.query("GE")

    async def set_session_limit(
        self, *, energy_kwh: float | None, minutes: int | None
    ) -> SessionLimit:
        """``$SH`` whole kWh and ``$S3`` 15-minute steps, both rounded up."""
        rounded = False
        applied_kwh: float | None = None
        applied_minutes: int | None = None
        if energy_kwh is not None:
            whole_kwh = -int(-energy_kwh // 1)
            rounded = whole_kwh != energy_kwh
            await self.rapi.execute("SH", whole_kwh)
            self.settings["GH"] = {"kwh": whole_kwh}
            applied_kwh = float(whole_kwh)
        if minutes is not None:
            steps = rapi_time_steps(minutes)
            if steps > RAPI_TIME_STEPS_MAX:
                raise ValueError("time limit beyond 255 steps of 15 minutes")
            await self.rapi.execute("S3", steps)
            self.settings["G3"] = {"count": steps}
            applied_minutes = steps * RAPI_TIME_STEP_MINUTES
            rounded = rounded or applied_minutes != minutes
        return SessionLimit(
            energy_kwh=applied_kwh, minutes=applied_minutes, rounded=rounded
        )

    async def clear_session_limit(self) -> None:
        """Clear both limits (only needed while a car is connected)."""
        snapshot = self.snapshot
        if snapshot is not None and snapshot.vehicle_connected is False:
            self.forget_session_limits()
            return
        if "GH" in self.settings:
            await self.rapi.execute("SH", 0)
        if "G3" in self.settings:
            await self.rapi.execute("S3", 0)
        self.forget_session_limits()

    async def set_timer(self, start: time, stop: time) -> None:
        """``$ST start_hour start_min stop_hour stop_min``."""
        params = (start.hour, start.minute, stop.hour, stop.minute)
        await self.rapi.execute("ST", *params)
        self.settings["GD"] = dict(
            zip(
                ("start_hour", "start_minute", "stop_hour", "stop_minute"),
                params,
                strict=True,
            )
        )

    async def clear_timer(self) -> None:
        """``$ST 0 0 0 0`` cancels the timer."""
        await self.set_timer(time(0, 0), time(0, 0))

    async def restart(self) -> None:
        """``$FR`` restarts the controller."""
        await self.rapi.execute("FR")
        self._may_have_restarted = True


class RapiCharger(RapiControlledCharger):
    """A charger reached only through RAPI over ``/r`` (GoPlug Pro 32).

    A steady poll is four frames: ``$GS``, ``$GG``, ``$GU`` and one setting.
    """

    rotation = ("GE", "GC", "GP", "GF", "GD", "G3", "GH")

    @property
    def requests(self) -> int:
        """RAPI frames sent so far (one HTTP request each)."""
        return self.rapi.frames_sent

    async def poll(self) -> ChargerSnapshot:
        """Read state, meter and energy, plus one setting.

        After a restart, put our settings back and read again.
        """
        try:
            snapshot = await self._poll()
            if await self.restore_controls(snapshot):
                snapshot = await self._poll()
        except EvseError:
            self.mark_stale()
            raise
        return snapshot

    async def _poll(self) -> ChargerSnapshot:
        status = await self.rapi.query("GS")
        meter = await self.rapi.query("GG")
        usage = await self.rapi.query("GU")
        await self.read_next_setting()
        state = state_from_code(_int(status, "state") or 0)
        vflags = _int(status, "vflags")
        if vflags is not None:
            vehicle = bool(vflags & VFLAG_EV_CONNECTED)
        else:
            vehicle = state in _PLUGGED_STATES
        if not vehicle:
            self.forget_session_limits()
        milliamps = _int(meter, "milliamps")
        millivolts = _int(meter, "millivolts")
        current = None if milliamps is None or milliamps < 0 else milliamps / 1000
        voltage = None if millivolts is None or millivolts < 0 else millivolts / 1000
        session_ws = _energy(usage, "session_ws")
        temps = self.settings.get("GP", {})
        counters = self.settings.get("GF")
        fields = self.control_fields()
        # $GE amps is the capacity the pilot offers; $GC repeats it (RAPI 5).
        pilot = _int(self.settings.get("GE", {}), "amps")
        self.snapshot = ChargerSnapshot(
            state=state,
            vehicle_connected=vehicle,
            charging=state is ChargerState.CHARGING,
            paused=state in (ChargerState.SLEEPING, ChargerState.DISABLED),
            charging_current=current,
            voltage=voltage,
            power=(
                None
                if current is None or voltage is None
                else round(current * voltage, 1)
            ),
            session_energy=None if session_ws is None else session_ws / 3600,
            lifetime_energy=_energy(usage, "total_wh"),
            session_time=_int(status, "elapsed"),
            temperatures=(
                _temperature(temps, "temp1"),
                _temperature(temps, "temp2"),
                _temperature(temps, "temp3"),
            ),
            pilot_current=pilot
            if pilot is not None
            else _int(self.settings.get("GC", {}), "pilot_amps"),
            fault_counters=(
                None
                if counters is None
                else FaultCounters(
                    gfci=_int(counters, "gfci") or 0,
                    no_ground=_int(counters, "no_ground") or 0,
                    stuck_relay=_int(counters, "stuck_relay") or 0,
                )
            ),
            **fields,
        )
        return self.snapshot
