"""Setting up and unloading entries; what happens when that cannot work."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_local.const import DOMAIN
from simulators import Simulator, start_simulator

from .conftest import add_charger


async def test_setup_and_unload(hass: HomeAssistant, any_sim: Simulator) -> None:
    """An entry loads, and unloads cleanly (push task included)."""
    entry = await add_charger(hass, any_sim)
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_unreachable_charger_retries(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """A charger that is off at start-up: retried later, not an error."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=current_sim.identity.serial,
        data={CONF_HOST: current_sim.host},
    )
    entry.add_to_hass(hass)
    await current_sim.stop()
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "Could not connect" in (entry.reason or "")


async def test_wrong_password_starts_reauth(hass: HomeAssistant) -> None:
    """Credentials changed on the charger: the user is asked for new ones."""
    async with start_simulator("current", username="admin", password="new") as sim:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=sim.identity.serial,
            data={CONF_HOST: sim.host, CONF_USERNAME: "admin", CONF_PASSWORD: "old"},
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_other_charger_at_the_address(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Another charger now answers at the stored address: never mix data."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="SOMEONE-ELSE", data={CONF_HOST: current_sim.host}
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "different charger" in entry.reason


async def test_reauth_during_operation(hass: HomeAssistant) -> None:
    """A 401 while polling starts re-authentication."""
    async with start_simulator("goplug", username="admin", password="pw") as sim:
        entry = await add_charger(hass, sim, username="admin", password="pw")
        sim.credentials = ("admin", "changed")
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
