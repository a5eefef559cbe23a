"""The WiFi module's ``/status``, ``/config`` and ``/claims`` documents.

Every status capture is read twice: by the field readers of ``status.py``,
and by :class:`OpenEvseJsonCharger` polling it from a loopback server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from custom_components.evse_local.protocols.errors import (
    EvseProtocolError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.models import (
    ApiGeneration,
    Capability,
    ChargerSnapshot,
    ChargerState,
    DeviceInfo,
    FaultCounters,
    ServiceLevel,
)
from custom_components.evse_local.protocols.openevse_http.json_api import (
    CLAIM_CLIENT,
    OpenEvseJsonCharger,
    device_info_from_config,
)
from custom_components.evse_local.protocols.openevse_http.status import (
    fault_counters,
    integer,
    lifetime_energy_wh,
    number,
    power_w,
    session_energy_wh,
    temperature,
)

from .loopback import FakeModule, Loopback
from .peers import (
    HTTP_FIXTURES,
    PEERS,
    WIFI_API,
    cases,
    load_object,
    peer_bytes,
    peer_glob,
    peer_path,
    relative_id,
)

CLAIM_PATH = f"/claims/{CLAIM_CLIENT}"
FIRSTOF9 = HTTP_FIXTURES / "firstof9-openevse-ha"
V4 = HTTP_FIXTURES / "python-openevse-http/v4_json"
INFO = DeviceInfo(
    serial="9C9C1FE57B2C",
    manufacturer="OpenEVSE",
    model="OpenEVSE",
    generation=ApiGeneration.OPENEVSE_JSON,
)


class StatusCase(NamedTuple):
    """What a ``/status`` capture means, in our units."""

    state: ChargerState
    vehicle: bool
    current: float | None
    """A; ``amp`` is in mA."""
    voltage: float | None
    power: float | None
    session_wh: float | None
    lifetime_wh: float | None
    session_time: int | None
    temperatures: tuple[float | None, float | None, float | None]
    pilot: int | None
    faults: FaultCounters
    rssi: int


NO_FAULTS = FaultCounters(gfci=0, no_ground=0, stuck_relay=0)
ONE_GFCI = FaultCounters(gfci=1, no_ground=0, stuck_relay=0)
V2_STATUS = StatusCase(
    state=ChargerState.NOT_CONNECTED,
    vehicle=False,
    current=0.0,
    voltage=240.0,
    power=0.0,
    session_wh=25212279 / 3600,  # wattsec
    lifetime_wh=1585443.0,  # watthour
    session_time=8751,
    temperatures=(34.0, None, None),
    pilot=25,
    faults=NO_FAULTS,
    rssi=-56,
)
STATUS_CASES: dict[str, StatusCase] = {
    "openevse/http-fixtures/firstof9-openevse-ha/status.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=True,
        current=32.2,  # amp 32200 mA
        voltage=240.0,
        power=7728.0,  # 32.2 A x 240 V, no "power" field
        session_wh=992549 / 3600,
        lifetime_wh=64582.0,
        session_time=246,
        temperatures=(None, 50.3, None),  # temp1/temp3 false
        pilot=40,
        faults=ONE_GFCI,
        rssi=-61,
    ),
    "openevse/http-fixtures/firstof9-openevse-ha/status-new.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=False,
        current=28.2,
        voltage=220.0,
        power=6204.0,  # measured "power" wins
        session_wh=0.0,  # session_energy (Wh) wins over wattsec
        lifetime_wh=20127228.17,  # total_energy 20127.22817 kWh
        session_time=0,
        temperatures=(None, 44.0, None),
        pilot=48,
        faults=ONE_GFCI,
        rssi=-59,
    ),
    "openevse/http-fixtures/openevse-gui-v2-simu/status.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=False,
        current=0.0,
        voltage=225.0,
        power=0.0,
        session_wh=54393.26278,
        lifetime_wh=482241.0,  # 482.241 kWh; watthour agrees
        session_time=28458,
        temperatures=(None, 27.0, None),
        pilot=32,
        faults=NO_FAULTS,
        rssi=-62,
    ),
    "openevse/http-fixtures/python-openevse-http/v2_json/status.json": V2_STATUS,
    "openevse/http-fixtures/python-openevse-http/v_legacy_json/status.json": V2_STATUS,
    "openevse/http-fixtures/python-openevse-http/v4_json/status-broken.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=True,
        current=None,  # no "amp"
        voltage=None,  # no "voltage"
        power=None,
        session_wh=992549 / 3600,
        lifetime_wh=64582.0,
        session_time=246,
        temperatures=(None, 50.3, None),
        pilot=48,
        faults=ONE_GFCI,
        rssi=-61,
    ),
    "openevse/http-fixtures/python-openevse-http/v4_json/status-new.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=False,
        current=0.0,
        voltage=220.0,
        power=4500.0,
        session_wh=0.0,
        lifetime_wh=20127228.17,
        session_time=0,
        temperatures=(None, 44.0, None),
        pilot=48,
        faults=ONE_GFCI,
        rssi=-59,
    ),
    # The library's copy of the firstof9 capture has "amp": 32.2 where the
    # original has 32200. Stock firmware sends mA, so this reads as 0.03 A.
    "openevse/http-fixtures/python-openevse-http/v4_json/status.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=True,
        current=0.03,
        voltage=240.0,
        power=7.2,
        session_wh=992549 / 3600,
        lifetime_wh=64582.0,
        session_time=246,
        temperatures=(None, 50.3, None),
        pilot=48,
        faults=ONE_GFCI,
        rssi=-61,
    ),
    "openevse/http-fixtures/python-openevse-http/websocket.json": StatusCase(
        state=ChargerState.SLEEPING,
        vehicle=False,
        current=0.0,
        voltage=240.0,
        power=0.0,
        session_wh=7950.783333,
        lifetime_wh=7875444.0,  # 7875.444 kWh; watthour agrees
        session_time=3685,
        temperatures=(None, 52.9, None),
        pilot=48,
        faults=ONE_GFCI,
        rssi=-59,
    ),
    "openevse/wifi-firmware-api/examples/get_status_response_200_EVSE_Status.json": (
        StatusCase(
            state=ChargerState.SLEEPING,
            vehicle=False,
            current=0.0,
            voltage=None,
            power=None,
            session_wh=25034.0,
            lifetime_wh=998000.0,  # total_energy 998 kWh
            session_time=3473,
            temperatures=(28.2, None, None),  # -2560: absent
            pilot=32,
            faults=NO_FAULTS,
            rssi=-73,
        )
    ),
}


def _status_files() -> Iterator[tuple[str, Path]]:
    for pattern in ("**/status*.json", "**/websocket.json"):
        for path in peer_glob(HTTP_FIXTURES, pattern):
            yield relative_id(path), path
    for path in peer_glob(WIFI_API / "examples", "*_status_*.json"):
        yield relative_id(path), path


def test_every_status_capture_has_expectations(peers: Path) -> None:
    on_disk = {case_id for case_id, _ in _status_files()}
    no_state = (
        "openevse/wifi-firmware-api/examples/post_status_response_200_EVSE_Status.json"
    )
    assert on_disk == {*STATUS_CASES, no_state}


def _status_cases() -> Iterator[tuple[str, tuple[dict[str, Any], StatusCase]]]:
    for case_id, path in _status_files():
        if case_id in STATUS_CASES:
            document = json.loads(path.read_text(encoding="utf-8"))
            yield case_id, (document, STATUS_CASES[case_id])


@pytest.mark.parametrize("case", cases(_status_cases))
def test_status_readers(case: tuple[dict[str, Any], StatusCase]) -> None:
    status, expected = case
    assert integer(status, "state") in {254, 1}
    current_ma = number(status, "amp")
    current = None if current_ma is None else round(current_ma / 1000, 2)
    assert current == expected.current
    assert number(status, "voltage") == expected.voltage
    assert power_w(status, current, expected.voltage) == pytest.approx(expected.power)
    assert session_energy_wh(status) == pytest.approx(expected.session_wh)
    assert lifetime_energy_wh(status) == pytest.approx(expected.lifetime_wh)
    temps = tuple(temperature(status, key) for key in ("temp1", "temp2", "temp3"))
    assert temps == expected.temperatures
    assert fault_counters(status) == expected.faults
    assert integer(status, "srssi") == expected.rssi


def assert_snapshot(snapshot: ChargerSnapshot, expected: StatusCase) -> None:
    """The snapshot fields a status capture fills."""
    assert snapshot.state is expected.state
    assert snapshot.vehicle_connected is expected.vehicle
    assert snapshot.charging is (expected.state is ChargerState.CHARGING)
    assert snapshot.paused is (expected.state is ChargerState.SLEEPING)
    assert snapshot.charging_current == expected.current
    assert snapshot.voltage == expected.voltage
    assert snapshot.power == pytest.approx(expected.power)
    assert snapshot.session_energy == pytest.approx(expected.session_wh)
    assert snapshot.lifetime_energy == pytest.approx(expected.lifetime_wh)
    assert snapshot.session_time == expected.session_time
    assert snapshot.temperatures == expected.temperatures
    assert snapshot.pilot_current == expected.pilot
    assert snapshot.fault_counters == expected.faults
    assert snapshot.wifi_signal == expected.rssi


def _status_paths() -> Iterator[tuple[str, Path]]:
    for case_id, path in _status_files():
        if case_id in STATUS_CASES:
            yield case_id, path


@pytest.mark.parametrize("path", cases(_status_paths))
async def test_json_charger_polls_status_capture(
    path: Path, loopback: Loopback
) -> None:
    expected = STATUS_CASES[relative_id(path)]
    config = peer_bytes(FIRSTOF9 / "config.json")
    module = FakeModule(config=config, status=peer_bytes(path), claims=b"[]")
    transport = await loopback.transport(module)
    charger = OpenEvseJsonCharger(transport, INFO, config=json.loads(config), status={})
    snapshot = await charger.poll()
    assert_snapshot(snapshot, expected)
    assert charger.snapshot is snapshot
    assert snapshot.max_current == expected.pilot
    assert snapshot.energy_limit == 0
    assert snapshot.time_limit == 0


async def test_status_without_state_is_a_protocol_error(
    peers: Path, loopback: Loopback
) -> None:
    """The POST /status answer has no ``state``: not a status to read."""
    path = peer_path(WIFI_API / "examples/post_status_response_200_EVSE_Status.json")
    module = FakeModule(status=peer_bytes(path))
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={}
    )
    with pytest.raises(EvseProtocolError, match="/status has no state"):
        await charger.poll()


@pytest.mark.parametrize(
    ("value", "message"),
    [('"240"', "voltage='240' is not a number"), ("[240]", "is not a number")],
)
async def test_non_numeric_status_field(
    value: str, message: str, loopback: Loopback
) -> None:
    body = f'{{"state": 1, "voltage": {value}}}'.encode()
    charger = OpenEvseJsonCharger(
        await loopback.transport(FakeModule(status=body)), INFO, config={}, status={}
    )
    with pytest.raises(EvseProtocolError, match=message):
        await charger.poll()


async def test_status_that_is_not_an_object(loopback: Loopback) -> None:
    charger = OpenEvseJsonCharger(
        await loopback.transport(FakeModule(status=b"[]")), INFO, config={}, status={}
    )
    with pytest.raises(EvseProtocolError, match="/status: expected a JSON object"):
        await charger.poll()


# --- /config: identity and limits ------------------------------------------


class ConfigCase(NamedTuple):
    """Identity and settings read from one ``/config`` capture."""

    serial: str | None
    firmware: str | None
    wifi_firmware: str | None
    hostname: str
    service_level: ServiceLevel
    limits: tuple[int | None, int | None]


CONFIG_CASES: dict[str, ConfigCase] = {
    "firstof9-openevse-ha/config-no-serial.json": ConfigCase(
        None, "7.1.3", "4.1.2", "openevse-7b2c", ServiceLevel.LEVEL_2, (6, 48)
    ),
    "firstof9-openevse-ha/config.json": ConfigCase(
        "9C9C1FE57B2C",
        "7.1.3",
        "v5.1.2",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    "openevse-gui-v2-simu/config.json": ConfigCase(
        "FFFFFFFFFFF", "8.2.0.T2", "4.1.4", "openevse", ServiceLevel.LEVEL_2, (6, 32)
    ),
    "python-openevse-http/v2_json/config.json": ConfigCase(
        None, "5.0.1", "2.9.1", "openevse", ServiceLevel.LEVEL_2, (None, None)
    ),
    "python-openevse-http/v_legacy_json/config.json": ConfigCase(
        None, "2.9.1", "2.9.1", "openevse", ServiceLevel.LEVEL_2, (None, None)
    ),
    "python-openevse-http/v4_json/config-broken-semver.json": ConfigCase(
        "1234567890AB",
        "7.1.3",
        "master_abcd123",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    # "broken": the library author removed "version".
    "python-openevse-http/v4_json/config-broken.json": ConfigCase(
        "1234567890AB", "7.1.3", None, "openevse-7b2c", ServiceLevel.LEVEL_2, (6, 48)
    ),
    "python-openevse-http/v4_json/config-dev.json": ConfigCase(
        "1234567890AB",
        "7.1.3",
        "4.1.5.dev",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    "python-openevse-http/v4_json/config-extra-version.json": ConfigCase(
        "1234567890AB",
        "7.1.3",
        "v5.0.1_modified",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    "python-openevse-http/v4_json/config-new.json": ConfigCase(
        "9C9C1FE57B2C",
        "7.1.3",
        "v5.1.2",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    "python-openevse-http/v4_json/config-unknown-semver.json": ConfigCase(
        "1234567890AB",
        "7.1.3",
        "random_g4f11e",
        "openevse-7b2c",
        ServiceLevel.LEVEL_2,
        (6, 48),
    ),
    "python-openevse-http/v4_json/config.json": ConfigCase(
        "1234567890AB", "7.1.3", "4.1.2", "openevse-7b2c", ServiceLevel.LEVEL_2, (6, 48)
    ),
}


def _config_files() -> Iterator[tuple[str, Path]]:
    for path in peer_glob(HTTP_FIXTURES, "**/config*.json"):
        yield path.relative_to(PEERS / HTTP_FIXTURES).as_posix(), path


def test_every_config_capture_has_expectations(peers: Path) -> None:
    assert {case_id for case_id, _ in _config_files()} == set(CONFIG_CASES)


@pytest.mark.parametrize("path", cases(_config_files))
def test_config_identity_and_settings(path: Path) -> None:
    expected = CONFIG_CASES[path.relative_to(PEERS / HTTP_FIXTURES).as_posix()]
    config = load_object(path)
    info = device_info_from_config(config, {}, ApiGeneration.OPENEVSE_JSON)
    if expected.serial is None:
        assert info is None
    else:
        assert info == DeviceInfo(
            serial=expected.serial,
            manufacturer="OpenEVSE",
            model="OpenEVSE",
            generation=ApiGeneration.OPENEVSE_JSON,
            firmware=expected.firmware,
            wifi_firmware=expected.wifi_firmware,
            hostname=expected.hostname,
        )
    status = load_object(FIRSTOF9 / "status-new.json")
    charger = OpenEvseJsonCharger(None, INFO, config=config, status=status)  # type: ignore[arg-type]
    snapshot = charger._build(charger._status, charger._config, charger._limit)
    assert snapshot.service_level is expected.service_level
    assert (snapshot.min_current_limit, snapshot.max_current_limit) == expected.limits
    assert Capability.SERVICE_LEVEL in snapshot.capabilities


def test_identity_falls_back_to_the_status_mac(peers: Path) -> None:
    """No ``wifi_serial``: the MAC from ``/status`` is the same number."""
    config = load_object(FIRSTOF9 / "config-no-serial.json")
    status = load_object(FIRSTOF9 / "status-new.json")
    info = device_info_from_config(config, status, ApiGeneration.OPENEVSE_JSON)
    assert info is not None
    assert info.serial == load_object(FIRSTOF9 / "config.json")["wifi_serial"]
    assert info.serial == "9C9C1FE57B2C"
    assert info.mac == "9C:9C:1F:E5:7B:2C"


# --- claims and overrides: our own claim, read back and changed ---------------


class ClaimCase(NamedTuple):
    """A claim/override body found at ``/claims/<us>`` and what pause sends.

    Found under our client id, it is our setting from before a restart:
    ``paused`` and ``current`` are what it means; the claims sent to pause or
    resume express exactly the settings (never ``auto_release``: a setting
    outlasts the unplug; a ``max_current`` we never set is dropped).
    """

    paused: bool
    current: int | None
    pause: list[tuple[str, Any]]
    resume: list[tuple[str, Any]]


CLAIM_CASES: dict[str, ClaimCase] = {
    "wifi-firmware-api/examples/post_override_request_body_example_1.json": ClaimCase(
        paused=False,
        current=0,
        pause=[
            (
                "POST",
                {"state": "disabled", "charge_current": 0, "auto_release": False},
            )
        ],
        # Made with auto_release by someone else: made again as a setting.
        resume=[("POST", {"charge_current": 0, "auto_release": False})],
    ),
    "wifi-firmware-api/examples/post_override_request_body_Force_stop_of_charging.json": (
        ClaimCase(
            paused=True,
            current=None,
            pause=[("POST", {"state": "disabled", "auto_release": False})],
            resume=[("DELETE", None)],
        )
    ),
    "http-fixtures/openevse-gui-v2-simu/override.json": ClaimCase(
        paused=False,
        current=None,
        pause=[("POST", {"state": "disabled", "auto_release": False})],
        resume=[("DELETE", None)],
    ),
    "http-fixtures/openevse-gui-v2-simu/claim.json": ClaimCase(
        paused=False,
        current=32,
        pause=[
            (
                "POST",
                {"state": "disabled", "charge_current": 32, "auto_release": False},
            )
        ],
        resume=[("POST", {"charge_current": 32, "auto_release": False})],
    ),
}


def _claim_files() -> Iterator[tuple[str, tuple[Path, ClaimCase]]]:
    for name, case in CLAIM_CASES.items():
        yield name.rsplit("/", 1)[-1], (peer_path(Path("openevse") / name), case)


def _requests_to(module: FakeModule, path: str) -> list[tuple[str, Any]]:
    return [
        (request.method, request.body)
        for request in module.requests
        if request.path == path and request.method != "GET"
    ]


@pytest.mark.parametrize("claim", cases(_claim_files))
@pytest.mark.parametrize("paused", [True, False])
async def test_existing_claim_is_our_setting(
    claim: tuple[Path, ClaimCase], paused: bool, loopback: Loopback
) -> None:
    path, expected = claim
    module = FakeModule(claim=peer_bytes(path))
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={}
    )
    await charger.setup()
    assert (charger.controls.paused, charger.controls.current) == (
        expected.paused,
        expected.current,
    )
    await charger.set_paused(paused)
    assert _requests_to(module, CLAIM_PATH) == (
        expected.pause if paused else expected.resume
    )
    assert charger.controls.paused is paused


OVERRIDE_CASES: dict[str, tuple[bool, list[tuple[str, Any]]]] = {
    # The charger's own start: pausing from Home Assistant ends it.
    "http-fixtures/openevse-gui-v2-simu/override.json": (True, [("DELETE", None)]),
    # A start with currents: only the state goes, the currents stay.
    "wifi-firmware-api/examples/post_override_request_body_example_1.json": (
        True,
        [("POST", {"charge_current": 0, "max_current": 0, "auto_release": True})],
    ),
    # The charger's own stop: resuming from Home Assistant ends it.
    "wifi-firmware-api/examples/post_override_request_body_Force_stop_of_charging.json": (
        False,
        [("DELETE", None)],
    ),
}


@pytest.mark.parametrize(("name", "case"), OVERRIDE_CASES.items())
async def test_a_command_ends_the_contrary_charger_override(
    name: str, case: tuple[bool, list[tuple[str, Any]]], loopback: Loopback
) -> None:
    """The override (priority 1000) would outrank our claim (500)."""
    paused, expected = case
    module = FakeModule(override=peer_bytes(peer_path(Path("openevse") / name)))
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={}
    )
    await charger.setup()
    await charger.set_paused(paused)
    assert _requests_to(module, "/override") == expected
    # The same command again: the override agrees now (or is gone), untouched.
    module.requests.clear()
    module.override = None
    await charger.set_paused(paused)
    assert _requests_to(module, "/override") == []


async def test_a_current_is_taken_out_of_the_charger_override(
    loopback: Loopback,
) -> None:
    """The button's override carries a current; ours replaces it, state stays."""
    module = FakeModule(
        override=b'{"state": "active", "charge_current": 32, "auto_release": true}',
        status=b'{"manual_override": 1}',
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config={},
        status={"manual_override": 1},
    )
    await charger.setup()
    await charger.set_max_current(16)
    await charger.set_max_current(32)  # the same as the override: left alone
    assert _requests_to(module, "/override") == [
        ("POST", {"state": "active", "auto_release": True}),
    ]
    assert _requests_to(module, CLAIM_PATH) == [
        ("POST", {"charge_current": 16, "auto_release": False}),
        ("POST", {"charge_current": 32, "auto_release": False}),
    ]


