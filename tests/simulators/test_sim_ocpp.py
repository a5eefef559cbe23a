"""The Blink MQ 200 simulator against a minimal OCPP 1.6J central system.

The central system here is written with the ``ocpp`` library on an aiohttp
websocket server (not the integration's, which is tested on its own): it
records every CALL, answers with what each test sets, and sends commands.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from ocpp.routing import after as _after  # type: ignore[import-untyped, unused-ignore]
from ocpp.routing import on as _on  # type: ignore[import-untyped, unused-ignore]
from ocpp.v16 import (  # type: ignore[import-untyped, unused-ignore]
    ChargePoint,
    call,
    call_result,
)

from simulators import Mq200Model, Mq200Quirks, Mq200Simulator, ProfileRefusal
from simulators.cli import build_parser, serve
from simulators.ocpp_mq200 import (
    CONFIG_KEYS,
    SUPPORTED_MEASURANDS,
    ChargingProfile,
    LocalListRefusal,
    start_fleet,
    stop_fleet,
)
from tests.simulators.sim_helpers import until

type Handler = Callable[..., Any]
ALL_FOUR = ",".join(SUPPORTED_MEASURANDS)
START = datetime(2026, 1, 1, tzinfo=UTC)


def on(action: str) -> Callable[[Handler], Handler]:
    decorator: Callable[[Handler], Handler] = _on(action)
    return decorator


def after(action: str) -> Callable[[Handler], Handler]:
    decorator: Callable[[Handler], Handler] = _after(action)
    return decorator


class CsLink:
    """The server side of one websocket, for ``ocpp``'s ChargePoint."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def recv(self) -> str:
        message = await self.ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError("closed")
        text: str = message.data
        return text

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)


class CentralCp(ChargePoint):  # type: ignore[misc, unused-ignore]
    """One charge point as the central system sees it."""

    cs: MiniCs

    @on("BootNotification")
    def on_boot(self, **payload: Any) -> Any:
        self.cs.record(self.id, "BootNotification", payload)
        return call_result.BootNotification(
            current_time=datetime.now(UTC).isoformat(),
            interval=self.cs.boot_interval,
            status=self.cs.boot_status,
        )

    @on("Heartbeat")
    def on_heartbeat(self, **payload: Any) -> Any:
        self.cs.record(self.id, "Heartbeat", payload)
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    @on("StatusNotification")
    def on_status(self, **payload: Any) -> Any:
        self.cs.record(self.id, "StatusNotification", payload)
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **payload: Any) -> Any:
        self.cs.record(self.id, "Authorize", payload)
        return call_result.Authorize(id_tag_info={"status": self.cs.authorize_status})

    @on("StartTransaction")
    def on_start(self, **payload: Any) -> Any:
        self.cs.record(self.id, "StartTransaction", payload)
        self.cs.next_transaction += 1
        return call_result.StartTransaction(
            transaction_id=self.cs.next_transaction,
            id_tag_info={"status": self.cs.start_status},
        )

    @after("StartTransaction")
    async def after_start(self, **_: Any) -> None:
        # Like a central system that puts its limit on the new session at
        # once (the library runs this as a task right after the answer).
        if (limit := self.cs.tx_profile_after_start) is not None:
            reply = await self.call(
                call.SetChargingProfile(
                    connector_id=1,
                    cs_charging_profiles=profile(
                        limit,
                        purpose="TxProfile",
                        transaction_id=self.cs.next_transaction,
                    ),
                )
            )
            self.cs.record(self.id, "SetChargingProfile.conf", {"status": reply.status})

    @on("StopTransaction")
    def on_stop(self, **payload: Any) -> Any:
        self.cs.record(self.id, "StopTransaction", payload)
        return call_result.StopTransaction()

    @on("MeterValues")
    def on_meter_values(self, **payload: Any) -> Any:
        self.cs.record(self.id, "MeterValues", payload)
        return call_result.MeterValues()

    @on("DiagnosticsStatusNotification")
    def on_diagnostics(self, **payload: Any) -> Any:
        self.cs.record(self.id, "DiagnosticsStatusNotification", payload)
        return call_result.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    def on_firmware(self, **payload: Any) -> Any:
        self.cs.record(self.id, "FirmwareStatusNotification", payload)
        return call_result.FirmwareStatusNotification()

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg)
        except ValueError:
            frame = []
        if frame and frame[0] == 2 and frame[2] in self.cs.silent:
            return  # never answer: the charger's call times out
        await super().route_message(raw_msg)


class MiniCs:
    """A central system on 127.0.0.1:<free port>, path /ocpp/<cp id>."""

    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.boot_status = "Accepted"
        self.boot_interval = 300
        self.authorize_status = "Accepted"
        self.start_status = "Accepted"
        self.next_transaction = 0
        self.tx_profile_after_start: float | None = None
        self.silent: set[str] = set()
        self.log: list[tuple[str, str, dict[str, Any]]] = []
        self.cps: dict[str, CentralCp] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.refused_auth = 0
        self.close_codes: list[int | None] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def record(self, cp_id: str, action: str, payload: dict[str, Any]) -> None:
        self.log.append((cp_id, action, payload))

    def actions(self, cp_id: str | None = None) -> list[str]:
        return [a for c, a, _ in self.log if cp_id in {None, c}]

    def payloads(self, action: str) -> list[dict[str, Any]]:
        return [p for _, a, p in self.log if a == action]

    def statuses(self, connector: int = 1) -> list[str]:
        return [
            p["status"]
            for p in self.payloads("StatusNotification")
            if p["connector_id"] == connector
        ]

    async def send(self, cp_id: str, payload: Any) -> Any:
        return await self.cps[cp_id].call(payload)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ocpp/{cp_id}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            await site.stop()
        for ws in self.sockets.values():
            await ws.close(code=1001)  # aiohttp would wait for the handlers
        await runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        cp_id = request.match_info["cp_id"]
        wanted = self.passwords.get(cp_id)
        if wanted is not None:
            expected = (
                "Basic " + base64.b64encode(f"{cp_id}:{wanted}".encode()).decode()
            )
            if request.headers.get("Authorization") != expected:
                self.refused_auth += 1
                return web.Response(status=401)
        ws = web.WebSocketResponse(protocols=("ocpp1.6",))
        await ws.prepare(request)
        assert ws.ws_protocol == "ocpp1.6"
        cp = CentralCp(cp_id, CsLink(ws), response_timeout=5)
        cp.cs = self
        self.cps[cp_id] = cp
        self.sockets[cp_id] = ws
        with contextlib.suppress(ConnectionError):
            await cp.start()
        self.close_codes.append(ws.close_code)
        return ws


@pytest.fixture
async def cs() -> AsyncIterator[MiniCs]:
    central = MiniCs()
    await central.start()
    yield central
    await central.stop()


@pytest.fixture
async def sim(cs: MiniCs) -> AsyncIterator[Mq200Simulator]:
    """A frozen-time MQ 200 (time moves with advance()), accepted."""
    charger = Mq200Simulator(
        cs.url,
        "MQ200-1",
        time_factor=0,
        meter_interval=10,
        measurands=SUPPORTED_MEASURANDS,
        reconnect_delay=0.05,
        reboot_seconds=0.05,
        keep_frames=200,
        model=Mq200Model(start_time=START),
    )
    async with charger:
        await charger.wait_accepted()
        await charger.sync()
        yield charger


