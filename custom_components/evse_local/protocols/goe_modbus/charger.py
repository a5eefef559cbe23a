"""The go-e Charger over Modbus TCP as a :class:`Charger`.

A steady poll is one Modbus transaction: the input block 100..159 (state,
meters). Settings do not change by themselves, so one settings block is read
every ``SETTINGS_EVERY`` polls, in turn; all of them after a reconnect (a
restart resets AMPERE_VOLATILE and ALLOW), and the block holding ALLOW and
PHASES whenever CAR_STATE or ERROR changed (a plug-in, or a pause from the
go-e app or button, which turns a charging car's state to "waiting"). Every
write is read back; what the charger confirmed is in the next snapshot at
once.

Session energy/time limits are not offered natively: ENERGY_LIMIT
(holding 333..336) shares its addresses with ENERGY_CARD0 (input 332..335)
while functions 3 and 4 read the same memory, so the integration enforces
limits itself. ``restart`` has no Modbus register.

Pause (ALLOW 0) and the volatile current (AMPERE_VOLATILE) are lost when
the charger restarts (it comes back allowed, at AMPERE_EEPROM). A restart
drops the Modbus connection: the first read on a new connection (and the
first read at all) puts them back, before anything else is read.

CAR_STATE 0 ("unknown") is not "no car": one such reading keeps the last
known plug state, more in a row make it unknown; never an unplug.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ..charger import Charger
from ..errors import (
    EvseCommandRejectedError,
    EvseError,
    EvseProtocolError,
    EvseWriteNotAppliedError,
)
from ..models import (
    AccessControl,
    ApiGeneration,
    CableLock,
    Capability,
    ChargerError,
    ChargerSnapshot,
    ChargerState,
    DeviceInfo,
)
from . import registers as reg
from .client import DEFAULT_PORT, DEFAULT_TIMEOUT, DEFAULT_UNIT_ID, GoeModbusClient
from .registers import ReadBlock, Readings, Register, encode, plan_reads

MANUFACTURER = "go-e"
MODEL = "go-eCharger"
MIN_CURRENT = 6
"""IEC 61851: the lowest current a pilot may offer."""
SETTINGS_EVERY = 6
"""Polls per settings block read: with three blocks, a setting changed
outside Home Assistant shows within 18 polls (3 minutes at 10 s)."""
_ALLOW_BLOCK = next(b for b in reg.ROTATION_BLOCKS if reg.ALLOW in b.registers)

CAR_STATE_UNKNOWN = 0

_LOGGER = logging.getLogger(__name__)

_STATES = {
    1: ChargerState.NOT_CONNECTED,
    2: ChargerState.CHARGING,
    3: ChargerState.CONNECTED,
    4: ChargerState.COMPLETE,
}
_VEHICLE_STATES = frozenset({2, 3, 4})
_ERRORS = {
    0: ChargerError.NONE,
    1: ChargerError.RCCB,
    3: ChargerError.PHASE,
    8: ChargerError.NO_GROUND,
}
# Register value = position in these tuples.
_ACCESS = (
    AccessControl.OPEN,
    AccessControl.RFID_APP,
    AccessControl.PRICE_AUTOMATIC,
    AccessControl.SCHEDULER,
)
_CABLE_LOCK = (
    CableLock.WHILE_CAR_CONNECTED,
    CableLock.UNLOCK_AFTER_CHARGING,
    CableLock.ALWAYS_LOCKED,
)
_PHASES_AFTER = 0b000111
_PHASES_BEFORE = 0b111000

CAPABILITIES = frozenset(
    {
        Capability.PAUSE,
        Capability.MAX_CURRENT,
        Capability.PERSIST_MAX_CURRENT,
        Capability.ACCESS_CONTROL,
        Capability.CABLE_LOCK,
        Capability.LED,
        Capability.BUTTON_CURRENTS,
        Capability.CLOUD,
        Capability.ABSOLUTE_MAX_CURRENT,
    }
)


# ERROR wins over CAR_STATE: the pilot still reports a waiting car (3) while
# a missing ground stops the charge.
_ERROR_STATES = {
    1: ChargerState.GFCI_FAULT,  # residual current device tripped
    8: ChargerState.NO_GROUND,
}


def _state(car_state: int | None, error: int | None) -> ChargerState:
    if error:
        return _ERROR_STATES.get(error, ChargerState.FAULT)
    if car_state in _STATES:
        return _STATES[car_state]
    # 0 was seen without an error after a firmware update: not a fault.
    return ChargerState.UNDETERMINED


def _error(code: int | None) -> ChargerError | None:
    if code is None:
        return None
    return _ERRORS.get(code, ChargerError.INTERNAL)


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _enum[T](members: tuple[T, ...], value: int | None) -> T | None:
    return None if value is None else members[value]


_PAUSABLE_STATES = (ChargerState.CONNECTED, ChargerState.CHARGING)


def _phase_count(phases: int | None, mask: int) -> int | None:
    return None if phases is None else (phases & mask).bit_count()


def device_info(readings: Readings) -> DeviceInfo:
    """Identity from the setup registers (serial from SNR, else the MAC)."""
    mac = readings.text(reg.MAC)
    serial = readings.text(reg.SNR) or (mac.replace(":", "").upper() if mac else None)
    return DeviceInfo(
        serial=serial,
        manufacturer=MANUFACTURER,
        model=MODEL,
        generation=ApiGeneration.GOE_MODBUS,
        firmware=readings.text(reg.FWV),
        mac=mac,
        hostname=readings.text(reg.HOSTNAME),
    )


def snapshot_from(readings: Readings) -> ChargerSnapshot:
    """Build the normalised snapshot from whatever has been read."""
    car_state = readings.integer(reg.CAR_STATE)
    error = readings.integer(reg.ERROR)
    allow = readings.integer(reg.ALLOW)
    phases = readings.integer(reg.PHASES)
    currents = tuple(readings.number(r) for r in reg.PHASE_CURRENTS)
    measured = [current for current in currents if current is not None]
    session_ws = readings.number(reg.ENERGY_CHARGE)
    lifetime_kwh = readings.number(reg.ENERGY_TOTAL)
    buttons = [readings.integer(r) for r in reg.BUTTON_LEVELS]
    state = _state(car_state, error)
    if not allow and allow is not None and state in _PAUSABLE_STATES:
        # Charging not allowed while a car waits: that is our "paused".
        state = ChargerState.SLEEPING
    return ChargerSnapshot(
        state=state,
        vehicle_connected=None if car_state is None else car_state in _VEHICLE_STATES,
        charging=None if car_state is None else car_state == 2 and not error,
        paused=None if allow is None else not allow,
        # Three phases, one number: the highest is what limits the charge.
        charging_current=max(measured) if measured else None,
        voltage=readings.number(reg.VOLT_L1),
        power=readings.number(reg.POWER_TOTAL),
        session_energy=None if session_ws is None else session_ws / 3600,
        lifetime_energy=None if lifetime_kwh is None else round(lifetime_kwh * 1000),
        max_current=readings.integer(reg.AMPERE_VOLATILE),
        # A restart brings AMPERE_VOLATILE back to the saved current.
        fallback_current=readings.integer(reg.AMPERE_EEPROM),
        min_current_limit=MIN_CURRENT,
        max_current_limit=readings.integer(reg.AMPERE_MAX),
        phase_voltages=(
            readings.number(reg.VOLT_L1),
            readings.number(reg.VOLT_L2),
            readings.number(reg.VOLT_L3),
        ),
        phase_currents=(currents[0], currents[1], currents[2]),
        phase_powers=(
            readings.number(reg.POWER_L1),
            readings.number(reg.POWER_L2),
            readings.number(reg.POWER_L3),
        ),
        power_factors=(
            readings.number(reg.POWER_FACTOR_L1),
            readings.number(reg.POWER_FACTOR_L2),
            readings.number(reg.POWER_FACTOR_L3),
        ),
        neutral_voltage=readings.number(reg.VOLT_N),
        error=_error(error),
        cable_current_limit=readings.integer(reg.PP_CABLE),
        phases_before_contactor=_phase_count(phases, _PHASES_BEFORE),
        phases_after_contactor=_phase_count(phases, _PHASES_AFTER),
        access_control=_enum(_ACCESS, readings.integer(reg.ACCESS_STATE)),
        cable_lock=_enum(_CABLE_LOCK, readings.integer(reg.CABLE_LOCK_MODE)),
        led_brightness=readings.integer(reg.LED_BRIGHTNESS),
        led_energy_saving=_flag(readings.integer(reg.LED_SAVE_ENERGY)),
        absolute_max_current=readings.integer(reg.AMPERE_MAX),
        button_currents=(
            None
            if any(amps is None for amps in buttons)
            else tuple(amps for amps in buttons if amps is not None)
        ),
        cloud_disabled=_flag(readings.integer(reg.CLOUD_DISABLED)),
        capabilities=CAPABILITIES,
    )


async def read_blocks(
    client: GoeModbusClient, readings: Readings, blocks: tuple[ReadBlock, ...]
) -> None:
    """Read ``blocks`` into ``readings``."""
    for block in blocks:
        readings.update(block.address, await client.read_block(block))


class GoeCharger(Charger):
    """A go-e Charger (HOME+/HOMEfix V3/V4, Gemini, PRO) over Modbus TCP."""

    def __init__(
        self,
        client: GoeModbusClient,
        info: DeviceInfo,
        *,
        readings: Readings | None = None,
    ) -> None:
        """Use ``client``; ``readings`` from setup spare a second read."""
        super().__init__(info)
        self.client = client
        self.readings = readings if readings is not None else Readings()
        self._next = 0
        self._polls = 0
        self._connection = client.connections
        # Our pause and current may be gone (a restart) until the next read.
        self._may_have_restarted = True
        # CAR_STATE 0 readings in a row, and the plug state before them.
        self._unknown_car_states = 0
        self._vehicle_before_unknown: bool | None = None

    @property
    def requests(self) -> int:
        """Modbus transactions sent so far."""
        return self.client.transactions

    async def setup(self) -> None:
        """Read identity, meters and every setting once."""
        await read_blocks(self.client, self.readings, reg.SETUP_BLOCKS)
        self.info = device_info(self.readings)

    async def poll(self) -> ChargerSnapshot:
        """Read the input block, and settings when they may have changed.

        One transaction on a steady poll. After a reconnect every settings
        block is read: the charger may have restarted, and a restart resets
        AMPERE_VOLATILE and ALLOW.
        """
        readings = self.readings
        seen = (readings.raw(reg.CAR_STATE), readings.raw(reg.ERROR))
        await read_blocks(self.client, readings, reg.POLL_BLOCKS)
        connection = self.client.connections
        rotation = reg.ROTATION_BLOCKS
        self._polls += 1
        blocks: tuple[ReadBlock, ...] = ()
        if connection != self._connection:
            self._may_have_restarted = True
            blocks = rotation
        else:
            if seen != (readings.raw(reg.CAR_STATE), readings.raw(reg.ERROR)):
                blocks = (_ALLOW_BLOCK,)
            if self._polls % SETTINGS_EVERY == 0:
                block = rotation[self._next % len(rotation)]
                self._next += 1
                if block not in blocks:
                    blocks = (*blocks, block)
            # A setting whose write failed is unknown: read it again now.
            blocks += tuple(
                block
                for block in rotation
                if block not in blocks
                and any(readings.raw(r) is None for r in block.registers)
            )
        await read_blocks(self.client, readings, blocks)
        self._connection = connection
        await self._restore_controls()
        self._follow_car_state()
        self.snapshot = self._snapshot()
        return self.snapshot

    async def _restore_controls(self) -> None:
        """After a restart put our pause and current back (volatile writes).

        At any other read, ALLOW 1 while we paused means charging was
        allowed on the charger itself (its app or button): that is the
        setting now.
        """
        controls = self.controls
        allowed = self.readings.integer(reg.ALLOW) == 1
        if not self._may_have_restarted:
            if controls.paused and allowed:
                controls.remember_paused(False)
            return
        try:
            current = controls.current
            if current is not None and current != self.readings.integer(
                reg.AMPERE_VOLATILE
            ):
                await self._write(reg.AMPERE_VOLATILE, current)
            if controls.paused and allowed:
                await self._write(reg.ALLOW, 0)
        except (EvseCommandRejectedError, EvseProtocolError) as err:
            # Refused: shown as it is; the reading still counts.
            _LOGGER.debug("settings not restored: %s", err)
        self._may_have_restarted = False

    def _follow_car_state(self) -> None:
        """Count CAR_STATE 0 readings; remember the plug state before them."""
        if self.readings.integer(reg.CAR_STATE) != CAR_STATE_UNKNOWN:
            self._unknown_car_states = 0
            return
        if self._unknown_car_states == 0:
            self._vehicle_before_unknown = (
                None if self.snapshot is None else self.snapshot.vehicle_connected
            )
        self._unknown_car_states += 1

    def _snapshot(self) -> ChargerSnapshot:
        snapshot = snapshot_from(self.readings)
        if self.readings.integer(reg.CAR_STATE) != CAR_STATE_UNKNOWN:
            return snapshot
        # A glitch (seen for single readings) is no unplug: keep the last
        # plug state once; after that the firmware really does not know.
        vehicle = (
            self._vehicle_before_unknown if self._unknown_car_states <= 1 else None
        )
        return replace(snapshot, vehicle_connected=vehicle)

    def _refresh_snapshot(self) -> None:
        if self.snapshot is not None:
            self.snapshot = self._snapshot()

    async def _write(
        self, register: Register, value: int, *, also_read: tuple[Register, ...] = ()
    ) -> None:
        """Write with function 16, then read back: the charger must confirm."""
        words = encode(register, value)
        try:
            await self.client.write(register.address, words)
            await read_blocks(
                self.client, self.readings, plan_reads((register, *also_read))
            )
        except EvseError:
            # It may or may not have been applied: unknown until read again
            # (a charging group counts an unknown current at the maximum).
            for forgotten in (register, *also_read):
                self.readings.forget(forgotten)
            self._refresh_snapshot()
            raise
        confirmed = self.readings.raw(register)
        self._refresh_snapshot()
        if confirmed != words:
            raise EvseWriteNotAppliedError(
                register.name, f"wrote {value}, read back {confirmed}"
            )

    async def set_paused(self, paused: bool) -> None:
        """ALLOW 0 pauses (the car stays connected), 1 allows charging."""
        await self._write(reg.ALLOW, 0 if paused else 1)
        self.controls.remember_paused(paused)

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """AMPERE_VOLATILE (lost at reboot), or with ``persist`` AMPERE_EEPROM.

        The EEPROM lasts about 100 000 writes, so automation must never
        persist. Above AMPERE_MAX is refused before anything is sent.
        """
        ceiling = self.readings.integer(reg.AMPERE_MAX)
        if ceiling is not None and amps > ceiling:
            raise ValueError(f"{amps} A is above the absolute maximum of {ceiling} A")
        if persist:
            # The saved value becomes the one in force too: read both back.
            await self._write(reg.AMPERE_EEPROM, amps, also_read=(reg.AMPERE_VOLATILE,))
        else:
            await self._write(reg.AMPERE_VOLATILE, amps)
        # Saved, it is what a restart comes back to: nothing to put back.
        self.controls.remember_current(None if persist else amps)

    async def set_fallback_current(self, amps: int) -> None:
        """AMPERE_EEPROM: what the charger offers after a restart."""
        await self.set_max_current(amps, persist=True)

    async def set_access_control(self, mode: AccessControl) -> None:
        """ACCESS_STATE: open, RFID/app, price automatic or scheduler."""
        await self._write(reg.ACCESS_STATE, _ACCESS.index(mode))

    async def set_cable_lock(self, mode: CableLock) -> None:
        """CABLE_LOCK_MODE."""
        await self._write(reg.CABLE_LOCK_MODE, _CABLE_LOCK.index(mode))

    async def set_led_brightness(self, brightness: int) -> None:
        """LED_BRIGHTNESS 0 (off) .. 255."""
        await self._write(reg.LED_BRIGHTNESS, brightness)

    async def set_led_energy_saving(self, enabled: bool) -> None:
        """LED_SAVE_ENERGY: LEDs off after 10 s."""
        await self._write(reg.LED_SAVE_ENERGY, int(enabled))

    async def set_button_current(self, level: int, amps: int) -> None:
        """AMPERE_L1..L5: 6..32 A, or 0 to skip the level."""
        if not 1 <= level <= len(reg.BUTTON_LEVELS):
            raise ValueError(f"push-button level {level} is not 1..5")
        await self._write(reg.BUTTON_LEVELS[level - 1], amps)

    async def set_cloud_disabled(self, disabled: bool) -> None:
        """CLOUD_DISABLED."""
        await self._write(reg.CLOUD_DISABLED, int(disabled))

    async def set_absolute_max_current(self, amps: int) -> None:
        """AMPERE_MAX: the ceiling of every current setting."""
        await self._write(reg.AMPERE_MAX, amps)

    async def close(self) -> None:
        """Close the Modbus connection."""
        await self.client.close()


async def connect_goe(
    host: str,
    *,
    port: int = DEFAULT_PORT,
    unit_id: int = DEFAULT_UNIT_ID,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per-request timeout
) -> GoeCharger:
    """Connect, read identity and settings, and return a ready charger."""
    client = GoeModbusClient(host, port=port, unit_id=unit_id, timeout=timeout)
    readings = Readings()
    try:
        await client.connect()
        await read_blocks(client, readings, reg.SETUP_BLOCKS)
    except EvseError:
        await client.close()
        raise
    return GoeCharger(client, device_info(readings), readings=readings)
