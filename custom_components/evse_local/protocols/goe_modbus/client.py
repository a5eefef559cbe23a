"""A Modbus TCP client for one go-e Charger, on pymodbus' asyncio client.

One connection per charger and one request at a time. Writes always use
function 16: the charger does not implement function 6, not even for a
single register. Every failure becomes one of the project's errors, and
the counters (transactions, approximate bytes) feed the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from ..errors import (
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseTimeoutError,
)
from .registers import MAX_READ, ReadBlock

DEFAULT_PORT = 502
DEFAULT_UNIT_ID = 1
DEFAULT_TIMEOUT = 5.0
RECONNECT_DELAY = 1.0
RECONNECT_DELAY_MAX = 60.0
MBAP_HEADER = 7
"""Bytes in front of every Modbus TCP PDU (transaction, protocol, length, unit)."""
MAX_WRITE = 123

READ_HOLDING = 3
READ_INPUT = 4
WRITE_MULTIPLE = 16

_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
_GATEWAY_EXCEPTIONS = frozenset({10, 11})


async def _awaited(send: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
    # pymodbus raises "not connected" before returning the awaitable.
    return await send()


def _exception_text(code: int) -> str:
    return f"exception {code} ({_EXCEPTIONS.get(code, 'unknown')})"


class GoeModbusClient:
    """Reads and writes registers of one charger; reconnects with backoff.

    The first request after a dropped connection reconnects at once; when
    that fails, further attempts wait ``reconnect_delay`` seconds, doubling
    up to ``reconnect_delay_max`` (requests in between fail fast).
    """

    def __init__(
        self,
        host: str,
        *,
        port: int = DEFAULT_PORT,
        unit_id: int = DEFAULT_UNIT_ID,
        timeout: float = DEFAULT_TIMEOUT,
        reconnect_delay: float = RECONNECT_DELAY,
        reconnect_delay_max: float = RECONNECT_DELAY_MAX,
    ) -> None:
        """Prepare a client for ``host:port``; nothing is sent until used."""
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.timeout = timeout
        self._reconnect_delay = reconnect_delay
        self._reconnect_delay_max = reconnect_delay_max
        self._delay = reconnect_delay
        self._retry_at = 0.0
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        # Our own time-outs come first (pymodbus would retry and keep a stale
        # answer around); reconnecting is ours too, hence no pymodbus retries.
        self._client = AsyncModbusTcpClient(
            host,
            port=port,
            timeout=2 * timeout,
            retries=0,
            reconnect_delay=0,
            trace_connect=self._on_connection,
        )
        self.transactions = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.connections = 0

    def __repr__(self) -> str:
        """Where the charger is."""
        return f"GoeModbusClient({self.host}:{self.port}, unit {self.unit_id})"

    @property
    def connected(self) -> bool:
        """Whether the TCP connection is up."""
        return self._client.connected

    def _on_connection(self, connected: bool) -> None:
        # A fresh event per connection: waiters of the old one saw it end.
        if connected:
            self._lost = asyncio.Event()
        else:
            self._lost.set()

    async def connect(self) -> None:
        """Open the connection now (requests also open it when needed)."""
        async with self._lock:
            await self._ensure_connected()

    async def close(self) -> None:
        """Close the connection (a later request opens it again)."""
        self._client.close()

    def _drop(self) -> None:
        """Close after a failure, so no late answer can meet the next request."""
        self._client.close()

    async def _ensure_connected(self) -> None:
        if self._client.connected:
            return
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            raise EvseConnectionError(
                f"{self!r}: next connection attempt in {self._retry_at - now:.1f} s"
            )
        timed_out = False
        try:
            async with asyncio.timeout(self.timeout):
                connected = await self._client.connect()
        except TimeoutError:
            # pymodbus pauses 0.1 s after connecting: up by then is up.
            connected = self._client.connected
            timed_out = not connected
        if not connected:
            self._client.close()
            self._retry_at = asyncio.get_running_loop().time() + self._delay
            self._delay = min(2 * self._delay, self._reconnect_delay_max)
            error = EvseTimeoutError if timed_out else EvseConnectionError
            raise error(f"{self!r}: cannot connect")
        self._delay = self._reconnect_delay
        self._retry_at = 0.0
        self.connections += 1

    async def _exchange(
        self, send: Callable[[], Awaitable[ModbusPDU]], what: str
    ) -> ModbusPDU:
        """Wait for the answer, the time-out or the end of the connection."""
        lost = self._lost
        call = asyncio.ensure_future(_awaited(send))
        watch = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                (call, watch), timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watch.cancel()
            if not call.done():
                call.cancel()
                # Let pymodbus give up the request (and its lock) cleanly.
                await asyncio.wait((call,))
        if call in done:
            try:
                return call.result()
            # pymodbus itself skips answers with a wrong transaction or unit id
            # and closes on undecodable ones; this is for what is left.
            except ModbusException as err:  # pragma: no cover
                self._drop()
                lost_it = isinstance(err, ConnectionException)
                error = EvseConnectionError if lost_it else EvseProtocolError
                raise error(f"{self!r}: {what}: {err}") from err
        with contextlib.suppress(asyncio.CancelledError, ModbusException):
            call.result()
        self._drop()
        if watch in done:
            raise EvseConnectionError(f"{self!r}: {what}: connection lost")
        raise EvseTimeoutError(f"{self!r}: {what}: no answer in {self.timeout} s")

    async def _transaction(
        self,
        what: str,
        send: Callable[[], Awaitable[ModbusPDU]],
        *,
        function: int,
        request_size: int,
        response_size: int,
    ) -> ModbusPDU:
        """One request and its answer; sizes are PDU bytes (for the counters)."""
        async with self._lock:
            await self._ensure_connected()
            self.transactions += 1
            self.bytes_sent += MBAP_HEADER + request_size
            response = await self._exchange(send, what)
        if response.isError():
            self.bytes_received += MBAP_HEADER + 2
            code = response.exception_code
            text = _exception_text(code)
            if code in _GATEWAY_EXCEPTIONS:
                raise EvseConnectionError(f"{self!r}: {what}: {text}")
            if function == WRITE_MULTIPLE:
                raise EvseCommandRejectedError(what, text)
            raise EvseProtocolError(f"{self!r}: {what}: {text}")
        if response.function_code != function:
            raise EvseProtocolError(
                f"{self!r}: {what}: answer to function {response.function_code}"
            )
        self.bytes_received += MBAP_HEADER + response_size
        return response

    async def read(
        self, address: int, count: int, *, function: int = READ_HOLDING
    ) -> list[int]:
        """Read ``count`` registers from ``address`` with function 3 or 4."""
        if function not in (READ_HOLDING, READ_INPUT):
            raise ValueError(f"not a read function: {function}")
        if not 1 <= count <= MAX_READ:
            raise ValueError(f"cannot read {count} registers at once")
        reader = (
            self._client.read_holding_registers
            if function == READ_HOLDING
            else self._client.read_input_registers
        )
        what = f"read {address}..{address + count - 1} (function {function})"
        response = await self._transaction(
            what,
            lambda: reader(address, count=count, device_id=self.unit_id),
            function=function,
            request_size=5,
            response_size=2 + 2 * count,
        )
        if len(response.registers) != count:
            raise EvseProtocolError(
                f"{self!r}: {what}: {len(response.registers)} registers came back"
            )
        return list(response.registers)

    async def read_block(self, block: ReadBlock) -> list[int]:
        """Read one planned block."""
        return await self.read(block.address, block.count, function=block.function)

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write registers from ``address`` with function 16 (never 6)."""
        words = list(values)
        if not 1 <= len(words) <= MAX_WRITE:
            raise ValueError(f"cannot write {len(words)} registers at once")
        if any(not 0 <= word <= 0xFFFF for word in words):
            raise ValueError(f"not 16-bit words: {words}")
        what = f"write {words} to {address}"
        response = await self._transaction(
            what,
            lambda: self._client.write_registers(
                address, words, device_id=self.unit_id
            ),
            function=WRITE_MULTIPLE,
            request_size=6 + 2 * len(words),
            response_size=5,
        )
        if (response.address, response.count) != (address, len(words)):
            raise EvseProtocolError(
                f"{self!r}: {what}: confirmed {response.count} at {response.address}"
            )
