"""``goe``: the go-e Charger simulator, spoken to with a plain pymodbus client.

These tests use pymodbus directly, not the integration's client, so the
simulator is checked on its own against the go-e document and the
observed behaviour of real chargers.
"""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ModbusPDU

from simulators import GoeFault, GoeModel, GoeSimulator, start_simulator
from simulators.goe import (
    CarState,
    GoeIdentity,
    ModbusRequest,
    default_settings,
)
from tests.simulators.sim_helpers import until


@pytest.fixture
async def goe() -> AsyncIterator[GoeSimulator]:
    async with start_simulator("goe", identity_seed=41580, reboot_seconds=0.05) as sim:
        yield sim


@pytest.fixture
async def modbus(goe: GoeSimulator) -> AsyncIterator[AsyncModbusTcpClient]:
    client = AsyncModbusTcpClient(
        goe.host, port=goe.port, timeout=0.3, retries=0, reconnect_delay=0
    )
    assert await client.connect()
    yield client
    client.close()


async def read(
    client: AsyncModbusTcpClient, address: int, count: int = 1, function: int = 3
) -> list[int]:
    reader = (
        client.read_holding_registers if function == 3 else client.read_input_registers
    )
    response = await reader(address, count=count)
    assert not response.isError(), response
    return list(response.registers)


def u32(words: list[int]) -> int:
    return words[0] << 16 | words[1]


def text(words: list[int]) -> str:
    raw = b"".join(word.to_bytes(2) for word in words)
    return raw.rstrip(b"\x00").decode()


# --- the protocol surface --------------------------------------------------------


