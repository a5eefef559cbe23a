"""The shared J1772 model, driven directly with a deterministic clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulators import EvseModel, EvseState, FaultKind, GatewayLimit, Mode, ServiceLevel
from simulators.model import DRAW_MARGIN_MA, EVENT_BOOT, EVENT_UNPLUG, VFlags


def state_of(model: EvseModel) -> EvseState:
    """Read the state through a call, so that type checkers do not narrow it."""
    return model.state


def mode_of(model: EvseModel) -> Mode:
    return model.mode


def charging_model(
    *, eeprom_current: int = 32, voltage: float = 240.0, total_wh: float = 0.0
) -> EvseModel:
    model = EvseModel(eeprom_current=eeprom_current, voltage=voltage, total_wh=total_wh)
    model.plug_in()
    model.advance(0)
    return model


def test_plug_in_connects_then_charges_when_time_passes() -> None:
    model = EvseModel()
    assert state_of(model) == EvseState.NOT_CONNECTED
    model.plug_in()
    assert state_of(model) == EvseState.CONNECTED
    model.plug_in()  # idempotent
    model.advance(1)
    assert state_of(model) == EvseState.CHARGING
    assert model.relay_closures == 1


def test_energy_accumulates_deterministically() -> None:
    model = charging_model(eeprom_current=32, voltage=240.0, total_wh=1000.0)
    model.advance(60)
    assert model.measured_milliamps == 32000 - DRAW_MARGIN_MA
    assert model.power_watts == pytest.approx(31.75 * 240)
    assert model.session_ws == pytest.approx(31.75 * 240 * 60)
    assert model.total_wh == pytest.approx(1000 + 31.75 * 240 * 60 / 3600)
    assert model.elapsed == 60


def test_ev_max_current_limits_the_draw() -> None:
    model = charging_model(eeprom_current=32)
    model.ev_max_current = 16
    assert model.measured_milliamps == 16000 - DRAW_MARGIN_MA


def test_ev_not_ready_stays_connected() -> None:
    model = EvseModel()
    model.set_ev_ready(False)
    model.plug_in()
    model.advance(100)
    assert state_of(model) == EvseState.CONNECTED
    assert model.pilot_state == EvseState.CONNECTED
    assert model.session_ws == 0
    model.set_ev_ready(True)
    model.advance(1)
    assert model.charging


def test_pause_keeps_session_and_resume_continues_it() -> None:
    model = charging_model()
    model.advance(600)
    energy, elapsed = model.session_ws, model.elapsed
    model.set_mode(Mode.SLEEP)
    assert state_of(model) == EvseState.SLEEPING
    assert model.connected
    model.advance(600)
    assert (model.session_ws, model.elapsed) == (energy, elapsed)
    assert model.measured_milliamps == 0
    model.set_mode(Mode.ACTIVE)
    assert state_of(model) == EvseState.CONNECTED
    model.advance(60)
    assert state_of(model) == EvseState.CHARGING
    assert model.session_ws > energy
    assert model.elapsed == elapsed + 60


def test_unplug_ends_session_values_kept_until_next_session() -> None:
    model = charging_model()
    model.advance(60)
    energy = model.session_ws
    model.unplug()
    assert state_of(model) == EvseState.NOT_CONNECTED
    assert VFlags.SESSION_ENDED in model.vflags
    assert model.session_ws == energy  # "current or last session"
    model.unplug()  # idempotent
    model.plug_in()
    assert model.session_ws == energy
    model.advance(1)
    assert model.session_ws < energy
    assert VFlags.SESSION_ENDED not in model.vflags


def test_disabled_hides_the_car_from_the_pilot() -> None:
    model = charging_model()
    model.set_mode(Mode.DISABLED)
    assert state_of(model) == EvseState.DISABLED
    assert model.connect_state == 2
    assert model.pilot_state == EvseState.UNKNOWN
    model.set_mode(Mode.DISABLED)  # no change


def test_energy_limit_stops_exactly_and_is_cleared() -> None:
    model = charging_model()
    assert model.set_charge_limit(1)
    assert VFlags.CHARGE_LIMIT in model.vflags
    model.advance(3600)
    assert state_of(model) == EvseState.SLEEPING
    assert model.session_ws == pytest.approx(3_600_000)
    assert model.charge_limit_kwh == 0  # the firmware cancels it once reached
    assert VFlags.LIMIT_SLEEP in model.vflags
    model.advance(3600)
    assert model.session_ws == pytest.approx(3_600_000)
    model.unplug()
    assert state_of(model) == EvseState.NOT_CONNECTED
    assert not model.limit_sleep


def test_time_limit_in_quarter_hours() -> None:
    model = charging_model()
    assert model.set_time_limit(2)
    assert VFlags.TIME_LIMIT in model.vflags
    model.advance(10_000)
    assert model.elapsed == pytest.approx(1800)
    assert state_of(model) == EvseState.SLEEPING
    assert model.time_limit_15 == 0


def test_limit_below_session_energy_sleeps_at_next_step() -> None:
    model = charging_model()
    model.advance(3600)
    assert model.set_charge_limit(1)
    model.advance(1)
    assert state_of(model) == EvseState.SLEEPING


def test_fe_wakes_from_a_limit_sleep() -> None:
    model = charging_model()
    model.set_time_limit(1)
    model.advance(900)
    assert model.limit_sleep
    model.enable()
    model.advance(60)
    assert model.charging


def test_limits_need_a_car_in_state_b_or_c() -> None:
    model = EvseModel()
    assert not model.set_charge_limit(5)
    assert not model.set_time_limit(4)
    model.plug_in()
    model.set_mode(Mode.SLEEP)
    assert not model.set_charge_limit(5)


def test_unplug_clears_session_limits() -> None:
    model = charging_model()
    model.set_charge_limit(5)
    model.set_time_limit(4)
    model.unplug()
    assert (model.charge_limit_kwh, model.time_limit_15) == (0, 0)


def test_gateway_energy_limit_in_wh_with_auto_release() -> None:
    model = charging_model()
    model.set_gateway_limit(GatewayLimit("energy", 500))
    model.advance(3600)
    assert model.session_wh == pytest.approx(500)
    assert state_of(model) == EvseState.SLEEPING
    assert model.gateway_limit is not None  # kept until unplug or delete
    model.unplug()
    assert model.gateway_limit is None


def test_gateway_time_limit_kept_without_auto_release() -> None:
    model = charging_model()
    model.set_gateway_limit(GatewayLimit("time", 2, auto_release=False))
    model.advance(600)
    assert model.elapsed == pytest.approx(120)
    assert model.limit_sleep
    model.unplug()
    assert model.gateway_limit is not None
    model.plug_in()
    model.advance(600)
    assert model.elapsed == pytest.approx(120)


def test_clearing_or_raising_gateway_limit_resumes() -> None:
    model = charging_model()
    model.set_gateway_limit(GatewayLimit("time", 1))
    model.advance(120)
    assert model.limit_sleep
    model.set_gateway_limit(GatewayLimit("time", 10))
    assert VFlags.LIMIT_SLEEP not in model.vflags
    model.set_gateway_limit(GatewayLimit("time", 1))
    assert VFlags.LIMIT_SLEEP in model.vflags  # checked at once: already reached
    model.set_gateway_limit(None)
    model.advance(60)
    assert model.charging


def test_soc_limit_is_stored_but_never_reached() -> None:
    model = charging_model()
    model.set_gateway_limit(GatewayLimit("soc", 80))
    model.advance(36_000)
    assert model.charging


def test_faults_count_and_clear() -> None:
    model = charging_model()
    model.advance(60)
    energy = model.session_ws
    model.fault("gfci")
    assert state_of(model) == EvseState.GFCI_FAULT
    assert model.gfci_count == 1
    assert VFlags.GFI_TRIPPED in model.vflags
    model.advance(60)
    assert model.session_ws == energy
    model.clear_fault()
    model.advance(1)
    assert model.charging
    model.fault(FaultKind.NO_GROUND)
    assert state_of(model) == EvseState.NO_GROUND
    assert VFlags.NOGND_TRIPPED in model.vflags
    model.fault(FaultKind.STUCK_RELAY)
    assert state_of(model) == EvseState.STUCK_RELAY
    assert VFlags.HARD_FAULT in model.vflags
    assert (model.gfci_count, model.no_ground_count, model.stuck_relay_count) == (
        1,
        1,
        1,
    )
    model.fault(FaultKind.OVER_TEMPERATURE)
    assert state_of(model) == 0x0A


def test_fault_counters_saturate() -> None:
    model = EvseModel()
    for _ in range(300):
        model.fault("gfci")
    assert model.gfci_count == 255
    with pytest.raises(ValueError):  # noqa: PT011 - enum lookup error
        model.fault("lightning")


def test_set_current_clamps_and_counts_eeprom_writes() -> None:
    model = EvseModel(min_current=6, max_hw_current=40, eeprom_current=32)
    assert model.set_current(16, volatile=True) == (True, 16)
    assert model.eeprom_writes == 0
    assert model.eeprom_current == 32
    assert model.set_current(20, volatile=False) == (True, 20)
    assert model.eeprom_writes == 1
    assert model.set_current(2, volatile=True) == (False, 6)
    assert model.set_current(99, volatile=False) == (False, 40)
    assert model.eeprom_current == 40
    assert model.eeprom_writes == 2


def test_constructor_clamps_eeprom_current() -> None:
    assert EvseModel(max_hw_current=16, eeprom_current=32).current_capacity == 16


def test_reboot_keeps_eeprom_and_loses_ram_state() -> None:
    model = charging_model(eeprom_current=32)
    events: list[str] = []
    model.add_listener(events.append)
    model.set_current(10, volatile=True)
    model.set_mode(Mode.SLEEP)
    model.fault("gfci")
    model.advance(60)
    model.reboot()
    assert EVENT_BOOT in events
    assert model.current_capacity == 32
    assert mode_of(model) == Mode.ACTIVE
    assert model.fault_kind is None
    assert model.session_ws == 0
    assert model.gfci_count == 1
    assert model.connected
    assert state_of(model) == EvseState.CONNECTED
    assert model.boots == 1


def test_service_level_auto_detects_and_limits_current() -> None:
    model = EvseModel(max_hw_current=80, eeprom_current=40)
    assert model.service_level == 2
    model.set_voltage(120)
    assert model.service_level == 1
    assert model.max_current == 24
    model.set_service_level(ServiceLevel.L2)
    assert model.service_level == 2
    model.set_service_level(ServiceLevel.L1)
    assert model.current_capacity == 24
    assert model.eeprom_current == 24


def test_vflags_connected_previous() -> None:
    model = EvseModel()
    model.plug_in()
    assert model.vflags == VFlags.EV_CONNECTED
    model.set_ev_ready(False)
    model.advance(1)
    assert model.vflags == VFlags.EV_CONNECTED | VFlags.EV_CONNECTED_PREV


def test_auth_lock_blocks_charging() -> None:
    model = EvseModel()
    model.set_auth_lock(True)
    model.plug_in()
    model.advance(10)
    assert state_of(model) == EvseState.CONNECTED
    assert VFlags.AUTH_LOCKED in model.vflags
    model.set_auth_lock(False)
    model.advance(10)
    assert model.charging


def test_button_toggles_sleep() -> None:
    model = EvseModel()
    model.button()
    assert mode_of(model) == Mode.SLEEP
    model.button()
    assert mode_of(model) == Mode.ACTIVE


def test_listeners_and_removal() -> None:
    model = EvseModel()
    events: list[str] = []
    remove = model.add_listener(events.append)
    model.plug_in()
    model.unplug()
    assert EVENT_UNPLUG in events
    remove()
    events.clear()
    model.plug_in()
    assert events == []


def test_rtc_follows_the_simulated_clock() -> None:
    model = EvseModel(rtc_start=datetime(2025, 1, 1, tzinfo=UTC))
    model.advance(90)
    assert model.rtc == datetime(2025, 1, 1, 0, 1, 30, tzinfo=UTC)
    model.set_rtc(datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert model.rtc == datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_time_only_moves_forward() -> None:
    with pytest.raises(ValueError, match="forward"):
        EvseModel().advance(-1)


def test_voltmeter_reading() -> None:
    assert EvseModel(has_voltmeter=False).measured_millivolts == -1
    assert EvseModel(has_voltmeter=True, voltage=239.5).measured_millivolts == 239500
