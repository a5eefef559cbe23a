"""Real peers: the SAP simulator transcripts replayed, the Blink HQ frame.

Every cp->cs CALL of a transcript is sent as recorded, byte for byte, and
must be answered like the recorded central system answered it (the clock
aside). The simulator's replies to that central system's commands are sent
too, at their place: nobody waits for them, they must be dropped quietly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.evse_local.protocols.models import ChargerState, OcppStatus
from custom_components.evse_local.protocols.ocpp import CentralSystem
from custom_components.evse_local.protocols.ocpp.measurands import parse_timestamp

from .ocpp_support import (
    TRANSCRIPTS,
    blink_transaction_started_frame,
    central_system,
    transcript_lines,
)
from .peers import PEERS_PRESENT, SKIP_REASON, peer_glob

pytestmark = [
    pytest.mark.usefixtures("loopback_sockets"),
    pytest.mark.skipif(not PEERS_PRESENT, reason=SKIP_REASON),
]

SIM_ID = "BLINK-MQ200-SIM"


def transcript_names() -> list[str]:
    if not PEERS_PRESENT:
        return ["none"]
    return [path.name for path in peer_glob(TRANSCRIPTS, "*.jsonl")]


async def reply_to(ws: aiohttp.ClientWebSocketResponse, unique_id: str) -> list[Any]:
    """Read until the reply to ``unique_id``; answer our commands on the way."""
    async with asyncio.timeout(5):
        while True:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, message
            frame: list[Any] = json.loads(message.data)
            if frame[0] == 2:
                await ws.send_str(json.dumps([3, frame[1], {"status": "Accepted"}]))
            elif frame[1] == unique_id:
                return frame


def same_reply(ours: list[Any], recorded: list[Any]) -> None:
    assert ours[:2] == recorded[:2]
    payload, expected = dict(ours[2]), dict(recorded[2])
    if "currentTime" in expected:
        assert parse_timestamp(payload.pop("currentTime")) is not None
        expected.pop("currentTime")
    assert payload == expected


async def replay(system: CentralSystem, name: str) -> int:
    """Send every cp->cs frame of a transcript; the number of CALLs answered."""
    answered = 0
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"ws://127.0.0.1:{system.port}/OCPP16/{SIM_ID}", protocols=("ocpp1.6",)
        ) as ws,
    ):
        lines = transcript_lines(name)
        for index, line in enumerate(lines):
            if line["dir"] != "cp->csms":
                continue
            frame = json.loads(line["frame"])
            await ws.send_str(line["frame"])
            if frame[0] != 2:
                continue
            recorded = next(
                json.loads(later["frame"])
                for later in lines[index + 1 :]
                if later["dir"] == "csms->cp"
                and json.loads(later["frame"])[:2] == [3, frame[1]]
            )
            same_reply(await reply_to(ws, frame[1]), recorded)
            answered += 1
    return answered


@pytest.mark.parametrize("name", transcript_names())
async def test_transcript_replay(name: str, caplog: pytest.LogCaptureFixture) -> None:
    calls = sum(
        1
        for line in transcript_lines(name)
        if line["dir"] == "cp->csms" and json.loads(line["frame"])[0] == 2
    )
    async with central_system(heartbeat_interval=30) as system:
        station = system.add_station(SIM_ID, password=None)
        with caplog.at_level(logging.WARNING):
            assert await replay(system, name) == calls
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert system.stats.call_errors_sent == 0
        snapshot = station.snapshot
        assert station.boot is not None
        assert (station.boot.vendor, station.boot.model) == ("Blink", "MQ 200")
        assert snapshot.transaction_id is None
        stops = [
            json.loads(line["frame"])[3]
            for line in transcript_lines(name)
            if '"StopTransaction"' in line["frame"]
        ]
        # The last session's energy: meterStop - meterStart (0 in both runs);
        # meterStop is whole Wh, a hundredth below the last MeterValues at
        # times, and a session never goes back.
        assert snapshot.session_energy == pytest.approx(stops[-1]["meterStop"], abs=1)
        assert snapshot.lifetime_energy == stops[-1]["meterStop"]
        assert snapshot.session_time is not None
        assert snapshot.voltage is not None
        assert snapshot.phase_currents is not None
        assert snapshot.power is not None
        last_status = [
            json.loads(line["frame"])[3]["status"]
            for line in transcript_lines(name)
            if '"StatusNotification"' in line["frame"] and line["dir"] == "cp->csms"
        ][-1]
        assert snapshot.ocpp_status is OcppStatus(
            {"SuspendedEV": "suspended_ev"}.get(last_status, last_status.lower())
        )


async def test_blink_transaction_started_is_not_implemented_and_its_units_parse(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = blink_transaction_started_frame()
    started = json.loads(frame)
    async with (
        central_system() as system,
        aiohttp.ClientSession() as session,
    ):
        station = system.add_station("HQ200", password=None)
        async with session.ws_connect(
            f"ws://127.0.0.1:{system.port}/BlinkOCPP1_6/HQ200", protocols=("ocpp1.6",)
        ) as ws:
            with caplog.at_level(logging.DEBUG):
                await ws.send_str(frame)
                reply = await reply_to(ws, started[1])
            assert reply[:3] == [4, started[1], "NotImplemented"]
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
            # Its meter values, in a standard MeterValues frame: same units,
            # same nanosecond timestamps.
            values = started[3]["values"]
            meter_value = [
                {
                    "timestamp": value["timestamp"],
                    "sampledValue": [
                        {k: v for k, v in value.items() if k != "timestamp"}
                    ],
                }
                for value in values
            ]
            await ws.send_str(
                json.dumps(
                    [
                        2,
                        "mv",
                        "MeterValues",
                        {"connectorId": 1, "meterValue": meter_value},
                    ]
                )
            )
            assert (await reply_to(ws, "mv"))[:3] == [3, "mv", {}]
            snapshot = station.snapshot
            assert snapshot.charging_current == 0.0
            assert snapshot.voltage == 241.9
            assert snapshot.power == 0.0
            # Energy.Active.Import.Session is not OCPP 1.6: not a register.
            assert snapshot.lifetime_energy is None
            assert snapshot.state is ChargerState.UNDETERMINED
            assert parse_timestamp(values[0]["timestamp"]) is not None
