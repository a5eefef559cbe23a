"""The data coordinator: one per charger, polling or fed by push."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
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
from .id_tags import async_track_local_list
from .limits import UNPLUG_READINGS, SessionLimitEnforcer
from .protocols.charger import Charger
from .protocols.errors import (
    EvseAuthenticationError,
    EvseConnectionError,
    EvseError,
    EvseUnsupportedError,
)
from .protocols.models import Capability, ChargerSnapshot, ChargerState, ChargeTimer
from .protocols.ocpp import OcppCharger
from .protocols.ocpp.authorization import LocalListStatus

LIMIT_STORAGE_VERSION = 1
CHARGER_STORAGE_VERSION = 1
CONTROLS_STORAGE_VERSION = 1
# Pause and current limit are saved this long after they changed (at once at
# unload): a solar controller changes the current every step, a write each
# time would wear an SD card.
CONTROLS_SAVE_DELAY = 60.0
# Near an enforced limit, poll this often to time the pause well.
LIMIT_POLL_INTERVAL = timedelta(seconds=2)
# A push-only charger's state is saved this long after its status, transaction
# or set of reported values changed (and at unload and shutdown), never for a
# meter reading alone.
CHARGER_SAVE_DELAY = 5.0
SNAPSHOT_FIELDS = tuple(field.name for field in fields(ChargerSnapshot))

# Stamps for reads and commands, in the order they happened (a counter, not
# a clock: two events in the same clock tick must still be told apart).
_STAMPS = itertools.count(1)


def next_stamp() -> int:
    """Return a stamp later than every read and command stamped so far."""
    return next(_STAMPS)


def limit_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where an integration-enforced session limit survives restarts."""
    return Store(hass, LIMIT_STORAGE_VERSION, f"{DOMAIN}.session_limit.{entry_id}")


def charger_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where a push-only charger's last state survives restarts."""
    return Store(hass, CHARGER_STORAGE_VERSION, f"{DOMAIN}.charger.{entry_id}")