async def test_json_charger_control_requests(loopback: Loopback) -> None:
    module = FakeModule()
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={}
    )
    await charger.setup()  # no claim (404), no limit (404)
    await charger.set_max_current(16)
    await charger.set_max_current(20, persist=True)
    await charger.set_paused(True)
    await charger.set_paused(False)
    await charger.set_service_level(ServiceLevel.LEVEL_1)
    limit = await charger.set_session_limit(energy_kwh=5.5, minutes=None)
    assert (limit.energy_kwh, limit.minutes, limit.rounded) == (5.5, None, False)
    await charger.set_session_limit(energy_kwh=None, minutes=90)
    await charger.clear_session_limit()
    await charger.restart()
    assert _requests_to(module, CLAIM_PATH) == [
        ("POST", {"charge_current": 16, "auto_release": False}),
        ("DELETE", None),
        ("POST", {"state": "disabled", "auto_release": False}),
        ("DELETE", None),
    ]
    assert _requests_to(module, "/config") == [
        ("POST", {"max_current_soft": 20}),
        ("POST", {"service": 1}),
    ]
    assert _requests_to(module, "/limit") == [
        ("POST", {"type": "energy", "value": 5500, "auto_release": True}),
        ("POST", {"type": "time", "value": 90, "auto_release": True}),
        ("DELETE", None),
    ]
    assert _requests_to(module, "/restart") == [("POST", {"device": "evse"})]
    assert charger.requests == len(module.requests)


