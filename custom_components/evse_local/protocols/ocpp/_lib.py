"""The parts of the ``ocpp`` library we use, with types.

``ocpp`` 2.1.0 ships no ``py.typed`` marker, so mypy sees it as ``Any``. The
few names the package uses are declared here once (the type checker reads
the stubs, Python imports the real thing) instead of ignores everywhere.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ocpp.routing import after as _after  # type: ignore[import-untyped]
from ocpp.routing import on as _on
from ocpp.v16 import call, call_result  # type: ignore[import-untyped]

from ocpp import exceptions, messages  # type: ignore[import-untyped]

if TYPE_CHECKING:
    import asyncio

    class ChargePoint:
        """What we use of ``ocpp.v16.ChargePoint``."""

        id: str
        route_map: dict[str, dict[str, Any]]
        _call_lock: asyncio.Lock
        _response_queue: asyncio.Queue[Any]

        def __init__(
            self,
            id: str,  # noqa: A002 - the library's name
            connection: Any,
            response_timeout: float = 30,
            logger: Any = ...,
        ) -> None: ...

        async def call(
            self,
            payload: Any,
            suppress: bool = True,
            unique_id: str | None = None,
            skip_schema_validation: bool = False,
        ) -> Any: ...

        async def start(self) -> None: ...

        async def route_message(self, raw_msg: str) -> None: ...

        async def _handle_call(self, msg: Any) -> Any: ...

        async def _send(self, message: str) -> None: ...

else:
    from ocpp.v16 import ChargePoint

OCPPError: type[Exception] = exceptions.OCPPError
UnknownCallErrorCodeError: type[Exception] = exceptions.UnknownCallErrorCodeError
Call: Any = messages.Call
CallError: Any = messages.CallError
CallResult: Any = messages.CallResult


def on[F: Callable[..., Any]](
    action: str, *, skip_schema_validation: bool = False
) -> Callable[[F], F]:
    """``ocpp.routing.on``: route a cp->cs action to the decorated method."""
    return cast(
        "Callable[[F], F]", _on(action, skip_schema_validation=skip_schema_validation)
    )


def after[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """``ocpp.routing.after``: run once the reply to ``action`` has been sent."""
    return cast("Callable[[F], F]", _after(action))


def call_error(code: str, unique_id: str, description: str, cause: str) -> str:
    """Build a CALLERROR frame (``code`` is an OCPP 1.6 error code)."""
    frame: str = CallError(unique_id, code, description, {"cause": cause}).to_json()
    return frame


class LibraryLogger:
    """The logger handed to the library, tuned for a server facing peers.

    The library logs every frame at INFO and a peer's invalid payload with a
    traceback at ERROR. A peer's garbage is one WARNING line here; only an
    exception that is not an ``OCPPError`` (our bug) keeps its traceback.
    """

    def __init__(self, logger: logging.Logger) -> None:
        """Log through ``logger``."""
        self._logger = logger

    def info(self, msg: str, *args: object) -> None:
        """Per-frame chatter: DEBUG."""
        self._logger.debug(msg, *args)

    def warning(self, msg: str, *args: object) -> None:
        """Log a CallError we asked for at DEBUG: the caller reports it."""
        self._logger.debug(msg, *args)

    def error(self, msg: str, *args: object) -> None:
        """Log a reply nobody waits for (a timed-out command) at DEBUG."""
        self._logger.debug(msg, *args)

    def exception(self, msg: str, *args: object) -> None:
        """Log a failed handler; a peer's bad payload is not worth a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OCPPError):
            self._logger.warning("%s: %s", msg % args, error)
        else:
            self._logger.error(msg, *args, exc_info=error)


__all__ = [
    "Call",
    "CallError",
    "CallResult",
    "ChargePoint",
    "LibraryLogger",
    "OCPPError",
    "UnknownCallErrorCodeError",
    "after",
    "call",
    "call_error",
    "call_result",
    "exceptions",
    "on",
]
