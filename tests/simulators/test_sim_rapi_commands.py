"""RAPI commands per dialect, processed without HTTP."""

from __future__ import annotations

import pytest

from simulators import EvseModel, EvseState, Mode
from simulators.model import Feature, SettingFlags
from simulators.rapi import (
    RAPI_4_0_1,
    RAPI_5_2_1,
    RAPI_GOPLUG,
    RapiDialect,
    RapiProcessor,
)


def run(processor: RapiProcessor, frame: str) -> str:
    reply = processor.process(frame)
    assert reply is not None
    return reply.render()


def body(processor: RapiProcessor, frame: str) -> str:
    """The reply without its checksum."""
    return run(processor, frame).rpartition("^")[0]


@pytest.fixture
def model() -> EvseModel:
    return EvseModel(
        max_hw_current=80, eeprom_current=32, temperatures=(340, None, None)
    )


def make(
    model: EvseModel, dialect: RapiDialect = RAPI_4_0_1, **kwargs: bool
) -> RapiProcessor:
    return RapiProcessor(
        model, dialect, lowercase_hex=kwargs.get("lowercase_hex", True)
    )


def test_legacy_formats_match_real_captures(model: EvseModel) -> None:
    rapi = make(model)
    assert run(rapi, "$GS") == "$OK 1 0^21"
    assert run(rapi, "$GC") == "$OK 6 80^1E"
    assert run(rapi, "$GE") == "$OK 32 0001^20"
    assert run(rapi, "$GF") == "$OK 0 0 0^30"
    assert run(rapi, "$GG") == "$OK 0 -1^0C"
    assert run(rapi, "$GP") == "$OK 340 -2560 -2560^37"
    assert run(rapi, "$GV") == "$OK 5.0.1 4.0.1^21"
    assert run(rapi, "$GA") == "$OK 220 0^20"
    assert run(rapi, "$GH") == "$OK 0^30"
    assert run(rapi, "$G3") == "$OK 0^30"
    assert run(rapi, "$GO") == "$NK^21"
    assert run(rapi, "$GM") == "$NK^21"
    assert run(rapi, "$GI") == "$NK^21"
    model.plug_in()
    model.advance(3)
    assert body(rapi, "$GS") == "$OK 3 3"


def test_unknown_and_malformed(model: EvseModel) -> None:
    rapi = make(model)
    assert run(rapi, "$ZZ") == "$NK^21"
    assert run(rapi, "$gs") == "$NK^21"  # command letters are case sensitive
    assert run(rapi, "$GS^00") == "$NK^21"
    assert run(rapi, "$ZZ :05") == "$NK :05^3E"
    assert rapi.process("no dollar") is None


def test_sequence_id_is_echoed(model: EvseModel) -> None:
    rapi = make(model, RAPI_5_2_1)
    assert run(rapi, "$GS :2A^59") == "$OK 01 0 01 0000 :2A^79"
    assert run(rapi, "$GS :2a") == "$OK 01 0 01 0000 :2A^79"


def test_rapi5_state_hex_and_case_switch(model: EvseModel) -> None:
    lower = make(model, RAPI_5_2_1)
    upper = make(model, RAPI_5_2_1, lowercase_hex=False)
    model.plug_in()
    model.advance(21)
    model.set_mode(Mode.SLEEP)
    assert run(lower, "$GS") == "$OK fe 21 03 0500^26"  # real capture
    assert body(upper, "$GS") == "$OK FE 21 03 0500"
    model.gfci_count = 26
    assert body(lower, "$GF") == "$OK 1a 0 0"
    assert body(upper, "$GF") == "$OK 1A 0 0"


def test_gc_fields_per_dialect(model: EvseModel) -> None:
    model.set_current(16, volatile=True)
    assert body(make(model, RAPI_4_0_1), "$GC") == "$OK 6 80"
    assert body(make(model, RAPI_GOPLUG), "$GC") == "$OK 6 80 16"
    assert body(make(model, RAPI_5_2_1), "$GC") == "$OK 6 80 16 32"


def test_sc_volatile_and_eeprom(model: EvseModel) -> None:
    rapi = make(model)
    assert body(rapi, "$SC 16 V") == "$OK 16"
    assert model.eeprom_writes == 0
    assert body(rapi, "$SC 20") == "$OK 20"
    assert model.eeprom_writes == 1
    assert body(rapi, "$SC 2 v") == "$NK 6"
    assert body(rapi, "$SC 100") == "$NK 80"
    assert model.eeprom_current == 80
    assert body(rapi, "$SC") == "$NK"
    assert body(rapi, "$SC x") == "$NK"
    assert body(rapi, "$SC 1 2 3") == "$NK"
    assert body(rapi, "$GE") == "$OK 80 0001"


def test_functions_drive_the_state_machine(model: EvseModel) -> None:
    rapi = make(model)
    assert body(rapi, "$G0") == "$OK 0"
    model.plug_in()
    assert body(rapi, "$G0") == "$OK 1"
    model.advance(1)
    assert body(rapi, "$FS") == "$OK"
    assert model.state == EvseState.SLEEPING
    assert body(rapi, "$FE") == "$OK"
    assert model.mode == Mode.ACTIVE
    assert body(rapi, "$FD") == "$OK"
    assert body(rapi, "$GS") == "$OK 255 1"
    assert body(rapi, "$G0") == "$OK 2"
    assert body(rapi, "$F1") == "$OK"  # button: wakes up
    assert model.mode == Mode.ACTIVE
    assert body(rapi, "$F0 1") == "$OK"
    assert body(rapi, "$FB 7") == "$OK"
    assert body(rapi, "$FP 0 0 Hi") == "$OK"