def profile(
    limit: float,
    *,
    purpose: str = "TxDefaultProfile",
    stack_level: int = 1,
    profile_id: int = 7,
    unit: str = "A",
    kind: str = "Absolute",
    periods: list[dict[str, Any]] | None = None,
    transaction_id: int | None = None,
    recurrency_kind: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    top: dict[str, Any] = {}
    if transaction_id is not None:
        top["transaction_id"] = transaction_id
    if recurrency_kind is not None:
        top["recurrency_kind"] = recurrency_kind
    return {
        **top,
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "charging_schedule": {
            "charging_rate_unit": unit,
            "charging_schedule_period": periods
            or [{"start_period": 0, "limit": limit}],
            **extra,
        },
    }


async def charging(cs: MiniCs, sim: Mq200Simulator) -> int:
    """Plug a car in and return the transaction id once it charges."""
    sim.model.plug_in()
    await sim.sync()
    assert sim.model.status == "Charging"
    assert sim.transaction_id is not None
    return sim.transaction_id


# ---------------------------------------------------------------- boot


async def test_boot_with_basic_auth_and_status_of_both_connectors(cs: MiniCs) -> None:
    cs.passwords["MQ 200/1"] = "s3cret"
    sim = Mq200Simulator(cs.url, "MQ 200/1", password="s3cret", serial="L1-0207")
    async with sim:
        await sim.wait_accepted()
        await until(lambda: len(cs.statuses(0)) == 1 and len(cs.statuses(1)) == 1)
    boot = cs.payloads("BootNotification")[0]
    assert boot["charge_point_vendor"] == "Blink"
    assert boot["charge_point_model"] == "MQ 200"
    assert boot["charge_point_serial_number"] == "L1-0207"
    assert boot["firmware_version"] == sim.firmware
    assert cs.statuses(0) == cs.statuses(1) == ["Available"]
    assert "MQ 200/1" in cs.cps  # the id is URL-quoted and decoded back
    assert sim.config["HeartbeatInterval"] == "300"
    assert sim.heartbeat_interval == 300
    assert sim.boot_status == "Accepted"
    assert sim.connects == 1
    assert sim.disconnects == 1
    assert not sim.connected
    assert cs.close_codes == [1000]
    assert sim.frames_sent["BootNotification"] == 1
    assert sim.frames_received["BootNotification.conf"] == 1
    assert sim.describe().startswith("Blink MQ 200")


async def test_wrong_password_is_retried_until_the_cs_accepts(cs: MiniCs) -> None:
    cs.passwords["MQ200-2"] = "right"
    sim = Mq200Simulator(cs.url, "MQ200-2", password="wrong", reconnect_delay=0.02)
    await sim.start(wait=False)
    try:
        await until(lambda: sim.connect_failures >= 2)
        assert cs.refused_auth >= 2
        assert not sim.connected
        sim.password = "right"
        cs.passwords["MQ200-2"] = "wrong"  # the CS learns the charger's password
        await sim.wait_accepted()
    finally:
        await sim.stop()


async def test_pending_boot_is_retried_at_the_interval(cs: MiniCs) -> None:
    cs.boot_status = "Pending"
    cs.boot_interval = 30
    sim = Mq200Simulator(cs.url, "MQ200-3", time_factor=0)
    async with sim:
        assert sim.boot_status == "Pending"
        assert not sim.accepted
        await sim.advance(29)
        assert cs.actions() == ["BootNotification"]
        await sim.advance(1)
        assert cs.actions() == ["BootNotification"] * 2
        cs.boot_status = "Accepted"
        # Approving the charger: a triggered BootNotification is answered at once.
        reply = await cs.send("MQ200-3", call.TriggerMessage("BootNotification"))
        assert reply.status == "Accepted"
        await sim.wait_accepted()
        await until(lambda: "StatusNotification" in cs.actions())
        assert cs.actions()[:3] == ["BootNotification"] * 3


async def test_pending_with_no_interval_and_an_unanswered_boot(cs: MiniCs) -> None:
    cs.boot_status = "Rejected"
    cs.boot_interval = 0
    sim = Mq200Simulator(cs.url, "MQ200-4", time_factor=0, response_timeout=0.2)
    async with sim:
        assert sim.boot_status == "Rejected"
        cs.silent.add("BootNotification")
        await sim.advance(600)  # the manual's Boot Notification Interval
        assert sim.call_timeouts == 1
        cs.silent.clear()
        cs.boot_status = "Accepted"
        await sim.advance(600)
        assert sim.accepted
    # The unanswered boot never reached a handler: two recorded, three sent.
    assert cs.actions().count("BootNotification") == 2
    assert sim.frames_sent["BootNotification"] == 3


# ---------------------------------------------------------------- configuration


async def test_get_configuration(cs: MiniCs, sim: Mq200Simulator) -> None:
    everything = await cs.send("MQ200-1", call.GetConfiguration())
    assert len(everything.configuration_key) == len(CONFIG_KEYS)
    assert everything.unknown_key is None
    some = await cs.send(
        "MQ200-1", call.GetConfiguration(key=["MeterValuesSampledData", "Nope"])
    )
    assert some.configuration_key == [
        {"key": "MeterValuesSampledData", "readonly": False, "value": ALL_FOUR}
    ]
    assert some.unknown_key == ["Nope"]
    rate = await cs.send(
        "MQ200-1",
        call.GetConfiguration(key=["ChargingScheduleAllowedChargingRateUnit"]),
    )
    assert rate.configuration_key[0] == {
        "key": "ChargingScheduleAllowedChargingRateUnit",
        "readonly": True,
        "value": "Current",
    }


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        (
            "MeterValuesSampledData",
            "Energy.Active.Import.Register, Voltage",
            "Accepted",
        ),
        ("MeterValuesSampledData", ALL_FOUR, "Accepted"),
        ("MeterValuesSampledData", "", "Accepted"),
        ("MeterValuesSampledData", ALL_FOUR + ",Power.Active.Import", "Rejected"),
        (
            "MeterValuesSampledData",
            ",".join([SUPPORTED_MEASURANDS[0]] * 11),
            "Rejected",
        ),
        ("StopTxnSampledData", "SoC", "Rejected"),
        ("AuthorizeRemoteTxRequests", "False", "Accepted"),
        ("AuthorizeRemoteTxRequests", "maybe", "Rejected"),
        ("LightIntensity", "100", "Accepted"),
        ("LightIntensity", "101", "Rejected"),
        ("ConnectionTimeOut", "-5", "Rejected"),
        ("ConnectorPhaseRotation", "RST", "Accepted"),
        ("ConnectorPhaseRotation", "XYZ", "Rejected"),
        ("NumberOfConnectors", "2", "Rejected"),
        ("SupportedFeatureProfiles", "Core", "Rejected"),
        ("FreeVend", "true", "NotSupported"),
    ],
)
async def test_change_configuration_is_validated(
    cs: MiniCs, sim: Mq200Simulator, key: str, value: str, status: str
) -> None:
    before = dict(sim.config)
    reply = await cs.send("MQ200-1", call.ChangeConfiguration(key=key, value=value))
    assert reply.status == status
    if status == "Accepted":
        assert sim.config[key] == value.replace(" ", "")
    else:
        assert sim.config == before


async def test_text_keys_are_not_checked() -> None:
    from simulators.ocpp_mq200 import KEYS_BY_NAME, value_is_valid  # noqa: PLC0415

    assert value_is_valid(KEYS_BY_NAME["SupportedFeatureProfiles"], "anything")


async def test_intervals_take_effect_at_once(cs: MiniCs, sim: Mq200Simulator) -> None:
    await charging(cs, sim)
    await cs.send("MQ200-1", call.ChangeConfiguration("MeterValueSampleInterval", "2"))
    await cs.send("MQ200-1", call.ChangeConfiguration("HeartbeatInterval", "3"))
    await sim.advance(6)
    assert sim.frames_sent["MeterValues"] == 3
    assert sim.frames_sent["Heartbeat"] == 2
    await cs.send("MQ200-1", call.ChangeConfiguration("MeterValueSampleInterval", "0"))
    await cs.send("MQ200-1", call.ChangeConfiguration("HeartbeatInterval", "0"))
    await sim.advance(100)
    assert sim.frames_sent["MeterValues"] == 3
    assert sim.frames_sent["Heartbeat"] == 2


