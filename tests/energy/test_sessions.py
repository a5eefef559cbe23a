"""The session recorder: sessions, energy, cost and solar share from readings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.evse_local.energy.sessions import (
    BLIND_SECONDS,
    CONFIRM_SECONDS,
    HourEnergy,
    LimitKind,
    LimitReached,
    Reading,
    Session,
    SessionEnded,
    SessionEvent,
    SessionRecorder,
    SessionStarted,
    hourly_totals,
    price_unit,
    solar_share,
)

T0 = datetime(2026, 11, 21, 17, 59, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Car:
    """A charger seen through readings: a lifetime counter and a plug."""

    def __init__(self, recorder: SessionRecorder, *, lifetime_wh: float = 1000.0):
        self.recorder = recorder
        self.lifetime_wh = lifetime_wh
        self.clock = 0.0
        self.events: list[SessionEvent] = []

    def read(self, seconds: float = 0.0, wh: float = 0.0, **fields: Any) -> None:
        """``seconds`` later, ``wh`` more on the counter, one reading."""
        self.clock += seconds
        self.lifetime_wh += wh
        fields.setdefault("vehicle_connected", True)
        fields.setdefault("lifetime_wh", self.lifetime_wh)
        self.events += self.recorder.update(Reading(at=at(self.clock), **fields))

    def ended(self) -> list[Session]:
        return [e.session for e in self.events if isinstance(e, SessionEnded)]

    def started(self) -> list[SessionStarted]:
        return [e for e in self.events if isinstance(e, SessionStarted)]


def test_a_session_from_plug_in_to_unplug() -> None:
    """Both edges are confirmed by a second reading; the first one dates them."""
    car = Car(SessionRecorder("serial"))
    car.read(vehicle_connected=False)
    car.read(10, vehicle_connected=True)
    assert car.events == []  # one reading is not a plug-in yet
    car.read(10, 30)
    assert car.started() == [SessionStarted(car.started()[0].session_id, at(10), None)]
    car.read(10, 30)
    car.read(10, vehicle_connected=False)
    assert car.ended() == []
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.started_at == at(10)
    assert session.ended_at == at(40)
    assert session.duration == timedelta(seconds=30)
    assert session.energy_wh == 60
    assert session.charger == "serial"
    assert (session.cost, session.solar_wh, session.solar_share) == (None, None, None)
    assert car.recorder.open_session is None


def test_energy_before_the_first_plugged_in_reading_belongs_to_the_session() -> None:
    """The car may start drawing between the last empty reading and the next."""
    car = Car(SessionRecorder("s"))
    car.read(vehicle_connected=False)
    car.read(10, 5)  # plugged in and drawing before this reading
    car.read(10, 30)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert car.ended()[0].energy_wh == 35


def test_a_car_there_at_the_first_reading_is_recorded_but_not_announced() -> None:
    """Home Assistant started with the car plugged in: its start is unknown."""
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 30)
    assert car.started() == []
    assert recorder.open_session is not None
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert (session.started_at, session.energy_wh) == (at(0), 30)


def test_one_odd_reading_neither_splits_nor_makes_a_session() -> None:
    """A glitching car state: one reading off, in either direction."""
    car = Car(SessionRecorder("s"))
    car.read(vehicle_connected=False)
    car.read(10, vehicle_connected=True)  # ghost
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert car.events == []

    car.read(10)
    car.read(10, 20)
    car.read(10, 20, vehicle_connected=False)  # glitch mid-session
    car.read(10, 20)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert len(car.started()) == 1
    (session,) = car.ended()
    assert session.energy_wh == 60


def test_an_unknown_car_state_changes_nothing() -> None:
    car = Car(SessionRecorder("s"))
    car.read()
    car.read(10, 10)
    car.read(10, 10, vehicle_connected=None)
    car.read(10, 10, vehicle_connected=None)
    assert car.ended() == []
    assert car.recorder.open_session is not None
    assert car.recorder.open_session.energy_wh == 30


def test_an_unplug_or_plug_in_seen_once_is_confirmed_by_time() -> None:
    """A charger that pushes only changes sends no second reading."""
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read(vehicle_connected=False)
    car.read()
    assert recorder.confirm_due == at(CONFIRM_SECONDS)
    assert recorder.tick(at(CONFIRM_SECONDS - 1)) == []
    (started,) = recorder.tick(at(CONFIRM_SECONDS))
    assert isinstance(started, SessionStarted)
    assert started.started_at == at(0)
    assert recorder.confirm_due is None
    car.read(100, 50, vehicle_connected=False)
    assert recorder.confirm_due == at(100 + CONFIRM_SECONDS)
    assert recorder.tick(at(120)) == []
    (ended,) = recorder.tick(at(200))
    assert isinstance(ended, SessionEnded)
    assert ended.session.ended_at == at(100)
    assert ended.session.energy_wh == 50
    assert recorder.tick(at(300)) == []


def test_prices_change_mid_session_at_their_own_time() -> None:
    """Energy is spread over the time between readings, and priced by slot."""
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), 0.30, "EUR")
    car = Car(recorder)
    car.read()
    car.read(10, 10)
    # The slot changes 5 s into the next 10 s: half the energy at each price.
    recorder.set_price(at(15), 0.10, "EUR")
    car.read(10, 100)
    car.read(10, 10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.energy_wh == 120
    assert session.priced_wh == 120
    assert session.cost == pytest.approx((10 + 50) / 1000 * 0.30 + 60 / 1000 * 0.10)
    assert session.currency == "EUR"


def test_energy_and_cost_per_clock_hour() -> None:
    """An interval across the hour is cut at the hour, by time."""
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), 0.2)
    car = Car(recorder)
    car.read()  # 17:59:00
    car.read(40, 400)  # 17:59:40
    car.read(40, 400)  # 18:00:20: 20 s in each hour
    car.read(40, vehicle_connected=False)
    car.read(40, vehicle_connected=False)
    (session,) = car.ended()
    assert session.hours == (
        HourEnergy(datetime(2026, 11, 21, 17, tzinfo=UTC), 600, 0.12),
        HourEnergy(datetime(2026, 11, 21, 18, tzinfo=UTC), 200, 0.04),
    )
    assert session.cost == pytest.approx(0.16)


def test_no_price_sensor_leaves_the_cost_unknown() -> None:
    car = Car(SessionRecorder("s"))
    car.read()
    car.read(10, 100)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.cost is None
    assert session.priced_wh == 0
    assert session.hours[0].cost == 0


def test_an_unavailable_price_sensor_leaves_that_energy_unpriced() -> None:
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), 0.25)
    car = Car(recorder)
    car.read()
    car.read(10, 100)
    recorder.set_price(at(10), None)  # the sensor went unavailable
    car.read(10, 100)
    recorder.set_price(at(20), 0.25)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.energy_wh == 200
    assert session.priced_wh == 100
    assert session.cost == pytest.approx(0.025)


def test_negative_prices_pay_the_driver() -> None:
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), -0.05, "EUR")
    car = Car(recorder)
    car.read()
    car.read(100, 1000)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.cost == pytest.approx(-0.05)


def test_a_price_sensor_that_appears_mid_session_prices_what_follows() -> None:
    """A cost of 0 is known, not unknown, once a price was there."""
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 100)
    recorder.set_price(at(20), 0.5)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert (session.cost, session.priced_wh) == (0, 0)


def test_solar_share_of_the_energy() -> None:
    """The share reported with a reading covers the energy it reports."""
    car = Car(SessionRecorder("s"))
    car.read(solar_share=1.0)
    car.read(10, 100, solar_share=1.0)
    car.read(10, 100, solar_share=0.25)
    car.read(10, 100, solar_share=None)  # power 0 at the end: the last share
    car.read(10, 100, solar_share=7.0)  # nonsense: as unknown
    car.read(10, vehicle_connected=False, solar_share=None)
    car.read(10, vehicle_connected=False, solar_share=None)
    (session,) = car.ended()
    assert session.solar_wh == pytest.approx(100 + 25 + 25)
    assert session.solar_share == pytest.approx(150 / 400)


def test_solar_share_of_an_empty_session_is_zero() -> None:
    car = Car(SessionRecorder("s"))
    car.read(solar_share=0.5)
    car.read(10, solar_share=0.5)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert car.ended()[0].solar_share == 0.0


@pytest.mark.parametrize(
    ("charging_w", "grid_w", "battery_w", "share"),
    [
        (3000, -500, None, 1.0),  # exporting: all solar
        (3000, 1000, None, 2 / 3),  # importing 1 kW of the 3 kW
        (3000, 4000, None, 0.0),
        (3000, 0, -1500, 0.5),  # a discharging home battery is not sun
        (3000, 0, 2000, 1.0),  # a charging one takes from the sun, not the car
        (0, -500, None, None),  # nothing charges
        (3000, None, None, None),  # grid meter unknown
        (3000, float("nan"), None, None),
    ],
)
def test_solar_share_formula(
    charging_w: float, grid_w: float | None, battery_w: float | None, share: float
) -> None:
    assert solar_share(charging_w, grid_w, battery_w) == (
        share if share is None else pytest.approx(share)
    )


@pytest.mark.parametrize(
    ("odd", "counted"),
    [
        (0.0, 300),  # a counter reading 0 once
        (-5.0, 300),
        (1_000_000.0, 300),  # a jump no charger can make in 10 s
        (float("inf"), 300),
    ],
)
def test_one_odd_counter_value_neither_loses_nor_invents_energy(
    odd: float, counted: float
) -> None:
    car = Car(SessionRecorder("s"))
    car.read()
    car.read(10, 100)
    car.read(10, 100, lifetime_wh=odd)
    car.read(10, 100)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert car.ended()[0].energy_wh == counted


def test_a_counter_reset_is_followed_once_confirmed() -> None:
    """The counter restarts from 0: one interval is lost, nothing invented."""
    car = Car(SessionRecorder("s"), lifetime_wh=50_000)
    car.read()
    car.read(10, 100)
    car.lifetime_wh = 0
    car.read(10, 0)  # reset (suspect)
    car.read(10, 40)  # confirms it: 0 -> 40 counts
    car.read(10, 60)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert car.ended()[0].energy_wh == 200


def test_session_counter_for_chargers_without_a_lifetime_counter() -> None:
    """Like the limits: a session counter that restarts counts from zero."""
    recorder = SessionRecorder("s")
    events: list[SessionEvent] = []
    for seconds, connected, session_wh in [
        (0, False, 0),
        (10, True, 0),
        (20, True, 100),
        (30, True, 250),
        (40, True, 0),  # restarted (suspect)
        (50, True, 30),  # confirmed: +30
        (60, False, 30),
        (70, False, 30),
    ]:
        events += recorder.update(
            Reading(at=at(seconds), vehicle_connected=connected, session_wh=session_wh)
        )
    (ended,) = [e for e in events if isinstance(e, SessionEnded)]
    assert ended.session.energy_wh == 280


def test_restart_mid_session_keeps_it() -> None:
    """A routine restart: the session goes on, the price before it holds."""
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), 0.2, "EUR")
    car = Car(recorder)
    car.read(vehicle_connected=False)
    car.read()
    car.read(10, 100, id_tag="CARD-1")
    saved = json.loads(json.dumps(recorder.export_state()))

    restarted = SessionRecorder("s")
    restarted.restore_state(saved, at(80))
    restarted.set_price(at(80), 0.2, "EUR")
    car.recorder = restarted
    car.read(80, 500)  # 500 Wh while Home Assistant restarted
    car.read(10, 100)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert len(car.started()) == 1
    (session,) = car.ended()
    assert session.started_at == at(0)
    assert session.energy_wh == 700
    assert session.priced_wh == 700
    assert session.cost == pytest.approx(0.14)
    assert session.id_tag == "CARD-1"
    assert session.currency == "EUR"


def test_a_long_downtime_leaves_its_energy_unpriced_and_not_solar() -> None:
    recorder = SessionRecorder("s")
    recorder.set_price(at(0), 0.2)
    car = Car(recorder)
    car.read(solar_share=1.0)
    car.read(10, 100, solar_share=1.0)
    saved = recorder.export_state()

    down = 3 * 3600
    restarted = SessionRecorder("s")
    restarted.restore_state(saved, at(10 + down))
    restarted.set_price(at(10 + down), 0.3)
    car.recorder = restarted
    car.read(down + 10, 6000, solar_share=1.0)
    car.read(10, 100, solar_share=1.0)
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.energy_wh == 6200
    # Priced: the first 100 Wh, the part of the gap after the restart
    # (10 s of 3 h 10 s) and the last 100 Wh.
    gap_after = 6000 * 10 / (down + 10)
    assert session.priced_wh == pytest.approx(200 + gap_after, abs=0.001)
    assert session.cost == pytest.approx(
        0.1 * 0.2 + (gap_after + 100) / 1000 * 0.3, abs=1e-6
    )
    assert session.solar_wh == pytest.approx(200)
    # The statistics see the gap's energy spread over the hours it spans.
    assert sum(hour.energy_wh for hour in session.hours) == pytest.approx(6200)
    assert len(session.hours) == 4


def test_a_session_that_ended_while_home_assistant_was_down() -> None:
    """Closed on the first reading; it ended when it was last seen."""
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 100)
    saved = recorder.export_state()

    restarted = SessionRecorder("s")
    restarted.restore_state(saved, at(7200))
    car.recorder = restarted
    car.read(7190, 50, vehicle_connected=False)
    (session,) = car.ended()
    assert session.ended_at == at(10)
    assert session.energy_wh == 150

    # A short restart: it ended by the first reading after it.
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 100)
    restarted = SessionRecorder("s")
    restarted.restore_state(recorder.export_state(), at(60))
    car.recorder = restarted
    car.read(50, vehicle_connected=False)
    assert car.ended()[0].ended_at == at(60)


def test_an_unplug_seen_before_a_restart_dates_the_end() -> None:
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 100)
    car.read(10, vehicle_connected=False)
    restarted = SessionRecorder("s")
    restarted.restore_state(recorder.export_state(), at(60))
    car.recorder = restarted
    car.read(40, vehicle_connected=False)
    assert car.ended()[0].ended_at == at(20)


def test_a_new_transaction_after_a_restart_is_a_new_session() -> None:
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read(vehicle_connected=False)
    car.read(transaction_id=1, id_tag="A")
    saved = recorder.export_state()
    restarted = SessionRecorder("s")
    restarted.restore_state(saved, at(5000))
    car.recorder = restarted
    car.read(5000, 700, transaction_id=2, id_tag="B")
    (first,) = car.ended()
    assert (first.id_tag, first.ended_at) == ("A", at(0))
    # B came while Home Assistant was down: recorded, but no start to announce.
    assert [started.id_tag for started in car.started()] == ["A"]
    assert restarted.open_session is not None
    assert restarted.open_session.energy_wh == 700


def test_transactions_start_at_once_and_a_stop_with_the_car_in_is_no_end() -> None:
    """OCPP: StartTransaction is the charger's word; a RemoteStop pause is not an unplug."""
    car = Car(SessionRecorder("s"))
    car.read(vehicle_connected=False)
    car.read(10, vehicle_connected=None, transaction_id=7, id_tag="TAG")
    assert car.started()[0].id_tag == "TAG"
    car.read(10, 100, transaction_id=7)
    car.read(10, 0, transaction_id=None)  # paused by ending the transaction
    car.read(10, 0, transaction_id=None)
    car.read(10, 100, transaction_id=8)  # resumed: a new transaction
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    assert len(car.started()) == 1
    (session,) = car.ended()
    assert session.energy_wh == 200
    assert session.id_tag == "TAG"


