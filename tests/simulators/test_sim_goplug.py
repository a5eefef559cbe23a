"""``goplug``: GoPlug Pro 32, RAPI over HTTP and nothing else."""

from __future__ import annotations

import aiohttp

from simulators import Simulator
from tests.simulators.sim_helpers import rapi, verified


async def test_only_r_and_index(
    goplug: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(goplug.url + "/") as resp:
        assert "<title>GoPlug</title>" in await resp.text()
    for path in ("/status", "/config", "/claims", "/ws", "/rapi"):
        async with session.get(goplug.url + path) as resp:
            assert resp.status == 404, path


async def test_rapi5_dialect(goplug: Simulator, session: aiohttp.ClientSession) -> None:
    assert verified(await rapi(session, goplug, "$GV")) == "$OK E6.4.0 6.0.0"
    assert verified(await rapi(session, goplug, "$GS")) == "$OK 01 0 01 0000"
    assert verified(await rapi(session, goplug, "$GC")) == "$OK 6 32 32"
    assert verified(await rapi(session, goplug, "$GP")) == "$OK 233 -2560 -2560"
    assert (
        verified(await rapi(session, goplug, "$GI")) == "$OK " + goplug.identity.mcu_id
    )
    goplug.model.plug_in()
    goplug.advance(31)
    assert verified(await rapi(session, goplug, "$GS")) == "$OK 03 31 03 0540"
    assert verified(await rapi(session, goplug, "$GG")) == "$OK 31750 240000"
    assert verified(await rapi(session, goplug, "$SC 40")) == "$NK 32"
    assert verified(await rapi(session, goplug, "$FS")) == "$OK"
    assert verified(await rapi(session, goplug, "$GS")) == "$OK fe 31 03 0500"


async def test_auth_lock(goplug: Simulator, session: aiohttp.ClientSession) -> None:
    assert verified(await rapi(session, goplug, "$S4 1")) == "$OK"
    goplug.model.plug_in()
    goplug.advance(5)
    assert verified(await rapi(session, goplug, "$GS")) == "$OK 02 0 03 0508"
    assert verified(await rapi(session, goplug, "$S4 0")) == "$OK"
    goplug.advance(5)
    assert verified(await rapi(session, goplug, "$GS")).startswith("$OK 03 ")


async def test_html_mode(goplug: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(goplug.url + "/r", params={"rapi": "$GV"}) as resp:
        text = await resp.text()
    assert resp.content_type == "text/html"
    assert text.startswith("<html><head><title>GoPlug</title>")
    assert "$GV<p>&gt;$OK E6.4.0 6.0.0^61<p></body></html>" in text
