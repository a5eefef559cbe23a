"""RapiClient and the RAPI-controlled chargers over a scripted transport.

A transport at this level only carries strings, so a fake is enough; the
replies are real frames from the captures wherever one exists.
"""

from __future__ import annotations

from datetime import time

import pytest

from custom_components.evse_local.protocols.charger import SessionLimit
from custom_components.evse_local.protocols.errors import (
    EvseCommandRejectedError,
    EvseProtocolError,
    EvseUnsupportedError,
    EvseVehicleRequiredError,
)
from custom_components.evse_local.protocols.models import (
    Capability,
    ChargerState,
    ChargeTimer,
    FaultCounters,
    ServiceLevel,
)
from custom_components.evse_local.protocols.rapi.charger import RapiCharger
from custom_components.evse_local.protocols.rapi.client import RapiClient

from .fakes import GOPLUG, ISSUE_102, ScriptedTransport
from .loopback import rapi_frame
from .peers import Exchange, emulator_exchanges, require_peers


def emulator_step(step: str) -> Exchange:
    """The one exchange of the emulator transcript with this step name."""
    require_peers()
    found = [exchange for exchange in emulator_exchanges() if exchange.step == step]
    assert len(found) == 1, step
    return found[0]


def command_body(frame: str) -> str:
    """``$SC 16 V^65`` -> ``$SC 16 V``."""
    return frame.rpartition("^")[0]


# --- negotiate(): learning what the firmware sends back -----------------------


async def test_negotiate_rapi_1_without_checksum() -> None:
    """v1 WiFi firmware, controller 3.11.3 / RAPI 1.0.3: no checksum, no id."""
    transport = ScriptedTransport({"$GV": "$OK 3.11.3 1.0.3", "$GS": "$OK 3 568"})
    client = RapiClient(transport)
    assert await client.negotiate() == {"firmware": "3.11.3", "protocol": "1.0.3"}
    assert client.require_checksum is False
    assert client.use_sequence is False
    assert await client.query("GS") == {"state": 3, "elapsed": 568}
    assert transport.frames == [rapi_frame("$GV", 1), "$GS^30"]
    assert client.frames_sent == 2


async def test_negotiate_checked_reply_without_sequence_echo() -> None:
    """The emulator (and WiFi 4.x JSON /r): checksum, but no id echoed."""
    version = emulator_step("$GV")
    transport = ScriptedTransport({"$GV": version.rx, "$GE": emulator_step("$GE").rx})
    client = RapiClient(transport)
    assert await client.negotiate() == {"firmware": "8.2.1", "protocol": "5.0.1"}
    assert client.require_checksum is True
    assert client.use_sequence is False
    assert await client.query("GE") == {"amps": 32, "flags": 0}
    assert transport.frames[1] == "$GE^26"


async def test_negotiate_firmware_that_echoes_sequence_ids() -> None:
    transport = ScriptedTransport(
        {"$GV": "$OK 8.2.3 5.2.1^00", "$GE": "$OK 32 0001^20"}, echo_sequence=True
    )
    client = RapiClient(transport)
    assert await client.negotiate() == {"firmware": "8.2.3", "protocol": "5.2.1"}
    assert client.use_sequence is True
    assert client.require_checksum is True
    assert await client.query("GE") == {"amps": 32, "flags": 1}
    assert transport.frames == [rapi_frame("$GV", 1), rapi_frame("$GE", 2)]


async def test_negotiate_sequence_mismatch() -> None:
    transport = ScriptedTransport(lambda frame: rapi_frame("$OK 8.2.3 5.2.1", 0x77))
    with pytest.raises(EvseProtocolError, match="sequence id mismatch"):
        await RapiClient(transport).negotiate()


async def test_negotiate_nk() -> None:
    transport = ScriptedTransport(lambda frame: "$NK^21")
    with pytest.raises(EvseCommandRejectedError, match=r"\$GV was rejected: \$NK\^21"):
        await RapiClient(transport).negotiate()


async def test_negotiate_bad_checksum_is_not_learned_as_unchecked() -> None:
    transport = ScriptedTransport(lambda frame: "$OK 8.2.1 5.0.1^2E")
    client = RapiClient(transport)
    with pytest.raises(EvseProtocolError, match="bad checksum"):
        await client.negotiate()
    assert client.require_checksum is True


