"""Simulator lifecycle, counters, fault injection and the /sim control routes."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from simulators import Fault, Simulator, start_simulator
from simulators.server import TRAILING_GARBAGE
from tests.simulators.sim_helpers import get_json, rapi, until, verified


async def _refused(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url):
            return False
    except aiohttp.ClientConnectorError:
        return True


async def test_reboot_refuses_then_recovers_on_the_same_port(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    port = current.port
    current.model.plug_in()
    current.advance(60)
    await get_json(session, current, "/status")
    task = current.schedule_reboot(0.3)
    await until(lambda: not current.serving)
    assert await _refused(session, current.url + "/status")
    await task
    assert current.port == port
    status = await get_json(session, current, "/status")
    assert status["session_energy"] == 0  # controller RAM lost
    assert status["vehicle"] == 1  # the car is still plugged in
    assert current.model.boots == 1


async def test_stop_and_start_are_deterministic(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    port = legacy.port
    await legacy.stop()
    await legacy.stop()  # idempotent
    assert not legacy.serving
    assert await _refused(session, legacy.url + "/status")
    await legacy.start()
    await legacy.start()  # idempotent
    assert legacy.port == port
    await get_json(session, legacy, "/status")


async def test_reboot_awaited_resets_volatile_current(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    assert verified(await rapi(session, legacy, "$SC 10 V")) == "$OK 10"
    await legacy.reboot(seconds=0.05)
    assert verified(await rapi(session, legacy, "$GE")) == "$OK 32 0001"


async def test_counters(current: Simulator, session: aiohttp.ClientSession) -> None:
    await get_json(session, current, "/status")
    await get_json(session, current, "/status")
    await rapi(session, current, "$GS")
    await get_json(session, current, "/sim/state")
    async with session.get(current.url + "/nowhere") as resp:
        assert resp.status == 404
    assert current.requests == {"/status": 2, "/r": 1, "/nowhere": 1}
    assert current.rapi_frames == ["$GS"]
    assert current.rapi_commands == {"GS": 1}
    current.record_rapi("GS")
    assert current.rapi_commands["GS"] == 2
    current.reset_counters()
    assert (current.requests, current.rapi_frames, current.ws_frames_sent) == (
        {},
        [],
        0,
    )


async def test_basic_auth(session: aiohttp.ClientSession) -> None:
    async with start_simulator("goplug", username="admin", password="secret") as sim:
        async with session.get(sim.url + "/r", params={"rapi": "$GS"}) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == (
                f'Basic realm="{sim.identity.hostname}"'
            )
        for header in (
            "Bearer x",
            "Basic !!!",
            aiohttp.encode_basic_auth("admin", "no"),
        ):
            async with session.get(
                sim.url + "/", headers={"Authorization": header}
            ) as resp:
                assert resp.status == 401
        good = {"Authorization": aiohttp.encode_basic_auth("admin", "secret")}
        async with session.get(sim.url + "/", headers=good) as resp:
            assert resp.status == 200
        async with session.get(sim.url + "/sim/state") as resp:
            assert resp.status == 200  # the control surface needs no auth


async def test_rapi_reply_faults(
    legacy: Simulator, session: aiohttp.ClientSession
) -> None:
    legacy.inject(Fault.BAD_CHECKSUM)
    bad = await rapi(session, legacy, "$GV")
    with pytest.raises(AssertionError):
        verified(bad)
    legacy.inject("nk")
    assert await rapi(session, legacy, "$GV") == "$NK^21"
    legacy.inject(Fault.WRONG_FIELD_COUNT, count=2)
    assert verified(await rapi(session, legacy, "$GC")) == "$OK 6"
    assert verified(await rapi(session, legacy, "$FE")) == "$OK 0"
    assert verified(await rapi(session, legacy, "$GC")) == "$OK 6 80"
    # HTTP faults do not consume RAPI faults and vice versa.
    legacy.inject(Fault.NK)
    await get_json(session, legacy, "/status")
    assert legacy.faults.pending() == [(Fault.NK, 1)]
    legacy.clear_faults()
    assert legacy.faults.pending() == []


async def test_http_faults(current: Simulator, session: aiohttp.ClientSession) -> None:
    current.inject(Fault.HTTP_500)
    async with session.get(current.url + "/status") as resp:
        assert resp.status == 500
    current.inject(Fault.HTTP_401)
    async with session.get(current.url + "/status") as resp:
        assert resp.status == 401
    current.inject(Fault.HTTP_404)
    async with session.get(current.url + "/config") as resp:
        assert resp.status == 404
    current.inject(Fault.HTML)
    async with session.get(current.url + "/status") as resp:
        assert resp.content_type == "text/html"
        assert (await resp.text()).startswith("<html>")
    current.inject(Fault.TRAILING_GARBAGE)
    async with session.get(current.url + "/config") as resp:
        raw = await resp.read()
    assert raw.endswith(TRAILING_GARBAGE)
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert json.loads(raw[: -len(TRAILING_GARBAGE)])["version"] == "v5.1.2"
    current.inject(Fault.DROP)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.get(current.url + "/status") as resp:
            await resp.read()
    await get_json(session, current, "/status")  # and then it works again


async def test_faults_restricted_to_a_path(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.inject(Fault.HTTP_500, count=2, path="/config")
    await get_json(session, current, "/status")
    async with session.get(current.url + "/config") as resp:
        assert resp.status == 500
    await get_json(session, current, "/status")
    async with session.get(current.url + "/config") as resp:
        assert resp.status == 500
    await get_json(session, current, "/config")


async def test_fault_on_a_post_still_runs_the_handler(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.inject(Fault.DROP, path="/claims")
    with pytest.raises(aiohttp.ClientError):
        async with session.post(
            current.url + "/claims/5", json={"max_current": 10}
        ) as resp:
            await resp.read()
    assert current.model.current_capacity == 10


async def test_timeout_fault(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    current.inject(Fault.TIMEOUT, delay=5)
    with pytest.raises(TimeoutError):
        async with session.get(
            current.url + "/status", timeout=aiohttp.ClientTimeout(total=0.2)
        ):
            pass
    # A short stall answers normally afterwards.
    current.inject(Fault.TIMEOUT, delay=0.05)
    await get_json(session, current, "/status")


async def test_timeout_stall_is_cut_short_by_close(
    session: aiohttp.ClientSession,
) -> None:
    sim = await start_simulator("legacy", timeout_delay=60)
    sim.inject(Fault.TIMEOUT)
    request = asyncio.ensure_future(session.get(sim.url + "/status"))
    await until(lambda: bool(sim.requests))
    await asyncio.wait_for(sim.close(), 5)  # not 60 s
    # The stalled request is released: answered during shutdown, or cut off.
    with contextlib.suppress(aiohttp.ClientError):
        (await request).release()


async def test_inject_validates() -> None:
    sim = Simulator("legacy")
    with pytest.raises(ValueError):  # noqa: PT011
        sim.inject("fire")
    with pytest.raises(ValueError, match="count"):
        sim.inject(Fault.NK, count=0)


async def test_control_routes(
    current: Simulator, session: aiohttp.ClientSession
) -> None:
    url = current.url + "/sim"
    help_doc = await get_json(session, current, "/sim")
    assert "POST /sim/plug" in help_doc["actions"]

    async def act(path: str, status: int = 200) -> dict[str, object]:
        async with session.post(url + path) as resp:
            assert resp.status == status, await resp.text()
            body: dict[str, object] = await resp.json()
            return body

    assert (await act("/plug"))["state"] == 2
    assert (await act("/advance?seconds=10"))["state"] == 3
    assert (await act("/advance"))["elapsed"] == 11
    assert (await act("/ev_ready?value=0"))["state"] == 2
    assert (await act("/ev_ready?value=true"))["ev_ready"] is True
    assert (await act("/voltage?value=120"))["voltage"] == 120
    assert (await act("/fault?kind=no_ground"))["fault"] == "no_ground"
    assert (await act("/clear_fault"))["fault"] is None
    assert (await act("/fault"))["state"] == 6  # gfci by default
    await act("/clear_fault")
    # The WiFi module's button is a manual override, released at the unplug.
    assert (await act("/button"))["mode"] == "sleep"
    snapshot = await act("/inject?fault=http_500&count=2&path=/status&delay=1")
    assert snapshot["faults_pending"] == [{"fault": "http_500", "remaining": 2}]
    assert (await act("/clear_faults"))["faults_pending"] == []
    assert (await act("/reset_counters"))["requests"] == {}
    assert (await act("/unplug"))["state"] == 1  # the override ended with it
    await act("/reboot?part=evse")
    assert current.model.boots == 1
    await act("/fault?kind=lightning", status=400)
    await act("/ev_ready?value=maybe", status=400)
    await act("/voltage", status=400)
    await act("/inject?fault=nope", status=400)
    await act("/reboot?part=toaster", status=400)
    body = await act("/explode", status=404)
    assert "plug" in body["actions"]  # type: ignore[operator]


async def test_control_reboot(
    goplug: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(goplug.url + "/sim/reboot?seconds=0.2") as resp:
        assert resp.status == 200
    await until(lambda: not goplug.serving)
    await until(lambda: goplug.serving)
    assert goplug.model.boots == 1
    async with session.post(
        goplug.url + "/sim/reboot?part=gateway&seconds=0.05"
    ) as resp:
        assert resp.status == 200
    await asyncio.gather(*goplug._tasks)
    assert goplug.model.boots == 1


async def test_realtime_ticker_advances_the_model() -> None:
    sim = await start_simulator("current", realtime=True, tick_seconds=0.02)
    try:
        sim.model.plug_in()
        await until(lambda: sim.model.session_ws > 0)
        assert sim.model.clock > 0
    finally:
        await sim.close()
    assert not sim.serving


async def test_close_cancels_a_pending_reboot() -> None:
    sim = await start_simulator("legacy")
    sim.schedule_reboot(60)
    await asyncio.sleep(0)
    await asyncio.wait_for(sim.close(), 5)
    assert not sim.serving
    assert not sim._tasks


async def test_port_in_use_is_reported(current: Simulator) -> None:
    other = Simulator("legacy", port=current.port)
    with pytest.raises(OSError, match="in use"):
        await other.start()
    assert not other.serving


async def test_identity_and_description() -> None:
    sim = Simulator("goplug", identity_seed=0x1234)
    assert sim.identity.mac == "02:53:47:00:12:34"
    assert sim.identity.hostname == "goplug-1234"
    assert sim.identity.mcu_id == "GOPLUG47001234"
    assert "GoPlug Pro 32" in sim.describe()
    assert sim.host == "127.0.0.1:0"
    async with sim:
        assert sim.model.mcu_id == "GOPLUG47001234"
        assert sim.port != 0
        assert sim.url == f"http://127.0.0.1:{sim.port}"