def test_fr_replies_then_reboots(model: EvseModel) -> None:
    rapi = make(model)
    rapi.process("$SC 10 V")
    assert body(rapi, "$FR") == "$OK"
    assert model.boots == 1
    assert model.current_capacity == 32


def test_session_limits_over_rapi(model: EvseModel) -> None:
    rapi = make(model)
    assert body(rapi, "$SH 10") == "$NK"  # no car
    assert body(rapi, "$S3 4") == "$NK"
    model.plug_in()
    assert body(rapi, "$SH 10") == "$OK"
    assert body(rapi, "$S3 4") == "$OK"
    assert body(rapi, "$GH") == "$OK 10"
    assert body(rapi, "$G3") == "$OK 4"
    assert body(rapi, "$S3 256") == "$NK"
    assert body(rapi, "$SH -1") == "$NK"
    assert body(rapi, "$SH x") == "$NK"


def test_settings_commands_write_eeprom(model: EvseModel) -> None:
    rapi = make(model)
    assert body(rapi, "$SL 1") == "$OK"
    assert body(rapi, "$GE") == "$OK 24 0020"
    assert body(rapi, "$SL a") == "$OK"
    assert body(rapi, "$SL 3") == "$NK"
    assert body(rapi, "$SL") == "$NK"
    assert body(rapi, "$FF D 0") == "$OK"
    assert not model.features[Feature.DIODE]
    assert body(rapi, "$FF X 0") == "$NK"
    assert body(rapi, "$FF D") == "$NK"
    assert body(rapi, "$S0 0") == "$OK"
    assert body(rapi, "$S0 7") == "$NK"
    assert SettingFlags.MONO_LCD in model.setting_flags
    assert body(rapi, "$SA 230 2") == "$OK"
    assert body(rapi, "$GA") == "$OK 230 2"
    assert body(rapi, "$SA 1") == "$NK"
    assert body(rapi, "$SK 1000") == "$OK"
    assert body(rapi, "$GU") == "$OK 0 1000"
    assert body(rapi, "$SK -5") == "$NK"
    assert model.eeprom_writes == 6


def test_timer_and_clock(model: EvseModel) -> None:
    rapi = make(model, RAPI_5_2_1)
    assert body(rapi, "$GD") == "$OK 0 0 0 0"
    assert body(rapi, "$ST 22 30 6 15") == "$OK"
    assert body(rapi, "$GD") == "$OK 22 30 6 15"
    assert body(rapi, "$GS") == "$OK 01 0 01 1000"
    assert body(rapi, "$ST 24 0 0 0") == "$NK"
    assert body(rapi, "$ST 1 2") == "$NK"
    assert body(rapi, "$S1 24 2 29 23 59 58") == "$OK"
    assert body(rapi, "$GT") == "$OK 24 2 29 23 59 58"
    assert body(rapi, "$S1 23 2 30 0 0 0") == "$NK"
    assert body(rapi, "$S1 1 2") == "$NK"


def test_voltage_commands(model: EvseModel) -> None:
    rapi = make(model)
    assert body(rapi, "$SV 230500") == "$OK"
    assert model.voltage == 230.5
    assert body(rapi, "$SV 0") == "$NK"
    assert body(rapi, "$SM 1 2") == "$NK"
    model.has_voltmeter = True
    assert body(rapi, "$SV 230000") == "$NK"  # has its own voltmeter
    assert body(rapi, "$SM 298 12018") == "$OK"
    assert body(rapi, "$GM") == "$OK 298 12018"
    assert body(rapi, "$GG") == "$OK 0 230500"


def test_goplug_dialect(model: EvseModel) -> None:
    model.mcu_id = "GOPLUG47001234"
    rapi = make(model, RAPI_GOPLUG)
    assert body(rapi, "$GV") == "$OK E6.4.0 6.0.0"
    assert body(rapi, "$GI") == "$OK GOPLUG47001234"
    assert body(rapi, "$S4 1") == "$OK"
    assert body(rapi, "$G4") == "$OK 1"
    assert body(rapi, "$S4 2") == "$NK"
    assert body(rapi, "$SV 230000") == "$NK"  # not a GoPlug command
    assert body(rapi, "$F1") == "$NK"


def test_current_dialect_extras(model: EvseModel) -> None:
    rapi = make(model, RAPI_5_2_1)
    assert body(rapi, "$GO") == "$OK 650 650"
    assert body(rapi, "$GI") == "$NK"  # no MCU id on this model
    assert body(rapi, "$GV") == "$OK 8.2.3 5.2.1"


def test_extra_commands_extend_a_dialect(model: EvseModel) -> None:
    model.mcu_id = "OPENEV4C000001"
    rapi = RapiProcessor(model, RAPI_4_0_1, extra_commands=frozenset({"GI"}))
    assert body(rapi, "$GI") == "$OK OPENEV4C000001"