async def test_sequence_ids_wrap_from_ff_to_01() -> None:
    transport = ScriptedTransport({"$GH": "$OK 0^30"}, echo_sequence=True)
    client = RapiClient(transport)
    client._sequence = 0xFE
    for _ in range(3):
        assert await client.query("GH") == {"kwh": 0}
    assert [frame[-6:-3] for frame in transport.frames] == [":FF", ":01", ":02"]


async def test_execute_rejects_reply_to_another_command() -> None:
    """A stale reply carrying the previous sequence id is not accepted."""
    transport = ScriptedTransport(lambda frame: rapi_frame("$OK 0", 0x01))
    client = RapiClient(transport)
    client._sequence = 0x01
    with pytest.raises(EvseProtocolError, match="sequence id mismatch"):
        await client.query("GH")


async def test_execute_nk_errors() -> None:
    transport = ScriptedTransport({})
    client = RapiClient(transport)
    client.use_sequence = False
    with pytest.raises(EvseCommandRejectedError) as rejected:
        await client.execute("FE")
    assert rejected.value.command == "$FE"
    assert rejected.value.reply == "$NK^21"
    assert not isinstance(rejected.value, EvseVehicleRequiredError)
    with pytest.raises(EvseVehicleRequiredError):
        await client.execute("SH", 5)


# --- set commands, answered as the emulator answered them ---------------------


def emulator_client(*steps: str) -> tuple[RapiClient, ScriptedTransport]:
    """A negotiated client whose transport replays these transcript steps."""
    replies = {
        command_body(emulator_step(step).tx): emulator_step(step).rx for step in steps
    }
    transport = ScriptedTransport(replies)
    client = RapiClient(transport)
    client.use_sequence = False
    return client, transport


async def test_set_current_volatile_and_persistent() -> None:
    client, transport = emulator_client(
        "SC 16 V (volatile)", "SC 16 (saved)", "SC 2 (below min)"
    )
    assert await client.set_current(16, persist=False) is None
    assert await client.set_current(16, persist=True) is None
    with pytest.raises(EvseCommandRejectedError, match=r"\$SC was rejected"):
        await client.set_current(2, persist=True)
    assert transport.frames == ["$SC 16 V^65", "$SC 16^13", "$SC 2^26"]


async def test_set_current_returns_amps_the_firmware_reports() -> None:
    """Real firmware answers ``$OK <ampsset>`` (the emulator does not)."""
    transport = ScriptedTransport({"$SC 40 V": rapi_frame("$OK 32")})
    client = RapiClient(transport)
    client.use_sequence = False
    assert await client.set_current(40, persist=False) == 32


async def test_controlled_charger_commands_match_the_transcript() -> None:
    client, transport = emulator_client(
        "FS sleep",
        "FE enable",
        "SL 1",
        "GE after SC",
        "ST cancel timer",
        "SH 5 kWh limit",
        "S3 time limit 4*15min",
        "FR reset",
        "SC 10 V while charging",
    )
    charger = RapiCharger(client, GOPLUG)
    await charger.set_paused(True)
    await charger.set_paused(False)
    await charger.set_service_level(ServiceLevel.LEVEL_1)
    assert charger.settings["GE"] == {"amps": 16, "flags": 0}
    await charger.set_max_current(10)
    assert charger.settings["GE"] == {"amps": 10, "flags": 0}
    await charger.clear_timer()
    assert charger.settings["GD"] == {
        "start_hour": 0,
        "start_minute": 0,
        "stop_hour": 0,
        "stop_minute": 0,
    }
    assert await charger.set_session_limit(energy_kwh=4.2, minutes=None) == (
        SessionLimit(energy_kwh=5.0, minutes=None, rounded=True)
    )
    assert charger.settings["GH"] == {"kwh": 5}
    # The emulator has no $S3 (TIME_LIMIT): $NK, reported as "needs a car".
    with pytest.raises(EvseVehicleRequiredError):
        await charger.set_session_limit(energy_kwh=None, minutes=60)
    await charger.restart()
    assert transport.frames == [
        "$FS^31",
        "$FE^27",
        "$SL 1^2A",
        "$GE^26",
        "$SC 10 V^63",
        "$ST 0 0 0 0^23",
        "$SH 5^2A",
        "$S3 4^50",
        "$FR^30",
    ]


async def test_session_limit_rounding_and_range() -> None:
    transport = ScriptedTransport(
        {"$SH 3": "$OK^20", "$S3 3": "$OK^20", "$S3 255": "$OK^20"}
    )
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    assert await charger.set_session_limit(energy_kwh=3, minutes=31) == SessionLimit(
        energy_kwh=3.0, minutes=45, rounded=True
    )
    assert await charger.set_session_limit(energy_kwh=None, minutes=3825) == (
        SessionLimit(energy_kwh=None, minutes=3825, rounded=False)
    )
    with pytest.raises(ValueError, match="beyond 255 steps"):
        await charger.set_session_limit(energy_kwh=None, minutes=3826)