async def test_function_6_is_not_implemented(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    response = await modbus.write_register(299, 10)
    assert response.isError()
    assert response.exception_code == 1  # illegal function
    assert goe.model.settings[299] == 16
    for call in (modbus.read_coils(0), modbus.write_coil(0, True)):
        response = await call
        assert response.exception_code == 1
    assert goe.transactions == {6: 1, 1: 1, 5: 1}
    assert goe.requests[0] == ModbusRequest(6, 299, 1, 1)


async def test_function_16_writes(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    response = await modbus.write_registers(299, [10])
    assert not response.isError()
    assert (response.address, response.count) == (299, 1)
    assert await read(modbus, 299) == [10]
    assert goe.transactions == {16: 1, 3: 1}


async def test_functions_3_and_4_read_one_memory(modbus: AsyncModbusTcpClient) -> None:
    for address, count in ((100, 60), (200, 19), (299, 28), (327, 45)):
        assert await read(modbus, address, count, 3) == await read(
            modbus, address, count, 4
        )


async def test_a_read_across_205_and_206(modbus: AsyncModbusTcpClient) -> None:
    assert await read(modbus, 206) == [255]
    assert await read(modbus, 206, 2) == [255, 0]
    assert await read(modbus, 205, 2) == [56, 0xFFFF]
    assert await read(modbus, 200, 19) == [
        1,
        0,
        0,
        0,
        0,
        56,
        0xFFFF,
        0,
        2,
        7,
        0,
        32,
        10,
        16,
        20,
        24,
        32,
        0,
        0,
    ]
    assert await read(modbus, 206) == [255]  # the memory itself is fine


async def test_addresses_and_refused_writes(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    assert await read(modbus, 102, 3) == [0, 0, 0]  # undocumented reads 0
    for address in (99, 371):
        response = await modbus.read_holding_registers(address, count=2)
        assert response.exception_code == 2, address
    cases = (
        (100, [1], 2),  # input register
        (219, [1], 2),  # undocumented
        (299, [33], 3),
        (212, [5], 3),
        (206, [10, 5], 3),  # 207 is 0/1: nothing of the write is applied
    )
    for address, values, code in cases:
        response = await modbus.write_registers(address, values)
        assert response.exception_code == code, address
    assert goe.model.settings == default_settings()
    assert goe.eeprom_writes == 0


async def test_another_unit_gets_no_gateway_answer(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    response = await modbus.read_holding_registers(200, count=1, device_id=7)
    assert response.exception_code == 11
    assert goe.requests == [ModbusRequest(3, 200, 1, 7)]


# --- the register map ----------------------------------------------------------------


async def test_identity_registers(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    assert goe.identity == GoeIdentity(
        serial="041580", mac="02:67:65:00:a2:6c", hostname="goe-041580"
    )
    assert text(await read(modbus, 105, 2, 4)) == "60.4"
    assert await read(modbus, 301, 3, 4) == [0x0267, 0x6500, 0xA26C]
    assert text(await read(modbus, 304, 6, 4)) == "041580"
    assert text(await read(modbus, 310, 5, 4)) == "goe-041580"
    assert await read(modbus, 315, 12, 4) == [127, 0, 0, 1, 255, 0, 0, 0, 127, 0, 0, 1]


async def test_measurements_while_charging(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    goe.model.total_wh = 12_345.0
    goe.model.plug_in()
    goe.advance(360)
    words = await read(modbus, 100, 60, 4)
    at = {address: words[address - 100] for address in range(100, 160)}
    assert (at[100], at[101], at[107]) == (CarState.CHARGING, 32, 0)
    assert [u32([at[108 + 2 * p], at[109 + 2 * p]]) for p in range(3)] == [
        230,
        231,
        229,
    ]
    assert [u32([at[114 + 2 * p], at[115 + 2 * p]]) for p in range(3)] == [160] * 3
    # Per-phase power in 0.1 W, total in 0.01 W: V x A x 99 %.
    assert [u32([at[146 + 2 * p], at[147 + 2 * p]]) for p in range(3)] == [
        36432,
        36590,
        36274,
    ]
    assert u32([at[120], at[121]]) == 1_092_960
    # 360 s at 10 929.6 W: 3 934 656 Ws, counted in deca-watt-seconds.
    assert u32([at[132], at[133]]) == 393_465
    assert u32([at[128], at[129]]) == 134  # 12 345 + 1 093 Wh, in 0.1 kWh
    assert [u32([at[152 + 2 * p], at[153 + 2 * p]]) for p in range(4)] == [
        99,
        99,
        99,
        0,
    ]
    assert await read(modbus, 205, 1, 4) == [63]


async def test_the_car_state_machine() -> None:
    model = GoeModel()
    assert model.car_state is CarState.IDLE
    model.finish()  # no car: nothing to finish
    assert model.car_state is CarState.IDLE
    model.plug_in(energy_wanted_wh=1000)
    assert model.car_state is CarState.CHARGING
    model.write(200, 0)
    assert model.car_state is CarState.WAITING
    model.advance(60)
    assert model.session_ws == 0
    model.write(200, 1)
    model.plug_in()  # already plugged in: same session
    model.advance(300)
    assert model.session_wh == pytest.approx(10_929.6 * 300 / 3600)
    model.advance(3600)  # full after 1 kWh, at the exact moment
    assert model.car_state is CarState.COMPLETE
    assert model.session_wh == pytest.approx(1000)
    assert model.total_wh == pytest.approx(1000)
    model.advance(60)
    assert model.session_wh == pytest.approx(1000)
    model.set_error(1)
    # The pilot still sees the car; only an internal error is "defective".
    assert model.car_state is CarState.COMPLETE
    assert not model.drawing
    model.set_error(10)
    assert model.car_state is CarState.UNKNOWN
    model.clear_error()
    model.unplug()
    assert model.car_state is CarState.IDLE
    model.plug_in()
    assert model.session_ws == 0
    model.advance(10)
    model.reset_session_energy()
    assert model.session_ws == 0
    model.finish()
    assert model.car_state is CarState.COMPLETE
    with pytest.raises(ValueError, match="forward"):
        model.advance(-1)


async def test_a_car_that_stops_exactly_at_a_step() -> None:
    model = GoeModel(voltages=(250, 250, 250), power_factor=100)
    model.write(299, 10)
    model.plug_in(energy_wanted_wh=7500)  # 7.5 kW: one hour
    model.advance(3600)
    assert model.car_state is CarState.COMPLETE


async def test_current_limits_and_eeprom_writes() -> None:
    model = GoeModel(cable_amps=20)
    model.plug_in()
    for amps in (6, 32, 12):
        model.write(299, amps)
    assert model.eeprom_writes == 0
    assert model.current == 12
    model.write(299, 32)
    assert model.current == 20  # the cable
    model.write(211, 10)
    assert model.current == 10  # the absolute maximum
    model.write(300, 8)
    assert model.settings[299] == 8
    model.write(200, 0)
    model.write(337, 1)
    assert model.eeprom_writes == 2  # 211 and 300
    model.reboot()
    assert (model.settings[299], model.settings[200], model.boots) == (8, 1, 1)


async def test_energy_limit_overlays_the_card_counters() -> None:
    model = GoeModel()
    words = model.registers(GoeIdentity.create(1), "localhost")
    raw = b"".join(words[a].to_bytes(2) for a in range(333, 337))
    assert struct.unpack(">d", raw)[0] == math.inf
    assert [words[a] for a in range(315, 319)] == [0, 0, 0, 0]  # not an address
    assert words[340] == words[371] == 0


async def test_single_phase_charger() -> None:
    model = GoeModel(phases_available=1)
    model.plug_in()
    words = model.registers(GoeIdentity.create(1), "127.0.0.1")
    assert words[205] == 0b001001
    assert [words[109], words[111], words[113]] == [230, 0, 0]
    assert model.power == pytest.approx(230 * 16 * 0.99)


# --- faults -----------------------------------------------------------------------------


async def test_exception_fault(goe: GoeSimulator, modbus: AsyncModbusTcpClient) -> None:
    goe.inject(GoeFault.EXCEPTION, 2, function=4, code=6)
    assert await read(modbus, 200) == [1]
    assert (await modbus.read_input_registers(100)).exception_code == 6
    assert goe.pending_faults() == [(GoeFault.EXCEPTION, 1)]
    assert (await modbus.read_input_registers(100)).exception_code == 6
    assert goe.pending_faults() == []
    goe.inject("exception", address=300)
    assert await read(modbus, 200, 6) == [1, 0, 0, 0, 0, 56]
    assert (await modbus.read_holding_registers(299, count=2)).exception_code == 4


async def test_timeout_faults(goe: GoeSimulator, modbus: AsyncModbusTcpClient) -> None:
    goe.inject(GoeFault.TIMEOUT)
    with pytest.raises(ModbusIOException):
        await modbus.read_holding_registers(200)
    assert await read(modbus, 200) == [1]
    # A late answer: after 0.1 s, within the client's 0.3 s.
    goe.inject(GoeFault.TIMEOUT, delay=0.1)
    assert await read(modbus, 201) == [0]
    assert goe.transactions[3] == 3


async def test_a_stalled_answer_is_dropped_when_the_server_stops(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    goe.inject(GoeFault.TIMEOUT, delay=30)
    request = asyncio.ensure_future(modbus.read_holding_registers(200))
    await until(lambda: bool(goe.requests))
    await goe.stop()
    with pytest.raises(ModbusIOException):
        await request


async def test_drop_fault(goe: GoeSimulator, modbus: AsyncModbusTcpClient) -> None:
    goe.inject(GoeFault.DROP)
    with pytest.raises(ModbusIOException):
        await modbus.read_holding_registers(200)
    assert not modbus.connected
    assert goe.transactions == {3: 1}


async def test_ignored_write(goe: GoeSimulator, modbus: AsyncModbusTcpClient) -> None:
    goe.inject(GoeFault.IGNORE_WRITE, address=299)
    assert await read(modbus, 299) == [16]  # reads are not affected
    response = await modbus.write_registers(299, [10])
    assert not response.isError()
    assert await read(modbus, 299) == [16]
    await modbus.write_registers(299, [10])
    assert await read(modbus, 299) == [10]


async def test_invalid_register(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    goe.inject(GoeFault.INVALID, 2, address=299, value=0xABCD)
    await modbus.write_registers(299, [10])  # a write does not use it up
    assert await read(modbus, 298, 3) == [0, 0xABCD, 16]
    assert await read(modbus, 299) == [0xABCD]
    assert await read(modbus, 299) == [10]
    with pytest.raises(ValueError, match="address"):
        goe.inject(GoeFault.INVALID)
    with pytest.raises(ValueError, match="count"):
        goe.inject(GoeFault.DROP, 0)


async def test_car_state_glitch(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    """CAR_STATE reads 0 for the asked number of reads; the car stays."""
    goe.model.plug_in()
    goe.glitch_car_state(2)
    assert await read(modbus, 100, 2) == [0, 32]
    assert await read(modbus, 200) == [1]  # other registers are not counted
    assert await read(modbus, 100) == [0]
    assert await read(modbus, 100) == [2]
    assert goe.model.connected


@pytest.mark.parametrize("function", [3, 4])
async def test_garbled_read_answers(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient, function: int
) -> None:
    goe.inject(GoeFault.SHORT)
    assert await read(modbus, 299, 2, function) == [16]
    goe.inject(GoeFault.WRONG_FUNCTION)
    reader = (
        modbus.read_holding_registers if function == 3 else modbus.read_input_registers
    )
    response: ModbusPDU = await reader(299, count=2)
    assert response.function_code == 7 - function
    assert response.registers == [16, 16]
    goe.inject(GoeFault.WRONG_ID)
    with pytest.raises(ModbusIOException):
        await reader(299, count=2)


async def test_garbled_write_answers(
    goe: GoeSimulator, modbus: AsyncModbusTcpClient
) -> None:
    goe.inject(GoeFault.SHORT, 2)
    response = await modbus.write_registers(206, [1, 1])
    assert (response.address, response.count) == (206, 1)
    response = await modbus.write_registers(206, [300])  # refused: left as it is
    assert response.exception_code == 3
    goe.inject(GoeFault.WRONG_FUNCTION)
    response = await modbus.write_registers(206, [2])
    assert response.function_code == 4
    assert goe.model.settings[206] == 2
    goe.clear_faults()
    assert goe.pending_faults() == []


# --- counters and lifecycle -------------------------------------------------------------


async def test_counters(goe: GoeSimulator, modbus: AsyncModbusTcpClient) -> None:
    await read(modbus, 100, 60, 4)
    await modbus.write_registers(300, [20])
    await modbus.write_register(300, 10)
    assert goe.transactions == {4: 1, 16: 1, 6: 1}
    assert goe.eeprom_writes == 1
    snapshot = goe.snapshot()
    assert snapshot["transactions"] == {"4": 1, "6": 1, "16": 1}
    assert snapshot["ampere_volatile"] == snapshot["ampere_eeprom"] == 20
    assert snapshot["car_state"] == "idle"
    assert snapshot["eeprom_writes"] == 1
    goe.reset_counters()
    assert not goe.transactions
    assert goe.requests == []
    assert goe.eeprom_writes == 0


async def test_restart_keeps_the_port(goe: GoeSimulator) -> None:
    port = goe.port
    assert goe.serving
    await goe.start()  # already serving: nothing happens
    await goe.stop()
    await goe.stop()
    assert not goe.serving
    with pytest.raises(OSError):  # noqa: PT011 - refused, whatever errno
        socket.create_connection((goe.ip, port), timeout=1).close()
    await goe.start()
    assert goe.port == port
    goe.model.write(299, 10)
    await goe.reboot()
    assert goe.model.settings[299] == 16
    assert goe.model.boots == 1
    assert goe.url == f"modbus://127.0.0.1:{port}"
    assert goe.describe() == "go-eCharger, firmware 60.4 (Modbus TCP, unit 1)"


async def test_identity_from_the_port() -> None:
    sim = await start_simulator("goe")
    try:
        assert sim.identity == GoeIdentity.create(sim.port)
        assert sim.identity.hostname.startswith("goe-")
    finally:
        await sim.close()


async def test_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        sim = GoeSimulator(port=busy.getsockname()[1])
        with pytest.raises(OSError, match="cannot listen"):
            await sim.start()
    assert not sim.serving


async def test_realtime_ticker() -> None:
    async with start_simulator("goe", realtime=True, tick_seconds=0.01) as sim:
        sim.model.plug_in()
        await until(lambda: sim.model.session_ws > 0)
        assert sim.model.clock > 0
    assert not sim.serving


async def test_a_simulator_is_a_context_manager() -> None:
    async with GoeSimulator(unit_id=3) as sim:
        assert sim.serving
        assert sim.unit_id == 3
    assert not sim.serving