async def test_json_charger_refuses_what_it_cannot_do(loopback: Loopback) -> None:
    charger = OpenEvseJsonCharger(
        await loopback.transport(FakeModule()), INFO, config={}, status={}
    )
    with pytest.raises(EvseUnsupportedError, match="one limit at a time"):
        await charger.set_session_limit(energy_kwh=5, minutes=60)
    with pytest.raises(ValueError, match="no limit given"):
        await charger.set_session_limit(energy_kwh=None, minutes=None)
    with pytest.raises(EvseUnsupportedError, match="timer"):
        await charger.set_timer(time(1), time(2))
    with pytest.raises(EvseUnsupportedError, match="timer"):
        await charger.clear_timer()


async def test_limit_and_config_reread_when_their_version_moves(
    peers: Path, loopback: Loopback
) -> None:
    status = load_object(FIRSTOF9 / "status-new.json")
    module = FakeModule(
        config=peer_bytes(FIRSTOF9 / "config.json"),
        status=json.dumps(status).encode(),
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config=load_object(FIRSTOF9 / "config.json"),
        status=status,
    )
    await charger.setup()
    setup_requests = len(module.requests)
    assert (await charger.poll()).energy_limit == 0
    assert len(module.requests) == setup_requests + 1  # only /status
    module.limit = b'{"type":"energy","value":7500,"auto_release":true}'
    module.status = json.dumps({**status, "limit_version": 2, "limit": True}).encode()
    snapshot = await charger.poll()
    assert snapshot.energy_limit == 7.5
    assert snapshot.time_limit == 0
    module.limit = b'{"type":"time","value":120}'
    module.status = json.dumps(
        {**status, "limit_version": 3, "config_version": 7}
    ).encode()
    snapshot = await charger.poll()
    assert (snapshot.energy_limit, snapshot.time_limit) == (0, 120)
    paths = [request.path for request in module.requests[setup_requests:]]
    assert paths == ["/status", "/status", "/limit", "/status", "/config", "/limit"]


