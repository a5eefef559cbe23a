"""State codes, the base charger's refusals and the RAPI time steps."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from custom_components.evse_local.protocols.charger import Charger, rapi_time_steps
from custom_components.evse_local.protocols.errors import (
    EvseCommandBlockedError,
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseError,
    EvseProtocolError,
    EvseTimeoutError,
    EvseUnsupportedError,
    EvseVehicleRequiredError,
)
from custom_components.evse_local.protocols.models import (
    FAULT_STATES,
    AccessControl,
    ApiGeneration,
    CableLock,
    ChargerSnapshot,
    ChargerState,
    DeviceInfo,
    ServiceLevel,
    state_from_code,
)

from .peers import RAPI_DIR, load_object


@pytest.mark.parametrize(
    ("code", "state"),
    [
        (0x00, ChargerState.STARTING),
        (0x01, ChargerState.NOT_CONNECTED),
        (0x02, ChargerState.CONNECTED),
        (0x03, ChargerState.CHARGING),
        (0x04, ChargerState.VENT_REQUIRED),
        (0x05, ChargerState.DIODE_CHECK_FAILED),
        (0x06, ChargerState.GFCI_FAULT),
        (0x07, ChargerState.NO_GROUND),
        (0x08, ChargerState.STUCK_RELAY),
        (0x09, ChargerState.GFCI_SELF_TEST_FAILED),
        (0x0A, ChargerState.OVER_TEMPERATURE),
        (0x0B, ChargerState.OVER_CURRENT),
        (0x0C, ChargerState.FAULT),
        (0x0E, ChargerState.RELAY_CLOSURE_FAULT),
        (254, ChargerState.SLEEPING),
        (255, ChargerState.DISABLED),
    ],
)
def test_state_from_code(code: int, state: ChargerState) -> None:
    assert state_from_code(code) is state


@pytest.mark.parametrize("code", [256, -1, 100_000])
def test_state_code_out_of_range_is_garbage(code: int) -> None:
    """Not a state at all: the poll fails instead of inventing one."""
    with pytest.raises(EvseProtocolError, match="out of range"):
        state_from_code(code)


def test_every_firmware_state_is_mapped(peers: Path) -> None:
    """The EVSE_STATE table of J1772EvseController.h (fw 8.2.3)."""
    constants = load_object(RAPI_DIR / "rapi_commands_latest.json")[
        "constants_from_J1772EvseController_h"
    ]
    names = {int(code, 16): name for code, name in constants["EVSE_STATE"].items()}
    assert names[0xFE] == "SLEEPING"
    for code in names:
        state = state_from_code(code)
        assert state is not ChargerState.STARTING or code == 0
        assert (state in FAULT_STATES) is (0x04 <= code <= 0x0E)


def test_errors_hierarchy() -> None:
    blocked = EvseCommandBlockedError("$FS^31", "RAPI_RESPONSE_BLOCKED")
    assert isinstance(blocked, EvseCommandRejectedError)
    assert str(blocked) == "$FS^31 was rejected: RAPI_RESPONSE_BLOCKED"
    assert str(EvseVehicleRequiredError("$S3")) == "$S3 was rejected: no detail"
    assert issubclass(EvseTimeoutError, EvseConnectionError)
    for error in (EvseProtocolError, EvseUnsupportedError, EvseConnectionError):
        assert issubclass(error, EvseError)


@pytest.mark.parametrize(
    ("minutes", "steps"), [(0, 0), (1, 1), (15, 1), (16, 2), (3825, 255)]
)
def test_rapi_time_steps(minutes: int, steps: int) -> None:
    assert rapi_time_steps(minutes) == steps


class _Minimal(Charger):
    @property
    def requests(self) -> int:
        return 0

    async def poll(self) -> ChargerSnapshot:
        self.snapshot = ChargerSnapshot(state=ChargerState.STARTING)
        return self.snapshot


async def test_base_charger_refuses_every_command() -> None:
    charger = _Minimal(
        DeviceInfo(
            serial=None,
            manufacturer="x",
            model="y",
            generation=ApiGeneration.RAPI,
        )
    )
    assert (await charger.poll()).temperatures == (None, None, None)
    assert charger.snapshot is not None
    assert charger.snapshot.capabilities == frozenset()
    calls = [
        charger.listen(lambda snapshot: None),
        charger.set_paused(True),
        charger.set_max_current(16),
        charger.set_service_level(ServiceLevel.AUTO),
        charger.set_session_limit(energy_kwh=1, minutes=None),
        charger.clear_session_limit(),
        charger.set_timer(time(1), time(2)),
        charger.clear_timer(),
        charger.restart(),
        charger.set_access_control(AccessControl.OPEN),
        charger.set_cable_lock(CableLock.ALWAYS_LOCKED),
        charger.set_led_brightness(10),
        charger.set_led_energy_saving(True),
        charger.set_button_current(1, 16),
        charger.set_cloud_disabled(True),
        charger.set_absolute_max_current(16),
    ]
    for call in calls:
        with pytest.raises(EvseUnsupportedError):
            await call
    await charger.close()