# ---------------------------------------------------------------- the session


async def test_plug_charge_full_unplug(cs: MiniCs, sim: Mq200Simulator) -> None:
    cs.log.clear()
    transaction_id = await charging(cs, sim)
    assert cs.actions() == [
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "StatusNotification",
    ]
    assert cs.statuses() == ["Preparing", "Charging"]
    start = cs.payloads("StartTransaction")[0]
    assert start == {
        "connector_id": 1,
        "id_tag": "MQ200-LOCAL",
        "meter_start": 0,
        "timestamp": "2026-01-01T00:00:00.000Z",
    }
    assert sim.model.current == 32.0
    assert sim.model.power == 32 * 240

    await sim.advance(30)
    meters = cs.payloads("MeterValues")
    assert len(meters) == 3
    assert meters[0]["transaction_id"] == transaction_id
    sampled = meters[-1]["meter_value"][0]["sampled_value"]
    by_measurand = {s["measurand"]: (s["value"], s["unit"]) for s in sampled}
    assert by_measurand == {
        "Current.Import": ("32.0", "A"),
        "Energy.Active.Import.Register": ("64.0", "Wh"),  # 32 A x 240 V x 30 s
        "Temperature": ("33.0", "Celsius"),
        "Voltage": ("240.0", "V"),
    }
    assert {s["context"] for s in sampled} == {"Sample.Periodic"}
    assert meters[-1]["meter_value"][0]["timestamp"] == "2026-01-01T00:00:30.000Z"

    sim.model.car_full()
    await sim.sync()
    assert cs.statuses()[-1] == "SuspendedEV"
    assert sim.model.current == 0
    sim.model.car_wants_charge()
    await sim.sync()
    assert cs.statuses()[-1] == "Charging"

    cs.log.clear()
    sim.model.unplug()
    await sim.sync()
    assert cs.actions() == [
        "StopTransaction",
        "StatusNotification",
        "StatusNotification",
    ]
    stop = cs.payloads("StopTransaction")[0]
    assert stop["reason"] == "EVDisconnected"
    assert stop["transaction_id"] == transaction_id
    assert stop["meter_stop"] == 64
    assert cs.statuses() == ["Finishing", "Available"]
    assert sim.transaction_id is None
    await sim.advance(30)
    assert "MeterValues" not in cs.actions()  # none outside a transaction