# --- /ws: the pushed status --------------------------------------------------


async def test_listen_merges_pushed_status(peers: Path, loopback: Loopback) -> None:
    pushed = peer_path(HTTP_FIXTURES / "python-openevse-http/websocket.json")
    config = peer_bytes(FIRSTOF9 / "config.json")
    module = FakeModule(
        config=config,
        websocket=[pushed.read_text(encoding="utf-8"), "[1, 2]", '{"amp": 6000}'],
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config=json.loads(config),
        status=load_object(FIRSTOF9 / "status.json"),
    )
    charger.snapshot = charger._build(charger._status, charger._config, charger._limit)
    updates: list[ChargerSnapshot] = []
    await charger.listen(updates.append)
    assert len(updates) == 3  # connected, websocket.json, the amp delta
    assert updates[0] is not updates[1]
    assert_snapshot(
        updates[1],
        STATUS_CASES["openevse/http-fixtures/python-openevse-http/websocket.json"],
    )
    assert updates[2].charging_current == 6.0
    assert updates[2].temperatures == (None, 52.9, None)
    # websocket.json brings config_version 14 and a claims_version (the probe
    # saw neither): /config and our claim are read again.
    assert [r.path for r in module.requests if r.path != "/ws"] == [
        "/config",
        CLAIM_PATH,
    ]