async def test_clear_session_limit() -> None:
    transport = ScriptedTransport({"$SH 0": "$OK^20", "$S3 0": "$OK^20"})
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    charger.settings = {"GH": {"kwh": 5}, "G3": {"count": 4}}
    await charger.clear_session_limit()
    assert transport.frames == [rapi_frame("$SH 0"), rapi_frame("$S3 0")]
    assert charger.settings == {"GH": {"kwh": 0}, "G3": {"count": 0}}


async def test_rapi_charger_does_not_push() -> None:
    charger = RapiCharger(RapiClient(ScriptedTransport({})), GOPLUG)
    with pytest.raises(EvseUnsupportedError, match="does not push"):
        await charger.listen(lambda snapshot: None)


# --- RapiCharger.poll() from a real controller's replies ----------------------


async def test_rapi_charger_poll_issue_102() -> None:
    transport = ScriptedTransport(ISSUE_102)
    client = RapiClient(transport)
    await client.negotiate()
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    assert set(charger.settings) == {"GE", "GC", "GP", "GF", "GH"}  # no GD, G3
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.SLEEPING
    assert snapshot.vehicle_connected is True  # vflags 0500
    assert snapshot.paused is True
    assert snapshot.charging is False
    assert snapshot.charging_current == 0.0
    assert snapshot.voltage is None  # millivolts -1: no voltmeter
    assert snapshot.power is None
    assert snapshot.session_energy == pytest.approx(63512 / 3600)
    assert snapshot.lifetime_energy == 226594
    assert snapshot.session_time == 21
    assert snapshot.temperatures == (34.0, None, None)
    assert snapshot.pilot_current == 32
    assert snapshot.max_current == 32
    assert snapshot.min_current_limit == 6
    assert snapshot.service_level is ServiceLevel.AUTO
    assert snapshot.energy_limit == 0.0
    assert snapshot.time_limit is None
    assert snapshot.timer is None
    assert snapshot.fault_counters == FaultCounters(0, 0, 0)
    assert Capability.ENERGY_LIMIT in snapshot.capabilities
    assert Capability.TIMER not in snapshot.capabilities
    assert Capability.TIME_LIMIT not in snapshot.capabilities
    # Negotiate, five settings, then $GS $GG $GU and one setting: 4 per poll.
    assert charger.requests == 1 + 7 + 4
    await charger.poll()
    assert charger.requests == 1 + 7 + 8


async def test_rapi_charger_poll_charging_with_timer() -> None:
    """Emulator charging frames, firmware-shaped $GG, and a timer window."""
    transport = ScriptedTransport(
        {
            "$GS": "$OK 03 2 03 0140^17",
            "$GG": rapi_frame("$OK 16000 240000"),
            "$GU": rapi_frame("$OK 14400 1000"),
            "$GE": "$OK 16 0^17",
            "$GD": rapi_frame("$OK 22 0 6 30"),
            "$G3": rapi_frame("$OK 4"),
            "$GH": "$OK 0^30",
            "$GC": "$OK 6 80 32 32^1E",
            "$GP": rapi_frame("$OK 285 280 -2560"),
            "$GF": "$OK 1 0 0^31",
        }
    )
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.CHARGING
    assert snapshot.charging is True
    assert snapshot.vehicle_connected is True
    assert snapshot.charging_current == 16.0
    assert snapshot.voltage == 240.0
    assert snapshot.power == 3840.0
    assert snapshot.session_energy == 4.0
    assert snapshot.lifetime_energy == 1000
    assert snapshot.timer == ChargeTimer(start=time(22, 0), stop=time(6, 30))
    assert snapshot.timer_enabled is True
    assert snapshot.time_limit == 60
    assert snapshot.temperatures == (28.5, 28.0, None)
    assert snapshot.fault_counters == FaultCounters(gfci=1, no_ground=0, stuck_relay=0)
    assert Capability.TIMER in snapshot.capabilities


