"""A background job that never runs twice at once and never misses a request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback


class CoalescedJob:
    """Run ``job`` in the entry's background, one run at a time.

    Requests while a run is going cause exactly one more run after it (the
    run then sees everything that happened meanwhile): a burst of events is
    at most two runs. ``job`` returns False to end the runs at once (a
    failure that the next request tries again).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        job: Callable[[], Awaitable[bool | None]],
        name: str,
    ) -> None:
        """Prepare; nothing runs before :meth:`schedule`."""
        self._hass = hass
        self._entry = entry
        self._job = job
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._again = False

    @callback
    def schedule(self) -> None:
        """Run soon; while a run is going, once more after it."""
        self._start()

    async def async_run_now(self) -> None:
        """Run (or let the current run finish, then run again) and wait for it."""
        await asyncio.shield(self._start())

    @callback
    def _start(self) -> asyncio.Task[None]:
        """Return the task that carries the requested run."""
        if self._task is not None and not self._task.done():
            self._again = True
            return self._task
        self._task = self._entry.async_create_background_task(
            self._hass, self._run(), self._name
        )
        return self._task

    async def _run(self) -> None:
        while True:
            self._again = False
            if await self._job() is False or not self._again:
                return
