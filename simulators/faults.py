"""Transport and protocol faults that tests can inject into a simulator.

Faults are queued with :meth:`FaultQueue.inject` and consumed by the next
matching requests. RAPI faults change the next RAPI reply served on ``/r``;
HTTP faults hit the next device request (``/sim/*`` never counts), optionally
only those whose path starts with a given prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """Names accepted by ``Simulator.inject`` and ``POST /sim/inject``."""

    # RAPI reply faults (served on /r, checksum stays valid unless stated).
    BAD_CHECKSUM = "bad_checksum"
    NK = "nk"
    WRONG_FIELD_COUNT = "wrong_field_count"
    # HTTP faults.
    HTML = "html"
    TRAILING_GARBAGE = "trailing_garbage"
    HTTP_500 = "http_500"
    HTTP_401 = "http_401"
    HTTP_404 = "http_404"
    """The endpoint answers 404 Not Found, as if it had gone away."""
    TIMEOUT = "timeout"
    DROP = "drop"

    @property
    def is_rapi(self) -> bool:
        """Whether this fault changes a RAPI reply rather than HTTP."""
        return self in RAPI_FAULTS


RAPI_FAULTS = frozenset({Fault.BAD_CHECKSUM, Fault.NK, Fault.WRONG_FIELD_COUNT})


@dataclass(slots=True)
class _Pending:
    fault: Fault
    remaining: int
    path: str | None
    delay: float | None


class FaultQueue:
    """Faults waiting for the requests that will suffer them."""

    def __init__(self) -> None:
        """Start empty."""
        self._pending: list[_Pending] = []

    def inject(
        self,
        fault: Fault | str,
        count: int = 1,
        *,
        path: str | None = None,
        delay: float | None = None,
    ) -> None:
        """Queue ``fault`` for the next ``count`` matching requests."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._pending.append(_Pending(Fault(fault), count, path, delay))

    def clear(self) -> None:
        """Drop every queued fault."""
        self._pending.clear()

    def pending(self) -> list[tuple[Fault, int]]:
        """Return what is still queued, as (fault, remaining count)."""
        return [(item.fault, item.remaining) for item in self._pending]

    def take(self, path: str, *, rapi: bool) -> tuple[Fault, float | None] | None:
        """Consume the first queued fault of the wanted family matching ``path``."""
        for item in self._pending:
            if item.fault.is_rapi != rapi:
                continue
            if item.path is not None and not path.startswith(item.path):
                continue
            item.remaining -= 1
            if item.remaining == 0:
                self._pending.remove(item)
            return item.fault, item.delay
        return None
