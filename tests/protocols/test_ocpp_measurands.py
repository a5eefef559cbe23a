"""Sampled values to canonical numbers: units, phases, timestamps, junk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.evse_local.protocols.ocpp.measurands import (
    as_phases,
    normalise_unit,
    parse_sampled_value,
    parse_timestamp,
    summarise,
)


@pytest.mark.parametrize(
    ("measurand", "value", "unit", "expected"),
    [
        ("Energy.Active.Import.Register", 1.5, "kWh", (1500, "Wh")),
        ("Energy.Active.Import.Register", 1500, "Wh", (1500, "Wh")),
        ("Energy.Active.Import.Register", 7, None, (7, "Wh")),
        ("Power.Active.Import", 7.2, "kW", (7200, "W")),
        ("Power.Active.Import", 7200, "W", (7200, "W")),
        ("Current.Import", 16, "Amp", (16, "A")),
        ("Current.Import", 16, "A", (16, "A")),
        ("Current.Import", 16, None, (16, "A")),
        ("Voltage", 241.9, "Volt", (241.9, "V")),
        ("Voltage", 241.9, None, (241.9, "V")),
        ("Temperature", 212, "Fahrenheit", (100, "°C")),
        ("Temperature", 300.15, "K", (27, "°C")),
        ("Temperature", 30, None, (30, "°C")),
        ("SoC", 80, None, (80, "%")),
        ("Energy.Reactive.Import.Register", 2, "kvarh", (2000, "varh")),
        ("Current.Import", 3, "furlongs", (3, "furlongs")),
    ],
)
def test_normalise_unit(
    measurand: str, value: float, unit: str | None, expected: tuple[float, str]
) -> None:
    number, canonical = normalise_unit(measurand, value, unit)
    assert (pytest.approx(number), canonical) == expected


def test_parse_timestamp() -> None:
    nanoseconds = parse_timestamp("2023-02-25T20:46:17.425767854Z")
    assert nanoseconds == datetime(2023, 2, 25, 20, 46, 17, 425767, tzinfo=UTC)
    naive = parse_timestamp("2026-11-21T04:40:01")
    assert naive is not None
    assert naive.tzinfo is UTC
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(12) is None


@pytest.mark.parametrize(
    "raw",
    [
        "text",
        {"value": "abc", "measurand": "Voltage"},
        {"value": None},
        {"value": "nan", "measurand": "Voltage"},
        {"value": "5", "measurand": 7},
        {"value": "deadbeef", "format": "SignedData"},
        # Not finite, or beyond a float: never a reading.
        {"value": "1e999"},
        {"value": "-1e999", "measurand": "Voltage"},
        {"value": "inf", "measurand": "Current.Import"},
        {"value": "Infinity", "measurand": "Power.Active.Import"},
        {"value": "1" + "0" * 400},
        {"value": 10**400},
        {"value": 10**400, "measurand": "Current.Import"},
        {"value": "1e308", "unit": "kWh"},
        # An energy register below zero is garbage.
        {"value": "-5"},
        {"value": "-0.001", "measurand": "Energy.Active.Import.Register"},
        {"value": "-1", "measurand": "Energy.Active.Export.Register"},
        {"value": "-1", "measurand": "Energy.Active.Import.Interval"},
    ],
    ids=lambda raw: str(raw)[:40],
)
def test_unusable_sampled_values_are_skipped(raw: Any) -> None:
    assert parse_sampled_value(raw) is None


def test_zero_and_negative_non_energy_values_are_readings() -> None:
    """0 Wh is a valid register value (the guard judges it), and power may be
    negative (export)."""
    zero = parse_sampled_value({"value": "0"})
    assert zero is not None
    assert zero.value == 0
    export = parse_sampled_value({"value": "-1500", "measurand": "Power.Active.Import"})
    assert export is not None
    assert export.value == -1500


def test_sampled_value_defaults_to_the_energy_register() -> None:
    reading = parse_sampled_value({"value": "12.5", "context": "Sample.Clock"})
    assert reading is not None
    assert (reading.measurand, reading.value, reading.unit) == (
        "Energy.Active.Import.Register",
        12.5,
        "Wh",
    )
    assert reading.context == "Sample.Clock"


def test_summarise_phases_and_junk() -> None:
    sample = summarise(
        [
            "junk",
            {"timestamp": "2026-11-21T04:40:01Z", "sampledValue": "junk"},
            {
                "sampledValue": [
                    {"value": "n/a"},
                    {"value": "230", "measurand": "Voltage"},
                ]
            },
            {
                "timestamp": "2026-11-21T04:40:11Z",
                "sampled_value": [
                    {
                        "value": "1",
                        "measurand": "Energy.Active.Import.Register",
                        "phase": "L1",
                        "unit": "kWh",
                    },
                    {
                        "value": "2",
                        "measurand": "Energy.Active.Import.Register",
                        "phase": "L2",
                        "unit": "kWh",
                    },
                    {"value": "100", "measurand": "Power.Active.Import", "phase": "L1"},
                    {"value": "300", "measurand": "Power.Active.Import", "phase": "L3"},
                    {"value": "40", "measurand": "Temperature", "location": "EV"},
                    {"value": "21", "measurand": "Temperature", "location": "Body"},
                    {"value": "1", "measurand": "Current.Import", "phase": "N"},
                    {"value": "80", "measurand": "SoC", "location": "EV"},
                ],
            },
        ]
    )
    assert sample.energy_wh == 3000
    assert sample.power == 400
    assert sample.temperature == 21
    assert sample.current is None
    assert sample.voltage == 230
    assert sample.timestamp == datetime(2026, 11, 21, 4, 40, 11, tzinfo=UTC)
    assert as_phases(sample.phase_powers) == (100, None, 300)
    assert as_phases({}) is None
    assert summarise("junk").energy_wh is None
