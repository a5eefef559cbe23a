"""OpenEVSE with older WiFi firmware: ``/status`` plus RAPI over ``/r``.

These modules (before WiFi 5.0.0) pass every RAPI command through, so pause,
current, limits and the timer are RAPI set commands. A steady poll is two
requests: ``GET /status`` and one RAPI frame — a rotating setting, or
``$G0`` while the state alone cannot tell whether a car is plugged in
(sleeping, disabled, faults), because the RAPI 4 ``$GS`` has no vflags.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvseCommandRejectedError, EvseError
from ..models import ChargerSnapshot, ChargerState, DeviceInfo
from ..rapi.charger import RapiControlledCharger
from ..rapi.client import RapiClient
from .status import status_fields
from .transport import HttpTransport, expect_object

_KNOWN_PLUG_STATES = {
    ChargerState.NOT_CONNECTED: False,
    ChargerState.CONNECTED: True,
    ChargerState.CHARGING: True,
}


class OpenEvseRapiCharger(RapiControlledCharger):
    """An OpenEVSE whose WiFi module passes RAPI set commands through."""

    def __init__(
        self,
        transport: HttpTransport,
        rapi: RapiClient,
        info: DeviceInfo,
        *,
        status: dict[str, Any],
    ) -> None:
        """Start from the ``/status`` read while probing."""
        super().__init__(rapi, info)
        self.transport = transport
        self._status = status

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (RAPI frames included)."""
        return self.transport.requests

    async def _vehicle_connected(self) -> bool | None:
        """``$G0`` (RAPI 3.0.1 on); older controllers cannot tell: unknown."""
        try:
            connect_state = await self.rapi.query("G0")
        except EvseCommandRejectedError:
            return None
        return {0: False, 1: True}.get(int(connect_state["state"]))

    async def poll(self) -> ChargerSnapshot:
        """``GET /status`` and one RAPI frame.

        After a restart, put our settings back and read again.
        """
        try:
            snapshot = await self._poll()
            if await self.restore_controls(snapshot):
                snapshot = await self._poll()
        except EvseError:
            self.mark_stale()
            raise
        return snapshot

    async def _poll(self) -> ChargerSnapshot:
        status = expect_object("/status", await self.transport.get_json("/status"))
        self._status = status
        fields = status_fields(status)
        vehicle = _KNOWN_PLUG_STATES.get(fields["state"])
        if vehicle is None:
            vehicle = await self._vehicle_connected()
        else:
            await self.read_next_setting()
        if vehicle is False:
            self.forget_session_limits()
        self.snapshot = ChargerSnapshot(
            **fields, vehicle_connected=vehicle, **self.control_fields()
        )
        return self.snapshot
