"""The data coordinator: one per charger, polling or fed by push."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    COMMAND_FOLLOW_UP_SECONDS,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    PUSH_RETRY_INITIAL,
    PUSH_RETRY_MAX,
)
from .limits import SessionLimitEnforcer
from .protocols.charger import Charger
from .protocols.errors import (
    EvseAuthenticationError,
    EvseError,
    EvseUnsupportedError,
)
from .protocols.models import Capability, ChargerSnapshot, ChargeTimer

if TYPE_CHECKING:
    from .energy_manager import EnergyManager

type EvseConfigEntry = ConfigEntry[EvseRuntimeData]

LIMIT_STORAGE_VERSION = 1


def limit_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where an integration-enforced session limit survives restarts."""
    return Store(hass, LIMIT_STORAGE_VERSION, f"{DOMAIN}.session_limit.{entry_id}")


@dataclass(kw_only=True, slots=True)
class EvseRuntimeData:
    """What a loaded entry holds."""

    charger: Charger
    coordinator: EvseCoordinator
    # Solar charging of a charger that is in no group (a group has its own).
    energy: EnergyManager | None = None


class EvseCoordinator(DataUpdateCoordinator[ChargerSnapshot]):
    """Polls the charger; while push is connected, push replaces the poll."""

    config_entry: EvseConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: EvseConfigEntry, charger: Charger
    ) -> None:
        """Poll at the entry's interval (options) until push takes over."""
        self.charger = charger
        self.poll_interval = timedelta(
            seconds=entry.options.get(
                CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL.total_seconds()
            )
        )
        self.push_connected = False
        # The last daily window seen, so the timer switch can turn it back on.
        self.timer_window: ChargeTimer | None = None
        self._follow_up: asyncio.Task[None] | None = None
        self.limits = SessionLimitEnforcer()
        self._limit_store = limit_store(hass, entry.entry_id)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=self.poll_interval,
            always_update=False,
        )

    @staticmethod
    def enforces_limits(snapshot: ChargerSnapshot) -> bool:
        """Whether session limits are the integration's job for this charger."""
        capabilities = snapshot.capabilities
        return Capability.PAUSE in capabilities and not capabilities & {
            Capability.ENERGY_LIMIT,
            Capability.TIME_LIMIT,
        }

    async def async_restore_limits(self) -> None:
        """Take back a session limit set before Home Assistant restarted."""
        self.limits.restore(await self._limit_store.async_load())

    def _after_read(self, snapshot: ChargerSnapshot) -> ChargerSnapshot:
        """Apply integration-enforced session limits to a fresh snapshot."""
        if not self.enforces_limits(snapshot):
            return snapshot
        if self.limits.update(snapshot, dt_util.utcnow()):
            LOGGER.info("%s: session limit reached, pausing", self.name)
            self.config_entry.async_create_background_task(
                self.hass, self._async_pause_at_limit(), f"{self.name} session limit"
            )
        self._async_save_limits()
        return self.limits.decorate(snapshot)

    @callback
    def _async_save_limits(self) -> None:
        if self.limits.dirty:
            self.config_entry.async_create_background_task(
                self.hass,
                self._limit_store.async_save(self.limits.stored()),
                f"{self.name} save session limit",
            )

    @callback
    def async_limits_changed(self) -> None:
        """Show a limit the user just set or cleared, without a new read."""
        self._async_save_limits()
        self.async_set_updated_data(self.limits.decorate(self.data))

    async def _async_pause_at_limit(self) -> None:
        try:
            await self.charger.set_paused(True)
        except EvseError as err:
            LOGGER.warning(
                "%s: could not pause at the session limit: %s", self.name, err
            )
            return
        await self.async_refresh()

    async def _async_update_data(self) -> ChargerSnapshot:
        try:
            return self._after_read(await self.charger.poll())
        except EvseAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_failed"
            ) from err
        except EvseError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err)},
            ) from err

    async def async_refresh_after_command(self) -> None:
        """Show the state the charger confirms: now, and once more shortly.

        The second read is for polled chargers, where a resumed car starts
        drawing current a moment after the command; pushed changes need none.
        """
        await self.async_refresh()
        if self.push_connected:
            return
        if self._follow_up is not None:
            self._follow_up.cancel()
        self._follow_up = self.config_entry.async_create_background_task(
            self.hass, self._async_follow_up(), f"{self.name} follow-up read"
        )

    async def _async_follow_up(self) -> None:
        await asyncio.sleep(COMMAND_FOLLOW_UP_SECONDS)
        await self.async_refresh()

    @callback
    def async_update_listeners(self) -> None:
        """Remember the timer window, then update the entities."""
        if self.data is not None and self.data.timer is not None:
            self.timer_window = self.data.timer
        super().async_update_listeners()

    @callback
    def _async_pushed(self, snapshot: ChargerSnapshot) -> None:
        if not self.push_connected:
            self.push_connected = True
            # Push is live: no polling until it drops.
            self.update_interval = None
            LOGGER.debug("%s: push connected, polling stopped", self.name)
        self.async_set_updated_data(self._after_read(snapshot))

    async def async_run_push(self) -> None:
        """Keep the push connection up for the entry's lifetime.

        When it drops, poll at once (so entities go unavailable within one
        poll if the charger is gone), resume polling, and reconnect with
        backoff; a charger that comes back is picked up within seconds.
        """
        delay = PUSH_RETRY_INITIAL
        while True:
            try:
                await self.charger.listen(self._async_pushed)
            except EvseUnsupportedError:
                LOGGER.debug("%s: no push channel, polling only", self.name)
                return
            except EvseError as err:
                LOGGER.debug("%s: push connection failed: %s", self.name, err)
            if self.push_connected:
                delay = PUSH_RETRY_INITIAL
                LOGGER.debug("%s: push disconnected, polling again", self.name)
            self.push_connected = False
            self.update_interval = self.poll_interval
            await self.async_refresh()
            await asyncio.sleep(delay)
            delay = min(delay * 2, PUSH_RETRY_MAX)
