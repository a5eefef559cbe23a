"""Does the central system keep up with 100 chargers sending MeterValues?

The frame is the SAP simulator's real three-phase Sample.Periodic
MeterValues (ten sampled values), only its unique id and energy value
changed so that every frame is a change worth an ``on_update``.

Measured on the development container (2 cores, Python 3.14, ocpp 2.1.0;
``-o junit_family=legacy --junitxml=...`` records the numbers):

* one MeterValues frame handled, JSON to ``on_update`` plus the reply frame,
  no sockets: 0.27-0.39 ms. About 60 % of it is the
  library's camelCase -> snake_case key conversion. With the library's JSON
  schema validation (skipped for MeterValues) it was 1.7 ms per frame,
  mostly the thread-pool hop of every validation.
* 100 chargers x 1 MeterValues/s over real websockets on 127.0.0.1, the
  clients in the same event loop as the server: p50 1.2-1.6 ms, p99
  3.5-15 ms from the client's send to ``on_update``.

Times are recorded, never asserted (shared machines are noisy); what is
asserted is exact: every frame answered, every frame one ``on_update``.
The 100-charger figures inside Home Assistant are in ``benchmarks/``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import aiohttp
import pytest

from custom_components.evse_local.protocols.ocpp import (
    CentralSystemStats,
    OcppStation,
)
from custom_components.evse_local.protocols.ocpp.connection import (
    OcppConnection,
    WebSocketTransport,
)

from .ocpp_support import central_system, transcript_lines
from .peers import PEERS_PRESENT, SKIP_REASON

pytestmark = [
    pytest.mark.usefixtures("loopback_sockets"),
    pytest.mark.skipif(not PEERS_PRESENT, reason=SKIP_REASON),
]

CHARGERS = 100
SECONDS = 5


def periodic_meter_values() -> list[Any]:
    """The first Sample.Periodic MeterValues CALL of the ATG transcript."""
    for line in transcript_lines("sap-sim-4.11.0_atg_run1.jsonl"):
        frame: list[Any] = json.loads(line["frame"])
        if (
            frame[0] == 2
            and frame[2] == "MeterValues"
            and "Sample.Periodic" in line["frame"]
        ):
            return frame
    raise AssertionError("no periodic MeterValues in the transcript")


def numbered(template: list[Any], number: int) -> str:
    """The template with a fresh unique id and a growing energy register."""
    payload = json.loads(json.dumps(template[3]))
    for value in payload["meterValue"][0]["sampledValue"]:
        if value["measurand"] == "Energy.Active.Import.Register":
            value["value"] = f"{number}.5"
    return json.dumps([2, f"mv{number}", "MeterValues", payload])


class _Socket:
    """Where the replies go when no socket is involved: a counter."""

    closed = False

    def __init__(self) -> None:
        self.sent = 0

    async def send_str(self, text: str) -> None:
        # Replies only: a known charger that does not boot is also asked
        # (TriggerMessage) for its status.
        if text.startswith("[3,"):
            self.sent += 1

    async def close(self, **_: Any) -> None:
        self.closed = True


async def test_time_per_meter_values_frame(record_property: Any) -> None:
    station = OcppStation("BENCH")
    socket = _Socket()
    transport = WebSocketTransport(socket, CentralSystemStats(), 60)  # type: ignore[arg-type]
    connection = OcppConnection(
        "BENCH",
        transport,
        response_timeout=10,
        heartbeat_interval=60,
        pending_retry_interval=10,
        presented_username=None,
        presented_password=None,
        on_pending_boot=lambda _: True,
    )
    station.attach(connection, accepted=True)
    updates: list[float] = []
    station._listeners.add(
        lambda snapshot: updates.append(snapshot.lifetime_energy or 0)
    )
    template = periodic_meter_values()
    frames = [numbered(template, n) for n in range(2000)]
    start = time.perf_counter()
    for frame in frames:
        await connection.route_message(frame)
    per_frame = (time.perf_counter() - start) / len(frames)
    record_property("ms_per_meter_values_frame", round(per_frame * 1000, 4))
    await connection.close("measured")
    assert socket.sent == len(frames)
    assert len(updates) == len(frames)


async def _charger(
    session: aiohttp.ClientSession,
    port: int,
    charge_point_id: str,
    template: list[Any],
    *,
    sent_at: dict[str, float],
    offset: float,
) -> None:
    async with session.ws_connect(
        f"ws://127.0.0.1:{port}/ocpp/{charge_point_id}", protocols=("ocpp1.6",)
    ) as ws:
        # Its status first, as after a boot: the station publishes from then.
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
        await ws.send_str(json.dumps([2, "st", "StatusNotification", status]))
        await asyncio.wait_for(ws.receive(), 5)
        await asyncio.sleep(offset)
        for second in range(SECONDS):
            started = time.monotonic()
            sent_at[charge_point_id] = started
            await ws.send_str(numbered(template, second + 1))
            reply = await asyncio.wait_for(ws.receive(), 5)
            while json.loads(reply.data)[0] == 2:
                # Asked for its status (it never booted): left unanswered.
                reply = await asyncio.wait_for(ws.receive(), 5)
            assert json.loads(reply.data)[0] == 3
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def test_hundred_chargers_one_meter_value_per_second(
    record_property: Any,
) -> None:
    template = periodic_meter_values()
    latencies: list[float] = []
    sent_at: dict[str, float] = {}

    def listener(charge_point_id: str) -> Any:
        def on_update(_: object) -> None:
            if charge_point_id in sent_at:
                latencies.append(time.monotonic() - sent_at[charge_point_id])

        return on_update

    # All from 127.0.0.1 at once: more handshakes than one address may have.
    async with (
        central_system(max_handshakes_per_address=CHARGERS) as system,
        aiohttp.ClientSession() as session,
    ):
        ids = [f"MQ{n:03}" for n in range(CHARGERS)]
        listeners = [
            asyncio.create_task(
                system.add_station(cp, password=None).listen(listener(cp))
            )
            for cp in ids
        ]
        await asyncio.gather(
            *(
                _charger(
                    session,
                    system.port,
                    cp,
                    template,
                    sent_at=sent_at,
                    offset=n / CHARGERS,
                )
                for n, cp in enumerate(ids)
            )
        )
        await asyncio.wait_for(asyncio.gather(*listeners), 5)
    assert len(latencies) == CHARGERS * SECONDS
    p99 = statistics.quantiles(latencies, n=100)[98]
    record_property("p50_ms", round(statistics.median(latencies) * 1000, 2))
    record_property("p99_ms", round(p99 * 1000, 2))
