"""Price forecasts: every sensor shape, odd data, DST days, fixed tariffs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.evse_local.energy import (
    FixedTariff,
    PriceDataError,
    PriceError,
    PriceForecast,
    PriceSlot,
    PriceSource,
    parse_price_attributes,
)

AMS = ZoneInfo("Europe/Amsterdam")
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


def local_day(day: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """(start, end) in local time for every slot of ``day``'s local date.

    Built in UTC and shown locally, as the Nord Pool integration does, so a
    DST day has 23 or 25 hours.
    """
    start = datetime.combine(day.date(), time(), AMS).astimezone(UTC)
    end = datetime.combine(day.date() + timedelta(days=1), time(), AMS).astimezone(UTC)
    slots = []
    while start < end:
        slots.append((start.astimezone(AMS), (start + step).astimezone(AMS)))
        start += step
    return slots


def nordpool(
    day: datetime, prices: list[float | None], step: timedelta = HOUR
) -> list[dict[str, Any]]:
    return [
        {"start": start, "end": end, "value": price}
        for (start, end), price in zip(local_day(day, step), prices, strict=False)
    ]


NOV3 = datetime(2025, 11, 3, tzinfo=AMS)


# ------------------------------------------------------------------ shapes


def test_nordpool_today_without_tomorrow() -> None:
    prices = [0.1 + i / 100 for i in range(24)]
    forecast = parse_price_attributes(
        {
            "current_price": 0.2,
            "today": prices,
            "raw_today": nordpool(NOV3, list(prices)),
            "raw_tomorrow": [],
            "tomorrow_valid": False,
            "unit": "kWh",
        }
    )
    assert forecast.source is PriceSource.NORDPOOL
    assert forecast.tomorrow_available is False
    assert forecast.skipped == 0
    assert len(forecast.slots) == 24
    first = forecast.slots[0]
    assert first == PriceSlot(
        datetime(2025, 11, 2, 23, tzinfo=UTC), datetime(2025, 11, 3, 0, tzinfo=UTC), 0.1
    )
    assert first.start.tzinfo is UTC
    assert forecast.end == datetime(2025, 11, 3, 23, tzinfo=UTC)


def test_nordpool_quarter_hours_with_tomorrow_not_yet_known() -> None:
    today = [0.2] * 96
    tomorrow: list[float | None] = [None] * 96
    forecast = parse_price_attributes(
        {
            "raw_today": nordpool(NOV3, list(today), QUARTER),
            "raw_tomorrow": nordpool(NOV3 + timedelta(days=1), tomorrow, QUARTER),
            "tomorrow_valid": False,
        }
    )
    assert len(forecast.slots) == 96
    assert {slot.duration for slot in forecast.slots} == {QUARTER}
    # Nord Pool lists tomorrow's slots with a None value before 13:00.
    assert forecast.skipped == 96


def test_nordpool_both_days_and_price_lookup() -> None:
    forecast = parse_price_attributes(
        {
            "raw_today": nordpool(NOV3, [0.3] * 24),
            "raw_tomorrow": nordpool(NOV3 + timedelta(days=1), [-0.05] * 24),
            "tomorrow_valid": True,
        }
    )
    assert forecast.tomorrow_available is True
    assert len(forecast.slots) == 48
    assert forecast.price_at(datetime(2025, 11, 4, 12, 30, tzinfo=AMS)) == -0.05
    assert forecast.price_at(datetime(2025, 11, 3, 0, 0, tzinfo=AMS)) == 0.3
    # Before the first slot and after the last: unknown.
    assert forecast.price_at(datetime(2025, 11, 2, 23, 59, tzinfo=AMS)) is None
    assert forecast.price_at(datetime(2025, 11, 5, 0, 0, tzinfo=AMS)) is None


@pytest.mark.parametrize(
    ("unit", "attribute", "expected"),
    [
        (None, "MWh", 0.1),
        (None, "Wh", 100_000.0),
        ("EUR/MWh", "kWh", 0.1),
        ("öre/kWh", "MWh", 100.0),
        ("EUR", None, 100.0),
        (None, 42, 100.0),
    ],
)
def test_units_are_scaled_to_kwh(
    unit: str | None, attribute: Any, expected: float
) -> None:
    attributes: dict[str, Any] = {"raw_today": nordpool(NOV3, [100.0] * 24)}
    if attribute is not None:
        attributes["unit"] = attribute
    forecast = parse_price_attributes(attributes, unit=unit)
    assert forecast.slots[0].price == pytest.approx(expected)


def test_entsoe_strings_without_ends() -> None:
    def entries(day: datetime, prices: list[float]) -> list[dict[str, Any]]:
        return [
            {"time": str(start), "price": price}
            for (start, _), price in zip(local_day(day, HOUR), prices, strict=False)
        ]

    today = entries(NOV3, [0.1] * 24)
    tomorrow = entries(NOV3 + timedelta(days=1), [0.2] * 24)
    forecast = parse_price_attributes(
        {
            "prices_today": today,
            "prices_tomorrow": tomorrow,
            # The whole window again: ignored while the day lists are there.
            "prices": [*today, *tomorrow],
            "avg_price": 0.15,
        }
    )
    assert forecast.source is PriceSource.ENTSOE
    assert today[0]["time"] == "2025-11-03 00:00:00+01:00"
    assert len(forecast.slots) == 48
    assert forecast.skipped == 0
    assert {slot.duration for slot in forecast.slots} == {HOUR}
    # The last entry lasts as long as the one before it.
    assert forecast.end == datetime(2025, 11, 4, 23, tzinfo=UTC)


def test_a_missing_entry_leaves_a_gap_not_a_longer_slot() -> None:
    quarters = local_day(NOV3, QUARTER)[:8]
    entries = [
        {"time": start.isoformat(), "price": 0.1}
        for index, (start, _) in enumerate(quarters)
        if index != 3
    ]
    forecast = parse_price_attributes({"prices_today": entries})
    assert len(forecast.slots) == 7
    assert {slot.duration for slot in forecast.slots} == {QUARTER}
    assert forecast.price_at(quarters[3][0]) is None
    assert forecast.price_at(quarters[2][0]) == 0.1


def test_hour_then_quarter_hours_mixed() -> None:
    # 30 September hourly, 1 October (the day-ahead market's 15-minute day)
    # in quarter hours, in one list.
    sep30 = datetime(2025, 9, 30, tzinfo=AMS)
    entries = [
        {"time": start.isoformat(), "price": 0.1} for start, _ in local_day(sep30, HOUR)
    ] + [
        {"time": start.isoformat(), "price": 0.2}
        for start, _ in local_day(sep30 + timedelta(days=1), QUARTER)
    ]
    forecast = parse_price_attributes({"prices": entries})
    assert len(forecast.slots) == 24 + 96
    assert [slot.duration for slot in forecast.slots[22:26]] == [
        HOUR,
        HOUR,
        QUARTER,
        QUARTER,
    ]
    assert forecast.slots[23].end == forecast.slots[24].start


def test_an_isolated_entry_lasts_an_hour() -> None:
    forecast = parse_price_attributes(
        {"prices_today": [{"time": "2025-11-03T10:00:00+01:00", "price": 0.1}]}
    )
    assert forecast.slots[0].duration == HOUR


def test_tibber_api_today_tomorrow() -> None:
    def entries(day: datetime, total: float) -> list[dict[str, Any]]:
        return [
            {
                "total": total,
                "energy": total - 0.1,
                "tax": 0.1,
                "startsAt": start.isoformat(timespec="milliseconds"),
                "level": "NORMAL",
            }
            for start, _ in local_day(day, QUARTER)
        ]

    forecast = parse_price_attributes(
        {
            "today": entries(NOV3, 0.25),
            "tomorrow": entries(NOV3 + timedelta(days=1), 0.3),
        }
    )
    assert forecast.source is PriceSource.TIBBER
    assert len(forecast.slots) == 192
    # ``total`` (what the customer pays), not the spot ``energy``.
    assert forecast.slots[0].price == 0.25
    assert forecast.slots[-1].price == 0.3


def test_tibber_get_prices_response_in_a_template_sensor() -> None:
    prices = [
        {"start_time": start.isoformat(), "price": 0.3 + index / 100}
        for index, (start, _) in enumerate(local_day(NOV3, HOUR))
    ]
    one_home = parse_price_attributes({"prices": {"Home": prices}})
    as_list = parse_price_attributes({"prices": prices})
    assert one_home == as_list
    assert one_home.source is PriceSource.GENERIC
    assert len(one_home.slots) == 24
    with pytest.raises(PriceDataError) as error:
        parse_price_attributes({"prices": {"Home": prices, "Cabin": prices}})
    assert error.value.reason is PriceError.MALFORMED


def test_core_nordpool_action_response_in_a_template_sensor() -> None:
    area = [
        {
            "start": start.astimezone(UTC).isoformat(),
            "end": end.astimezone(UTC).isoformat(),
            "price": 85.3,
        }
        for start, end in local_day(NOV3, QUARTER)
    ]
    forecast = parse_price_attributes({"prices": {"SE3": area}}, unit="SEK/MWh")
    assert forecast.source is PriceSource.GENERIC
    assert len(forecast.slots) == 96
    assert forecast.slots[0].price == pytest.approx(0.0853)


def test_octopus_rates() -> None:
    rates = [
        {
            "start": f"2025-11-03T{hour:02d}:{minute:02d}:00Z",
            "end": (
                datetime(2025, 11, 3, hour, minute, tzinfo=UTC) + timedelta(minutes=30)
            ).isoformat(),
            "value_inc_vat": 0.2,
            "is_capped": False,
        }
        for hour in range(24)
        for minute in (0, 30)
    ]
    forecast = parse_price_attributes({"rates": rates, "tariff_code": "AGILE"})
    assert forecast.source is PriceSource.OCTOPUS
    assert len(forecast.slots) == 48
    assert forecast.slots[0].duration == timedelta(minutes=30)


def test_energi_data_service_hours() -> None:
    raw = [{"hour": start, "price": 1.5} for start, _ in local_day(NOV3, HOUR)]
    forecast = parse_price_attributes({"raw_today": raw, "raw_tomorrow": None})
    assert forecast.source is PriceSource.NORDPOOL
    assert len(forecast.slots) == 24


def test_nordpool_plain_today_alone_is_not_a_forecast() -> None:
    with pytest.raises(PriceDataError) as error:
        parse_price_attributes({"today": [0.1, 0.2], "tomorrow": []})
    assert error.value.reason is PriceError.NO_FORECAST


def test_no_forecast_attribute() -> None:
    with pytest.raises(PriceDataError) as error:
        parse_price_attributes({"unit_of_measurement": "EUR/kWh"})
    assert error.value.reason is PriceError.NO_FORECAST
    assert "raw_today" in str(error.value)


@pytest.mark.parametrize("value", ["0.1,0.2", 42, {"a": 1}])
def test_an_attribute_that_is_not_a_list(value: Any) -> None:
    with pytest.raises(PriceDataError) as error:
        parse_price_attributes({"raw_today": value})
    assert error.value.reason is PriceError.MALFORMED


def test_empty_lists_are_an_empty_forecast() -> None:
    forecast = parse_price_attributes({"raw_today": [], "raw_tomorrow": []})
    assert forecast.slots == ()
    assert forecast.end is None
    assert forecast.price_at(NOV3) is None


# ------------------------------------------------------------------ odd data


def test_bad_entries_are_skipped_and_counted() -> None:
    good = {"start": "2025-11-03T10:00:00+01:00", "end": "2025-11-03T11:00:00+01:00"}
    entries: list[Any] = [
        {**good, "value": 0.1},
        "not a mapping",
        {"end": good["end"], "value": 0.1},  # no start
        {"start": "yesterday", "value": 0.1},  # unparsable start
        {"start": 1762160400, "value": 0.1},  # epoch seconds: not a shape we know
        {**good, "value": "cheap"},
        {**good, "value": math.nan},
        {**good, "value": "inf"},
        {**good, "value": True},
        {**good, "value": [0.1]},
        {**good, "value": None},
        {**good, "end": good["start"], "value": 0.1},  # empty
        {**good, "end": "later", "value": 0.1},
    ]
    forecast = parse_price_attributes({"raw_today": entries})
    assert len(forecast.slots) == 1
    assert forecast.skipped == 12


def test_numbers_as_strings_and_decimals() -> None:
    forecast = parse_price_attributes(
        {
            "prices_today": [
                {"time": "2025-11-03T10:00:00+01:00", "price": " 0.25 "},
                {"time": "2025-11-03T11:00:00+01:00", "price": Decimal("0.5")},
                {"time": "2025-11-03T12:00:00+01:00", "price": 1},
            ]
        }
    )
    assert [slot.price for slot in forecast.slots] == [0.25, 0.5, 1.0]


def test_a_number_too_large_for_a_float_is_skipped() -> None:
    # float(10**400) raises OverflowError: it must be a skipped entry, not a crash.
    forecast = parse_price_attributes(
        {
            "prices_today": [
                {"time": "2025-11-03T10:00:00+01:00", "price": 10**400},
                {"time": "2025-11-03T11:00:00+01:00", "price": 0.5},
            ]
        }
    )
    assert [slot.price for slot in forecast.slots] == [0.5]
    assert forecast.skipped == 1


def test_negative_prices_are_kept() -> None:
    forecast = parse_price_attributes({"raw_today": nordpool(NOV3, [-0.4] * 24)})
    assert all(slot.price == -0.4 for slot in forecast.slots)


def test_naive_times_need_a_time_zone() -> None:
    entries = [
        {"start": datetime(2025, 11, 3, hour), "value": 0.1}  # noqa: DTZ001
        for hour in range(24)
    ]
    with pytest.raises(PriceDataError) as error:
        parse_price_attributes({"raw_today": entries})
    assert error.value.reason is PriceError.NO_USABLE_PRICES
    forecast = parse_price_attributes({"raw_today": entries}, tz=AMS)
    assert forecast.slots[0].start == datetime(2025, 11, 2, 23, tzinfo=UTC)
    naive_string = parse_price_attributes(
        {"prices_today": [{"time": "2025-11-03 10:00:00", "price": 0.1}]}, tz=AMS
    )
    assert naive_string.slots[0].start == datetime(2025, 11, 3, 9, tzinfo=UTC)


def test_duplicates_and_overlaps() -> None:
    hour = {"start": "2025-11-03T10:00:00+01:00", "end": "2025-11-03T11:00:00+01:00"}
    quarter = {"start": "2025-11-03T10:00:00+01:00", "end": "2025-11-03T10:15:00+01:00"}
    forecast = parse_price_attributes(
        {
            "raw_today": [
                {**hour, "value": 0.1},
                {**hour, "value": 0.1},  # the same twice: one slot, no fuss
            ]
        }
    )
    assert len(forecast.slots) == 1
    assert forecast.skipped == 0
    conflict = parse_price_attributes(
        {"raw_today": [{**hour, "value": 0.1}, {**hour, "value": 0.3}]}
    )
    assert conflict.slots == (
        PriceSlot(
            datetime(2025, 11, 3, 9, tzinfo=UTC),
            datetime(2025, 11, 3, 10, tzinfo=UTC),
            0.3,
        ),
    )
    assert conflict.skipped == 1
    # Same start: the quarter hour wins, the hour that overlaps it goes.
    finer = parse_price_attributes(
        {"raw_today": [{**hour, "value": 0.1}, {**quarter, "value": 0.2}]}
    )
    assert [slot.duration for slot in finer.slots] == [QUARTER]
    assert finer.skipped == 1


# ------------------------------------------------------------------ DST


@pytest.mark.parametrize(
    ("day", "hours"),
    [(datetime(2025, 10, 26, tzinfo=AMS), 25), (datetime(2026, 3, 29, tzinfo=AMS), 23)],
)
@pytest.mark.parametrize("step", [HOUR, QUARTER])
def test_dst_days(day: datetime, hours: int, step: timedelta) -> None:
    count = hours * (HOUR // step)
    nord = parse_price_attributes({"raw_today": nordpool(day, [0.1] * count, step)})
    entsoe = parse_price_attributes(
        {
            "prices_today": [
                {"time": str(start), "price": 0.1} for start, _ in local_day(day, step)
            ]
        }
    )
    for forecast in (nord, entsoe):
        assert len(forecast.slots) == count
        assert {slot.duration for slot in forecast.slots} == {step}
        assert all(
            left.end == right.start
            for left, right in zip(forecast.slots, forecast.slots[1:], strict=False)
        )
        assert forecast.slots[-1].end - forecast.slots[0].start == hours * HOUR


def test_duration_is_real_time_on_a_dst_night() -> None:
    # 02:00 CEST to 02:00 CET is an hour, though the wall clock says zero.
    slot = PriceSlot(
        datetime(2025, 10, 26, 2, tzinfo=AMS),
        datetime(2025, 10, 26, 2, fold=1, tzinfo=AMS),
        0.1,
    )
    assert slot.duration == HOUR


# ------------------------------------------------------------------ fixed


def test_fixed_tariff_night_window() -> None:
    tariff = FixedTariff(
        windows=((time(23), time(7)),), off_peak_price=0.21, peak_price=0.32
    )
    start = datetime(2025, 11, 3, 18, tzinfo=AMS)
    forecast = tariff.forecast(start, start + timedelta(hours=16), AMS)
    assert forecast.source is PriceSource.FIXED
    assert not forecast.relative
    assert len(forecast.slots) == 64
    assert forecast.price_at(datetime(2025, 11, 3, 22, 59, tzinfo=AMS)) == 0.32
    assert forecast.price_at(datetime(2025, 11, 3, 23, 0, tzinfo=AMS)) == 0.21
    assert forecast.price_at(datetime(2025, 11, 4, 6, 59, tzinfo=AMS)) == 0.21
    assert forecast.price_at(datetime(2025, 11, 4, 7, 0, tzinfo=AMS)) == 0.32
    off_peak = sum(
        (slot.duration for slot in forecast.slots if slot.price == 0.21), timedelta()
    )
    assert off_peak == 8 * HOUR


def test_fixed_tariff_relative_and_odd_edges() -> None:
    tariff = FixedTariff(windows=((time(1, 10), time(6)), (time(13), time(16))))
    start = datetime(2025, 11, 3, 0, 5, tzinfo=AMS)
    forecast = tariff.forecast(start, start + timedelta(days=1), AMS)
    assert forecast.relative
    assert {slot.price for slot in forecast.slots} == {0.0, 1.0}
    # Cut at 01:10 (and at the quarter hours), starting at 00:05.
    assert forecast.slots[0].start == start.astimezone(UTC)
    assert forecast.slots[0].end == datetime(2025, 11, 3, 0, 15, tzinfo=AMS)
    assert forecast.price_at(datetime(2025, 11, 3, 1, 5, tzinfo=AMS)) == 1.0
    assert forecast.price_at(datetime(2025, 11, 3, 1, 10, tzinfo=AMS)) == 0.0
    assert forecast.price_at(datetime(2025, 11, 3, 14, tzinfo=AMS)) == 0.0
    cheap = sum(
        (slot.duration for slot in forecast.slots if slot.price == 0.0), timedelta()
    )
    assert cheap == timedelta(hours=4, minutes=50) + 3 * HOUR


@pytest.mark.parametrize(
    ("night", "hours"),
    [
        (datetime(2026, 3, 28, 18, tzinfo=AMS), 7),
        (datetime(2025, 10, 25, 18, tzinfo=AMS), 9),
    ],
)
def test_fixed_tariff_on_dst_nights(night: datetime, hours: int) -> None:
    tariff = FixedTariff(windows=((time(23), time(7)),))
    forecast = tariff.forecast(night, night + timedelta(hours=18), AMS)
    cheap = sum(
        (slot.duration for slot in forecast.slots if slot.price == 0.0), timedelta()
    )
    assert cheap == hours * HOUR


def test_fixed_tariff_window_in_the_skipped_hour() -> None:
    tariff = FixedTariff(windows=((time(2, 30), time(5)),))
    day = datetime(2026, 3, 29, tzinfo=AMS)
    forecast = tariff.forecast(day, day + timedelta(hours=12), AMS)
    # 02:30 does not exist that night: off-peak from the jump to 03:00.
    assert forecast.price_at(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == 1.0
    assert forecast.price_at(datetime(2026, 3, 29, 3, 0, tzinfo=AMS)) == 0.0
    assert forecast.price_at(datetime(2026, 3, 29, 4, 59, tzinfo=AMS)) == 0.0
    assert forecast.price_at(datetime(2026, 3, 29, 5, 0, tzinfo=AMS)) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"windows": ()}, "no off-peak window"),
        ({"windows": ((time(1, tzinfo=UTC), time(5)),)}, "wall times"),
        ({"windows": ((time(5), time(5)),)}, "empty window"),
        (
            {"windows": ((time(1), time(5)),), "off_peak_price": 0.2},
            "both prices",
        ),
        (
            {
                "windows": ((time(1), time(5)),),
                "off_peak_price": 0.2,
                "peak_price": math.inf,
            },
            "not finite",
        ),
    ],
)
def test_fixed_tariff_refuses_what_cannot_be_planned(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(PriceDataError, match=message) as error:
        FixedTariff(**kwargs)
    assert error.value.reason is PriceError.INVALID_TARIFF


def test_forecast_compares_by_content() -> None:
    slots = (
        PriceSlot(
            datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 1, tzinfo=UTC), 1.0
        ),
    )
    assert PriceForecast(PriceSource.FIXED, slots) == PriceForecast(
        PriceSource.FIXED, slots
    )