def controls_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where *Charging enabled* and *Charging current limit* survive restarts."""
    return Store(hass, CONTROLS_STORAGE_VERSION, f"{DOMAIN}.controls.{entry_id}")


class EvseCoordinator(DataUpdateCoordinator[ChargerSnapshot]):
    """Polls the charger; while push is connected, push replaces the poll."""

    config_entry: ConfigEntry[Any]

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], charger: Charger
    ) -> None:
        """Poll at the entry's interval (options) until push takes over."""
        self.charger = charger
        self.poll_interval = timedelta(
            seconds=entry.options.get(
                CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL.total_seconds()
            )
        )
        self.push_connected = False
        self.last_read_at: int | None = None
        """The stamp (``next_stamp``) of the last read of the charger."""
        self.read_time: datetime | None = None
        """When the data was read (or pushed)."""
        # The last daily window seen, so the timer switch can turn it back on.
        self.timer_window: ChargeTimer | None = None
        self._follow_up: asyncio.Task[None] | None = None
        # A pushed unplug is an event; a polled one is confirmed by a second
        # reading (one odd reading is no unplug).
        self.limits = SessionLimitEnforcer(
            unplug_readings=1 if charger.push_only else UNPLUG_READINGS
        )
        self._limit_store = limit_store(hass, entry.entry_id)
        self._limit_timer: CALLBACK_TYPE | None = None
        self._limit_resume: asyncio.Task[None] | None = None
        self._controls_store = controls_store(hass, entry.entry_id)
        self._controls_unsaved = False
        self._charger_store = charger_store(hass, entry.entry_id)
        self._saved_shape: tuple[Any, ...] | None = None
        self._device_info_shown = charger.info
        self._profiles_refused_shown = False
        # An outage was logged: its end gets one line too (push chargers;
        # Home Assistant's coordinator logs a poll's recovery itself).
        self._outage_logged = False
        self._local_list_shown = LocalListStatus.UNMANAGED
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            # A charger that connects to us pushes everything: never poll it.
            update_interval=None if charger.push_only else self.poll_interval,
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
        """Take back the session limit, pause and current set before a restart.

        The charger's first read puts back a pause or current it forgot.
        """
        self.limits.restore(await self._limit_store.async_load())
        if (controls := await self._controls_store.async_load()) is not None:
            self.charger.controls.restore(controls)

    @callback
    def _async_save_controls(self) -> None:
        if self.charger.controls.dirty:
            self.charger.controls.dirty = False
            self._controls_unsaved = True
            self._controls_store.async_delay_save(
                self._export_controls, CONTROLS_SAVE_DELAY
            )

    def _export_controls(self) -> dict[str, Any]:
        self._controls_unsaved = False
        return self.charger.controls.export()

    async def async_shutdown(self) -> None:
        """Stop the limit timer; save a changed pause or current now."""
        if self._limit_timer is not None:
            self._limit_timer()
            self._limit_timer = None
        if self._controls_unsaved or self.charger.controls.dirty:
            await self._controls_store.async_save(self._export_controls())
        await super().async_shutdown()

    async def async_restore_charger(self) -> None:
        """Take back a push-only charger's last state, so its entities exist.

        Until the charger connects, the entities show as unavailable, never
        the restored values.
        """
        if (saved := await self._charger_store.async_load()) is not None:
            self.charger.restore_state(saved)

    @callback
    def async_start_disconnected(self) -> None:
        """Start a push-only charger's entities before it has connected."""
        # Nothing restored (a charger that never connected): entities appear
        # as the charger reports what it has.
        snapshot = self.charger.snapshot or ChargerSnapshot(
            state=ChargerState.UNDETERMINED
        )
        self.data = self.limits.decorate(snapshot)
        # Waiting for a charger's first connection is no outage.
        self._async_mark_disconnected(log=False)

    @callback
    def _async_mark_disconnected(self, *, log: bool = True) -> None:
        """Make the entities unavailable: the charger's connection is gone.

        A charger that reboots or loses WiFi is routine for a server, so
        this is one INFO line per outage (``async_set_update_error`` would
        log an ERROR).
        """
        self.last_exception = UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="not_connected",
            translation_placeholders={"charger": self.config_entry.title},
        )
        if self.last_update_success:
            self.last_update_success = False
            if log:
                self._log_outage()
            self.async_update_listeners()

    def _log_outage(self) -> None:
        self._outage_logged = True
        LOGGER.info("%s is unavailable: %s", self.name, self.last_exception)

    async def _async_refresh(
        self,
        log_failures: bool = True,
        raise_on_auth_failed: bool = False,
        scheduled: bool = False,
        raise_on_entry_error: bool = False,
    ) -> None:
        """Refresh; a failure starting an outage is one INFO line, not an ERROR.

        Home Assistant's coordinator logs the first failed poll as an ERROR
        and the recovery as INFO. A WiFi blip is routine: both are INFO here,
        once per outage (the log-when-unavailable rule). Unexpected
        exceptions are still logged with their traceback.
        """
        was_available = self.last_update_success
        await super()._async_refresh(
            log_failures=False,
            raise_on_auth_failed=raise_on_auth_failed,
            scheduled=scheduled,
            raise_on_entry_error=raise_on_entry_error,
        )
        if self.last_update_success:
            self._outage_logged = False
        elif was_available and log_failures:
            self._log_outage()

    async def async_save_charger(self) -> None:
        """Save a push-only charger's state now (the entry is unloading)."""
        if (state := self.charger.export_state()) is not None:
            await self._charger_store.async_save(state)

    @callback
    def _async_save_charger(self, snapshot: ChargerSnapshot | None = None) -> None:
        """Save a push-only charger's state when its shape changed.

        Meter readings alone are not worth a disk write (every 10 s per
        charger would wear an SD card; the lifetime energy sensor keeps its
        own restore data): what entities exist, the status and the
        transaction are. Without a snapshot (a disconnect) it always saves.
        """
        if snapshot is not None:
            shape = (
                snapshot.state,
                snapshot.ocpp_status,
                snapshot.transaction_id,
                snapshot.paused,
                tuple(
                    name
                    for name in SNAPSHOT_FIELDS
                    if getattr(snapshot, name) is not None
                ),
            )
            if shape == self._saved_shape:
                return
            self._saved_shape = shape
        # The data function runs at write time: nothing is serialised per frame.
        self._charger_store.async_delay_save(
            self._export_charger_state, CHARGER_SAVE_DELAY
        )

    def _export_charger_state(self) -> dict[str, Any]:
        return self.charger.export_state() or {}

    def _after_read(self, snapshot: ChargerSnapshot) -> ChargerSnapshot:
        """Apply integration-enforced session limits to a fresh snapshot."""
        self.read_time = dt_util.utcnow()
        self._async_save_controls()
        if not self.enforces_limits(snapshot):
            return snapshot
        now = dt_util.utcnow()
        if self.limits.update(snapshot, now):
            self._async_limit_reached(snapshot)
        elif self.limits.resume_due:
            self._async_end_limit_pause()
        self._async_plan_limit(snapshot, now)
        self._async_save_limits()
        return self.limits.decorate(snapshot)

    @callback
    def _async_plan_limit(self, snapshot: ChargerSnapshot, now: datetime) -> None:
        """Time the pause to the predicted end, not to a later reading.

        Waiting for the reading that shows the limit reached would pause up
        to a whole interval late (30 Wh at 11 kW with 10 s polls). Close to
        the limit a polled charger is also read more often, so the
        prediction follows the car.
        """
        if self._limit_timer is not None:
            self._limit_timer()
            self._limit_timer = None
        polled = not self.charger.push_only and not self.push_connected
        seconds = self.limits.seconds_left(snapshot, now)
        if seconds is None or seconds > 2 * self.poll_interval.total_seconds():
            if polled:
                self.update_interval = self.poll_interval
            return
        self._limit_timer = async_call_later(
            self.hass, max(0.0, seconds), self._async_limit_due
        )
        if polled:
            self.update_interval = min(self.poll_interval, LIMIT_POLL_INTERVAL)

    @callback
    def _async_limit_due(self, _now: datetime) -> None:
        self._limit_timer = None
        if self.limits.reach() and self.data is not None:
            self._async_limit_reached(self.data)
            self._async_save_limits()

    @callback
    def _async_limit_reached(self, snapshot: ChargerSnapshot) -> None:
        if snapshot.paused:
            # Paused already (by hand): not the limit's pause to end later.
            LOGGER.info("%s: session limit reached while paused", self.name)
            return
        LOGGER.info("%s: session limit reached, pausing", self.name)
        # A short command: a tracked task (not a background one), finished
        # before Home Assistant counts as idle.
        self.config_entry.async_create_task(
            self.hass, self._async_pause_at_limit(), f"{self.name} session limit"
        )

    @callback
    def _async_end_limit_pause(self) -> None:
        """Enable charging again: the session of the limit's pause is over."""
        if self._limit_resume is not None and not self._limit_resume.done():
            return
        charger = self.charger
        if isinstance(charger, OcppCharger) and charger.station.profiles_refused:
            # That pause was a RemoteStop: the session ended with it, and the
            # next one starts unpaused by itself.
            self.limits.limit_pause_ended()
            return
        self._limit_resume = self.config_entry.async_create_task(
            self.hass, self._async_resume_after_limit(), f"{self.name} limit over"
        )

    async def _async_resume_after_limit(self) -> None:
        try:
            await self.charger.set_paused(False)
        except EvseError as err:
            # Tried again at the next reading.
            LOGGER.warning(
                "%s: could not end the session limit's pause: %s", self.name, err
            )
            return
        LOGGER.info("%s: the limit's session is over, charging enabled", self.name)
        self.limits.limit_pause_ended()
        await self.async_refresh()

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

    async def async_set_paused(self, paused: bool) -> None:
        """Pause or resume by hand: a limit's pause becomes the user's."""
        await self.charger.set_paused(paused)
        self.limits.limit_pause_ended()
        self._async_save_limits()

    async def _async_pause_at_limit(self) -> None:
        try:
            await self.charger.set_paused(True)
        except EvseError as err:
            LOGGER.warning(
                "%s: could not pause at the session limit (tried again at the "
                "next reading): %s",
                self.name,
                err,
            )
            self.limits.pause_failed()
            self._async_save_limits()
            return
        self.limits.limit_pause_made()
        self._async_save_limits()
        await self.async_refresh()

    async def _async_update_data(self) -> ChargerSnapshot:
        try:
            snapshot = await self.charger.poll()
            self.last_read_at = next_stamp()
            return self._after_read(snapshot)
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
        A push-only charger whose connection has just gone away (its push
        task has not noticed yet) is marked unavailable, not logged as an
        error, as when the push task notices.
        """
        if self.charger.push_only:
            try:
                snapshot = await self.charger.poll()
            except EvseConnectionError:
                self._async_mark_disconnected()
                return
            self.last_read_at = next_stamp()
            self.async_set_updated_data(self._after_read(snapshot))
            return
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
        if isinstance(self.charger, OcppCharger):
            self._async_follow_ocpp_charger(self.charger)
        super().async_update_listeners()

    @callback
    def _async_follow_ocpp_charger(self, charger: OcppCharger) -> None:
        """Show what an OCPP charger told us since setup.

        Its identity arrives with BootNotification, possibly after setup;
        a charger that refuses charging profiles gets a repair issue (pause
        then ends the transaction instead of keeping it).
        """
        info = charger.info
        if info != self._device_info_shown:
            self._device_info_shown = info
            registry = dr.async_get(self.hass)
            if device := registry.async_get_device_by_identifier(
                (DOMAIN, info.serial or ""), self.config_entry.entry_id
            ):
                registry.async_update_device(
                    device.id,
                    manufacturer=info.manufacturer,
                    model=info.model,
                    sw_version=info.firmware,
                )
        list_status = charger.station.local_list_status
        if list_status is not self._local_list_shown:
            self._local_list_shown = list_status
            async_track_local_list(self.hass, self.config_entry, list_status)
        refused = charger.station.profiles_refused
        if refused == self._profiles_refused_shown:
            return
        self._profiles_refused_shown = refused
        issue_id = f"ocpp_profiles_refused_{self.config_entry.entry_id}"
        if refused:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="ocpp_profiles_refused",
                translation_placeholders={"charger": self.config_entry.title},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def _async_pushed(self, snapshot: ChargerSnapshot) -> None:
        self.last_read_at = next_stamp()
        if self.charger.push_only:
            self._async_save_charger(snapshot)
        if not self.push_connected:
            self.push_connected = True
            # Push is live: no polling until it drops.
            self.update_interval = None
            LOGGER.debug("%s: push connected, polling stopped", self.name)
        if self._outage_logged:
            self._outage_logged = False
            LOGGER.info("%s data recovered (push)", self.name)
        self.async_set_updated_data(self._after_read(snapshot))

    async def async_run_push(self) -> None:
        """Keep the push connection up for the entry's lifetime.

        When it drops, poll at once (so entities go unavailable within one
        poll if the charger is gone), resume polling, and reconnect with
        backoff; a charger that comes back is picked up within seconds.
        Whatever ends a live session (a frame that cannot be trusted, a
        failed re-read, a bug) counts as a drop: stale data is never left
        showing as live.
        """
        delay = PUSH_RETRY_INITIAL
        while True:
            try:
                await self.charger.listen(self._async_pushed)
            except EvseUnsupportedError as err:
                if not self.push_connected:
                    LOGGER.debug("%s: no push channel, polling only", self.name)
                    return
                LOGGER.debug("%s: push session failed: %s", self.name, err)
            except EvseError as err:
                LOGGER.debug("%s: push connection failed: %s", self.name, err)
            except Exception:  # noqa: BLE001 - the task must outlive a bug
                # A bug, not the charger: say so loudly, and keep the data honest.
                LOGGER.exception("%s: unexpected error in the push session", self.name)
            if self.charger.push_only:
                # Nothing to poll: the charger is gone until it reconnects,
                # and ``listen`` waits for that. Unavailable at once.
                self.push_connected = False
                self._async_save_charger()
                self._async_mark_disconnected()
                await asyncio.sleep(PUSH_RETRY_INITIAL)
                continue
            if self.push_connected:
                delay = PUSH_RETRY_INITIAL
                LOGGER.debug("%s: push disconnected, polling again", self.name)
            self.push_connected = False
            self.update_interval = self.poll_interval
            await self.async_refresh()
            await asyncio.sleep(delay)
            delay = min(delay * 2, PUSH_RETRY_MAX)
