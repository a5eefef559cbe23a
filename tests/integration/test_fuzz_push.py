"""Fuzzed /ws frames through the simulator into a running Home Assistant.

Each example pushes a burst of generated frames (valid, odd, broken) to the
integration's live websocket, then a real change on the charger. Whatever
the frames did, the coordinator must end sane: push reconnected, polling
off again, the change shown, and nothing escaping into the event loop or
logged as an error.
"""

from __future__ import annotations

import logging

import pytest
from homeassistant.core import HomeAssistant
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulators import Simulator
from tests.fuzz import FUZZ, documents, dump, json_values, numbers

from .conftest import add_charger, state_of, wait_for

STATE = "sensor.openevse_0e5e_state"
KEYS = ["state", "amp", "voltage", "total_energy", "session_energy", "temp1"]
# Mostly status deltas with any number in the fields the integration reads.
deltas = st.fixed_dictionaries({}, optional=dict.fromkeys(KEYS, numbers))
frames = st.lists(
    st.one_of(
        deltas.map(dump),
        deltas.map(dump),
        documents(KEYS).map(dump),
        json_values.map(dump),
        st.text(max_size=20),
    ),
    min_size=1,
    max_size=4,
)


# Ending a session from our side re-arms aiohttp's heartbeat timer once.
@pytest.mark.parametrize("expected_lingering_timers", [True])
@settings(FUZZ, max_examples=8)
@given(burst=frames)
# The frames, always among the examples.
@example(burst=['{"state":1e999}'])
@example(burst=['{"state":NaN}', '{"amp":1' + "0" * 400 + "}"])
async def test_fuzzed_frames_leave_the_coordinator_sane(
    hass: HomeAssistant,
    current_sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    burst: list[str],
) -> None:
    entries = hass.config_entries.async_entries("evse_local")
    entry = entries[0] if entries else await add_charger(hass, current_sim)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.push_connected, timeout=10)
    caplog.clear()
    for text in burst:
        current_sim.push_raw(text)
    # A real change right behind the burst: it must show, pushed or polled.
    if current_sim.model.connected:
        current_sim.model.unplug()
        expected = "not_connected"
    else:
        current_sim.model.plug_in()
        expected = "connected"
    await wait_for(lambda: state_of(hass, STATE).state == expected, timeout=10)
    await wait_for(lambda: coordinator.push_connected, timeout=10)
    assert coordinator.update_interval is None
    assert coordinator.last_update_success
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]