async def test_rapi_charger_unplugged_forgets_session_limits() -> None:
    transport = ScriptedTransport(
        {
            "$GS": "$OK 01 0 01 0000^10",
            "$GG": rapi_frame("$OK 0 240000"),
            "$GU": "$OK 0 0^20",
            "$GH": rapi_frame("$OK 5"),
            "$G3": rapi_frame("$OK 4"),
        }
    )
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    assert charger.settings["GH"] == {"kwh": 5}
    snapshot = await charger.poll()
    assert snapshot.vehicle_connected is False
    assert snapshot.energy_limit == 0.0
    assert snapshot.time_limit == 0


async def test_rapi_4_status_without_vflags() -> None:
    """RAPI 4 ``$GS`` has no vflags: a plugged state means a car."""
    transport = ScriptedTransport(
        {"$GS": "$OK 2 3^21", "$GG": rapi_frame("$OK 0 -1"), "$GU": "$OK 0 136425^17"}
    )
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    snapshot = await charger.poll()
    assert snapshot.state is ChargerState.CONNECTED
    assert snapshot.vehicle_connected is True
    assert snapshot.session_time == 3
    assert snapshot.lifetime_energy == 136425


async def test_invalid_timer_window_is_a_protocol_error() -> None:
    transport = ScriptedTransport({"$GD": rapi_frame("$OK 25 0 6 30")})
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    with pytest.raises(EvseProtocolError, match="invalid time 25:0"):
        charger.control_fields()


async def test_gc_four_fields_max_limit_is_the_hardware_maximum() -> None:
    """BUG: the limit a user may set is ``hmaxamps``, not the saved amps.

    RAPI 5.1 ``$GC`` is ``minamps hmaxamps pilotamps cmaxamps``; cmaxamps is
    ``GetMaxCurrentCapacity()``, the EEPROM current that ``$SC n`` writes, and
    ``$SC`` clamps to hmaxamps. The emulator (``$OK 6 80 32 32``) and the 2-
    and 3-field shapes (``minamps maxamps ...``) agree. Reading cmaxamps as
    ``max_current_limit`` caps the slider at the present setting: after a
    persistent ``$SC 16`` the user could never go back above 16 A.
    """
    transport = ScriptedTransport({"$GC": "$OK 6 80 32 32^1E"})
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    fields = charger.control_fields()
    assert fields["min_current_limit"] == 6
    assert fields["max_current_limit"] == 80


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        (0x0000, ServiceLevel.AUTO),  # the emulator's $OK 32 0
        (0x0001, ServiceLevel.AUTO),  # L2 now, auto detection still on
        (0x0020, ServiceLevel.LEVEL_1),
        (0x0021, ServiceLevel.LEVEL_2),
        (0x0221, ServiceLevel.LEVEL_2),  # the v1 capture's $OK 50 0221
    ],
)
def test_service_level_from_ge_flags(flags: int, level: ServiceLevel) -> None:
    charger = RapiCharger(RapiClient(ScriptedTransport({})), GOPLUG)
    charger.settings["GE"] = {"amps": 32, "flags": flags}
    fields = charger.control_fields()
    assert fields["service_level"] is level
    assert Capability.SERVICE_LEVEL in fields["capabilities"]


async def test_without_settings_nothing_is_cached_or_sent() -> None:
    transport = ScriptedTransport({"$SC 16 V": "$OK^20"})
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.read_next_setting()
    await charger.set_max_current(16)
    assert charger.settings == {}
    assert charger.control_fields()["service_level"] is None
    await charger.clear_session_limit()
    assert transport.frames == [rapi_frame("$SC 16 V")]


async def test_clear_session_limit_after_unplug_sends_nothing() -> None:
    """The firmware drops both limits on unplug; only forget them."""
    transport = ScriptedTransport(
        {
            "$GS": "$OK 01 0 01 0000^10",
            "$GG": rapi_frame("$OK 0 240000"),
            "$GU": "$OK 0 0^20",
            "$GH": rapi_frame("$OK 5"),
        }
    )
    client = RapiClient(transport)
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    await charger.poll()
    sent = len(transport.frames)
    charger.settings["GH"] = {"kwh": 5}
    await charger.clear_session_limit()
    assert len(transport.frames) == sent
    assert charger.settings["GH"] == {"kwh": 0}


@pytest.mark.parametrize("usage", ["$OK -5 1000", "$OK 14400 -5", "$OK 0 -1"])
async def test_negative_energy_is_a_protocol_error(usage: str) -> None:
    """A counter below zero is garbage: the poll fails, nothing is shown."""
    replies = {**ISSUE_102, "$GU": rapi_frame(usage)}
    client = RapiClient(ScriptedTransport(replies))
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    with pytest.raises(EvseProtocolError, match=r"\$GU"):
        await charger.poll()
