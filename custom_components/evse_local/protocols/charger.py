"""The interface every charger adapter implements."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any, ClassVar

from .errors import EvseUnsupportedError
from .models import (
    AccessControl,
    CableLock,
    ChargerSnapshot,
    DeviceInfo,
    ServiceLevel,
)

RAPI_TIME_STEP_MINUTES = 15
RAPI_TIME_STEPS_MAX = 255


@dataclass(frozen=True, slots=True)
class SessionLimit:
    """A session limit as the charger will apply it (after any rounding)."""

    energy_kwh: float | None
    minutes: int | None
    rounded: bool = False


@dataclass(slots=True)
class ControlSettings:
    """*Charging enabled* and *Charging current limit* as last set through us.

    They are settings, kept across unplug, Home Assistant restarts and
    charger restarts: where a charger forgets them by itself (a restart, a
    released claim) its adapter puts them back, with volatile writes only.
    ``current`` None: no volatile current of ours (the charger's saved one
    applies). ``dirty`` says they changed since they were last saved.
    """

    paused: bool = False
    current: int | None = None
    dirty: bool = field(default=False, compare=False)

    def remember_paused(self, paused: bool) -> None:
        """Take a pause or resume that reached the charger."""
        if paused != self.paused:
            self.paused = paused
            self.dirty = True

    def remember_current(self, amps: int | None) -> None:
        """Take a volatile current that reached the charger (None: the saved one)."""
        if amps != self.current:
            self.current = amps
            self.dirty = True

    def export(self) -> dict[str, Any]:
        """Return what to save (JSON-safe); clears ``dirty``."""
        self.dirty = False
        return {"paused": self.paused, "current": self.current}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what :meth:`export` wrote before a restart."""
        current = data.get("current")
        self.paused = data.get("paused") is True
        self.current = (
            current
            if isinstance(current, int) and not isinstance(current, bool)
            else None
        )
        self.dirty = False


def rapi_time_steps(minutes: int) -> int:
    """Minutes to RAPI ``$S3`` 15-minute steps, rounded up."""
    return math.ceil(minutes / RAPI_TIME_STEP_MINUTES)


class Charger(ABC):
    """One charger: identity, a poll, optional push, and commands.

    Commands a charger cannot do raise :class:`EvseUnsupportedError`; the
    integration only offers what ``snapshot.capabilities`` lists.
    """

    push_only: ClassVar[bool] = False
    """True when the charger connects to us and is never polled (OCPP)."""

    def __init__(self, info: DeviceInfo) -> None:
        """Remember who the charger is."""
        self.info = info
        self.snapshot: ChargerSnapshot | None = None
        self.controls = ControlSettings()

    @property
    @abstractmethod
    def requests(self) -> int:
        """Requests (HTTP or frames) sent so far; benchmarks read this."""

    @abstractmethod
    async def poll(self) -> ChargerSnapshot:
        """Read the charger's state."""

    async def listen(self, on_update: Callable[[ChargerSnapshot], None]) -> None:
        """Receive pushed updates until the connection ends (then return)."""
        raise EvseUnsupportedError("this charger does not push updates")

    async def set_paused(self, paused: bool) -> None:
        """Pause or resume charging without ending the session."""
        raise EvseUnsupportedError("pause")

    async def set_max_current(self, amps: int, *, persist: bool = False) -> None:
        """Change the charging current; volatile unless ``persist``."""
        raise EvseUnsupportedError("max current")

    async def set_fallback_current(self, amps: int) -> None:
        """Write what the charger offers without Home Assistant (persistent).

        A charging group sets it to a current that is safe on its circuit.
        It is a write to the charger's memory: only when it changes.
        """
        raise EvseUnsupportedError("fallback current")

    async def set_service_level(self, level: ServiceLevel) -> None:
        """Choose J1772 service level 1, 2 or automatic detection."""
        raise EvseUnsupportedError("service level")

    async def set_session_limit(
        self, *, energy_kwh: float | None, minutes: int | None
    ) -> SessionLimit:
        """Limit this session by energy and/or time; return what was applied."""
        raise EvseUnsupportedError("session limit")

    async def clear_session_limit(self) -> None:
        """Remove any session limit."""
        raise EvseUnsupportedError("session limit")

    async def set_timer(self, start: time, stop: time) -> None:
        """Only charge between ``start`` and ``stop`` every day."""
        raise EvseUnsupportedError("timer")

    async def clear_timer(self) -> None:
        """Remove the daily charging window."""
        raise EvseUnsupportedError("timer")

    async def restart(self) -> None:
        """Restart the charger's controller."""
        raise EvseUnsupportedError("restart")

    async def set_available(self, available: bool) -> None:
        """Take the charger in or out of service (OCPP ChangeAvailability)."""
        raise EvseUnsupportedError("availability")

    async def unlock(self) -> None:
        """Release the cable from the socket (OCPP UnlockConnector)."""
        raise EvseUnsupportedError("unlock")

    async def set_access_control(self, mode: AccessControl) -> None:
        """Choose who may start a charge (go-e)."""
        raise EvseUnsupportedError("access control")

    async def set_cable_lock(self, mode: CableLock) -> None:
        """Choose when the cable stays locked (go-e)."""
        raise EvseUnsupportedError("cable lock")

    async def set_led_brightness(self, brightness: int) -> None:
        """LED brightness 0..255 (go-e)."""
        raise EvseUnsupportedError("LED")

    async def set_led_energy_saving(self, enabled: bool) -> None:
        """Switch the LEDs off after 10 s (go-e)."""
        raise EvseUnsupportedError("LED")

    async def set_button_current(self, level: int, amps: int) -> None:
        """Set the current of push-button level 1..5; 0 skips the level (go-e)."""
        raise EvseUnsupportedError("button currents")

    async def set_cloud_disabled(self, disabled: bool) -> None:
        """Disable the vendor cloud (go-e)."""
        raise EvseUnsupportedError("cloud")

    async def set_absolute_max_current(self, amps: int) -> None:
        """Cap the current any setting may use (go-e)."""
        raise EvseUnsupportedError("absolute max current")

    def export_state(self) -> dict[str, Any] | None:
        """State worth keeping across a restart (JSON-safe); None = nothing."""
        return None

    def restore_state(self, state: dict[str, Any]) -> None:  # noqa: B027
        """Take back what :meth:`export_state` returned before a restart."""

    async def release_controls(self) -> None:  # noqa: B027 - most keep nothing
        """Hand the charger back to itself: the integration is being removed."""

    async def close(self) -> None:  # noqa: B027 - most adapters hold nothing
        """Release what the adapter holds (the session belongs to the caller)."""