async def test_listen_invalid_json(loopback: Loopback) -> None:
    module = FakeModule(websocket=["{not json"])
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={"state": 1}
    )
    with pytest.raises(EvseProtocolError, match="/ws: invalid JSON"):
        await charger.listen(lambda snapshot: None)


async def test_listen_without_websocket_endpoint(loopback: Loopback) -> None:
    module = FakeModule()
    app = module.app()
    host = await loopback.serve(app)
    charger = OpenEvseJsonCharger(
        await loopback.transport(FakeModule()), INFO, config={}, status={}
    )
    charger.transport.base_url = f"http://{host}/nothing-here"
    # No websocket here (404): push is unsupported, so the caller stops trying.
    with pytest.raises(EvseUnsupportedError, match="/ws"):
        await charger.listen(lambda snapshot: None)


def test_status_readers_on_a_document_without_counters(peers: Path) -> None:
    """The POST /status answer: no energy counters, no trip counters."""
    status = load_object(
        WIFI_API / "examples/post_status_response_200_EVSE_Status.json"
    )
    assert number(status, "voltage") == 220.0
    assert session_energy_wh(status) is None
    assert lifetime_energy_wh(status) is None
    assert fault_counters(status) is None
    assert power_w(status, None, 220.0) is None
    assert integer(status, "state") is None


