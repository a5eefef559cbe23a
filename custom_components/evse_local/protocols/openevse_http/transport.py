"""HTTP transport to an OpenEVSE-family WiFi module.

One injected ``aiohttp`` session, one place that turns HTTP and socket
failures into our error hierarchy, and counters the benchmarks read.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from ..errors import (
    EvseAuthenticationError,
    EvseCommandBlockedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseTimeoutError,
    EvseUnsupportedError,
)

DEFAULT_TIMEOUT = 10.0

# The v1/v2 WiFi firmware answers /r with an HTML page: "...<p>&gt;$OK 3 568<p>".
_HTML_REPLY = re.compile(r"(?:&gt;|>)\s*(\$(?:OK|NK)[^<\r\n]*)")


class HttpTransport:
    """Requests against one charger; every failure becomes an ``EvseError``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Talk to ``host`` (``name`` or ``name:port``) through ``session``."""
        self._session = session
        self.host = host
        self.base_url = f"http://{host}"
        self.headers: dict[str, str] = (
            {"Authorization": aiohttp.encode_basic_auth(username, password or "")}
            if username
            else {}
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.requests = 0
        self.bytes_received = 0

    @property
    def session(self) -> aiohttp.ClientSession:
        """The injected session (the websocket needs it too)."""
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Send one request; return status and body text (2xx and 4xx alike).

        401 raises :class:`EvseAuthenticationError`, 5xx and socket errors
        :class:`EvseConnectionError`, a time-out :class:`EvseTimeoutError`.
        """
        self.requests += 1
        try:
            async with self._session.request(
                method,
                self.base_url + path,
                json=body,
                params=params,
                headers=self.headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError as err:
            raise EvseTimeoutError(f"{method} {path} timed out") from err
        except aiohttp.ClientError as err:
            raise EvseConnectionError(f"{method} {path} failed: {err}") from err
        self.bytes_received += len(raw)
        if status == 401:
            raise EvseAuthenticationError(f"{method} {path}: HTTP 401")
        text = raw.decode("utf-8", errors="replace")
        if status >= 500 and not path.startswith("/r"):
            raise EvseConnectionError(f"{method} {path}: HTTP {status}")
        return status, text

    async def get_json(self, path: str) -> Any:
        """GET a JSON document; 404 raises :class:`EvseUnsupportedError`."""
        status, text = await self.request("GET", path)
        return _decode_json(path, status, text)

    async def send_json(self, method: str, path: str, body: Any = None) -> Any:
        """POST/DELETE with a JSON body and return the decoded answer."""
        status, text = await self.request(method, path, body=body)
        return _decode_json(path, status, text)

    async def exchange(self, frame: str) -> str:
        """Carry one RAPI frame over ``/r`` (JSON reply, or the old HTML page)."""
        status, text = await self.request(
            "GET", "/r", params={"json": "1", "rapi": frame}
        )
        stripped = text.strip()
        if stripped.startswith("{"):
            document = _parse_object("/r", stripped)
            if "error" in document:
                error = str(document["error"])
                if error == "RAPI_RESPONSE_BLOCKED":
                    raise EvseCommandBlockedError(frame, error)
                # Serial timeouts, queue full, ...: the controller did not answer.
                raise EvseConnectionError(f"{frame}: {error} (HTTP {status})")
            reply = document.get("ret")
            if not isinstance(reply, str):
                raise EvseProtocolError(f"{frame}: no 'ret' in {stripped[:80]!r}")
            return reply
        if status == 404:
            raise EvseUnsupportedError("no RAPI endpoint at /r")
        if status >= 400:
            raise EvseProtocolError(f"{frame}: HTTP {status}")
        match = _HTML_REPLY.search(text)
        if match is None:
            raise EvseProtocolError(f"{frame}: no RAPI reply in {stripped[:80]!r}")
        return match.group(1).strip()


def expect_object(path: str, document: Any) -> dict[str, Any]:
    """``document`` if it is a JSON object, else a protocol error."""
    if not isinstance(document, dict):
        raise EvseProtocolError(f"{path}: expected a JSON object")
    return document


def parse_json(path: str, text: str) -> Any:
    """Decode JSON text; anything undecodable is a protocol error.

    ``json`` raises ValueError for bad syntax and integers of more than 4300
    digits, and RecursionError for absurdly deep nesting.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise EvseProtocolError(f"{path}: invalid JSON: {text[:80]!r}") from err


def _parse_object(path: str, text: str) -> dict[str, Any]:
    return expect_object(path, parse_json(path, text))


def _decode_json(path: str, status: int, text: str) -> Any:
    if status == 404:
        raise EvseUnsupportedError(f"{path}: HTTP 404")
    if status >= 400:
        raise EvseProtocolError(f"{path}: HTTP {status}: {text[:80]!r}")
    if not text.strip():
        return None
    return parse_json(path, text)
