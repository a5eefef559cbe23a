"""``legacy``: WiFi 2.9.x + RAPI 4.0.1, controlled through /r only."""

from __future__ import annotations

import aiohttp

from simulators import DeviceOptions, EvseModel, Simulator, start_simulator
from tests.simulators.sim_helpers import get_json, rapi, verified, with_xor

# The v1 /r fixture page, with its reply replaced.
FIXTURE_PAGE = (
    "<html><font size='20'><font color=006666>Open</font><b>EVSE</b></font><p>"
    "<b>Open Source Hardware</b><p>RAPI Command Sent<p>Common Commands:<p>"
    "Set Current - $SC XX<p>Set Service Level - $SL 1 - $SL 2 - $SL A<p>"
    "Get Real-time Current - $GG<p>Get Temperatures - $GP<p><p>"
    "<form method='get' action='r'><label><b><i>RAPI Command:</b></i></label>"
    "<input name='rapi' length=32><p><input type='submit'></form>"
    "$GA<p>>$OK 220 0^20<p></html>"
)


async def test_status_and_config_shapes(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    legacy.model.plug_in()
    legacy.advance(60)
    status = await get_json(session, legacy, "/status")
    for absent in ("session_energy", "total_energy", "vehicle", "macaddress"):
        assert absent not in status
    assert status["amp"] == 31750
    assert status["temp1"] == 340
    assert status["temp2"] is False
    assert status["state"] == 3
    assert status["wattsec"] == 457200
    assert status["watthour"] == 127
    config = await get_json(session, legacy, "/config")
    assert (config["firmware"], config["protocol"], config["version"]) == (
        "5.0.1",
        "4.0.1",
        "2.9.1",
    )
    assert "wifi_serial" not in config
    assert config["service"] == 2


async def test_no_json_api(legacy: Simulator, session: aiohttp.ClientSession) -> None:
    for path in ("/claims", "/limit", "/override", "/ws", "/restart"):
        async with session.get(legacy.url + path) as resp:
            assert resp.status == 404, path
    async with session.post(legacy.url + "/config", json={}) as resp:
        assert resp.status == 405


async def test_html_reply_matches_the_fixture(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(legacy.url + "/r", params={"rapi": "$GA"}) as resp:
        assert resp.content_type == "text/html"
        assert await resp.text() == FIXTURE_PAGE


async def test_full_control_over_rapi(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    legacy.model.plug_in()
    assert verified(await rapi(session, legacy, "$SC 16 V")) == "$OK 16"
    assert legacy.model.eeprom_writes == 0
    legacy.advance(10)
    status = await get_json(session, legacy, "/status")
    assert (status["pilot"], status["amp"]) == (16, 15750)
    assert verified(await rapi(session, legacy, "$GS")) == "$OK 3 10"
    assert verified(await rapi(session, legacy, "$FS")) == "$OK"
    legacy.advance(10)
    assert verified(await rapi(session, legacy, "$GS")) == "$OK 254 10"
    assert verified(await rapi(session, legacy, "$GU")) == "$OK 37800 10"
    assert verified(await rapi(session, legacy, "$FE")) == "$OK"
    legacy.advance(10)
    assert verified(await rapi(session, legacy, "$GS")) == "$OK 3 20"
    assert verified(await rapi(session, legacy, "$SC 20")) == "$OK 20"
    assert legacy.model.eeprom_writes == 1
    assert verified(await rapi(session, legacy, "$FD")) == "$OK"
    assert verified(await rapi(session, legacy, "$GS")) == "$OK 255 20"


async def test_energy_limit_enforced_and_cleared_on_unplug(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    assert verified(await rapi(session, legacy, "$SH 2")) == "$NK"  # no car yet
    legacy.model.plug_in()
    assert verified(await rapi(session, legacy, "$SH 2")) == "$OK"
    assert verified(await rapi(session, legacy, "$S3 8")) == "$OK"
    assert verified(await rapi(session, legacy, "$GH")) == "$OK 2"
    legacy.advance(7200)
    assert verified(await rapi(session, legacy, "$GS")).startswith("$OK 254 ")
    assert legacy.model.session_ws == 2 * 3_600_000
    assert verified(await rapi(session, legacy, "$GH")) == "$OK 0"
    legacy.model.unplug()
    assert verified(await rapi(session, legacy, "$G3")) == "$OK 0"
    assert verified(await rapi(session, legacy, "$GS")).startswith("$OK 1 ")


async def test_checksum_and_sequence_handling(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    assert await rapi(session, legacy, "$GS^00") == "$NK^21"
    assert verified(await rapi(session, legacy, "$GV*C1")) == "$OK 5.0.1 4.0.1"
    assert verified(await rapi(session, legacy, with_xor("$GV :7F"))) == (
        "$OK 5.0.1 4.0.1 :7F"
    )
    async with session.get(
        legacy.url + "/r",
        params={"json": "1", "rapi": "$FP 0 0 much too long for the buffer"},
    ) as resp:
        assert resp.status == 500
        assert (await resp.json())["error"] == "RAPI_RESPONSE_TIMEOUT"


async def test_gi_is_not_rapi_4(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    assert await rapi(session, legacy, "$GI") == "$NK^21"
    options = DeviceOptions(legacy_gi=True)
    async with start_simulator("legacy", options=options, identity_seed=7) as sim:
        assert verified(await rapi(session, sim, "$GI")) == "$OK OPENEV4C000007"


async def test_voltmeter_is_configurable(session: aiohttp.ClientSession) -> None:
    model = EvseModel(has_voltmeter=True, voltage=230.0)
    async with start_simulator("legacy", model=model) as sim:
        assert verified(await rapi(session, sim, "$GG")) == "$OK 0 230000"