async def test_listen_stops_at_a_binary_message(loopback: Loopback) -> None:
    module = FakeModule(websocket=['{"state": 3, "amp": 16000}'])
    module.binary_after = True
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={"service": 7}, status={}
    )
    updates: list[ChargerSnapshot] = []
    await charger.listen(updates.append)
    assert [update.state for update in updates] == [ChargerState.CHARGING]
    assert updates[0].charging_current == 16.0
    assert updates[0].service_level is None  # service 7 is no level we know
    assert Capability.SERVICE_LEVEL not in updates[0].capabilities


async def test_resume_without_a_claim_sends_nothing(loopback: Loopback) -> None:
    module = FakeModule()
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config={},
        status={"manual_override": 0},
    )
    await charger.setup()  # no claim of ours (404)
    setup_requests = len(module.requests)
    await charger.set_paused(False)
    # Polled: whether the charger has an override of its own is asked.
    assert [(r.method, r.path) for r in module.requests[setup_requests:]] == [
        ("GET", "/override")
    ]


# --- bad numbers and bad frames: protocol errors, never a crash -------------

_HUGE = "1" + "0" * 400


@pytest.mark.parametrize(
    "document",
    [
        '{"state": 1e999}',
        '{"state": -1e999}',
        '{"state": NaN}',
        '{"state": Infinity}',
        f'{{"state": {_HUGE}}}',
        '{"state": 1, "voltage": NaN}',
        f'{{"state": 1, "amp": {_HUGE}}}',
        '{"state": 1, "amp": 1e308, "voltage": 1e308}',
        '{"state": 1, "total_energy": -5}',
        '{"state": 1, "watthour": -0.5}',
        '{"state": 1, "session_energy": -1}',
        '{"state": 1, "wattsec": 1e999}',
        pytest.param("[" * 100_000, id="deep-array"),
        pytest.param('{"a":' * 100_000, id="deep-object"),
    ],
    ids=lambda document: document[:40],
)
async def test_bad_numbers_in_status_are_protocol_errors(
    document: str, loopback: Loopback
) -> None:
    """Non-finite, overflowing or negative-energy numbers: a protocol error."""
    charger = OpenEvseJsonCharger(
        await loopback.transport(FakeModule(status=document.encode())),
        INFO,
        config={},
        status={},
    )
    with pytest.raises(EvseProtocolError):
        await charger.poll()


