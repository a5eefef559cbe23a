"""What ``start_simulator`` returns, for every kind of simulator."""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any, Protocol


class Startable(Protocol):
    """A simulator that can be started and closed."""

    async def start(self) -> None:
        """Start serving."""

    async def close(self) -> None:
        """Stop everything."""


class Starter[SimT: Startable]:
    """Await it (then close the simulator yourself) or use ``async with``."""

    def __init__(self, sim: SimT) -> None:
        """Wrap a simulator that is not started yet."""
        self.sim = sim

    async def _start(self) -> SimT:
        await self.sim.start()
        return self.sim

    def __await__(self) -> Generator[Any, None, SimT]:
        """``sim = await start_simulator(...)``; close it yourself."""
        return self._start().__await__()

    async def __aenter__(self) -> SimT:
        """``async with start_simulator(...) as sim``: closed on exit."""
        return await self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the simulator."""
        await self.sim.close()


__all__ = ["Startable", "Starter"]
