"""Diagnostics: useful, and without secrets."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from simulators import Simulator, start_simulator

from .conftest import add_charger


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    any_sim: Simulator,
) -> None:
    """Each kind's diagnostics, with the address masked for a stable snapshot."""
    any_sim.model.plug_in()
    any_sim.advance(120)
    entry = await add_charger(hass, any_sim)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # Whether a push made the plug-in a session by now depends on timing; the
    # ledger's tests check what diagnostics say of sessions.
    assert diagnostics == snapshot(
        exclude=props("host", "requests_sent", "push_connected", "open_session")
    )


async def test_diagnostics_redact_credentials(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, socket_enabled: None
) -> None:
    """Passwords and user names never appear."""
    async with start_simulator("legacy", username="admin", password="hunter2") as sim:
        entry = await add_charger(hass, sim, username="admin", password="hunter2")
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = str(diagnostics)
    assert "hunter2" not in text
    assert "admin" not in text
    entry_data = diagnostics["entry"]
    assert isinstance(entry_data, dict)
    assert entry_data["data"] == {
        "host": sim.host,
        "username": "**REDACTED**",
        "password": "**REDACTED**",
    }
