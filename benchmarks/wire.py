"""A loopback TCP relay that counts the bytes a client and a charger exchange.

Both clients under test talk to the relay instead of the simulator, so their
traffic is measured the same way: every byte on the wire, HTTP headers and
websocket framing included, in each direction.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

_CHUNK = 65536


class WireTap:
    """Relay ``127.0.0.1:<port>`` to ``target`` and count bytes both ways."""

    def __init__(self, target_ip: str, target_port: int) -> None:
        """Relay to the server at ``target_ip:target_port`` once started."""
        self._target = (target_ip, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.bytes_down = 0  # charger -> client
        self.bytes_up = 0  # client -> charger
        self.connections = 0

    @property
    def host(self) -> str:
        """``127.0.0.1:port``: give this to the client instead of the charger."""
        if self._server is None:
            raise RuntimeError("relay not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    def reset(self) -> None:
        """Zero the byte counters."""
        self.bytes_down = 0
        self.bytes_up = 0
        self.connections = 0

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def close(self) -> None:
        """Stop listening and cut every relayed connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            self._server.close_clients()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        """Start the relay."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the relay."""
        await self.close()

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, server_writer))
        up = asyncio.ensure_future(
            self._pump(client_reader, server_writer, upstream=True)
        )
        down = asyncio.ensure_future(
            self._pump(server_reader, client_writer, upstream=False)
        )
        self._tasks.update((up, down))
        try:
            await asyncio.gather(up, down, return_exceptions=True)
        finally:
            self._tasks.difference_update((up, down))
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        upstream: bool,
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if upstream:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            writer.transport.abort()