async def test_energy_wanted_makes_the_car_full(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    sim.model.plug_in(energy_wanted_wh=20)
    sim.model.plug_in()  # already plugged: nothing changes
    await sim.sync()
    await sim.advance(10)
    assert sim.model.status == "SuspendedEV"
    assert sim.model.session_wh >= 20
    assert cs.statuses()[-1] == "SuspendedEV"


async def test_manual_start_waits_for_a_remote_start(cs: MiniCs) -> None:
    model = Mq200Model(auto_start=False)
    async with Mq200Simulator(cs.url, "MQ200-5", time_factor=0, model=model) as sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        assert cs.statuses()[-1] == "Preparing"
        assert "Authorize" not in cs.actions()
        await cs.send(
            "MQ200-5", call.ChangeConfiguration("AuthorizeRemoteTxRequests", "false")
        )
        reply = await cs.send("MQ200-5", call.RemoteStartTransaction(id_tag="APP"))
        assert reply.status == "Accepted"
        await until(lambda: sim.model.status == "Charging")
        assert "Authorize" not in cs.actions()  # AuthorizeRemoteTxRequests false
        assert cs.payloads("StartTransaction")[0]["id_tag"] == "APP"


async def test_remote_start_before_plug_in_with_a_tx_profile(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    reply = await cs.send(
        "MQ200-1",
        call.RemoteStartTransaction(
            id_tag="APP",
            connector_id=1,
            charging_profile=profile(10, purpose="TxProfile"),
        ),
    )
    assert reply.status == "Accepted"
    await sim.sync()
    assert sim.transaction_id is None  # no car yet
    sim.model.plug_in()
    await sim.sync()
    assert cs.actions().count("Authorize") == 1  # AuthorizeRemoteTxRequests true
    assert sim.model.current_limit == 10
    assert sim.model.current == 10
    rejected = await cs.send(
        "MQ200-1",
        call.RemoteStartTransaction(
            id_tag="APP", charging_profile=profile(10, purpose="TxDefaultProfile")
        ),
    )
    assert rejected.status == "Rejected"


async def test_remote_stop_and_start_as_a_pause(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    transaction_id = await charging(cs, sim)
    wrong = await cs.send("MQ200-1", call.RemoteStopTransaction(transaction_id + 1))
    assert wrong.status == "Rejected"
    reply = await cs.send("MQ200-1", call.RemoteStopTransaction(transaction_id))
    assert reply.status == "Accepted"
    await until(lambda: sim.model.status == "Finishing")
    await sim.sync()
    assert cs.payloads("StopTransaction")[-1]["reason"] == "Remote"
    assert cs.statuses()[-1] == "Finishing"
    await sim.advance(60)
    assert sim.transaction_id is None  # no auto-start while Finishing
    again = await cs.send("MQ200-1", call.RemoteStartTransaction(id_tag="evse_local"))
    assert again.status == "Accepted"
    await until(lambda: sim.model.status == "Charging")
    assert sim.transaction_id == transaction_id + 1
    busy = await cs.send("MQ200-1", call.RemoteStartTransaction(id_tag="x"))
    assert busy.status == "Rejected"
    other = await cs.send(
        "MQ200-1", call.RemoteStartTransaction(id_tag="x", connector_id=2)
    )
    assert other.status == "Rejected"


async def test_refused_authorization_keeps_preparing(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    cs.authorize_status = "Blocked"
    sim.model.plug_in()
    await sim.sync()
    await sim.sync()
    assert cs.actions().count("Authorize") == 1  # not retried in a loop
    assert sim.model.status == "Preparing"
    assert sim.model.refused
    sim.model.unplug()
    cs.authorize_status = "Accepted"
    cs.start_status = "Invalid"
    sim.model.plug_in()
    await sim.sync()
    stop = cs.payloads("StopTransaction")[0]
    assert stop["reason"] == "DeAuthorized"
    assert sim.model.status == "Finishing"


async def test_unanswered_start_transaction(cs: MiniCs) -> None:
    async with Mq200Simulator(
        cs.url, "MQ200-6", time_factor=0, response_timeout=0.2
    ) as sim:
        await sim.wait_accepted()
        cs.silent.add("StartTransaction")
        sim.model.plug_in()
        await sim.sync()
        assert sim.call_timeouts == 1
        assert sim.transaction_id is None
        assert sim.snapshot()["status"] == "Preparing"


async def test_fault(cs: MiniCs, sim: Mq200Simulator) -> None:
    await charging(cs, sim)
    sim.model.set_fault("GroundFailure")
    await sim.sync()
    assert sim.model.current == 0
    faulted = [p for p in cs.payloads("StatusNotification") if p["status"] == "Faulted"]
    assert {p["connector_id"] for p in faulted} == {0, 1}
    assert {p["error_code"] for p in faulted} == {"GroundFailure"}
    sim.model.clear_fault()
    await sim.sync()
    assert cs.statuses()[-1] == "Charging"
    assert cs.statuses(0)[-1] == "Available"


# ---------------------------------------------------------------- smart charging


@pytest.mark.parametrize("validate", [True, False])
async def test_a_tx_profile_sent_with_the_start_answer_is_taken(
    cs: MiniCs, validate: bool
) -> None:
    """The new transaction's TxProfile may follow its answer in the same breath.

    A charger handles frames in order, so it knows the transaction by then.
    Without schema validation (which yields to a thread) the simulator used
    to look at the profile before its StartTransaction had seen the answer,
    and rejected it.
    """
    cs.tx_profile_after_start = 10
    charger = Mq200Simulator(
        cs.url,
        "MQ200-1",
        time_factor=0,
        validate_schemas=validate,
        model=Mq200Model(start_time=START),
    )
    async with charger:
        await charger.wait_accepted()
        charger.model.plug_in()
        await charger.sync()
        await until(lambda: bool(cs.payloads("SetChargingProfile.conf")))
        assert cs.payloads("SetChargingProfile.conf") == [{"status": "Accepted"}]
        assert charger.model.current_limit == 10


async def test_tx_default_profile_limits_and_pauses(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    await charging(cs, sim)
    reply = await cs.send("MQ200-1", call.SetChargingProfile(1, profile(16)))
    assert reply.status == "Accepted"
    await sim.sync()
    assert sim.model.current == 16
    assert cs.statuses()[-1] == "Charging"
    # The same id replaces the profile: 0 A pauses (SuspendedEVSE).
    await cs.send("MQ200-1", call.SetChargingProfile(1, profile(0)))
    await until(lambda: sim.model.status == "SuspendedEVSE")
    await sim.sync()
    assert cs.statuses()[-1] == "SuspendedEVSE"
    assert sim.model.current == 0
    assert len(sim.model.profiles) == 1
    composite = await cs.send("MQ200-1", call.GetCompositeSchedule(1, 3600))
    assert composite.status == "Accepted"
    assert composite.charging_schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 0}
    ]
    cleared = await cs.send("MQ200-1", call.ClearChargingProfile(id=7))
    assert cleared.status == "Accepted"
    await until(lambda: sim.model.status == "Charging")
    assert sim.model.current == 32
    unknown = await cs.send("MQ200-1", call.ClearChargingProfile(id=7))
    assert unknown.status == "Unknown"


async def test_lowest_applicable_limit_wins(cs: MiniCs, sim: Mq200Simulator) -> None:
    transaction_id = await charging(cs, sim)
    send = cs.send
    await send("MQ200-1", call.SetChargingProfile(1, profile(20, profile_id=1)))
    await send(
        "MQ200-1", call.SetChargingProfile(1, profile(12, profile_id=2, stack_level=0))
    )
    assert sim.model.current_limit == 20  # the higher stack level of a purpose
    tx = profile(18, purpose="TxProfile", profile_id=3, transaction_id=transaction_id)
    assert (await send("MQ200-1", call.SetChargingProfile(1, tx))).status == "Accepted"
    assert sim.model.current_limit == 18
    cap = profile(10, purpose="ChargePointMaxProfile", profile_id=4)
    assert (await send("MQ200-1", call.SetChargingProfile(0, cap))).status == "Accepted"
    assert sim.model.current_limit == 10
    watts = await send(
        "MQ200-1", call.GetCompositeSchedule(0, 60, charging_rate_unit="W")
    )
    assert watts.charging_schedule["charging_schedule_period"][0]["limit"] == 2400
    cleared = await send(
        "MQ200-1",
        call.ClearChargingProfile(charging_profile_purpose="ChargePointMaxProfile"),
    )
    assert cleared.status == "Accepted"
    assert sim.model.current_limit == 18
    sim.model.unplug()
    await sim.sync()
    # The TxProfile went away with its transaction.
    assert {p.purpose for p in sim.model.profiles} == {"TxDefaultProfile"}
    await send("MQ200-1", call.ClearChargingProfile(connector_id=1, stack_level=0))
    assert [p.id for p in sim.model.profiles] == [1]


@pytest.mark.parametrize(
    ("connector", "body"),
    [
        (1, profile(16, unit="W")),
        (2, profile(16)),
        (1, profile(16, purpose="ChargePointMaxProfile")),
        (0, profile(16)),
        (1, profile(16, purpose="TxProfile")),  # no transaction
        (1, profile(16, periods=[{"start_period": s, "limit": 16} for s in range(33)])),
    ],
)
async def test_invalid_profiles_are_rejected(
    cs: MiniCs, sim: Mq200Simulator, connector: int, body: dict[str, Any]
) -> None:
    reply = await cs.send("MQ200-1", call.SetChargingProfile(connector, body))
    assert reply.status == "Rejected"
    assert sim.model.profiles == []
    composite = await cs.send("MQ200-1", call.GetCompositeSchedule(2, 60))
    assert composite.status == "Rejected"


async def test_schedules_follow_the_clock(cs: MiniCs, sim: Mq200Simulator) -> None:
    await charging(cs, sim)
    start = (START + timedelta(seconds=60)).isoformat()
    periods = [{"start_period": 0, "limit": 8}, {"start_period": 120, "limit": 0}]
    absolute = profile(0, periods=periods, start_schedule=start, duration=300)
    await cs.send("MQ200-1", call.SetChargingProfile(1, absolute))
    assert sim.model.current_limit == 32  # not started yet
    await sim.advance(60)
    assert sim.model.current_limit == 8
    await sim.advance(120)
    assert sim.model.status == "SuspendedEVSE"
    await sim.advance(300)
    assert sim.model.current_limit == 32  # past its duration

    relative = profile(
        0,
        kind="Relative",
        profile_id=8,
        stack_level=2,
        periods=[{"start_period": 0, "limit": 6}],
    )
    await cs.send("MQ200-1", call.SetChargingProfile(1, relative))
    assert sim.model.current_limit == 6
    daily = profile(
        0,
        kind="Recurring",
        profile_id=9,
        stack_level=3,
        recurrency_kind="Daily",
        periods=[{"start_period": 0, "limit": 14}, {"start_period": 3600, "limit": 9}],
        start_schedule=START.isoformat(),
    )
    await cs.send("MQ200-1", call.SetChargingProfile(1, daily))
    assert sim.model.current_limit == 14
    # A day of MeterValues and Heartbeats would be sent one by one: not today.
    await cs.send("MQ200-1", call.ChangeConfiguration("MeterValueSampleInterval", "0"))
    await cs.send("MQ200-1", call.ChangeConfiguration("HeartbeatInterval", "0"))
    await sim.advance(86400 - sim.model.clock + 3600)
    assert sim.model.current_limit == 9


def test_relative_profile_without_a_transaction_starts_now() -> None:
    weekly = ChargingProfile(
        id=1,
        connector_id=1,
        stack_level=0,
        purpose="TxDefaultProfile",
        kind="Recurring",
        periods=[(0.0, 10.0)],
        start=0.0,
        recurrency="Weekly",
    )
    assert weekly.limit_at(604800 * 3 + 5, None) == 10
    relative = ChargingProfile(
        1, 1, 0, "TxDefaultProfile", "Relative", [(5.0, 10.0)], 0.0
    )
    assert relative.limit_at(100, None) is None  # its first period has not begun


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (ProfileRefusal.REJECTED, "Rejected"),
        (ProfileRefusal.NOT_SUPPORTED, "NotSupported"),
        (ProfileRefusal.CALL_ERROR, None),
    ],
)
async def test_refused_profiles(
    cs: MiniCs, sim: Mq200Simulator, refusal: ProfileRefusal, status: str | None
) -> None:
    sim.quirks.refuse_profiles = refusal
    reply = await cs.send("MQ200-1", call.SetChargingProfile(1, profile(0)))
    if status is None:
        assert reply is None  # the library's CallError, suppressed
        assert sim.frames_sent["SetChargingProfile.error"] == 1
    else:
        assert reply.status == status
    assert sim.model.profiles == []


async def test_rejected_and_ignored_configuration_keys(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    sim.quirks.rejected_keys = {"HeartbeatInterval"}
    sim.quirks.ignored_keys = {"MeterValueSampleInterval"}
    reply = await cs.send(
        "MQ200-1", call.ChangeConfiguration("HeartbeatInterval", "60")
    )
    assert reply.status == "Rejected"
    reply = await cs.send(
        "MQ200-1", call.ChangeConfiguration("MeterValueSampleInterval", "30")
    )
    assert reply.status == "Accepted"
    assert sim.meter_interval == 10
    reply = await cs.send(
        "MQ200-1", call.GetConfiguration(key=["MeterValueSampleInterval"])
    )
    assert reply.configuration_key[0]["value"] == "10"


@pytest.mark.parametrize("code", ["MessageTypeNotSupported", None, 5])
async def test_odd_call_error_codes(
    cs: MiniCs, sim: Mq200Simulator, code: object
) -> None:
    sim.quirks.call_error_codes = {"Reset": code}
    assert await cs.send("MQ200-1", call.Reset("Soft")) is None
    assert sim.frames_sent["Reset.error"] == 1
    sent = json.loads(sim.frames[-1][1])
    assert sent[0] == 4
    assert sent[2] == code
    # Other actions are answered as usual.
    reply = await cs.send("MQ200-1", call.UnlockConnector(1))
    assert reply.status == "Unlocked"


# ---------------------------------------------------------------- commands


async def test_change_availability(cs: MiniCs, sim: Mq200Simulator) -> None:
    off = await cs.send("MQ200-1", call.ChangeAvailability(1, "Inoperative"))
    assert off.status == "Accepted"
    await until(lambda: cs.statuses()[-1:] == ["Unavailable"])
    sim.model.plug_in()
    await sim.sync()
    assert sim.transaction_id is None  # no session while inoperative
    on_again = await cs.send("MQ200-1", call.ChangeAvailability(0, "Operative"))
    assert on_again.status == "Accepted"
    await until(lambda: sim.model.status == "Charging")
    scheduled = await cs.send("MQ200-1", call.ChangeAvailability(1, "Inoperative"))
    assert scheduled.status == "Scheduled"
    sim.model.unplug()
    await sim.sync()
    assert cs.statuses()[-1] == "Unavailable"
    whole = await cs.send("MQ200-1", call.ChangeAvailability(0, "Inoperative"))
    assert whole.status == "Accepted"
    await until(lambda: cs.statuses(0)[-1:] == ["Unavailable"])
    bad = await cs.send("MQ200-1", call.ChangeAvailability(3, "Operative"))
    assert bad.status == "Rejected"


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
async def test_reset_stops_the_session_and_boots_again(
    cs: MiniCs, sim: Mq200Simulator, kind: str
) -> None:
    await charging(cs, sim)
    reply = await cs.send("MQ200-1", call.Reset(kind))
    assert reply.status == "Accepted"
    await until(lambda: sim.connects == 2 and sim.accepted)
    assert cs.payloads("StopTransaction")[0]["reason"] == f"{kind}Reset"
    assert cs.actions().count("BootNotification") == 2
    assert sim.disconnects == 1
    # Still plugged after the reboot: a new transaction starts.
    await until(lambda: sim.transaction_id == 2)


async def test_unlock_connector(cs: MiniCs, sim: Mq200Simulator) -> None:
    transaction_id = await charging(cs, sim)
    reply = await cs.send("MQ200-1", call.UnlockConnector(1))
    assert reply.status == "Unlocked"
    await until(lambda: sim.transaction_id is None)
    await sim.sync()
    stop = cs.payloads("StopTransaction")[0]
    assert (stop["reason"], stop["transaction_id"]) == ("UnlockCommand", transaction_id)
    other = await cs.send("MQ200-1", call.UnlockConnector(2))
    assert other.status == "NotSupported"
    sim.unlock_status = "UnlockFailed"
    assert (await cs.send("MQ200-1", call.UnlockConnector(1))).status == "UnlockFailed"


async def test_trigger_message(cs: MiniCs, sim: Mq200Simulator) -> None:
    cs.log.clear()
    for message in (
        "Heartbeat",
        "MeterValues",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
    ):
        reply = await cs.send("MQ200-1", call.TriggerMessage(message))
        assert reply.status == "Accepted"
    reply = await cs.send("MQ200-1", call.TriggerMessage("StatusNotification", 1))
    assert reply.status == "Accepted"
    await until(lambda: len(cs.log) == 5)
    assert cs.actions() == [
        "Heartbeat",
        "MeterValues",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "StatusNotification",
    ]
    assert "transaction_id" not in cs.payloads("MeterValues")[0]
    await cs.send("MQ200-1", call.TriggerMessage("StatusNotification"))
    await until(lambda: len(cs.log) == 7)
    bad = await cs.send("MQ200-1", call.TriggerMessage("StatusNotification", 4))
    assert bad.status == "Rejected"
    unknown = await cs.cps["MQ200-1"].call(
        call.TriggerMessage("LogStatusNotification"), skip_schema_validation=True
    )
    assert unknown is None  # not a 1.6 trigger: the schema refuses it
    assert sim.frames_sent["TriggerMessage.error"] == 1
    assert sim.trigger_status("LogStatusNotification", None) == "NotImplemented"
    sim.trigger("SignChargePointCertificate", None)  # ignored
    await sim.sync()
    assert len(cs.log) == 7


async def test_data_transfer_and_unknown_actions(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    reply = await cs.send("MQ200-1", call.DataTransfer(vendor_id="com.example"))
    assert reply.status == "UnknownVendorId"
    # The security whitepaper's messages are not the MQ 200's.
    with pytest.raises(Exception, match=r"NotImplemented|No handler"):
        await cs.cps["MQ200-1"].call(
            call.ExtendedTriggerMessage(requested_message="Heartbeat"), suppress=False
        )
    assert sim.frames_sent["ExtendedTriggerMessage.error"] == 1
    assert sim.connected


# ---------------------------------------------------------------- quirks


async def test_blink_units_and_nanosecond_timestamps(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    sim.quirks.blink_units = True
    sim.quirks.nanosecond_timestamps = True
    # A central system for Blink must not hold the units against the schema.
    cs.cps["MQ200-1"].route_map["MeterValues"]["_skip_schema_validation"] = True
    await charging(cs, sim)
    await sim.advance(10)
    sampled = cs.payloads("MeterValues")[-1]["meter_value"][0]
    units = {s["measurand"]: s["unit"] for s in sampled["sampled_value"]}
    assert units["Current.Import"] == "Amp"
    assert units["Voltage"] == "Volt"
    assert sampled["timestamp"] == "2026-01-01T00:00:10.000000000Z"
    raw = [text for way, text in sim.frames if way == "out" and '"MeterValues"' in text]
    assert '"unit":"Amp"' in raw[-1]


@pytest.mark.parametrize("blink_units", [False, True])
async def test_transaction_started_is_sent_like_the_hq_200(
    cs: MiniCs, sim: Mq200Simulator, blink_units: bool
) -> None:
    sim.quirks.transaction_started = True
    sim.quirks.blink_units = blink_units
    await charging(cs, sim)
    assert sim.frames_sent["TransactionStarted"] == 1
    # Our minimal CS has no handler: CallError NotImplemented, session goes on.
    assert sim.frames_received["TransactionStarted.error"] == 1
    frame = next(
        json.loads(text)
        for way, text in sim.frames
        if way == "out" and '"TransactionStarted"' in text
    )
    assert frame[3]["idTag"] == {"id": "MQ200-LOCAL"}
    units = [value["unit"] for value in frame[3]["values"]]
    assert units == (["Wh", "Amp", "Volt"] if blink_units else ["Wh", "A", "V"])
    assert sim.model.status == "Charging"


async def test_duplicate_stop_and_energy_glitches(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    sim.quirks.duplicate_stop = True
    sim.quirks.energy_glitch_every = 2
    await charging(cs, sim)
    await sim.advance(40)
    energies = [
        s["value"]
        for p in cs.payloads("MeterValues")
        for s in p["meter_value"][0]["sampled_value"]
        if s["measurand"] == "Energy.Active.Import.Register"
    ]
    assert energies == ["21.3", "0.0", "64.0", "0.0"]
    sim.model.reset_energy_register()
    await sim.advance(10)
    assert (
        cs.payloads("MeterValues")[-1]["meter_value"][0]["sampled_value"][1]["value"]
        == "21.3"
    )
    sim.quirks.energy_glitch_value = "1e999"
    await sim.advance(10)
    assert (
        cs.payloads("MeterValues")[-1]["meter_value"][0]["sampled_value"][1]["value"]
        == "1e999"
    )
    sim.model.unplug()
    await sim.sync()
    stops = cs.payloads("StopTransaction")
    assert len(stops) == 2
    assert stops[0] == stops[1]


# ---------------------------------------------------------------- faults


async def test_kill_reconnects_and_boots_again(cs: MiniCs, sim: Mq200Simulator) -> None:
    await charging(cs, sim)
    await sim.kill()
    await until(lambda: sim.connects == 2 and sim.accepted)
    assert cs.close_codes[0] != 1000  # no close frame
    await sim.sync()
    # The transaction went on offline; statuses are sent again after the boot.
    assert sim.transaction_id == 1
    assert cs.statuses()[-1] == "Charging"


async def test_close_without_reconnect_then_reconnect(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    await sim.close_connection(reconnect=False)
    await until(lambda: not sim.connected)
    await asyncio.sleep(0.1)
    assert sim.connects == 1
    assert cs.close_codes == [1000]
    with pytest.raises(ConnectionError):
        await sim.send_raw("[]")
    with pytest.raises(ConnectionError):
        await sim.call_raw("Heartbeat", {})
    await sim.advance(100)  # offline: time passes, nothing is sent
    await sim.reconnect()
    await sim.wait_accepted()
    assert sim.connects == 2
    await sim.reconnect()  # connected: closes and dials again at once
    await until(lambda: sim.connects == 3 and sim.accepted)
    await sim.kill(reconnect=False)
    await until(lambda: not sim.connected)
    await sim.reconnect()
    await sim.wait_connected()


async def test_raw_frames_and_counters(cs: MiniCs, sim: Mq200Simulator) -> None:
    sim.reset_counters()
    await sim.send_raw("not json")
    await sim.send_raw('[2,"x1","Heartbeat",{}]')
    await until(lambda: sim.frames_received["?.conf"] == 1)
    assert sim.frames_sent["raw"] == 2
    kind, payload = await sim.call_raw("Heartbeat", {})
    assert kind == 3
    assert "currentTime" in payload
    kind, error = await sim.call_raw("Nonsense", {})
    assert (kind, error) == (4, "NotSupported")
    assert sim.frames_sent["Nonsense"] == 1
    assert sim.frames_received["Nonsense.error"] == 1
    sim.count_frame("{}", incoming=True)
    assert sim.frames_received["invalid"] == 1
    assert sim.snapshot()["frames_sent"]["Heartbeat"] == 1


async def test_binary_frames_are_ignored(cs: MiniCs, sim: Mq200Simulator) -> None:
    await cs.sockets["MQ200-1"].send_bytes(b"\x00")
    reply = await cs.send("MQ200-1", call.DataTransfer(vendor_id="x"))
    assert reply.status == "UnknownVendorId"


async def test_unanswered_heartbeat_counts_a_timeout(cs: MiniCs) -> None:
    async with Mq200Simulator(
        cs.url, "MQ200-7", time_factor=0, response_timeout=0.1
    ) as sim:
        await sim.wait_accepted()
        cs.silent.add("Heartbeat")
        await sim.advance(300)
        assert sim.call_timeouts == 1
        assert sim.connected


async def test_cs_gone_while_sending(cs: MiniCs) -> None:
    sim = Mq200Simulator(cs.url, "MQ200-8", time_factor=0, reconnect_delay=0.05)
    async with sim:
        await sim.wait_accepted()
        await cs.stop()
        await until(lambda: not sim.connected)
        await sim.advance(10)
        await until(lambda: sim.connect_failures >= 1)


def test_time_moves_forward_only() -> None:
    with pytest.raises(ValueError, match="forward"):
        Mq200Model().advance(-1)
    with pytest.raises(ValueError, match="time_factor"):
        Mq200Simulator("ws://127.0.0.1:1", "x", time_factor=-1)


# ---------------------------------------------------------------- real time


async def test_real_time_heartbeats_and_meter_values(cs: MiniCs) -> None:
    cs.boot_interval = 2
    sim = Mq200Simulator(
        cs.url,
        "MQ200-9",
        time_factor=20,
        meter_interval=1,
        idle_meter_values=True,
        validate_schemas=False,
    )
    async with sim:
        await sim.wait_accepted()
        await until(lambda: sim.frames_sent["MeterValues"] >= 10, seconds=5)
        assert sim.frames_sent["Heartbeat"] >= 3
    assert sim.model.clock >= 10


async def test_real_time_energy_counts_up_to_a_new_profile(cs: MiniCs) -> None:
    """A pause between two MeterValues: what the car drew before it counts."""
    sim = Mq200Simulator(
        cs.url, "MQ200-8", time_factor=1000, meter_interval=900, reconnect_delay=0.05
    )
    async with sim:
        await sim.wait_accepted()
        sim.model.plug_in()
        await sim.sync()
        power, clock, session = sim.model.power, sim.model.clock, sim.model.session_wh
        assert power > 0
        await asyncio.sleep(0.05)  # the driver sleeps until the next MeterValues
        reply = await cs.send("MQ200-8", call.SetChargingProfile(1, profile(0)))
        assert reply.status == "Accepted"
        assert sim.model.clock > clock
        drawn = sim.model.session_wh - session
        # At the power it charged at (a wake-up in between may shift a step).
        assert drawn == pytest.approx(
            power * (sim.model.clock - clock) / 3600, rel=0.05
        )
        assert sim.model.power == 0


async def test_fleet(cs: MiniCs) -> None:
    for number in range(1, 11):
        cs.passwords[f"FLEET-{number:03d}"] = f"pw-{number}"
    sims = await start_fleet(
        cs.url,
        10,
        prefix="FLEET-",
        password_for=lambda cp_id: f"pw-{int(cp_id[-3:])}",
        meter_interval=1,
        time_factor=10,
    )
    try:
        assert [s.charge_point_id for s in sims][:2] == ["FLEET-001", "FLEET-002"]
        await until(lambda: all(s.frames_sent["MeterValues"] >= 3 for s in sims))
        assert all(s.transaction_id is not None for s in sims)
        assert cs.refused_auth == 0
    finally:
        await stop_fleet(sims)
    assert all(not s.connected for s in sims)


async def test_fleet_start_failure_stops_everyone(cs: MiniCs) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await start_fleet("ws://127.0.0.1:1/ocpp", 2)


async def test_shared_session(cs: MiniCs) -> None:
    async with aiohttp.ClientSession() as session:
        sims = await start_fleet(cs.url, 2, session=session, plugged=False)
        await stop_fleet(sims)
        assert not session.closed


# ---------------------------------------------------------------- cli


async def test_cli_starts_mq200s(cs: MiniCs) -> None:
    args = build_parser().parse_args(
        [
            "--ocpp",
            cs.url,
            "--ocpp-count",
            "2",
            "--ocpp-prefix",
            "CLI-",
            "--ocpp-meter-interval",
            "1",
            "--duration",
            "0.5",
        ]
    )
    out = io.StringIO()
    await serve(args, asyncio.Event(), out)
    text = out.getvalue()
    assert "CLI-001" in text
    assert "CLI-002" in text
    assert "stopped" in text
    assert {"CLI-001", "CLI-002"} <= set(cs.cps)
    assert "current" not in text.split("Ctrl-C")[0].split("mq200")[0]


async def test_cli_mq200s_with_a_password(cs: MiniCs) -> None:
    cs.passwords["CLI-001"] = "pw"
    args = build_parser().parse_args(
        [
            "--ocpp",
            cs.url,
            "--ocpp-prefix",
            "CLI-",
            "--ocpp-password",
            "pw",
            "--duration",
            "0.3",
        ]
    )
    await serve(args, asyncio.Event(), io.StringIO())
    assert cs.refused_auth == 0
    assert "CLI-001" in cs.cps


@pytest.fixture
def quirks() -> Mq200Quirks:
    return Mq200Quirks()


def test_quirks_default_off(quirks: Mq200Quirks) -> None:
    assert not any(
        [
            quirks.blink_units,
            quirks.nanosecond_timestamps,
            quirks.transaction_started,
            quirks.duplicate_stop,
            quirks.energy_glitch_every,
            quirks.refuse_profiles,
            quirks.call_error_codes,
            quirks.rejected_keys,
            quirks.ignored_keys,
        ]
    )


# ---------------------------------------------------------------- cards


def card(id_tag: str, status: str = "Accepted", **info: Any) -> dict[str, Any]:
    return {"id_tag": id_tag, "id_tag_info": {"status": status, **info}}


async def test_rfid_card_on_the_local_list_starts_at_once(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    """LocalPreAuthorize: a listed card charges without asking the CS."""
    assert (await cs.send("MQ200-1", call.GetLocalListVersion())).list_version == 0
    reply = await cs.send(
        "MQ200-1",
        call.SendLocalList(
            list_version=1,
            update_type="Full",
            local_authorization_list=[card("ALICE")],
        ),
    )
    assert reply.status == "Accepted"
    sim.model.auto_start = False
    cs.log.clear()
    sim.model.plug_in()
    await sim.sync()
    assert sim.model.status == "Preparing"  # no card yet
    await sim.swipe("alice")
    assert "Authorize" not in cs.actions()
    assert cs.payloads("StartTransaction")[0]["id_tag"] == "alice"
    assert sim.model.status == "Charging"
    sim.model.unplug()
    await sim.sync()
    # An unknown card is asked for; refused, it does not start.
    cs.authorize_status = "Invalid"
    sim.model.plug_in()
    await sim.swipe("STRANGER")
    assert cs.payloads("Authorize")[-1]["id_tag"] == "STRANGER"
    assert sim.model.status == "Preparing"
    assert sim.model.refused


async def test_local_list_updates_are_checked(cs: MiniCs, sim: Mq200Simulator) -> None:
    async def send(version: int, kind: str, entries: list[dict[str, Any]]) -> str:
        reply = await cs.send(
            "MQ200-1",
            call.SendLocalList(
                list_version=version,
                update_type=kind,
                local_authorization_list=entries,
            ),
        )
        return str(reply.status)

    assert await send(3, "Full", [card("A"), card("B")]) == "Accepted"
    assert await send(3, "Differential", [card("C")]) == "VersionMismatch"
    assert await send(4, "Differential", [card("C"), {"id_tag": "a"}]) == "Accepted"
    assert sorted(sim.snapshot()["local_list"]) == ["B", "C"]
    assert sim.local_list_version == 4
    too_many = [card(f"T{n}") for n in range(101)]
    assert await send(5, "Full", too_many) == "Failed"
    await cs.send("MQ200-1", call.ChangeConfiguration("LocalAuthListEnabled", "false"))
    assert (await cs.send("MQ200-1", call.GetLocalListVersion())).list_version == -1
    assert await send(5, "Full", []) == "Failed"


async def test_local_list_refusals(cs: MiniCs) -> None:
    quirks = Mq200Quirks(local_list=LocalListRefusal.NOT_SUPPORTED)
    async with Mq200Simulator(cs.url, "MQ200-L", time_factor=0, quirks=quirks) as sim:
        await sim.wait_accepted()
        with pytest.raises(Exception, match="NotSupported"):
            await cs.cps["MQ200-L"].call(call.GetLocalListVersion(), suppress=False)
        with pytest.raises(Exception, match="NotSupported"):
            await cs.cps["MQ200-L"].call(
                call.SendLocalList(list_version=1, update_type="Full"), suppress=False
            )
        sim.quirks.local_list = LocalListRefusal.FAILED
        reply = await cs.send(
            "MQ200-L", call.SendLocalList(list_version=1, update_type="Full")
        )
        assert reply.status == "Failed"


async def test_cache_expiry_and_clear_cache(cs: MiniCs, sim: Mq200Simulator) -> None:
    """A card accepted online is cached; expiry and ClearCache end that."""
    sim.model.auto_start = False
    sim.model.plug_in()
    await sim.swipe("CACHED")
    assert cs.actions().count("Authorize") == 1
    assert "cached" in sim.auth_cache
    sim.model.unplug()
    await sim.sync()
    sim.model.plug_in()
    await sim.swipe("CACHED")
    assert cs.actions().count("Authorize") == 1  # from the cache this time
    sim.model.unplug()
    await sim.sync()
    assert (await cs.send("MQ200-1", call.ClearCache())).status == "Accepted"
    assert not sim.auth_cache
    expired = (START - timedelta(days=1)).isoformat()
    await cs.send(
        "MQ200-1",
        call.SendLocalList(
            list_version=1,
            update_type="Full",
            local_authorization_list=[card("OLD", expiry_date=expired)],
        ),
    )
    cs.authorize_status = "Expired"
    sim.model.plug_in()
    await sim.swipe("OLD")
    assert cs.actions().count("Authorize") == 2  # expired on the list: asked
    assert sim.model.refused


async def test_offline_card_and_queued_transaction(cs: MiniCs) -> None:
    """Central system away: a listed card charges; the messages follow later."""
    sim = Mq200Simulator(
        cs.url,
        "MQ200-OFF",
        time_factor=0,
        reconnect_delay=0.05,
        boot_on_reconnect=False,
        meter_interval=10,
        model=Mq200Model(auto_start=False, start_time=START),
    )
    async with sim:
        await sim.wait_accepted()
        await cs.send(
            "MQ200-OFF",
            call.SendLocalList(
                list_version=1,
                update_type="Full",
                local_authorization_list=[card("HOME")],
            ),
        )
        await sim.close_connection(reconnect=False)
        await until(lambda: not sim.connected)
        cs.log.clear()
        sim.model.plug_in()
        await sim.swipe("STRANGER")  # AllowOfflineTxForUnknownId: true
        assert sim.model.transaction is not None
        sim.model.unplug()
        await sim.sync()
        sim.config["AllowOfflineTxForUnknownId"] = "false"
        sim.model.plug_in()
        await sim.swipe("NOBODY")
        assert sim.model.transaction is None
        assert sim.model.refused
        sim.model.unplug()
        await sim.sync()
        sim.model.plug_in()
        await sim.swipe("HOME")
        assert sim.model.status == "Charging"
        await sim.advance(60)
        assert sim.model.energy_wh > 0
        assert cs.actions() == []
        await sim.reconnect()
        await sim.wait_accepted()
        await sim.sync()
        assert "BootNotification" not in cs.actions()  # only the network was gone
        assert [a for a in cs.actions() if "Transaction" in a] == [
            "StartTransaction",
            "StopTransaction",
            "StartTransaction",
        ]
        starts = cs.payloads("StartTransaction")
        assert [s["id_tag"] for s in starts] == ["STRANGER", "HOME"]
        stop = cs.payloads("StopTransaction")[0]
        assert stop["transaction_id"] == cs.next_transaction - 1
        assert sim.transaction_id == cs.next_transaction
        await sim.advance(10)
        assert cs.payloads("MeterValues")[-1]["transaction_id"] == sim.transaction_id


# ---------------------------------------------------------------- reservation


async def test_reservation_keeps_the_connector_for_one_card(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    expiry = (START + timedelta(minutes=30)).isoformat()
    reply = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="ALICE", reservation_id=5
        ),
    )
    assert reply.status == "Accepted"
    await sim.sync()
    assert cs.statuses()[-1] == "Reserved"
    other = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="BOB", reservation_id=6
        ),
    )
    assert other.status == "Occupied"
    sim.model.auto_start = False
    sim.model.plug_in()
    await sim.swipe("BOB")
    assert sim.model.refused  # not the reserved card: refused on the spot
    assert "Authorize" not in cs.actions()
    await sim.swipe("alice")
    start = cs.payloads("StartTransaction")[-1]
    assert start["reservation_id"] == 5
    assert sim.model.reservation is None
    busy = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="BOB", reservation_id=7
        ),
    )
    assert busy.status == "Occupied"


async def test_reservation_expires_and_can_be_cancelled(
    cs: MiniCs, sim: Mq200Simulator
) -> None:
    expiry = (START + timedelta(seconds=60)).isoformat()
    for reservation_id in (1, 2):
        reply = await cs.send(
            "MQ200-1",
            call.ReserveNow(
                connector_id=1,
                expiry_date=expiry,
                id_tag="ALICE",
                reservation_id=reservation_id,
            ),
        )
        assert reply.status == "Accepted" if reservation_id == 1 else "Occupied"
    wrong = await cs.send("MQ200-1", call.CancelReservation(reservation_id=9))
    assert wrong.status == "Rejected"
    assert (
        await cs.send("MQ200-1", call.CancelReservation(reservation_id=1))
    ).status == "Accepted"
    await sim.sync()
    assert cs.statuses()[-2:] == ["Reserved", "Available"]
    await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="A", reservation_id=3
        ),
    )
    await sim.advance(61)
    assert cs.statuses()[-1] == "Available"
    assert sim.model.reservation is None
    sim.model.set_fault()
    faulted = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="A", reservation_id=4
        ),
    )
    assert faulted.status == "Faulted"
    sim.model.clear_fault()
    await cs.send(
        "MQ200-1", call.ChangeAvailability(connector_id=0, type="Inoperative")
    )
    unavailable = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=1, expiry_date=expiry, id_tag="A", reservation_id=5
        ),
    )
    assert unavailable.status == "Unavailable"
    rejected = await cs.send(
        "MQ200-1",
        call.ReserveNow(
            connector_id=2, expiry_date=expiry, id_tag="A", reservation_id=6
        ),
    )
    assert rejected.status == "Rejected"