@pytest.mark.parametrize(
    "frame",
    [
        '{"state": 1e999}',
        '{"state": NaN}',
        f'{{"state": {_HUGE}}}',
        '{"total_energy": -5}',
        '{"state": "3"}',
        '{"state": 99999}',
        pytest.param("[" * 100_000, id="deep-array"),
    ],
    ids=lambda frame: frame[:40],
)
async def test_bad_pushed_frame_ends_the_session_cleanly(
    frame: str, loopback: Loopback
) -> None:
    """A frame that cannot be trusted ends listen() with a protocol error.

    The frames before it were delivered; the adapter keeps the last good
    status, so the poll that follows is not poisoned by the bad frame.
    """
    module = FakeModule(
        status=b'{"state": 1}',
        websocket=['{"state": 3, "amp": 16000}', frame, '{"state": 1}'],
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module), INFO, config={}, status={"state": 2}
    )
    updates: list[ChargerSnapshot] = []
    with pytest.raises(EvseProtocolError):
        await charger.listen(updates.append)
    assert [update.state for update in updates] == [ChargerState.CHARGING]
    assert charger.snapshot is updates[-1]
    module.websocket = ['{"amp": 8000}']
    await charger.listen(updates.append)
    # The merge starts from the last good status, not from the bad frame.
    assert updates[-1].state is ChargerState.CHARGING
    assert updates[-1].charging_current == 8.0