def test_limit_reached_by_the_integrations_enforcer_is_reported_once() -> None:
    car = Car(SessionRecorder("s"))
    car.read(vehicle_connected=False)
    car.read(10)
    car.read(10, 100)
    car.read(10, 100, limit_reached=LimitKind.ENERGY)
    car.read(10, 0, limit_reached=LimitKind.ENERGY)
    limits = [e for e in car.events if isinstance(e, LimitReached)]
    assert limits == [
        LimitReached(car.started()[0].session_id, at(30), LimitKind.ENERGY, 200)
    ]


def test_limit_reached_on_the_charger_itself() -> None:
    """RAPI clears its limit when reached; the limit it showed counts."""
    car = Car(SessionRecorder("s"))
    car.read(energy_limit_kwh=1.0, charging=True, session_wh=0)
    car.read(60, 500, energy_limit_kwh=1.0, charging=True, session_wh=500)
    car.read(60, 500, energy_limit_kwh=0.0, charging=False, session_wh=995)
    car.read(60, 0, energy_limit_kwh=0.0, charging=False, session_wh=995)
    (limit,) = [e for e in car.events if isinstance(e, LimitReached)]
    assert (limit.kind, limit.at, limit.energy_wh) == (
        LimitKind.ENERGY,
        at(120),
        1000,
    )

    car = Car(SessionRecorder("s"))
    car.read(time_limit_minutes=30, charging=True, session_seconds=0)
    car.read(1800, 100, time_limit_minutes=30, charging=False, session_seconds=1800)
    (limit,) = [e for e in car.events if isinstance(e, LimitReached)]
    assert limit.kind is LimitKind.TIME


