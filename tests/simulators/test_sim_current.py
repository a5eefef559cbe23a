"""``current``: OpenEVSE WiFi v5 JSON API over real loopback HTTP."""

from __future__ import annotations

import json

import aiohttp
import pytest

from simulators import ClaimProperties, DeviceOptions, Simulator, start_simulator
from simulators.claims import CLIENT_MANUAL, MAX_CLAIMS
from tests.simulators.sim_helpers import get_json, rapi, send_json, verified


async def test_status_has_the_current_firmware_shape(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.model.plug_in()
    current.advance(60)
    status = await get_json(session, current, "/status")
    assert len(status) >= 75
    assert status["state"] == 3
    assert status["status"] == "active"
    assert status["vehicle"] == 1
    assert status["amp"] == 31750  # milliamps
    assert status["voltage"] == 240
    assert status["power"] == pytest.approx(7620)
    assert status["pilot"] == 32
    assert status["max_current"] == 32
    assert status["temp1"] is False  # absent sensors are false, not -2560
    assert status["temp2"] == 440  # tenths of a degree
    assert status["session_energy"] == pytest.approx(127)  # Wh
    assert status["total_energy"] == pytest.approx(0.127)  # kWh
    assert status["wattsec"] == 457200
    assert status["elapsed"] == status["session_elapsed"] == 60
    assert status["service_level"] == 2
    assert status["limit"] is False
    assert status["macaddress"] == current.identity.mac
    assert status["flags"] == 0x0540


async def test_config_and_eeprom_writes(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    config = await get_json(session, current, "/config")
    assert config["version"] == "v5.1.2"
    assert config["firmware"] == "8.2.3"
    assert config["wifi_serial"] == current.identity.serial
    assert config["hostname"] == current.identity.hostname
    assert (config["min_current_hard"], config["max_current_hard"]) == (6, 48)
    assert config["max_current_soft"] == 32
    assert config["service"] == 0  # auto
    assert config["pass"] == "___DUMMY_PASSWORD___"
    assert config["www_password"] == ""
    version = (await get_json(session, current, "/status"))["config_version"]

    reply = await send_json(
        session, current, "POST", "/config", {"max_current_soft": 40}
    )
    assert reply == {"config_version": version + 1, "msg": "done"}
    assert current.model.eeprom_writes == 1
    assert current.model.current_capacity == 40
    reply = await send_json(
        session, current, "POST", "/config", {"max_current_soft": 40}
    )
    assert reply["msg"] == "no change"
    assert current.model.eeprom_writes == 1

    await send_json(
        session, current, "POST", "/config", {"service": 1, "diode_check": False}
    )
    config = await get_json(session, current, "/config")
    assert config["service"] == 1
    assert config["diode_check"] is False
    assert config["max_current_hard"] == 24
    reply = await send_json(
        session,
        current,
        "POST",
        "/config",
        {"hostname": "garage", "pass": "___DUMMY_PASSWORD___", "lang": 5},
    )
    assert reply["msg"] == "done"
    assert (await get_json(session, current, "/config"))["hostname"] == "garage"
    await send_json(session, current, "POST", "/config", "[", status=400)


async def test_config_credentials_turn_on_basic_auth(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    await send_json(
        session,
        current,
        "POST",
        "/config",
        {"www_username": "me", "www_password": "pw"},
    )
    async with session.get(current.url + "/status") as resp:
        assert resp.status == 401
    headers = {"Authorization": aiohttp.encode_basic_auth("me", "pw")}
    async with session.get(current.url + "/config", headers=headers) as resp:
        assert resp.status == 200
        assert (await resp.json())["www_password"] == "___DUMMY_PASSWORD___"


async def test_post_status_sets_voltage(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    reply = await send_json(
        session, current, "POST", "/status", {"voltage": 230, "solar": 1200}
    )
    assert reply == {"voltage": 230, "solar": 1200}
    status = await get_json(session, current, "/status")
    assert (status["voltage"], status["solar"]) == (230, 1200)
    await send_json(session, current, "POST", "/status", "nope", status=400)


async def test_rapi_only_get_commands(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    assert verified(await rapi(session, current, "$GV")) == "$OK 8.2.3 5.2.1"
    assert verified(await rapi(session, current, "$GC")) == "$OK 6 48 32 32"
    assert verified(await rapi(session, current, "$GI")).startswith("$OK OPENEV43")
    for frame in ("$SC 16 V", "$FS", "$FE^27", "$ST 0 0 0 0"):
        async with session.get(
            current.url + "/r", params={"json": "1", "rapi": frame}
        ) as resp:
            assert resp.status == 400
            assert await resp.json() == {"cmd": frame, "error": "RAPI_RESPONSE_BLOCKED"}
    async with session.get(current.url + "/r", params={"rapi": "$FS"}) as resp:
        assert resp.status == 400
        assert "<strong>Error:</strong>RAPI_RESPONSE_BLOCKED" in await resp.text()
    assert current.model.current_capacity == 32
    assert current.rapi_commands["SC"] == 1
    assert len(current.rapi_frames) == 8


async def test_rapi_html_page(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(current.url + "/rapi", params={"rapi": "$GG"}) as resp:
        text = await resp.text()
    assert resp.content_type == "text/html"
    assert "$GG<p>&gt;$OK 0 -1^0C<script" in text
    async with session.get(current.url + "/r") as resp:
        assert "RAPI Command" in await resp.text()
    async with session.get(current.url + "/r?json=1") as resp:
        assert resp.status == 400


async def test_claim_pauses_and_keeps_the_session(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.model.plug_in()
    current.advance(600)
    before = await get_json(session, current, "/status")
    await send_json(session, current, "POST", "/claims/20", {"state": "disabled"})
    current.advance(600)
    paused = await get_json(session, current, "/status")
    assert paused["state"] == 254
    assert paused["status"] == "disabled"
    assert paused["vehicle"] == 1
    assert paused["session_energy"] == before["session_energy"]
    assert paused["elapsed"] == before["elapsed"]
    assert paused["claims_version"] == before["claims_version"] + 1
    await send_json(session, current, "DELETE", "/claims/20")
    current.advance(60)
    resumed = await get_json(session, current, "/status")
    assert resumed["state"] == 3
    assert resumed["session_energy"] > before["session_energy"]
    assert resumed["elapsed"] == before["elapsed"] + 60


async def test_claims_arbitration(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    await send_json(session, current, "POST", "/claims/20", {"charge_current": 10})
    assert current.model.current_capacity == 10
    await send_json(session, current, "POST", "/claims/30", {"max_current": 8})
    # Per property, the highest priority wins: both API claims have 500.
    assert current.model.current_capacity == 8
    status = await get_json(session, current, "/status")
    assert (status["pilot"], status["max_current"]) == (8, 8)

    # The manual override (priority 1000) wins charge_current and state.
    await send_json(
        session,
        current,
        "POST",
        "/override",
        {"state": "active", "charge_current": 6},
        status=201,
    )
    assert current.model.current_capacity == 6
    await send_json(session, current, "POST", "/claims/20", {"state": "disabled"})
    assert current.model.state == 1  # override says active: not paused
    target = await get_json(session, current, "/claims/target")
    assert target["claims"] == {
        "state": CLIENT_MANUAL,
        "charge_current": CLIENT_MANUAL,
        "max_current": 30,
    }
    assert target["properties"]["charge_current"] == 6

    claims = await get_json(session, current, "/claims")
    assert {c["client"]: c["priority"] for c in claims} == {
        20: 500,
        30: 500,
        CLIENT_MANUAL: 1000,
    }
    assert await get_json(session, current, "/claims/30") == {
        "priority": 500,
        "max_current": 8,
        "auto_release": False,
    }
    await send_json(session, current, "DELETE", "/override")
    assert current.model.state == 254  # claim 20 now wins the state
    await send_json(session, current, "DELETE", "/claims/20")
    await send_json(session, current, "DELETE", "/claims/30")
    assert current.model.current_capacity == 32
    assert current.model.eeprom_writes == 0  # claims never wear the EEPROM


async def test_charge_current_below_minimum_is_raised(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    await send_json(session, current, "POST", "/claims/5", {"charge_current": 0})
    assert current.model.current_capacity == 6
    await send_json(session, current, "POST", "/claims/5", {"charge_current": 99})
    assert current.model.current_capacity == 32


async def test_higher_priority_claim_from_python(current: Simulator) -> None:
    device = current.device
    claims = device.claims  # type: ignore[attr-defined]
    claims.claim(1, 100, ClaimProperties(charge_current=20))
    claims.claim(2, 50, ClaimProperties(charge_current=10))
    device.apply_target()  # type: ignore[attr-defined]
    assert current.model.current_capacity == 20


async def test_auto_release_claims_go_on_unplug(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.model.plug_in()
    await send_json(
        session,
        current,
        "POST",
        "/claims/20",
        {"state": "disabled", "auto_release": True},
    )
    await send_json(session, current, "POST", "/claims/21", {"charge_current": 12})
    await send_json(
        session, current, "POST", "/override", {"max_current": 10}, status=201
    )
    version = (await get_json(session, current, "/status"))["override_version"]
    current.model.unplug()
    claims = await get_json(session, current, "/claims")
    assert [c["client"] for c in claims] == [21]
    status = await get_json(session, current, "/status")
    assert status["state"] == 1
    assert status["override_version"] == version + 1
    assert status["manual_override"] == 0


async def test_claim_errors(current: Simulator, session: aiohttp.ClientSession) -> None:
    await get_json(session, current, "/claims/7", status=404)
    await get_json(session, current, "/claims/abc", status=404)
    await send_json(session, current, "DELETE", "/claims/7", status=404)
    await send_json(session, current, "POST", "/claims/abc", {}, status=404)
    for bad in ({"state": "paused"}, {"charge_current": "x"}, {"auto_release": 1}, [1]):
        await send_json(session, current, "POST", "/claims/7", bad, status=400)
    async with session.post(current.url + "/claims/7", data="{") as resp:
        assert resp.status == 400
    for client in range(MAX_CLAIMS):
        await send_json(
            session, current, "POST", f"/claims/{client}", {"max_current": 20}
        )
    reply = await send_json(session, current, "POST", "/claims/99", {}, status=400)
    assert reply == {"msg": "Could not make claim"}


async def test_clear_keyword_removes_a_property(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    await send_json(
        session,
        current,
        "POST",
        "/claims/4",
        {"state": "clear", "charge_current": "clear"},
    )
    assert await get_json(session, current, "/claims/4") == {
        "priority": 500,
        "auto_release": False,
    }


async def test_button_is_the_manual_override(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    """Like LcdTask::onButton: claim the opposite state, press again: release."""
    current.model.plug_in()
    current.device.button()
    assert await get_json(session, current, "/override") == {
        "state": "disabled",
        "auto_release": True,
    }
    status = await get_json(session, current, "/status")
    assert (status["state"], status["manual_override"]) == (254, 1)
    current.device.button()
    status = await get_json(session, current, "/status")
    assert (status["state"], status["manual_override"]) == (2, 0)
    # A claim of ours says disabled; the button starts the charge anyway.
    await send_json(session, current, "POST", "/claims/20", {"state": "disabled"})
    current.device.button()
    assert (await get_json(session, current, "/override"))["state"] == "active"
    assert current.model.state == 2


async def test_override_lifecycle(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    reply = await get_json(session, current, "/override", status=404)
    assert reply == {"msg": "No manual override"}
    await send_json(session, current, "DELETE", "/override", status=500)
    await send_json(
        session, current, "POST", "/override", {"state": "disabled"}, status=201
    )
    assert await get_json(session, current, "/override") == {
        "state": "disabled",
        "auto_release": True,
    }
    status = await get_json(session, current, "/status")
    assert (status["state"], status["manual_override"]) == (254, 1)
    await send_json(session, current, "PATCH", "/override")  # toggle: release
    assert current.model.state == 1
    await send_json(session, current, "PATCH", "/override")  # toggle: claim
    override = await get_json(session, current, "/override")
    assert override["state"] == "disabled"
    assert override["charge_current"] == 32
    await send_json(session, current, "PATCH", "/override")
    current.model.set_mode(current.model.mode.SLEEP)
    await send_json(session, current, "PATCH", "/override")
    assert (await get_json(session, current, "/override"))["state"] == "active"
    await send_json(session, current, "DELETE", "/override")
    await send_json(session, current, "POST", "/override", "{", status=400)
    # The override is the manual client's claim: releasing it that way counts too.
    await send_json(
        session, current, "POST", "/override", {"state": "active"}, status=201
    )
    version = (await get_json(session, current, "/status"))["override_version"]
    await send_json(session, current, "DELETE", f"/claims/{CLIENT_MANUAL}")
    status = await get_json(session, current, "/status")
    assert (status["override_version"], status["manual_override"]) == (version + 1, 0)


async def test_limit_endpoints_and_enforcement(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    assert await get_json(session, current, "/limit", status=404) == {"msg": "No limit"}
    await send_json(session, current, "DELETE", "/limit", status=404)
    current.model.plug_in()
    reply = await send_json(
        session,
        current,
        "POST",
        "/limit",
        {"type": "energy", "value": 1000},
        status=201,
    )
    assert reply == {"msg": "done"}
    assert await get_json(session, current, "/limit") == {
        "type": "energy",
        "value": 1000,
        "auto_release": True,
    }
    status = await get_json(session, current, "/status")
    assert (status["limit"], status["limit_version"]) == (True, 1)
    current.advance(3600)
    status = await get_json(session, current, "/status")
    assert status["state"] == 254
    assert status["session_energy"] == pytest.approx(1000)
    current.model.unplug()
    await get_json(session, current, "/limit", status=404)

    current.model.plug_in()
    await send_json(
        session,
        current,
        "POST",
        "/limit",
        {"type": "time", "value": 30, "auto_release": False},
        status=201,
    )
    current.advance(3600)
    assert (await get_json(session, current, "/status"))["elapsed"] == 1800
    await send_json(session, current, "DELETE", "/limit")
    current.advance(60)
    assert current.model.charging
    bad_limits: list[object] = [
        {"type": "distance", "value": 1},
        {"type": "time", "value": -1},
        {"type": "time", "value": True},
        {"type": "time", "value": 1, "auto_release": 0},
        [],
    ]
    for bad in bad_limits:
        await send_json(session, current, "POST", "/limit", bad, status=400)


async def test_empty_as_200_option(session: aiohttp.ClientSession) -> None:
    options = DeviceOptions(empty_as_404=False)
    async with start_simulator("current", options=options) as sim:
        assert await get_json(session, sim, "/limit") == {}
        assert await get_json(session, sim, "/override") == {}
        assert await send_json(session, sim, "DELETE", "/limit") == {"msg": "no limit"}


async def test_restart_evse_resets_controller_but_reapplies_claims(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.model.plug_in()
    current.advance(60)
    await send_json(session, current, "POST", "/claims/9", {"charge_current": 10})
    reply = await send_json(session, current, "POST", "/restart", {"device": "evse"})
    assert reply == {"msg": "restart evse"}
    assert current.model.boots == 1
    assert current.model.session_ws == 0
    assert current.model.current_capacity == 10  # re-applied after boot
    assert current.serving
    await send_json(
        session, current, "POST", "/restart", {"device": "toaster"}, status=404
    )
    await send_json(session, current, "POST", "/restart", {}, status=400)
    await send_json(session, current, "POST", "/restart", "{", status=400)


async def test_restart_gateway_drops_claims(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.model.plug_in()
    await send_json(session, current, "POST", "/claims/9", {"charge_current": 10})
    await send_json(
        session, current, "POST", "/limit", {"type": "time", "value": 5}, status=201
    )
    reply = await send_json(session, current, "POST", "/restart", {"device": "gateway"})
    assert reply == {"msg": "restart gateway"}
    for task in list(current._tasks):
        await task
    assert current.serving
    assert await get_json(session, current, "/claims") == []
    await get_json(session, current, "/limit", status=404)
    assert current.model.current_capacity == 32
    assert current.model.boots == 0  # the controller kept running
    async with session.get(current.url + "/restart") as resp:
        assert await resp.text() == "1"
    for task in list(current._tasks):
        await task


async def test_websocket_full_status_then_deltas(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(current.url + "/ws") as ws:
        full = await ws.receive_json()
        assert full["state"] == 1
        assert "time" in full
        current.model.plug_in()
        delta = await ws.receive_json()
        assert delta["state"] == 2
        assert delta["vehicle"] == 1
        assert "time" not in delta
        assert "amp" not in delta  # unchanged fields are not repeated
        current.advance(10)
        delta = await ws.receive_json()
        assert delta["state"] == 3
        assert delta["amp"] == 31750
        await send_json(session, current, "POST", "/claims/3", {"state": "disabled"})
        delta = await ws.receive_json()
        assert delta["state"] == 254
        assert delta["amp"] == 0
        assert delta["claims_version"] == 1
        await ws.send_str(json.dumps({"ping": 1}))
        assert await ws.receive_json() == {"pong": 1}
        await ws.send_str("not json")
        await ws.send_bytes(b"\x00")
        assert current.ws_frames_sent == 5


async def test_websocket_without_initial_status(session: aiohttp.ClientSession) -> None:
    options = DeviceOptions(ws_full_status_on_connect=False)
    async with (
        start_simulator("current", options=options) as sim,
        session.ws_connect(sim.url + "/ws") as ws,
    ):
        sim.model.fault("gfci")
        delta = await ws.receive_json()
        assert delta["state"] == 6
        assert delta["gfcicount"] == 1
        assert "macaddress" not in delta


async def test_websocket_dropped_on_reboot(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(current.url + "/ws") as ws:
        await ws.receive_json()
        await current.stop()
        msg = await ws.receive()
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    await current.start()
    async with session.ws_connect(current.url + "/ws") as ws:
        assert (await ws.receive_json())["state"] == 1


async def test_index_page(current: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(current.url + "/") as resp:
        assert "<title>OpenEVSE</title>" in await resp.text()


async def test_websocket_raw_frames_and_config_changes(
    current: Simulator, legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    """Frames no firmware should send go out as they are, to every client."""
    async with session.ws_connect(current.url + "/ws") as ws:
        await ws.receive_json()
        current.push_raw('{"state":1e999}')
        assert await ws.receive_str() == '{"state":1e999}'
        async with session.post(current.url + "/sim/ws_frame?text=NaN") as resp:
            assert resp.status == 200
        assert await ws.receive_str() == "NaN"
        async with session.post(current.url + "/sim/config_changed") as resp:
            assert resp.status == 200
        assert (await ws.receive_json())["config_version"] == 2
        current.config_changed()
        assert (await ws.receive_json())["config_version"] == 3
    for action in ("ws_frame?text=x", "config_changed"):
        async with session.post(legacy.url + "/sim/" + action) as resp:
            assert resp.status == 400  # no websocket, no config_version
