"""GoeCharger: snapshot mapping, and end to end against the go-e simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.goe_modbus import (
    GoeCharger,
    connect_goe,
)
from custom_components.evse_local.protocols.goe_modbus import registers as reg
from custom_components.evse_local.protocols.goe_modbus.charger import (
    CAPABILITIES,
    SETTINGS_EVERY,
    device_info,
    snapshot_from,
)
from custom_components.evse_local.protocols.goe_modbus.registers import (
    ROTATION_BLOCKS,
    SETUP_BLOCKS,
    Readings,
)
from custom_components.evse_local.protocols.models import (
    AccessControl,
    ApiGeneration,
    CableLock,
    Capability,
    ChargerError,
    ChargerState,
)
from simulators import GoeFault, GoeModel, GoeSimulator, start_simulator
from simulators.goe import ModbusRequest

TIMEOUT = 0.5


def readings(**registers: list[int]) -> Readings:
    """Readings with the named registers set to raw words."""
    found = Readings()
    for name, words in registers.items():
        found.update(getattr(reg, name).address, words)
    return found


# --- the snapshot, from raw words ---------------------------------------------


@pytest.mark.parametrize(
    ("car_state", "error", "state"),
    [
        (1, 0, ChargerState.NOT_CONNECTED),
        (2, 0, ChargerState.CHARGING),
        (3, 0, ChargerState.CONNECTED),
        (4, 0, ChargerState.COMPLETE),
        # Seen after an update with no car and no error: not a fault.
        (0, 0, ChargerState.UNDETERMINED),
        (0, 1, ChargerState.GFCI_FAULT),
        (0, 10, ChargerState.FAULT),
        # An error wins over what the pilot reports.
        (3, 8, ChargerState.NO_GROUND),
        (2, 1, ChargerState.GFCI_FAULT),
        (1, 3, ChargerState.FAULT),
        (0xFFFF, 0xFFFF, ChargerState.UNDETERMINED),
        (0xFFFF, 3, ChargerState.FAULT),
    ],
)
def test_state(car_state: int, error: int, state: ChargerState) -> None:
    snapshot = snapshot_from(readings(CAR_STATE=[car_state], ERROR=[error]))
    assert snapshot.state is state
    if car_state == 0xFFFF:
        assert snapshot.vehicle_connected is None
        assert snapshot.charging is None
    else:
        assert snapshot.vehicle_connected is (car_state in (2, 3, 4))
        assert snapshot.charging is (car_state == 2 and not error)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (0, ChargerError.NONE),
        (1, ChargerError.RCCB),
        (3, ChargerError.PHASE),
        (8, ChargerError.NO_GROUND),
        (10, ChargerError.INTERNAL),
        (5, ChargerError.INTERNAL),
        (0xFFFF, None),
    ],
)
def test_error(code: int, error: ChargerError | None) -> None:
    assert snapshot_from(readings(ERROR=[code])).error is error


@pytest.mark.parametrize(
    ("phases", "before", "after"),
    [
        (0b001000, 1, 0),  # the document's example: phase 1 available
        (56, 3, 0),  # reported idle by a V3 HOMEfix 11 kW
        (63, 3, 3),  # the same charging on three phases
        (59, 3, 2),
        (0xFFFF, None, None),
    ],
)
def test_phases(phases: int, before: int | None, after: int | None) -> None:
    snapshot = snapshot_from(readings(PHASES=[phases]))
    assert (snapshot.phases_before_contactor, snapshot.phases_after_contactor) == (
        before,
        after,
    )


def test_nothing_read_yet() -> None:
    snapshot = snapshot_from(Readings())
    assert snapshot.state is ChargerState.UNDETERMINED
    assert snapshot.charging_current is None
    assert snapshot.paused is None
    assert snapshot.phase_currents == (None, None, None)
    assert snapshot.button_currents is None
    assert snapshot.access_control is None
    assert snapshot.led_energy_saving is None
    assert snapshot.min_current_limit == 6
    assert snapshot.capabilities == CAPABILITIES


def test_capabilities_leave_session_limits_to_the_integration() -> None:
    assert Capability.ENERGY_LIMIT not in CAPABILITIES
    assert Capability.TIME_LIMIT not in CAPABILITIES
    assert Capability.RESTART not in CAPABILITIES


def test_measurements_and_settings() -> None:
    snapshot = snapshot_from(
        readings(
            AMP_L1=[0, 61],
            AMP_L2=[0, 159],
            AMP_L3=[0xFFFF, 0xFFFF],
            POWER_L1=[0, 25_000],
            POWER_TOTAL=[0x0009, 0x27C0],  # 600000: 6 kW
            ENERGY_CHARGE=[0x0001, 0x86A0],  # 100000 daWs = 277.7 Wh
            ENERGY_TOTAL=[0, 360],  # 36 kWh
            ALLOW=[0],
            ACCESS_STATE=[3],
            CABLE_LOCK_MODE=[2],
            LED_SAVE_ENERGY=[1],
            CLOUD_DISABLED=[0],
            AMPERE_L1=[0],
            AMPERE_L2=[6],
            AMPERE_L3=[10],
            AMPERE_L4=[16],
            AMPERE_L5=[32],
            AMPERE_MAX=[20],
            AMPERE_VOLATILE=[12],
        )
    )
    assert snapshot.charging_current == 15.9  # the highest phase
    assert snapshot.phase_currents == (6.1, 15.9, None)
    assert snapshot.phase_powers == (2500.0, None, None)
    assert snapshot.power == 6000.0
    assert snapshot.session_energy == pytest.approx(277.78, abs=0.01)
    assert snapshot.lifetime_energy == 36_000
    assert snapshot.paused is True
    assert snapshot.access_control is AccessControl.SCHEDULER
    assert snapshot.cable_lock is CableLock.ALWAYS_LOCKED
    assert snapshot.led_energy_saving is True
    assert snapshot.cloud_disabled is False
    assert snapshot.button_currents == (0, 6, 10, 16, 32)
    assert snapshot.max_current == 12
    assert snapshot.max_current_limit == snapshot.absolute_max_current == 20


def test_device_info_falls_back_to_the_mac() -> None:
    info = device_info(readings(MAC=[0x0267, 0x6500, 0x0E5E], SNR=[0xFFFF] * 6))
    assert info.serial == "026765000E5E"
    assert info.mac == "02:67:65:00:0e:5e"
    assert device_info(Readings()).serial is None


# --- end to end over loopback ----------------------------------------------------


@pytest.fixture
async def sim(loopback_sockets: None) -> AsyncIterator[GoeSimulator]:
    async with start_simulator("goe", identity_seed=41580) as goe:
        goe.model.plug_in()
        goe.advance(60)
        yield goe


@pytest.fixture
async def charger(sim: GoeSimulator) -> AsyncIterator[GoeCharger]:
    charger = await connect_goe(sim.host, port=sim.port, timeout=TIMEOUT)
    sim.reset_counters()
    yield charger
    await charger.close()


def assert_never_205_with_206(sim: GoeSimulator) -> None:
    for request in sim.requests:
        assert not (request.covers(205) and request.covers(206)), request


async def test_connect_reads_identity_and_settings(sim: GoeSimulator) -> None:
    charger = await connect_goe(sim.host, port=sim.port, unit_id=1, timeout=TIMEOUT)
    try:
        assert charger.info.serial == "041580"
        assert charger.info.manufacturer == "go-e"
        assert charger.info.model == "go-eCharger"
        assert charger.info.generation is ApiGeneration.GOE_MODBUS
        assert charger.info.firmware == "60.4"
        assert charger.info.mac == sim.identity.mac
        assert charger.info.hostname == "goe-041580"
        assert charger.requests == len(SETUP_BLOCKS) == 4
        assert [(r.function, r.address, r.count) for r in sim.requests] == [
            (4, 100, 60),
            (3, 200, 6),
            (3, 206, 13),
            (3, 299, 28),
        ]
        assert charger.snapshot is None
        assert charger.readings.text(reg.IP) == "127.0.0.1"
    finally:
        await charger.close()


async def test_connect_failures_close_the_client(sim: GoeSimulator) -> None:
    sim.inject(GoeFault.EXCEPTION, code=4, address=300)
    with pytest.raises(EvseProtocolError, match="exception 4"):
        await connect_goe(sim.host, port=sim.port, timeout=TIMEOUT)
    await sim.stop()
    with pytest.raises(EvseConnectionError, match="cannot connect"):
        await connect_goe(sim.host, port=sim.port, timeout=TIMEOUT)


async def test_steady_poll_is_one_transaction(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    """Charging steadily: the input block, plus a settings block now and then.

    Nothing in the settings changes by itself: each of the three blocks is
    read every ``SETTINGS_EVERY`` polls in turn, so every setting is at most
    18 polls (3 minutes at 10 s) old.
    """
    polls = 2 * SETTINGS_EVERY * len(ROTATION_BLOCKS)
    first = charger.requests
    blocks = []
    for _ in range(polls):
        sim.advance(10)
        before = len(sim.requests)
        snapshot = await charger.poll()
        assert snapshot is charger.snapshot
        blocks.append([(r.address, r.count) for r in sim.requests[before:]])
    rotation = [(200, 6), (206, 13), (299, 2)]
    expected = [
        [(100, 60)] + ([rotation[(n // SETTINGS_EVERY - 1) % 3]] if n % 6 == 0 else [])
        for n in range(1, polls + 1)
    ]
    assert blocks == expected
    assert charger.requests - first == polls + polls // SETTINGS_EVERY
    assert sim.transactions == {4: polls, 3: polls // SETTINGS_EVERY}
    assert_never_205_with_206(sim)


async def test_a_change_of_car_state_reads_allow_at_once(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    """Plug, unplug, or a pause from the go-e app: ALLOW is read that poll.

    A pause made on the charger (the app, the button) turns CAR_STATE from
    2 to 3; the poll that sees it also reads ALLOW, so the pause shows at
    once rather than within three minutes.
    """
    await charger.poll()
    sim.reset_counters()
    sim.model.settings[200] = 0  # ALLOW 0, set in the app
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.paused is True
    assert [(r.address, r.count) for r in sim.requests] == [(100, 60), (200, 6)]
    sim.model.unplug()
    await charger.poll()
    sim.model.set_error(8)
    await charger.poll()
    await charger.poll()  # nothing changed: one transaction
    assert [(r.address, r.count) for r in sim.requests][2:] == [
        (100, 60),
        (200, 6),
        (100, 60),
        (200, 6),
        (100, 60),
    ]


async def test_snapshot_while_charging(sim: GoeSimulator, charger: GoeCharger) -> None:
    sim.advance(3600)
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.CHARGING
    assert snapshot.vehicle_connected is True
    assert snapshot.charging is True
    assert snapshot.paused is False
    assert snapshot.charging_current == 16.0
    assert snapshot.voltage == 230.0
    assert snapshot.phase_voltages == (230.0, 231.0, 229.0)
    assert snapshot.phase_currents == (16.0, 16.0, 16.0)
    assert snapshot.phase_powers == (3643.2, 3659.0, 3627.4)
    assert snapshot.power == pytest.approx(sum(snapshot.phase_powers or ()))
    assert snapshot.power_factors == (99.0, 99.0, 99.0)
    assert snapshot.neutral_voltage == 0.0
    assert snapshot.error is ChargerError.NONE
    assert snapshot.cable_current_limit == 32
    assert snapshot.phases_before_contactor == 3
    assert snapshot.phases_after_contactor == 3
    assert snapshot.session_energy == pytest.approx(sim.model.session_wh, abs=0.01)
    # 0.1 kWh resolution: the device counter rounded down to 100 Wh.
    assert snapshot.lifetime_energy == sim.model.total_wh // 100 * 100
    assert snapshot.max_current == 16
    assert snapshot.min_current_limit == 6
    assert snapshot.max_current_limit == 32
    assert snapshot.button_currents == (10, 16, 20, 24, 32)
    assert snapshot.access_control is AccessControl.OPEN
    assert snapshot.cable_lock is CableLock.WHILE_CAR_CONNECTED
    assert snapshot.led_brightness == 255
    assert snapshot.led_energy_saving is False
    assert snapshot.cloud_disabled is False
    sim.model.reset_session_energy()
    # Reported as the charger says; the integration keeps its sensors sane.
    assert (await charger.poll()).session_energy == 0.0


async def test_car_states(sim: GoeSimulator, charger: GoeCharger) -> None:
    sim.model.finish()
    assert (await charger.poll()).state is ChargerState.COMPLETE
    sim.model.unplug()
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NOT_CONNECTED
    assert snapshot.cable_current_limit == 0
    assert snapshot.phases_after_contactor == 0
    sim.model.set_error(8)
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NO_GROUND  # also without a car
    assert snapshot.error is ChargerError.NO_GROUND
    sim.model.clear_error()
    sim.inject(GoeFault.INVALID, address=100, value=0)
    assert (await charger.poll()).state is ChargerState.UNDETERMINED
    sim.inject(GoeFault.INVALID, address=146)
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NOT_CONNECTED
    assert snapshot.phase_powers == (None, 0.0, 0.0)


async def test_car_state_unknown_is_no_unplug(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    """A lone CAR_STATE 0 keeps the plug state; several in a row: unknown."""
    assert (await charger.poll()).vehicle_connected is True
    sim.glitch_car_state()
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.UNDETERMINED
    assert snapshot.vehicle_connected is True
    assert (await charger.poll()).vehicle_connected is True
    sim.glitch_car_state(2)
    assert (await charger.poll()).vehicle_connected is True
    assert (await charger.poll()).vehicle_connected is None
    sim.model.unplug()
    assert (await charger.poll()).vehicle_connected is False
    sim.glitch_car_state()
    assert (await charger.poll()).vehicle_connected is False


async def test_pause_and_resume(sim: GoeSimulator, charger: GoeCharger) -> None:
    await charger.poll()
    await charger.set_paused(True)
    assert sim.model.allow is False
    assert charger.snapshot is not None
    assert charger.snapshot.paused is True  # confirmed, before any poll
    snapshot = await charger.poll()
    # The car waits (CAR_STATE 3) because charging is not allowed: paused.
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.charging_current == 0.0
    await charger.set_paused(False)
    assert (await charger.poll()).state is ChargerState.CHARGING
    assert sim.eeprom_writes == 0
    writes = [r for r in sim.requests if r.function == 16]
    assert writes == [ModbusRequest(16, 200, 1, 1)] * 2


async def test_volatile_and_persisted_current(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    await charger.set_max_current(10)
    assert sim.model.settings[299] == 10
    assert sim.model.settings[300] == 16
    assert sim.eeprom_writes == 0
    assert sim.requests == [
        ModbusRequest(16, 299, 1, 1),
        ModbusRequest(3, 299, 1, 1),
    ]
    assert (await charger.poll()).max_current == 10
    assert charger.snapshot is not None
    assert charger.snapshot.charging_current == 10.0
    sim.reset_counters()
    await charger.set_max_current(20, persist=True)
    assert sim.model.settings[300] == sim.model.settings[299] == 20
    assert sim.eeprom_writes == 1
    # One read confirms the saved value and the one now in force.
    assert sim.requests == [
        ModbusRequest(16, 300, 1, 1),
        ModbusRequest(3, 299, 2, 1),
    ]
    assert charger.snapshot.max_current == 20
    await sim.reboot(0.05)
    sim.reset_counters()
    # Saved: a restart comes back to it, there is nothing to put back. A new
    # connection: every setting is read again, not just the next one.
    assert (await charger.poll()).max_current == 20
    assert [(r.address, r.count) for r in sim.requests] == [
        (100, 60),
        (200, 6),
        (206, 13),
        (299, 2),
    ]
    assert (await charger.poll()).max_current == 20
    assert len(sim.requests) == 5  # then the input block alone
    await charger.set_max_current(8)
    sim.reset_counters()
    await sim.reboot(0.05)
    # Volatile: lost by the restart, put back at the first read (volatile).
    assert (await charger.poll()).max_current == 8
    assert [(r.function, r.address, r.count) for r in sim.requests] == [
        (4, 100, 60),
        (3, 200, 6),
        (3, 206, 13),
        (3, 299, 2),
        (16, 299, 1),
        (3, 299, 1),
    ]
    assert sim.eeprom_writes == 0
    assert (await charger.poll()).max_current == 8
    assert len(sim.requests) == 7  # then the input block alone


async def test_out_of_range_is_refused_before_sending(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    await charger.set_absolute_max_current(16)
    sim.reset_counters()
    for call in (
        charger.set_max_current(20),
        charger.set_max_current(5),
        charger.set_max_current(33, persist=True),
        charger.set_led_brightness(256),
        charger.set_led_brightness(-1),
        charger.set_button_current(0, 10),
        charger.set_button_current(6, 10),
        charger.set_button_current(1, 3),
        charger.set_button_current(5, 33),
        charger.set_absolute_max_current(40),
    ):
        with pytest.raises(ValueError, match=r"range|maximum|level|16-bit"):
            await call
    assert not sim.transactions


async def test_a_write_the_charger_does_not_keep_is_rejected(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    await charger.poll()
    sim.inject(GoeFault.IGNORE_WRITE)
    with pytest.raises(
        EvseCommandRejectedError, match=r"ALLOW.*wrote 0, read back \[1\]"
    ):
        await charger.set_paused(True)
    assert charger.snapshot is not None
    assert charger.snapshot.paused is False  # what the charger confirmed
    sim.inject(GoeFault.IGNORE_WRITE)
    with pytest.raises(EvseCommandRejectedError, match="AMPERE_EEPROM"):
        await charger.set_max_current(10, persist=True)
    assert sim.eeprom_writes == 0


async def test_a_refused_write(sim: GoeSimulator, charger: GoeCharger) -> None:
    sim.inject(GoeFault.EXCEPTION, code=3, function=16)
    with pytest.raises(EvseCommandRejectedError, match="exception 3"):
        await charger.set_max_current(12)
    assert sim.model.settings[299] == 16


async def test_every_setter(sim: GoeSimulator, charger: GoeCharger) -> None:
    settings = sim.model.settings
    for mode, raw in zip(
        (
            AccessControl.RFID_APP,
            AccessControl.PRICE_AUTOMATIC,
            AccessControl.SCHEDULER,
            AccessControl.OPEN,
        ),
        (1, 2, 3, 0),
        strict=True,
    ):
        await charger.set_access_control(mode)
        assert settings[201] == raw
        assert snapshot_from(charger.readings).access_control is mode
    for lock, raw in zip(
        (
            CableLock.UNLOCK_AFTER_CHARGING,
            CableLock.ALWAYS_LOCKED,
            CableLock.WHILE_CAR_CONNECTED,
        ),
        (1, 2, 0),
        strict=True,
    ):
        await charger.set_cable_lock(lock)
        assert settings[204] == raw
    await charger.set_led_brightness(0)
    await charger.set_led_energy_saving(True)
    await charger.set_cloud_disabled(True)
    await charger.set_absolute_max_current(20)
    for level, amps in enumerate((0, 6, 13, 20, 32), start=1):
        await charger.set_button_current(level, amps)
    assert (settings[206], settings[207], settings[217], settings[211]) == (
        0,
        1,
        1,
        20,
    )
    assert [settings[a] for a in range(212, 217)] == [0, 6, 13, 20, 32]
    snapshot = await charger.poll()
    assert snapshot.led_brightness == 0
    assert snapshot.led_energy_saving is True
    assert snapshot.cloud_disabled is True
    assert snapshot.absolute_max_current == snapshot.max_current_limit == 20
    assert snapshot.button_currents == (0, 6, 13, 20, 32)
    # Two transactions per setter: the write (function 16) and its read-back.
    assert set(sim.transactions) == {3, 4, 16}
    assert sim.transactions[16] == 4 + 3 + 4 + 5
    assert_never_205_with_206(sim)
    # Every saved setting is one EEPROM write; none came from a read.
    assert sim.eeprom_writes == 16


async def test_restart_is_not_available(charger: GoeCharger) -> None:
    with pytest.raises(EvseUnsupportedError):
        await charger.restart()
    with pytest.raises(EvseUnsupportedError):
        await charger.set_session_limit(energy_kwh=5, minutes=None)


async def test_setup_reads_everything_again(
    sim: GoeSimulator, charger: GoeCharger
) -> None:
    sim.model.firmware = "60.5"
    before = charger.requests
    await charger.setup()
    assert charger.info.firmware == "60.5"
    assert charger.requests - before == 4


async def test_a_model_can_be_given(loopback_sockets: None) -> None:
    model = GoeModel(phases_available=1, car_phases=1, cable_amps=20)
    model.plug_in()
    async with start_simulator("goe", model=model) as sim:
        charger = await connect_goe(sim.host, port=sim.port, timeout=TIMEOUT)
        try:
            snapshot = await charger.poll()
        finally:
            await charger.close()
    assert snapshot.phases_before_contactor == snapshot.phases_after_contactor == 1
    assert snapshot.phase_currents == (16.0, 0.0, 0.0)
    assert snapshot.phase_voltages == (230.0, 0.0, 0.0)
    assert snapshot.cable_current_limit == 20


@pytest.mark.parametrize(
    ("code", "state", "error"),
    [
        (1, ChargerState.GFCI_FAULT, ChargerError.RCCB),
        (3, ChargerState.FAULT, ChargerError.PHASE),
        (8, ChargerState.NO_GROUND, ChargerError.NO_GROUND),
        (10, ChargerState.FAULT, ChargerError.INTERNAL),
        (42, ChargerState.FAULT, ChargerError.INTERNAL),
    ],
)
async def test_an_error_is_a_fault_whatever_the_car_state(
    sim: GoeSimulator,
    charger: GoeCharger,
    code: int,
    state: ChargerState,
    error: ChargerError,
) -> None:
    """ERROR wins over CAR_STATE: a waiting car (3) with no ground is a fault.

    The pilot still says the car is there; it is not charging. An internal
    error reads CAR_STATE 0: with nothing seen before, the plug is unknown.
    """
    sim.model.set_error(code)
    snapshot = await charger.poll()
    assert snapshot.state is state
    assert snapshot.error is error
    assert snapshot.charging is False
    assert snapshot.vehicle_connected is (True if code in (1, 3, 8) else None)
    sim.model.clear_error()
    assert (await charger.poll()).state is ChargerState.CHARGING