async def test_config_gone_during_push_is_not_an_unsupported_push(
    loopback: Loopback,
) -> None:
    """/config answering 404 in a push session is a broken read, not "no /ws".

    ``EvseUnsupportedError`` from ``listen`` means "this firmware has no
    websocket, stop trying": it must only come from the handshake.
    """
    module = FakeModule(websocket=['{"config_version": 9}'])  # no /config: 404
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config={},
        status={"state": 1, "config_version": 1},
    )
    with pytest.raises(EvseProtocolError, match="/config"):
        await charger.listen(lambda snapshot: None)


async def test_bad_config_reread_does_not_poison_the_adapter(
    loopback: Loopback,
) -> None:
    """A /config that fails to read is not kept: the next poll still works.

    Found by the fuzz suite: the re-read config was kept before the snapshot
    was built from it, so one bad answer broke every later poll.
    """
    module = FakeModule(
        status=b'{"state": 1}',
        config=b'{"service": []}',
        websocket=['{"config_version": 9}'],
    )
    charger = OpenEvseJsonCharger(
        await loopback.transport(module),
        INFO,
        config={"service": 2},
        status={"state": 2, "config_version": 1},
    )
    with pytest.raises(EvseProtocolError, match="service"):
        await charger.listen(lambda snapshot: None)
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NOT_CONNECTED
    assert snapshot.service_level is ServiceLevel.LEVEL_2
