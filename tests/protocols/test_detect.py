"""connect_charger() probing loopback modules built from the captures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.evse_local.protocols.detect import connect_charger
from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseProtocolError,
)
from custom_components.evse_local.protocols.models import (
    ApiGeneration,
    Capability,
    ChargerState,
    DeviceInfo,
    FaultCounters,
    ServiceLevel,
)
from custom_components.evse_local.protocols.openevse_http.json_api import (
    CLAIM_CLIENT,
    OpenEvseJsonCharger,
)
from custom_components.evse_local.protocols.openevse_http.legacy import (
    OpenEvseRapiCharger,
)
from custom_components.evse_local.protocols.rapi.charger import RapiCharger
from custom_components.evse_local.protocols.rapi.client import RapiClient

from .fakes import ISSUE_102
from .loopback import Controller, FakeModule, HtmlController, Loopback, rapi_frame
from .peers import (
    HTTP_FIXTURES,
    V3_RESPONSES,
    load_object,
    peer_bytes,
    peer_glob,
    r_fixture_command,
    v1_nk_page,
    v1_pages,
)

FIRSTOF9 = HTTP_FIXTURES / "firstof9-openevse-ha"
V2_JSON = HTTP_FIXTURES / "python-openevse-http/v2_json"
V4_JSON = HTTP_FIXTURES / "python-openevse-http/v4_json"
LEGACY_JSON = HTTP_FIXTURES / "python-openevse-http/v_legacy_json"
EMULATOR_GI = "$OK OpenEVSE03AB12CD^35"


def _v3_controller() -> Controller:
    """Controller 5.0.1 / RAPI 4.0.1 answering with the v3 ``/r`` captures."""
    replies: dict[str, str] = {}
    for path in peer_glob(V3_RESPONSES, "*.txt"):
        if "unset" in path.name or "unplugged" in path.name:
            continue
        ret = json.loads(path.read_text(encoding="utf-8"))["ret"]
        replies[r_fixture_command(path)[1:]] = ret
    return Controller(replies)


async def test_json_api_module(peers: Path, loopback: Loopback) -> None:
    """WiFi v5.1.2 with /claims: the JSON adapter, identified by wifi_serial."""
    module = FakeModule(
        config=peer_bytes(FIRSTOF9 / "config.json"),
        status=peer_bytes(FIRSTOF9 / "status-new.json"),
        claims=b"[]",
    )
    host = await loopback.serve(module)
    charger = await connect_charger(loopback.session, host)
    assert isinstance(charger, OpenEvseJsonCharger)
    assert charger.info == DeviceInfo(
        serial="9C9C1FE57B2C",
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        generation=ApiGeneration.OPENEVSE_JSON,
        firmware="7.1.3",
        wifi_firmware="v5.1.2",
        mac="9C:9C:1F:E5:7B:2C",
        hostname="openevse-7b2c",
    )
    assert [request.path for request in module.requests] == [
        "/config",
        "/status",
        "/claims",
        f"/claims/{CLAIM_CLIENT}",
        "/limit",
    ]
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.lifetime_energy == pytest.approx(20127228.17)
    assert snapshot.service_level is ServiceLevel.LEVEL_2
    assert Capability.PUSH in snapshot.capabilities
    assert charger.requests == 6  # a steady poll is one GET /status
    await charger.close()


async def test_json_api_module_without_serial_uses_mac(
    peers: Path, loopback: Loopback
) -> None:
    module = FakeModule(
        config=peer_bytes(FIRSTOF9 / "config-no-serial.json"),
        status=peer_bytes(FIRSTOF9 / "status-new.json"),
        claims=b"[]",
    )
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert charger.info.serial == "9C9C1FE57B2C"
    assert charger.info.wifi_firmware == "4.1.2"


async def test_json_api_module_without_serial_or_mac_asks_for_mcu_id(
    peers: Path, loopback: Loopback
) -> None:
    controller = Controller({"GV": "$OK 8.2.1 5.0.1^2F", "GI": EMULATOR_GI})
    module = FakeModule(
        config=peer_bytes(FIRSTOF9 / "config-no-serial.json"),
        status=peer_bytes(FIRSTOF9 / "status.json"),
        claims=b"[]",
        rapi=controller,
    )
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert isinstance(charger, OpenEvseJsonCharger)
    assert charger.info.serial == "OpenEVSE03AB12CD"
    assert charger.info.mac is None
    assert [frame[:3] for frame in controller.frames] == ["$GV", "$GI"]


async def test_old_module_without_any_identity(peers: Path, loopback: Loopback) -> None:
    """WiFi 2.9.1 + controller 5.0.1/RAPI 4.0.1 (v2_json + v3 ``/r``).

    Neither ``/config`` nor ``/status`` has a serial or MAC, and ``$GI`` came
    with RAPI 5.1.4: the charger is returned without a serial (the
    integration keys it by address) and polls normally.
    """
    controller = _v3_controller()
    module = FakeModule(
        config=peer_bytes(V2_JSON / "config.json"),
        status=peer_bytes(V2_JSON / "status.json"),
        rapi=controller,
    )
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert isinstance(charger, OpenEvseRapiCharger)
    assert charger.info == DeviceInfo(
        serial=None,
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        generation=ApiGeneration.OPENEVSE_RAPI,
        firmware="5.0.1",
        wifi_firmware="2.9.1",
        hostname="openevse",
    )
    # One negotiation ($GV), $GI refused, then the five settings.
    assert [frame[:3] for frame in controller.frames] == [
        "$GV",
        "$GI",
        "$GE",
        "$GD",
        "$G3",
        "$GH",
        "$GC",
    ]
    assert charger.rapi.use_sequence is False
    assert set(charger.settings) == {"GE", "G3", "GH", "GC"}
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NOT_CONNECTED
    assert snapshot.vehicle_connected is False
    assert snapshot.max_current == 30  # $OK 30 0001
    assert snapshot.service_level is ServiceLevel.AUTO
    assert (snapshot.min_current_limit, snapshot.max_current_limit) == (6, 80)
    assert snapshot.time_limit == 0  # $G3 1 forgotten: no car
    assert snapshot.lifetime_energy == 1585443
    assert snapshot.temperatures == (34.0, None, None)


async def test_legacy_module_polls_status_and_one_frame(
    peers: Path, loopback: Loopback
) -> None:
    """WiFi 4.1.2 without /claims (v4_json config, firstof9 status of that unit).

    RAPI set commands pass through; the controller answers with the frames of
    openevse_esp32_firmware#102 and echoes sequence ids as open_evse does.
    """
    replies = {code[1:]: frame for code, frame in ISSUE_102.items()}
    controller = Controller(
        {**replies, "G0": rapi_frame("$OK 1"), "FS": "$OK^20"}, echo_sequence=True
    )
    module = FakeModule(
        config=peer_bytes(V4_JSON / "config.json"),
        status=peer_bytes(FIRSTOF9 / "status.json"),
        rapi=controller,
    )
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert isinstance(charger, OpenEvseRapiCharger)
    assert charger.info.serial == "1234567890AB"
    assert charger.info.generation is ApiGeneration.OPENEVSE_RAPI
    assert charger.rapi.use_sequence is True
    before = charger.requests
    snapshot = await charger.poll()
    assert charger.requests == before + 2  # GET /status and $G0
    assert controller.frames[-1] == rapi_frame("$G0", 7)
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.vehicle_connected is True  # from $G0, state 254 cannot tell
    assert snapshot.charging_current == 32.2
    assert snapshot.temperatures == (None, 50.3, None)
    assert snapshot.max_current == 32  # $GE
    assert snapshot.service_level is ServiceLevel.AUTO
    assert snapshot.fault_counters == FaultCounters(gfci=1, no_ground=0, stuck_relay=0)
    await charger.set_paused(True)
    assert controller.frames[-1] == rapi_frame("$FS", 8)


async def test_goplug_rapi_only(peers: Path, loopback: Loopback) -> None:
    """No /config: RAPI over /r only, identified by the MCU id."""
    controller = Controller(
        {**{code[1:]: frame for code, frame in ISSUE_102.items()}, "GI": EMULATOR_GI}
    )
    module = FakeModule(rapi=controller)
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert isinstance(charger, RapiCharger)
    assert charger.info == DeviceInfo(
        serial="OpenEVSE03AB12CD",
        manufacturer="GoPlug",
        model="GoPlug Pro 32",
        generation=ApiGeneration.RAPI,
        firmware="8.2.1",
    )
    assert charger.rapi.use_sequence is False  # this controller does not echo
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.lifetime_energy == 226594
    assert snapshot.temperatures == (34.0, None, None)
    assert module.requests[0].path == "/config"
    assert {request.path for request in module.requests[1:]} == {"/r"}


async def test_goplug_without_mcu_id(peers: Path, loopback: Loopback) -> None:
    module = FakeModule(rapi=Controller({"GV": "$OK 8.2.1 5.0.1^2F"}))
    charger = await connect_charger(loopback.session, await loopback.serve(module))
    assert isinstance(charger, RapiCharger)
    assert charger.info.serial is None
    assert charger.info.firmware == "8.2.1"
    assert charger.settings == {}  # every setting answered $NK


# --- the legacy adapter against the oldest controllers -----------------------


async def _legacy_v1_charger(
    loopback: Loopback, status: dict[str, object]
) -> tuple[OpenEvseRapiCharger, FakeModule]:
    """WiFi 2.9.1 /status with a RAPI 1.0.3 controller answering HTML pages."""
    pages = v1_pages()
    controller = HtmlController(pages, v1_nk_page())
    module = FakeModule(status=json.dumps(status).encode(), rapi=controller)
    transport = await loopback.transport(module)
    rapi = RapiClient(transport)
    await rapi.negotiate()
    info = DeviceInfo(
        serial="legacy",
        manufacturer="OpenEVSE",
        model="OpenEVSE",
        generation=ApiGeneration.OPENEVSE_RAPI,
    )
    charger = OpenEvseRapiCharger(transport, rapi, info, status=status)
    await charger.setup()
    return charger, module


async def test_legacy_rapi_1_controller_unplugged(
    peers: Path, loopback: Loopback
) -> None:
    status = load_object(LEGACY_JSON / "status.json")
    charger, _ = await _legacy_v1_charger(loopback, status)
    assert set(charger.settings) == {"GE", "G3", "GH", "GC"}  # no $GD on 1.0.3
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.NOT_CONNECTED
    assert snapshot.vehicle_connected is False
    assert snapshot.max_current == 50
    assert snapshot.service_level is ServiceLevel.LEVEL_2  # flags 0221
    assert (snapshot.min_current_limit, snapshot.max_current_limit) == (6, 80)
    assert snapshot.time_limit == 0  # the 42 steps were forgotten on unplug
    assert snapshot.session_energy == pytest.approx(25212279 / 3600)
    assert Capability.TIMER not in snapshot.capabilities


async def test_legacy_sleeping_controller_without_g0(
    peers: Path, loopback: Loopback
) -> None:
    """BUG: a sleeping RAPI < 3.0.1 controller makes every poll fail.

    ``$G0`` came with RAPI 3.0.1; a 1.0.3 controller answers ``$NK``, as it
    does for ``$GO``/``$GM`` in the v1 captures. ``poll()`` lets that
    rejection escape instead of reporting the plug state as unknown.
    """
    status = {**load_object(LEGACY_JSON / "status.json"), "state": 254}
    charger, _ = await _legacy_v1_charger(loopback, status)
    try:
        snapshot = await charger.poll()
    except EvseCommandRejectedError as err:
        pytest.fail(f"poll() failed on a sleeping RAPI 1.0.3 controller: {err}")
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.vehicle_connected is None


async def test_legacy_status_without_state(peers: Path, loopback: Loopback) -> None:
    status = load_object(LEGACY_JSON / "status.json")
    charger, module = await _legacy_v1_charger(loopback, status)
    module.status = b'{"amp": 0}'
    with pytest.raises(EvseProtocolError, match="/status has no state"):
        await charger.poll()
