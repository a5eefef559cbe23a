"""Solar forecasts: every sensor shape, odd data, the car's share of the surplus."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.evse_local.energy import (
    ChargingLimits,
    EnergySlot,
    PriceSlot,
    plan_charging,
)
from custom_components.evse_local.energy.solar_forecast import (
    PvPeriod,
    SolarDataError,
    SolarError,
    SolarForecast,
    SolarSource,
    car_solar_energy,
    combine_forecasts,
    parse_solar_attributes,
)
from tests.fuzz import FUZZ, json_values, numbers

AMS = ZoneInfo("Europe/Amsterdam")
HALF = timedelta(minutes=30)
JUN21 = datetime(2025, 6, 21, tzinfo=AMS)


def at(hour: int, minute: int = 0) -> datetime:
    """A local time on 21 June 2025 (CEST, UTC+2)."""
    return JUN21.replace(hour=hour, minute=minute)


def utc(hour: int, minute: int = 0) -> datetime:
    return at(hour, minute).astimezone(UTC)


# As the Solcast integration shows them on sensor.solcast_pv_forecast_forecast_today
# (datetimes in the local zone, kW per half hour).
SOLCAST_TODAY: dict[str, Any] = {
    "estimate": 28.88,
    "estimate10": 25.66,
    "estimate90": 30.01,
    "dayname": "Saturday",
    "dataCorrect": True,
    "detailedForecast": [
        {
            "period_start": at(11, 0),
            "pv_estimate": 4.8,
            "pv_estimate10": 3.2,
            "pv_estimate90": 5.1,
        },
        {
            "period_start": at(11, 30),
            "pv_estimate": 5.0,
            "pv_estimate10": 3.6,
            "pv_estimate90": 5.3,
        },
        {
            "period_start": at(12, 0),
            "pv_estimate": 5.2,
            "pv_estimate10": 4.0,
            "pv_estimate90": 5.4,
        },
    ],
    "detailedHourly": [
        {
            "period_start": at(11, 0),
            "pv_estimate": 4.9,
            "pv_estimate10": 3.4,
            "pv_estimate90": 5.2,
        },
    ],
}

# sensor.energy_production_today of Open-Meteo Solar Forecast (ISO keys).
OPEN_METEO_TODAY: dict[str, Any] = {
    "watts": {
        "2025-06-21T11:00:00+02:00": 3000,
        "2025-06-21T11:15:00+02:00": 3400,
        "2025-06-21T11:30:00+02:00": 3800,
        "2025-06-21T11:45:00+02:00": 4000,
    },
    "wh_period": {
        "2025-06-21T11:00:00+02:00": 3550,
    },
}

# A REST sensor on api.forecast.solar with json_attributes_path "$.result":
# naive local times.
FORECAST_SOLAR_API: dict[str, Any] = {
    "watts": {
        "2025-06-21 05:17:00": 0,
        "2025-06-21 06:00:00": 400,
        "2025-06-21 07:00:00": 1200,
    },
    "watt_hours_period": {"2025-06-21 06:00:00": 143, "2025-06-21 07:00:00": 800},
    "watt_hours": {"2025-06-21 06:00:00": 143, "2025-06-21 07:00:00": 943},
    "watt_hours_day": {"2025-06-21": 35000},
}


# ------------------------------------------------------------------ shapes


def test_solcast_uses_the_cautious_estimate() -> None:
    forecast = parse_solar_attributes(SOLCAST_TODAY)
    assert forecast.source is SolarSource.SOLCAST
    assert forecast.estimate == "pv_estimate10"
    assert forecast.skipped == 0
    assert forecast.periods == (
        PvPeriod(utc(11, 0), utc(11, 30), 3200.0),
        PvPeriod(utc(11, 30), utc(12, 0), 3600.0),
        PvPeriod(utc(12, 0), utc(12, 30), 4000.0),
    )
    assert forecast.periods[0].start.tzinfo is UTC
    # Half hours of 3.2, 3.6 and 4.0 kW.
    assert math.isclose(forecast.energy_wh, 5400.0)


def test_solcast_median_without_the_10th_percentile() -> None:
    forecast = parse_solar_attributes(
        {
            "detailedForecast": [
                {"period_start": "2025-06-21T11:00:00+02:00", "pv_estimate": "4.8"},
                {"period_start": at(11, 30), "pv_estimate": 5, "pv_estimate10": None},
            ]
        }
    )
    assert forecast.estimate == "pv_estimate"
    assert [p.power_w for p in forecast.periods] == [4800.0, 5000.0]


def test_solcast_hourly_when_the_half_hours_are_off() -> None:
    forecast = parse_solar_attributes(
        {"detailedHourly": SOLCAST_TODAY["detailedHourly"]}
    )
    assert forecast.periods == (PvPeriod(utc(11), utc(12), 3400.0),)


def test_open_meteo_watts_between_samples() -> None:
    forecast = parse_solar_attributes(OPEN_METEO_TODAY)
    assert forecast.source is SolarSource.WATTS
    assert forecast.periods == (
        PvPeriod(utc(11, 0), utc(11, 15), 3200.0),
        PvPeriod(utc(11, 15), utc(11, 30), 3600.0),
        PvPeriod(utc(11, 30), utc(11, 45), 3900.0),
    )


def test_open_meteo_wh_period_alone() -> None:
    forecast = parse_solar_attributes(
        {
            "wh_period": {
                "2025-06-21T11:00:00+02:00": 3550,
                "2025-06-21T12:00:00+02:00": "3900.5",
                "2025-06-21T12:15:00+02:00": 1000,
            }
        }
    )
    assert forecast.source is SolarSource.WH_PERIOD
    assert forecast.periods == (
        PvPeriod(utc(11), utc(12), 3550.0),
        PvPeriod(utc(12), utc(12, 15), 3900.5 * 4),
        # The last lasts an hour: no next key says otherwise.
        PvPeriod(utc(12, 15), utc(13, 15), 1000.0),
    )


def test_forecast_solar_api_naive_local_times() -> None:
    forecast = parse_solar_attributes(FORECAST_SOLAR_API, tz=AMS)
    assert forecast.source is SolarSource.WATTS
    assert forecast.periods == (
        PvPeriod(utc(5, 17), utc(6), 200.0),
        PvPeriod(utc(6), utc(7), 800.0),
    )
    with pytest.raises(SolarDataError) as err:
        # Without the zone the times mean nothing.
        parse_solar_attributes(FORECAST_SOLAR_API)
    assert err.value.reason is SolarError.NO_USABLE_VALUES


def test_samples_far_apart_leave_a_gap() -> None:
    forecast = parse_solar_attributes(
        {
            "watts": {
                "2025-06-21T06:00:00+02:00": 100,
                "2025-06-21T09:00:00+02:00": 2000,
                "2025-06-21T10:00:00+02:00": 3000,
            }
        }
    )
    assert forecast.periods == (PvPeriod(utc(9), utc(10), 2500.0),)


def test_no_forecast_attribute() -> None:
    with pytest.raises(SolarDataError) as err:
        parse_solar_attributes({"unit_of_measurement": "kWh", "estimate": 28.8})
    assert err.value.reason is SolarError.NO_FORECAST


@pytest.mark.parametrize(
    "attributes",
    [
        {"detailedForecast": "4.8"},
        {"detailedHourly": {"a": 1}},
        {"watts": [1, 2, 3]},
        {"wh_period": "none"},
    ],
)
def test_an_attribute_of_the_wrong_type(attributes: dict[str, Any]) -> None:
    with pytest.raises(SolarDataError) as err:
        parse_solar_attributes(attributes)
    assert err.value.reason is SolarError.MALFORMED


@pytest.mark.parametrize(
    "attributes",
    [
        {"detailedForecast": []},
        {"detailedForecast": None},
        {"watts": {}},
        {"watts": None},
        {"wh_period": {}},
    ],
)
def test_empty_is_an_empty_forecast(attributes: dict[str, Any]) -> None:
    forecast = parse_solar_attributes(attributes)
    assert forecast.periods == ()
    assert forecast.energy_wh == 0


def test_bad_entries_are_skipped_and_counted() -> None:
    forecast = parse_solar_attributes(
        {
            "detailedForecast": [
                "4.8",
                {"pv_estimate": 4.8},
                {"period_start": "noon", "pv_estimate": 4.8},
                {"period_start": at(11), "pv_estimate": -1},
                {"period_start": at(11), "pv_estimate": math.nan},
                {"period_start": at(11), "pv_estimate": True},
                {"period_start": at(11), "pv_estimate": "much"},
                {"period_start": at(11), "pv_estimate": 1e300},
                {"period_start": at(11), "pv_estimate": 2},
                # Overlaps the one kept: the earlier wins.
                {"period_start": at(11, 15), "pv_estimate": 9},
            ]
        }
    )
    assert forecast.periods == (PvPeriod(utc(11), utc(11, 30), 2000.0),)
    assert forecast.skipped == 9
    with pytest.raises(SolarDataError) as err:
        parse_solar_attributes({"detailedForecast": [{"period_start": at(11)}]})
    assert err.value.reason is SolarError.NO_USABLE_VALUES


def test_sensors_add_up() -> None:
    east = SolarForecast(
        SolarSource.WATTS,
        (PvPeriod(utc(9), utc(10), 1000.0), PvPeriod(utc(10), utc(11), 2000.0)),
    )
    west = SolarForecast(SolarSource.SOLCAST, (PvPeriod(utc(10, 30), utc(12), 600.0),))
    assert combine_forecasts([east, west]) == (
        PvPeriod(utc(9), utc(10), 1000.0),
        PvPeriod(utc(10), utc(10, 30), 2000.0),
        PvPeriod(utc(10, 30), utc(11), 2600.0),
        PvPeriod(utc(11), utc(12), 600.0),
    )
    # Today and tomorrow, with a night between: the gap stays a gap.
    today = SolarForecast(SolarSource.SOLCAST, (PvPeriod(utc(9), utc(10), 1.0),))
    tomorrow = SolarForecast(
        SolarSource.SOLCAST,
        (PvPeriod(utc(9) + timedelta(days=1), utc(10) + timedelta(days=1), 2.0),),
    )
    assert combine_forecasts([today, tomorrow]) == today.periods + tomorrow.periods
    assert combine_forecasts([]) == ()


# ------------------------------------------------------------------ the car


def test_the_car_gets_the_surplus_between_its_minimum_and_maximum() -> None:
    periods = [
        PvPeriod(utc(8), utc(9), 1500.0),  # 1000 W over the house: below 6 A
        PvPeriod(utc(9), utc(10), 2000.0),  # 1500 W: starts at 1380 W
        PvPeriod(utc(10), utc(11), 9000.0),  # 8500 W: capped at 16 A, 3680 W
        PvPeriod(utc(11), utc(12), 400.0),  # under the house's use
    ]
    slots = car_solar_energy(
        periods,
        now=utc(8, 30),
        until=utc(12),
        house_w=500,
        min_power_w=6 * 230,
        max_power_w=16 * 230,
    )
    assert slots == [
        EnergySlot(utc(9), utc(10), 1500.0),
        EnergySlot(utc(10), utc(11), 3680.0),
    ]


def test_cars_share_the_surplus() -> None:
    periods = [PvPeriod(utc(9), utc(10), 6500.0)]
    kwargs: dict[str, Any] = {
        "now": utc(9),
        "until": utc(10),
        "house_w": 500,
        "min_power_w": 1380,
        "max_power_w": 11000,
    }
    assert car_solar_energy(periods, **kwargs, cars=2) == [
        EnergySlot(utc(9), utc(10), 3000.0)
    ]
    # Four cars: 1500 W each, above the minimum; five: 1200 W, below it.
    assert car_solar_energy(periods, **kwargs, cars=4)[0].energy_wh == 1500.0
    assert car_solar_energy(periods, **kwargs, cars=5) == []


def test_only_between_now_and_the_ready_time() -> None:
    periods = [PvPeriod(utc(9), utc(11), 3500.0)]
    slots = car_solar_energy(
        periods,
        now=utc(9, 30),
        until=at(10, 15),  # any zone
        house_w=500,
        min_power_w=1380,
        max_power_w=11000,
    )
    assert slots == [EnergySlot(utc(9, 30), utc(10, 15), 3000.0 * 0.75)]
    assert (
        car_solar_energy(
            periods,
            now=utc(11),
            until=utc(12),
            house_w=0,
            min_power_w=1,
            max_power_w=1,
        )
        == []
    )


def test_a_sunny_forecast_makes_the_plan_buy_less() -> None:
    """Plugged in at 08:00, 30 kWh by 18:00, 0.30/kWh all day, a sunny noon."""
    limits = ChargingLimits(max_current=16, phases=3)  # 11040 W
    now, ready = utc(8), utc(18)
    prices = [PriceSlot(utc(8), utc(18), 0.30)]
    entries = [
        {"period_start": at(8) + index * HALF, "pv_estimate10": kw, "pv_estimate": kw}
        for index, kw in enumerate(
            [1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 6, 5, 4, 3, 2, 1, 0.5, 0.2, 0, 0]
        )
    ]
    sun = car_solar_energy(
        parse_solar_attributes({"detailedForecast": entries}).periods,
        now=now,
        until=ready,
        house_w=500,
        min_power_w=limits.power_w(limits.lowest_current),
        max_power_w=limits.power_w(limits.highest_current),
    )
    cloudy = plan_charging(
        now=now, ready_by=ready, energy_wh=30_000, limits=limits, prices=prices
    )
    sunny = plan_charging(
        now=now,
        ready_by=ready,
        energy_wh=30_000,
        limits=limits,
        prices=prices,
        solar=sun,
    )
    # Only the half hours of 5 to 7 kW leave the car its 6 A x 3 phases
    # (4140 W) over the house's 500 W: 4.5 + 5.5 + 4 x 6.5 + 5.5 + 4.5 kW for
    # half an hour each, 23 kWh.
    assert sum(slot.energy_wh for slot in sun) == pytest.approx(23_000)
    assert sunny.solar_wh == pytest.approx(23_000)
    assert cloudy.grid_energy_wh == pytest.approx(30_000)
    assert sunny.grid_energy_wh == pytest.approx(7_000)
    assert cloudy.cost == pytest.approx(9.0)
    assert sunny.cost == pytest.approx(2.1)
    assert sunny.energy_wh == pytest.approx(30_000)


# ------------------------------------------------------------------ fuzz

_keys = st.sampled_from(
    ["detailedForecast", "detailedHourly", "watts", "wh_period", "other"]
)
_times = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, AMS])),
    st.datetimes(timezones=st.sampled_from([UTC, AMS])).map(datetime.isoformat),
    st.text(max_size=12),
    numbers,
)
_entries = st.one_of(
    st.fixed_dictionaries(
        {"period_start": _times},
        optional={
            "pv_estimate": st.one_of(numbers, json_values),
            "pv_estimate10": st.one_of(numbers, json_values),
        },
    ),
    json_values,
)
_series = st.dictionaries(
    st.one_of(
        st.datetimes(timezones=st.sampled_from([UTC, AMS])).map(datetime.isoformat),
        st.text(max_size=12),
    ),
    st.one_of(numbers, json_values),
    max_size=8,
)


@FUZZ
@given(
    st.dictionaries(
        _keys,
        st.one_of(st.lists(_entries, max_size=8), _series, json_values),
        max_size=3,
    ),
    st.sampled_from([None, UTC, AMS]),
)
def test_any_attributes_give_a_clean_forecast_or_a_data_error(
    attributes: dict[str, Any], tz: Any
) -> None:
    try:
        forecast = parse_solar_attributes(attributes, tz=tz)
    except SolarDataError as err:
        reason: Any = err.reason
    else:
        reason = None
    if reason is not None:
        assert isinstance(reason, SolarError)
        return
    for period in forecast.periods:
        assert period.start.tzinfo is UTC
        assert period.start < period.end
        assert math.isfinite(period.power_w)
        assert period.power_w >= 0
    for left, right in zip(forecast.periods, forecast.periods[1:], strict=False):
        assert left.end <= right.start
    assert forecast.skipped >= 0
    now = datetime(2000, 1, 1, tzinfo=UTC)
    for slot in car_solar_energy(
        combine_forecasts([forecast, forecast]),
        now=now,
        until=now + timedelta(days=3650),
        house_w=500,
        min_power_w=1380,
        max_power_w=7360,
    ):
        assert slot.start < slot.end
        hours = (slot.end - slot.start).total_seconds() / 3600
        assert 0 < slot.energy_wh <= 7360 * hours + 1e-6
