"""An OCPP charge point as a :class:`Charger` (push only: it connects to us)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..charger import Charger
from ..errors import EvseConnectionError
from ..models import ApiGeneration, ChargerSnapshot, DeviceInfo
from .station import OcppStation

DEFAULT_MANUFACTURER = "Blink"
DEFAULT_MODEL = "OCPP 1.6J charge point"


def device_info(station: OcppStation) -> DeviceInfo:
    """Identity: the charge point id is the serial (it is unique per server)."""
    boot = station.boot
    return DeviceInfo(
        serial=station.charge_point_id,
        manufacturer=(boot.vendor if boot else None) or DEFAULT_MANUFACTURER,
        model=(boot.model if boot else None) or DEFAULT_MODEL,
        generation=ApiGeneration.OCPP16,
        firmware=boot.firmware if boot else None,
    )


class OcppCharger(Charger):
    """Adapter from :class:`OcppStation` to the integration's interface.

    Session energy/time limits are not offered: the integration enforces
    them by pausing, as for the go-e.
    """

    push_only: ClassVar[bool] = True

    def __init__(self, station: OcppStation, *, max_current: int | None = None) -> None:
        """Wrap an added station; ``max_current``: the installation's maximum."""
        super().__init__(device_info(station))
        self.station = station
        if max_current is not None:
            station.max_current_limit = max_current

    @property
    def requests(self) -> int:
        """Commands sent to the charge point."""
        return self.station.requests

    async def poll(self) -> ChargerSnapshot:
        """Return the latest pushed state; nothing is asked of the charger."""
        if not self.station.connected:
            raise EvseConnectionError(f"{self.station.charge_point_id} not connected")
        self.snapshot = self.station.snapshot
        return self.snapshot

    async def listen(self, on_update: Callable[[ChargerSnapshot], None]) -> None:
        """Push every change until the charger's connection ends."""

        def remember(snapshot: ChargerSnapshot) -> None:
            self.snapshot = snapshot
            if self.station.boot is not None and self.info != (
                info := device_info(self.station)
            ):
                self.info = info
            on_update(snapshot)

        await self.station.listen(remember)

    async def set_paused(self, paused: bool) -> None:
        """0 A profile, or RemoteStop/Start when profiles are refused."""
        await self.station.set_paused(paused)

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """Set the session's profile; with ``persist`` the default profile too."""
        if persist:
            await self.station.set_default_limit(amps)
        await self.station.set_current_limit(amps)

    async def set_fallback_current(self, amps: int) -> None:
        """Write the TxDefaultProfile: what new sessions start at without us."""
        await self.station.set_default_limit(amps)

    async def set_meter_interval(self, seconds: int) -> None:
        """MeterValues every ``seconds`` (verified where the charger can tell)."""
        await self.station.set_meter_interval(seconds)

    async def restart(self) -> None:
        """Soft reset (waits for a running session to stop)."""
        await self.station.reset(hard=False)

    async def set_available(self, available: bool) -> None:
        """Operative or Inoperative."""
        await self.station.set_available(available)

    async def unlock(self) -> None:
        """Release the cable."""
        await self.station.unlock()

    def export_state(self) -> dict[str, Any]:
        """Everything the station knows, JSON-safe."""
        return self.station.export_state()

    def restore_state(self, state: dict[str, Any]) -> None:
        """Restore the station; the snapshot is there, ``connected`` is not."""
        self.station.restore_state(state)
        self.info = device_info(self.station)
        self.snapshot = self.station.snapshot
