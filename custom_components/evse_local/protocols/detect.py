"""Find out which API a charger speaks, by probing (never by version string).

- ``/config`` answers and ``/claims`` exists: OpenEVSE WiFi firmware with the
  JSON API (RAPI writes blocked from 5.0.0 on).
- ``/config`` answers, no ``/claims``: older WiFi firmware, RAPI passes through.
- no ``/config``: RAPI over ``/r`` only (GoPlug Pro 32).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .charger import Charger
from .errors import EvseCommandRejectedError, EvseUnsupportedError
from .models import ApiGeneration, DeviceInfo
from .openevse_http.json_api import OpenEvseJsonCharger, device_info_from_config
from .openevse_http.legacy import OpenEvseRapiCharger
from .openevse_http.transport import DEFAULT_TIMEOUT, HttpTransport, expect_object
from .rapi.charger import RapiCharger
from .rapi.client import RapiClient


async def _mcu_id(rapi: RapiClient) -> str | None:
    """``$GI``: the controller's MCU id, on builds that have it."""
    try:
        values = await rapi.query("GI")
    except EvseCommandRejectedError:
        return None
    return str(values["mcu_id"]) or None


async def connect_charger(
    session: aiohttp.ClientSession,
    host: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per-request timeout
) -> Charger:
    """Probe ``host`` and return a ready adapter for whatever answers there."""
    transport = HttpTransport(
        session, host, username=username, password=password, timeout=timeout
    )
    try:
        config = expect_object("/config", await transport.get_json("/config"))
    except EvseUnsupportedError:
        return await _connect_rapi_only(transport)
    status = expect_object("/status", await transport.get_json("/status"))
    try:
        has_claims = isinstance(await transport.get_json("/claims"), list)
    except EvseUnsupportedError:
        has_claims = False
    generation = (
        ApiGeneration.OPENEVSE_JSON if has_claims else ApiGeneration.OPENEVSE_RAPI
    )
    info = device_info_from_config(config, status, generation)
    rapi = RapiClient(transport)
    if not has_claims or info is None:
        await rapi.negotiate()
    if info is None:
        # Old modules report neither a serial nor a MAC: ask the controller,
        # whose $GI only some builds have.
        info = _openevse_info(await _mcu_id(rapi), config, generation)
    charger: OpenEvseJsonCharger | OpenEvseRapiCharger
    if has_claims:
        charger = OpenEvseJsonCharger(transport, info, config=config, status=status)
    else:
        charger = OpenEvseRapiCharger(transport, rapi, info, status=status)
    await charger.setup()
    return charger


def _openevse_info(
    serial: str | None, config: dict[str, Any], generation: ApiGeneration
) -> DeviceInfo:
    return DeviceInfo(
        serial=serial,
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        generation=generation,
        firmware=str(config.get("firmware") or "") or None,
        wifi_firmware=str(config.get("version") or "") or None,
        hostname=str(config.get("hostname") or "") or None,
    )


async def _connect_rapi_only(transport: HttpTransport) -> Charger:
    rapi = RapiClient(transport)
    version = await rapi.negotiate()
    info = DeviceInfo(
        serial=await _mcu_id(rapi),
        manufacturer="GoPlug",
        model="GoPlug Pro 32",
        generation=ApiGeneration.RAPI,
        firmware=str(version["firmware"]),
    )
    charger = RapiCharger(rapi, info)
    await charger.setup()
    return charger
