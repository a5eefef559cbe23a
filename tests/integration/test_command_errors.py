"""Commands from entities that fail: translated errors, never a crash."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.helpers import translate_error
from custom_components.evse_local.protocols.errors import (
    EvseAuthenticationError,
    EvseCommandBlockedError,
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseError,
    EvseProtocolError,
    EvseUnsupportedError,
    EvseVehicleRequiredError,
)
from simulators import Simulator, start_simulator

from .conftest import add_charger


@pytest.mark.parametrize(
    ("error", "key", "validation"),
    [
        (EvseVehicleRequiredError("$SH", "$NK^21"), "vehicle_required", True),
        (EvseAuthenticationError("401"), "authentication_failed", False),
        (
            EvseCommandBlockedError("$SC", "RAPI_RESPONSE_BLOCKED"),
            "command_blocked",
            False,
        ),
        (EvseCommandRejectedError("$SC", "$NK 6^37"), "command_rejected", False),
        (EvseConnectionError("refused"), "communication_error", False),
        (EvseUnsupportedError("timer"), "not_supported", False),
        (EvseProtocolError("bad checksum"), "command_failed", False),
    ],
)
def test_translate_error(error: EvseError, key: str, validation: bool) -> None:
    """Every protocol error has its own translated message."""
    translated = translate_error(error, "Garage")
    assert translated.translation_key == key
    assert isinstance(translated, ServiceValidationError) is validation
    assert translated.translation_placeholders == {
        "charger": "Garage",
        "error": str(error),
    }


async def test_switch_on_unreachable_charger(
    hass: HomeAssistant, goplug_sim: Simulator
) -> None:
    """Pausing a charger that just vanished says it could not be reached."""
    await add_charger(hass, goplug_sim)
    await goplug_sim.stop()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            Platform.SWITCH,
            "turn_off",
            {ATTR_ENTITY_ID: "switch.goplug_pro_32_0e5e_charging_enabled"},
            blocking=True,
        )
    assert err.value.translation_key == "communication_error"


async def test_command_rejected_for_credentials_starts_reauth(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A 401 on a command asks the user for new credentials."""
    async with start_simulator(
        "current", identity_seed=0xE5E, username="admin", password="pw"
    ) as sim:
        await add_charger(hass, sim, username="admin", password="pw")
        sim.credentials = ("admin", "other")
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                Platform.BUTTON,
                "press",
                {ATTR_ENTITY_ID: "button.openevse_0e5e_restart"},
                blocking=True,
            )
        assert err.value.translation_key == "authentication_failed"
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