def test_a_pause_or_a_cleared_limit_is_no_reached_limit() -> None:
    car = Car(SessionRecorder("s"))
    car.read(energy_limit_kwh=5.0, time_limit_minutes=60, charging=True)
    # Paused by the user well below the limit.
    car.read(10, 500, energy_limit_kwh=5.0, time_limit_minutes=60, charging=False)
    car.read(10, 0, session_wh=500, session_seconds=10, charging=False)
    # The user clears the limits while charging, then pauses past them.
    car.read(10, 0, energy_limit_kwh=0, time_limit_minutes=0, charging=True)
    car.read(
        4000, 5000, charging=False, session_wh=5500, session_seconds=4000,
        energy_limit_kwh=0, time_limit_minutes=0,
    )  # fmt: skip
    assert [e for e in car.events if isinstance(e, LimitReached)] == []


def test_limit_already_reported_before_a_restart_is_not_reported_again() -> None:
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 100, limit_reached=LimitKind.TIME)
    restarted = SessionRecorder("s")
    restarted.restore_state(recorder.export_state(), at(30))
    car.recorder = restarted
    car.read(10, 0, limit_reached=LimitKind.TIME)
    assert len([e for e in car.events if isinstance(e, LimitReached)]) == 1


def test_saved_when_something_worth_keeping_changed() -> None:
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read(vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    recorder.set_price(at(20), 0.3)
    assert not recorder.dirty  # nothing to lose while no car is there
    car.read(10)
    car.read(10)
    assert recorder.dirty
    recorder.stored()
    assert not recorder.dirty
    car.read(10)  # nothing flowed
    assert not recorder.dirty
    car.read(10, 10)
    assert recorder.dirty


def test_session_round_trip_and_bad_saved_state() -> None:
    session = Session(
        session_id="1",
        charger="c",
        started_at=at(0),
        ended_at=at(60),
        energy_wh=100,
        cost=0.02,
        priced_wh=100,
        currency="EUR",
        solar_wh=50,
        id_tag="t",
        hours=(HourEnergy(datetime(2026, 11, 21, 17, tzinfo=UTC), 100, 0.02),),
    )
    assert Session.from_dict(json.loads(json.dumps(session.as_dict()))) == session

    recorder = SessionRecorder("s")
    for bad in (
        None,
        {"version": 99},
        {"version": 1, "open": {"energy_wh": 1}},
        {"version": 1, "prices": [["x", 1]]},
        {"version": 1, "lifetime": ["a", None, None, None], "session": [1]},
    ):
        recorder.restore_state(bad, at(0))
        assert recorder.open_session is None
        assert recorder.export_state()["lifetime"] == [None, None, None, None]


readings = st.lists(
    st.tuples(
        st.integers(1, 1800),  # seconds since the last reading
        st.floats(0, 3000),  # Wh delivered meanwhile
        st.sampled_from([True, True, True, False, None]),  # car state
        st.one_of(st.none(), st.floats(-0.5, 1.0)),  # price
        st.booleans(),  # an extra price change between readings
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(readings)
def test_sessions_add_up(
    steps: list[tuple[int, float, bool | None, Any, bool]],
) -> None:
    """Hours add up to the session; no session holds more than was delivered."""
    recorder = SessionRecorder("s")
    clock = 0.0
    lifetime = 0.0
    sessions: list[Session] = []
    for seconds, wh, connected, price, extra_change in steps:
        if extra_change:
            recorder.set_price(at(clock + seconds / 2), price)
        clock += seconds
        lifetime += wh
        recorder.set_price(at(clock), price)
        events = recorder.update(
            Reading(at=at(clock), vehicle_connected=connected, lifetime_wh=lifetime)
        )
        sessions += [e.session for e in events if isinstance(e, SessionEnded)]
    if (open_session := recorder.open_session) is not None:
        sessions.append(open_session)
    for session in sessions:
        assert sum(h.energy_wh for h in session.hours) == pytest.approx(
            session.energy_wh, abs=0.01
        )
        assert sum(h.cost for h in session.hours) == pytest.approx(
            session.cost or 0.0, abs=1e-4
        )
        assert session.priced_wh <= session.energy_wh + 0.01
        assert session.started_at <= session.ended_at
        starts = [hour.start for hour in session.hours]
        assert starts == sorted(set(starts))
    assert sum(s.energy_wh for s in sessions) <= lifetime + 0.01
    assert BLIND_SECONDS > CONFIRM_SECONDS


def test_odd_inputs_at_the_edges() -> None:
    """Readings at one instant, prices out of order or not finite, early ticks."""
    recorder = SessionRecorder("s")
    assert recorder.tick(at(0)) == []
    recorder.set_price(at(10), 0.2)
    recorder.set_price(at(5), 0.4)  # late news: from the last change on
    car = Car(recorder)
    car.read(10)
    car.read(0, 50)  # the same instant: energy without duration
    car.read(10, 100)
    recorder.set_price(at(20), float("nan"))  # unknown from now on
    car.read(10, vehicle_connected=False)
    car.read(10, vehicle_connected=False)
    (session,) = car.ended()
    assert session.energy_wh == 150
    assert session.priced_wh == 150
    assert session.cost == pytest.approx(0.15 * 0.4)


def test_the_session_counter_until_the_lifetime_counter_reports() -> None:
    """OCPP: StartTransaction sets the session to 0; the register comes later."""
    recorder = SessionRecorder("s")
    events: list[SessionEvent] = []
    for seconds, connected, transaction, session_wh, lifetime_wh in [
        (0, False, None, None, None),
        (10, True, None, 400, None),  # Preparing: the last session's value
        (20, True, 1, 0, None),  # StartTransaction
        (30, True, 1, 80, 5080),  # first MeterValues: register at last
        (40, True, 1, 160, 5160),
        (50, True, None, 160, 5160),  # StopTransaction
        (60, False, None, 160, 5160),
        (70, False, None, 160, 5160),
    ]:
        events += recorder.update(
            Reading(
                at=at(seconds),
                vehicle_connected=connected,
                transaction_id=transaction,
                session_wh=session_wh,
                lifetime_wh=lifetime_wh,
            )
        )
    (ended,) = [e for e in events if isinstance(e, SessionEnded)]
    assert ended.session.energy_wh == 160


@pytest.mark.parametrize(
    ("unit", "read"),
    [
        ("EUR/kWh", (1.0, "EUR")),
        ("€/kWh", (1.0, "€")),
        ("SEK/MWh", (0.001, "SEK")),
        ("ct/Wh", (1000.0, "ct")),
        ("c/KWH", (1.0, "c")),
        ("/kWh", (1.0, None)),
        (None, (1.0, None)),
        ("EUR", None),
        ("EUR/h", None),
        ("kWh", None),
    ],
)
def test_price_units(unit: str | None, read: tuple[float, str | None] | None) -> None:
    assert price_unit(unit) == read


def test_an_open_session_already_kept_as_finished_is_not_reopened() -> None:
    """The end was saved, the recorder's state not yet: no second copy."""
    recorder = SessionRecorder("s")
    car = Car(recorder)
    car.read()
    car.read(10, 50)
    saved = recorder.export_state()
    open_session = recorder.open_session
    assert open_session is not None
    restarted = SessionRecorder("s")
    restarted.restore_state(saved, at(20), finished={open_session.session_id})
    assert restarted.open_session is None


def test_hourly_totals_add_sessions_sharing_an_hour() -> None:
    hour = datetime(2026, 11, 21, 10, tzinfo=UTC)
    later = hour + timedelta(hours=1)

    def session(*hours: HourEnergy) -> Session:
        return Session(
            session_id="x",
            charger="c",
            started_at=hours[0].start,
            ended_at=hours[-1].start,
            energy_wh=sum(h.energy_wh for h in hours),
            hours=hours,
        )

    assert hourly_totals(
        [
            session(HourEnergy(hour, 1000, 0.3)),
            session(HourEnergy(hour, 500, -0.1), HourEnergy(later, 2000, 0.2)),
        ]
    ) == [(hour, 1.5, pytest.approx(0.2)), (later, 2.0, 0.2)]
