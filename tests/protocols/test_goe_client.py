"""GoeModbusClient against the go-e simulator over loopback (real Modbus TCP)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseTimeoutError,
)
from custom_components.evse_local.protocols.goe_modbus import registers as reg
from custom_components.evse_local.protocols.goe_modbus.client import (
    MBAP_HEADER,
    GoeModbusClient,
)
from custom_components.evse_local.protocols.goe_modbus.registers import (
    POLL_BLOCKS,
    decode,
)
from simulators import GoeFault, GoeSimulator, start_simulator
from simulators.goe import ModbusRequest

TIMEOUT = 0.3


@pytest.fixture
async def sim(loopback_sockets: None) -> AsyncIterator[GoeSimulator]:
    async with start_simulator("goe", reboot_seconds=0.05) as goe:
        yield goe


@pytest.fixture
async def client(sim: GoeSimulator) -> AsyncIterator[GoeModbusClient]:
    client = GoeModbusClient(
        sim.host,
        port=sim.port,
        timeout=TIMEOUT,
        reconnect_delay=0.1,
        reconnect_delay_max=0.3,
    )
    yield client
    await client.close()


async def test_reads_input_and_holding_registers(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    sim.model.plug_in()
    (block,) = POLL_BLOCKS
    words = await client.read_block(block)
    assert len(words) == 60
    assert decode(reg.CAR_STATE, words[:1]) == 2
    assert decode(reg.VOLT_L2, words[10:12]) == 231
    assert await client.read(299, 2) == [16, 16]
    assert sim.requests == [
        ModbusRequest(function=4, address=100, count=60, unit=1),
        ModbusRequest(function=3, address=299, count=2, unit=1),
    ]
    assert client.connections == 1


async def test_functions_3_and_4_read_the_same_memory(client: GoeModbusClient) -> None:
    for address, count in ((100, 60), (200, 6), (206, 13), (299, 28)):
        holding = await client.read(address, count, function=3)
        assert await client.read(address, count, function=4) == holding


async def test_writes_use_function_16_only(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    await client.write(299, [10])
    await client.write(206, [128, 1])
    assert sim.model.settings[299] == 10
    assert (sim.model.settings[206], sim.model.settings[207]) == (128, 1)
    assert set(sim.transactions) == {16}
    assert sim.requests == [
        ModbusRequest(function=16, address=299, count=1, unit=1),
        ModbusRequest(function=16, address=206, count=2, unit=1),
    ]


async def test_bad_arguments_send_nothing(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    for args, kwargs in (
        ((100, 1), {"function": 16}),
        ((100, 0), {}),
        ((100, 126), {}),
    ):
        with pytest.raises(ValueError, match="read"):
            await client.read(*args, **kwargs)
    for values in ([], [0] * 124, [0x10000], [-1]):
        with pytest.raises(ValueError, match=r"write|16-bit"):
            await client.write(299, values)
    assert client.transactions == 0
    assert not sim.transactions


async def test_counters_follow_the_frames(client: GoeModbusClient) -> None:
    await client.read(100, 60, function=4)
    assert client.transactions == 1
    assert client.bytes_sent == MBAP_HEADER + 5
    assert client.bytes_received == MBAP_HEADER + 2 + 120
    await client.write(299, [10])
    assert client.bytes_sent == 2 * MBAP_HEADER + 5 + 8
    assert client.bytes_received == 2 * MBAP_HEADER + 122 + 5
    with pytest.raises(EvseCommandRejectedError):
        await client.write(299, [40])
    assert client.transactions == 3
    assert client.bytes_received == 3 * MBAP_HEADER + 127 + 2


async def test_exception_responses(sim: GoeSimulator, client: GoeModbusClient) -> None:
    with pytest.raises(EvseCommandRejectedError, match=r"exception 3 \(illegal data"):
        await client.write(299, [40])
    with pytest.raises(EvseCommandRejectedError, match="exception 2"):
        await client.write(100, [1])  # an input register
    with pytest.raises(EvseProtocolError, match="exception 2"):
        await client.read(400, 2)
    sim.inject(GoeFault.EXCEPTION, code=4)
    with pytest.raises(EvseProtocolError, match=r"exception 4 \(server device failure"):
        await client.read(100, 1)
    sim.inject(GoeFault.EXCEPTION, code=9, function=3)
    with pytest.raises(EvseProtocolError, match=r"exception 9 \(unknown"):
        await client.read(200, 1)
    sim.inject(GoeFault.EXCEPTION, code=11)
    with pytest.raises(EvseConnectionError, match="gateway target"):
        await client.read(100, 1)
    # Exception answers keep the connection.
    assert await client.read(299, 1) == [16]
    assert client.connections == 1
    assert sim.model.settings[299] == 16


async def test_another_unit_id(sim: GoeSimulator) -> None:
    client = GoeModbusClient(sim.host, port=sim.port, unit_id=2, timeout=TIMEOUT)
    try:
        with pytest.raises(EvseConnectionError, match="exception 11"):
            await client.read(100, 1)
    finally:
        await client.close()
    assert sim.requests[-1].unit == 2
    assert repr(client) == f"GoeModbusClient(127.0.0.1:{sim.port}, unit 2)"


async def test_timeout_then_a_fresh_connection(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    await client.connect()
    sim.inject(GoeFault.TIMEOUT)
    started = time.perf_counter()
    with pytest.raises(EvseTimeoutError, match="no answer"):
        await client.read(100, 60, function=4)
    assert TIMEOUT <= time.perf_counter() - started < TIMEOUT + 1
    assert not client.connected
    assert await client.read(299, 1) == [16]
    assert client.connections == 2


async def test_a_late_answer_never_reaches_the_next_request(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    sim.inject(GoeFault.TIMEOUT, delay=TIMEOUT + 0.2, address=299)
    with pytest.raises(EvseTimeoutError):
        await client.read(299, 1)
    await client.write(299, [20])
    await asyncio.sleep(0.3)  # the late answer is due now
    assert await client.read(200, 1) == [1]
    assert await client.read(299, 1) == [20]


async def test_connection_dropped_mid_request(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    sim.inject(GoeFault.DROP)
    started = time.perf_counter()
    with pytest.raises(EvseConnectionError, match="connection lost") as caught:
        await client.read(100, 60, function=4)
    assert not isinstance(caught.value, EvseTimeoutError)
    assert time.perf_counter() - started < TIMEOUT
    assert await client.read(100, 1, function=4) == [1]
    assert client.connections == 2


async def test_reconnect_with_backoff_after_a_restart(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    assert await client.read(299, 1) == [16]
    await sim.stop()
    with pytest.raises(EvseConnectionError, match="connection lost"):
        await client.read(299, 1)
    # The first attempt after a drop is immediate (and refused) ...
    with pytest.raises(EvseConnectionError, match="cannot connect"):
        await client.read(299, 1)
    # ... the next ones wait, without touching the network.
    with pytest.raises(EvseConnectionError, match="next connection attempt"):
        await client.read(299, 1)
    for _ in range(3):
        await asyncio.sleep(0.31)
        with pytest.raises(EvseConnectionError, match="cannot connect"):
            await client.read(299, 1)
    assert client._delay == 0.3  # doubled up to the maximum
    await sim.start()
    await asyncio.sleep(0.31)
    assert await client.read(299, 1) == [16]
    assert client.connections == 2
    assert client._delay == 0.1


async def test_reboot_loses_the_volatile_current(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    await client.write(299, [10])
    await client.write(300, [20])
    await client.write(299, [12])
    await sim.reboot()
    # The charger closed the connection: the next request opens a new one.
    assert await client.read(299, 2) == [20, 20]
    assert client.connections == 2


async def test_connect_timeout(sim: GoeSimulator) -> None:
    client = GoeModbusClient(sim.host, port=sim.port, timeout=1e-9)
    with pytest.raises(EvseTimeoutError, match="cannot connect"):
        await client.connect()
    assert client.transactions == 0


async def test_a_timeout_shorter_than_pymodbus_connect_pause(sim: GoeSimulator) -> None:
    """pymodbus waits 0.1 s after connecting; a short time-out still connects."""
    client = GoeModbusClient(sim.host, port=sim.port, timeout=0.05)
    try:
        await client.connect()
        assert client.connected
        assert await client.read(299, 1) == [16]
    finally:
        await client.close()


async def test_requests_are_serialised(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    results = await asyncio.gather(
        *(client.read(address, 1) for address in (200, 201, 204, 206, 211, 299, 300))
    )
    assert results == [[1], [0], [0], [255], [32], [16], [16]]
    assert client.connections == 1
    assert len(sim.requests) == 7


async def test_0xffff_decodes_to_none(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    sim.model.plug_in()
    sim.inject(GoeFault.INVALID, address=120)
    words = await client.read(100, 60, function=4)
    assert words[20] == 0xFFFF
    assert decode(reg.POWER_TOTAL, words[20:22]) is None  # out of range
    sim.inject(GoeFault.INVALID, address=107)
    assert decode(reg.ERROR, await client.read(107, 1, function=4)) is None
    assert decode(reg.ERROR, await client.read(107, 1, function=4)) == 0
    assert decode(reg.POWER_TOTAL, await client.read(120, 2, function=4)) == 10929.6


async def test_the_205_206_quirk(client: GoeModbusClient) -> None:
    assert await client.read(205, 2) == [56, 0xFFFF]
    assert await client.read(204, 3) == [0, 56, 0xFFFF]
    assert await client.read(206, 2) == [255, 0]
    assert await client.read(206, 1) == [255]


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (GoeFault.SHORT, EvseProtocolError, "1 registers came back"),
        (GoeFault.WRONG_FUNCTION, EvseProtocolError, "answer to function 4"),
        # pymodbus skips an answer for another transaction: none arrives.
        (GoeFault.WRONG_ID, EvseTimeoutError, "no answer"),
    ],
)
async def test_garbled_read_answers(
    sim: GoeSimulator,
    client: GoeModbusClient,
    fault: GoeFault,
    error: type[Exception],
    message: str,
) -> None:
    sim.inject(fault)
    with pytest.raises(error, match=message):
        await client.read(299, 2)
    assert await client.read(299, 2) == [16, 16]


async def test_garbled_write_confirmations(
    sim: GoeSimulator, client: GoeModbusClient
) -> None:
    sim.inject(GoeFault.SHORT)
    with pytest.raises(EvseProtocolError, match="confirmed 1 at 206"):
        await client.write(206, [1, 1])
    sim.inject(GoeFault.WRONG_FUNCTION)
    with pytest.raises(EvseProtocolError, match="answer to function 4"):
        await client.write(206, [2])
    assert await client.read(206, 1) == [2]
