"""Repair issues for command failures only a firmware update can fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from unittest.mock import patch

import pytest
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.protocols.errors import EvseCommandBlockedError
from custom_components.evse_local.protocols.openevse_http.json_api import (
    OpenEvseJsonCharger,
)
from simulators import GoeFault, GoeSimulator, Simulator, start_simulator

from .conftest import add_charger, state_of


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncIterator[GoeSimulator]:
    """A go-e Charger with Modbus TCP on loopback."""
    async with start_simulator("goe", identity_seed=0xE5E) as sim:
        yield sim


async def test_ignored_write_raises_a_repair(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry, goe_sim: GoeSimulator
) -> None:
    """A go-e that keeps its old value: an error now, a repair until fixed."""
    entry = await add_charger(hass, goe_sim)
    number = "number.go_echarger_3678_charging_current_limit"
    goe_sim.inject(GoeFault.IGNORE_WRITE)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            Platform.NUMBER,
            "set_value",
            {ATTR_ENTITY_ID: number, "value": 10},
            blocking=True,
        )
    assert err.value.translation_key == "command_rejected"
    issue = issue_registry.async_get_issue(
        DOMAIN, f"writes_not_applied_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["charger"] == entry.title
    # The charger shows what it really has, not what was asked.
    assert state_of(hass, number).state == "16"

    await hass.services.async_call(
        Platform.NUMBER,
        "set_value",
        {ATTR_ENTITY_ID: number, "value": 10},
        blocking=True,
    )
    assert state_of(hass, number).state == "10"
    assert (
        issue_registry.async_get_issue(DOMAIN, f"writes_not_applied_{entry.entry_id}")
        is None
    )


async def test_blocked_command_raises_a_repair(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry, current_sim: Simulator
) -> None:
    """A firmware that blocks what we need: the user is told what to do.

    The JSON-API adapter never sends a command this firmware blocks, so the
    refusal is staged at the adapter.
    """
    entry = await add_charger(hass, current_sim)
    with (
        patch.object(
            OpenEvseJsonCharger,
            "set_paused",
            side_effect=EvseCommandBlockedError("$FS^30", "RAPI_RESPONSE_BLOCKED"),
        ),
        pytest.raises(HomeAssistantError),
    ):
        await hass.services.async_call(
            Platform.SWITCH,
            "turn_off",
            {ATTR_ENTITY_ID: "switch.openevse_0e5e_charging_enabled"},
            blocking=True,
        )
    issue_id = f"firmware_blocks_command_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.services.async_call(
        DOMAIN,
        "set_max_current",
        {"config_entry_id": entry.entry_id, "current": 12},
        blocking=True,
    )
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