# ---------------------------------------------------------------- firmware


@pytest.fixture
async def files() -> AsyncIterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server: GET serves images, POST keeps uploads."""
    served = {
        "/mq200-1.7.0.bin": b"MQ200 firmware 1.7.0\n\x00\x01",
        "/junk.bin": b"junk",
    }
    uploads: dict[str, bytes] = {}

    async def get(request: web.Request) -> web.Response:
        body = served.get(request.path)
        return web.Response(status=404) if body is None else web.Response(body=body)

    async def post(request: web.Request) -> web.Response:
        uploads[request.path] = await request.read()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_get("/{name:.*}", get)
    app.router.add_post("/{name:.*}", post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", uploads
    await runner.cleanup()


def firmware_statuses(cs: MiniCs) -> list[str]:
    return [p["status"] for p in cs.payloads("FirmwareStatusNotification")]


def failed_downloads(cs: MiniCs, count: int) -> bool:
    return firmware_statuses(cs).count("DownloadFailed") == count


async def test_firmware_update_after_the_session(
    cs: MiniCs, sim: Mq200Simulator, files: tuple[str, dict[str, bytes]]
) -> None:
    base, _ = files
    await charging(cs, sim)
    await cs.send(
        "MQ200-1",
        call.UpdateFirmware(
            location=f"{base}/mq200-1.7.0.bin",
            retrieve_date=(START + timedelta(seconds=30)).isoformat(),
        ),
    )
    await sim.advance(10)
    assert firmware_statuses(cs) == []  # not before its retrieve date
    await sim.advance(30)
    await until(lambda: firmware_statuses(cs) == ["Downloading", "Downloaded"])
    await sim.advance(1)
    assert sim.transaction_id is not None  # not installed during the session
    triggered = await cs.send(
        "MQ200-1",
        call.TriggerMessage(requested_message="FirmwareStatusNotification"),
    )
    assert triggered.status == "Accepted"
    await until(lambda: firmware_statuses(cs)[-1:] == ["Downloaded"])
    sim.model.unplug()
    await sim.sync()
    await until(lambda: "Installing" in firmware_statuses(cs))
    await sim.wait_accepted()
    await until(lambda: firmware_statuses(cs)[-1:] == ["Installed"])
    boots = cs.payloads("BootNotification")
    assert boots[-1]["firmware_version"] == "1.7.0"
    assert sim.downloads == [f"{base}/mq200-1.7.0.bin"]


async def test_firmware_download_or_installation_fails(
    cs: MiniCs, sim: Mq200Simulator, files: tuple[str, dict[str, bytes]]
) -> None:
    base, _ = files
    now = START.isoformat()
    for failures, location in enumerate(
        (f"{base}/missing.bin", "ftp://127.0.0.1/x.bin"), start=1
    ):
        await cs.send(
            "MQ200-1", call.UpdateFirmware(location=location, retrieve_date=now)
        )
        await sim.sync()
        failed = functools.partial(failed_downloads, cs, failures)
        await until(failed)
    await cs.send(
        "MQ200-1", call.UpdateFirmware(location=f"{base}/junk.bin", retrieve_date=now)
    )
    await sim.sync()
    await until(lambda: firmware_statuses(cs)[-1:] == ["InstallationFailed"])
    assert firmware_statuses(cs)[-4:] == [
        "Downloading",
        "Downloaded",
        "Installing",
        "InstallationFailed",
    ]
    assert sim.firmware == "MQ200-1.6.0-sim"


async def test_diagnostics_upload(
    cs: MiniCs, sim: Mq200Simulator, files: tuple[str, dict[str, bytes]]
) -> None:
    base, uploads = files

    def statuses() -> list[str]:
        return [p["status"] for p in cs.payloads("DiagnosticsStatusNotification")]

    reply = await cs.send("MQ200-1", call.GetDiagnostics(location=f"{base}/upload/"))
    assert reply.file_name.startswith("MQ200-1-")
    await until(lambda: statuses() == ["Uploading", "Uploaded"])
    (path,) = uploads
    assert path == f"/upload/{reply.file_name}"
    assert b"SupportedFeatureProfiles" in uploads[path]
    await cs.send("MQ200-1", call.GetDiagnostics(location="ftp://127.0.0.1/"))
    await until(lambda: statuses()[-1] == "UploadFailed")
    await cs.send(
        "MQ200-1",
        call.TriggerMessage(requested_message="DiagnosticsStatusNotification"),
    )
    await sim.sync()
    await until(lambda: statuses()[-1] == "Idle")
