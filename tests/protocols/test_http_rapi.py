"""RAPI over HTTP ``/r``: captured pages and JSON served from 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from custom_components.evse_local.protocols.errors import (
    EvseCommandBlockedError,
    EvseCommandRejectedError,
    EvseConnectionError,
    EvseProtocolError,
    EvseUnsupportedError,
)
from custom_components.evse_local.protocols.rapi.charger import RapiCharger
from custom_components.evse_local.protocols.rapi.client import RapiClient
from custom_components.evse_local.protocols.rapi.commands import (
    COMMANDS,
    ReplyValues,
    parse_reply,
)
from custom_components.evse_local.protocols.rapi.frame import (
    decode_reply,
    encode_command,
)

from .fakes import GOPLUG
from .loopback import (
    Answer,
    FakeModule,
    Loopback,
    file_answer,
    json_error,
    json_ret,
    rapi_frame,
)
from .peers import (
    V1_RESPONSES,
    V3_RESPONSES,
    WIFI_API,
    cases,
    load_object,
    peer_glob,
    r_fixture_command,
    relative_id,
    v1_nk_page,
    v1_pages,
)


class RFixture(NamedTuple):
    """What one ``/r`` capture must read as."""

    command: str
    params: tuple[str, ...]
    values: ReplyValues | None
    """``parse_reply`` result; None for commands we do not use or ``$NK``."""
    ok: bool = True


R_FIXTURES: dict[str, RFixture] = {
    # v1 WiFi firmware (HTML), controller 3.11.3 / RAPI 1.0.3: no checksums.
    "v1_responses/ammeter.txt": RFixture("$GA", ("220", "0"), None),
    "v1_responses/capacity_range.txt": RFixture(
        "$GC", ("6", "80"), {"min_amps": 6, "max_amps": 80}
    ),
    "v1_responses/charge_limit.txt": RFixture("$GH", ("0",), {"kwh": 0}),
    "v1_responses/charging_values_charging.txt": RFixture(
        "$GG", ("10340", "-1"), {"milliamps": 10340, "millivolts": -1}
    ),
    "v1_responses/charging_values_unplugged.txt": RFixture(
        "$GG", ("0", "-1"), {"milliamps": 0, "millivolts": -1}
    ),
    "v1_responses/faults.txt": RFixture(
        "$GF", ("0", "9", "0"), {"gfci": 0, "no_ground": 9, "stuck_relay": 0}
    ),
    "v1_responses/settings.txt": RFixture(
        "$GE", ("50", "0221"), {"amps": 50, "flags": 0x0221}
    ),
    "v1_responses/status_charging.txt": RFixture(
        "$GS", ("3", "568"), {"state": 3, "elapsed": 568}
    ),
    "v1_responses/status_unplugged.txt": RFixture(
        "$GS", ("1", "0"), {"state": 1, "elapsed": 0}
    ),
    "v1_responses/temperature_settings.txt": RFixture("$GO", (), None, ok=False),
    "v1_responses/temperature_values.txt": RFixture(
        "$GP", ("592", "0", "230"), {"temp1": 592, "temp2": 0, "temp3": 230}
    ),
    "v1_responses/time.txt": RFixture("$GT", ("0", "1", "20", "8", "34", "29"), None),
    "v1_responses/time_limit_set.txt": RFixture("$G3", ("42",), {"count": 42}),
    "v1_responses/time_limit_unset.txt": RFixture("$G3", ("0",), {"count": 0}),
    "v1_responses/usage_charging.txt": RFixture(
        "$GU",
        ("2807519", "12419994"),
        {"session_ws": 2807519, "total_wh": 12419994},
    ),
    "v1_responses/usage_unplugged.txt": RFixture(
        "$GU", ("0", "12419994"), {"session_ws": 0, "total_wh": 12419994}
    ),
    "v1_responses/version.txt": RFixture(
        "$GV", ("3.11.3", "1.0.3"), {"firmware": "3.11.3", "protocol": "1.0.3"}
    ),
    "v1_responses/voltmeter_settings.txt": RFixture("$GM", (), None, ok=False),
    # /r?json=1, controller 5.0.1 / RAPI 4.0.1: checksums, decimal $GS.
    "v3_responses/ammeter.txt": RFixture("$GA", ("220", "0"), None),
    "v3_responses/capacity_range.txt": RFixture(
        "$GC", ("6", "80"), {"min_amps": 6, "max_amps": 80}
    ),
    "v3_responses/charge_limit.txt": RFixture("$GH", ("0",), {"kwh": 0}),
    "v3_responses/faults.txt": RFixture(
        "$GF", ("0", "0", "0"), {"gfci": 0, "no_ground": 0, "stuck_relay": 0}
    ),
    "v3_responses/settings.txt": RFixture(
        "$GE", ("30", "0001"), {"amps": 30, "flags": 1}
    ),
    "v3_responses/status_connected.txt": RFixture(
        "$GS", ("2", "3"), {"state": 2, "elapsed": 3}
    ),
    "v3_responses/status_unplugged.txt": RFixture(
        "$GS", ("1", "0"), {"state": 1, "elapsed": 0}
    ),
    "v3_responses/temperature_settings.txt": RFixture("$GO", (), None, ok=False),
    "v3_responses/temperature_values.txt": RFixture(
        "$GP",
        ("580", "570", "-2560"),
        {"temp1": 580, "temp2": 570, "temp3": -2560},
    ),
    "v3_responses/time.txt": RFixture("$GT", ("0", "2", "19", "1", "40", "47"), None),
    "v3_responses/time_limit_set.txt": RFixture("$G3", ("1",), {"count": 1}),
    "v3_responses/time_limit_unset.txt": RFixture("$G3", ("0",), {"count": 0}),
    "v3_responses/usage_plugged.txt": RFixture(
        "$GU", ("0", "136425"), {"session_ws": 0, "total_wh": 136425}
    ),
    "v3_responses/version.txt": RFixture(
        "$GV", ("5.0.1", "4.0.1"), {"firmware": "5.0.1", "protocol": "4.0.1"}
    ),
    "v3_responses/voltmeter_settings.txt": RFixture("$GM", (), None, ok=False),
}


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _r_files() -> Iterator[tuple[str, Path]]:
    for folder in (V1_RESPONSES, V3_RESPONSES):
        for path in peer_glob(folder, "*.txt"):
            yield relative_id(path).rsplit("/", 2)[-2] + "/" + path.name, path


def test_every_r_fixture_has_expectations(peers: Path) -> None:
    on_disk = {_key(path) for _, path in _r_files()}
    assert on_disk == set(R_FIXTURES)


@pytest.mark.parametrize("path", cases(_r_files))
async def test_r_fixture_through_http_transport(path: Path, loopback: Loopback) -> None:
    expected = R_FIXTURES[_key(path)]
    assert r_fixture_command(path) == expected.command
    module = FakeModule(rapi=lambda frame: file_answer(path))
    transport = await loopback.transport(module)
    frame = encode_command(expected.command[1:])

    raw = await transport.exchange(frame)

    assert module.requests[0].path == "/r"
    assert module.requests[0].query == {"json": "1", "rapi": frame}
    checked = path.parent.name == "v3_responses"
    reply = decode_reply(raw, require_checksum=checked)
    assert reply.checked is checked
    assert reply.ok is expected.ok
    assert reply.params == expected.params
    if expected.values is not None:
        assert parse_reply(expected.command[1:], reply) == expected.values
    else:
        assert not expected.ok or expected.command[1:] not in COMMANDS
    if not checked:
        with pytest.raises(EvseProtocolError, match="reply without checksum"):
            decode_reply(raw)


# --- the firmware's /r error bodies ----------------------------------------

BEHAVIOUR = WIFI_API / "rapi_over_http_behaviour.json"


def _error_strings() -> Iterator[tuple[str, str]]:
    error_body = load_object(BEHAVIOUR)["error_body"]
    for error in re.findall(r"RAPI_RESPONSE_\w+|UNKNOWN", error_body):
        yield error, error


@pytest.mark.parametrize("error", cases(_error_strings))
async def test_r_error_body(error: str, loopback: Loopback) -> None:
    module = FakeModule(rapi=lambda frame: json_error(frame, error))
    transport = await loopback.transport(module)
    if error == "RAPI_RESPONSE_BLOCKED":
        with pytest.raises(EvseCommandBlockedError) as blocked:
            await transport.exchange("$SC 16 V^65")
        assert isinstance(blocked.value, EvseCommandRejectedError)
        assert blocked.value.command == "$SC 16 V^65"
        assert blocked.value.reply == "RAPI_RESPONSE_BLOCKED"
    else:
        with pytest.raises(EvseConnectionError, match=rf"{error} \(HTTP 500\)"):
            await transport.exchange("$GS^30")


def test_error_body_lists_ten_errors(peers: Path) -> None:
    errors = [error for _, error in _error_strings()]
    assert len(errors) == 10
    assert "RAPI_RESPONSE_BLOCKED" in errors
    assert load_object(BEHAVIOUR)["error_body"].endswith(
        "HTTP 400 for BLOCKED, HTTP 500 for the others"
    )


async def test_r_success_body_example(peers: Path, loopback: Loopback) -> None:
    """The notes' example reply carries a wrong checksum: it must be refused.

    ``$OK 01 0 01 0200`` XORs to 0x12, the note says ``^11`` (a hand-written
    example, not a capture). With the right checksum it reads as idle.
    """
    success = load_object(BEHAVIOUR)["success_body"]
    match = re.search(r"e\.g\. (\$OK [^}]+)\^([0-9A-F]{2})", success)
    assert match is not None
    body, documented = match.groups()
    assert (body, documented) == ("$OK 01 0 01 0200", "11")
    module = FakeModule(rapi=lambda frame: json_ret(frame, f"{body}^{documented}"))
    transport = await loopback.transport(module)
    with pytest.raises(EvseProtocolError, match=r"bad checksum.*expected 12"):
        decode_reply(await transport.exchange("$GS^30"))
    assert parse_reply("GS", decode_reply(rapi_frame(body))) == {
        "state": 1,
        "elapsed": 0,
        "pilot_state": 1,
        "vflags": 0x0200,
    }


async def test_error_string_under_ret_is_not_a_reply(loopback: Loopback) -> None:
    """python-openevse-http's synthetic ``{"cmd":"$FS","ret":"RAPI_RESPONSE_TIMEOUT"}``."""
    module = FakeModule(
        rapi=lambda frame: Answer(200, b'{"cmd":"$FS","ret":"RAPI_RESPONSE_TIMEOUT"}')
    )
    client = RapiClient(await loopback.transport(module))
    client.use_sequence = False
    with pytest.raises(EvseProtocolError, match="not a RAPI reply"):
        await client.execute("FS")


async def test_blocked_set_command_and_skipped_setting(loopback: Loopback) -> None:
    """WiFi >= 5.0.0 blocks all but ``$G…``; a blocked get is not offered."""

    def answer(frame: str) -> Answer:
        if frame.startswith("$GE"):
            return json_error(frame, "RAPI_RESPONSE_BLOCKED")
        if frame.startswith("$G"):
            return json_ret(frame, "$NK^21")
        return json_error(frame, "RAPI_RESPONSE_BLOCKED")

    client = RapiClient(await loopback.transport(FakeModule(rapi=answer)))
    client.use_sequence = False
    charger = RapiCharger(client, GOPLUG)
    await charger.setup()
    assert charger.settings == {}
    with pytest.raises(EvseCommandBlockedError):
        await charger.set_paused(True)


async def test_unescaped_json_is_a_protocol_error(loopback: Loopback) -> None:
    """The firmware builds the JSON by concatenation, so a quote breaks it."""
    module = FakeModule(rapi=lambda frame: json_ret('$FP 0 0 "hi"', "$OK^20"))
    transport = await loopback.transport(module)
    with pytest.raises(EvseProtocolError, match="invalid JSON"):
        await transport.exchange("$GS^30")


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (Answer(404, b""), EvseUnsupportedError, "no RAPI endpoint"),
        (Answer(200, b'{"cmd":"$GS"}'), EvseProtocolError, "no 'ret'"),
        (Answer(200, b'{"cmd":"$GS","ret":7}'), EvseProtocolError, "no 'ret'"),
        (Answer(200, b"[1]"), EvseProtocolError, "no RAPI reply"),
        (
            Answer(200, b"<html>busy</html>", "text/html"),
            EvseProtocolError,
            "no RAPI reply",
        ),
        (Answer(403, b"<html>no</html>", "text/html"), EvseProtocolError, "HTTP 403"),
    ],
)
async def test_r_odd_answers(
    answer: Answer, error: type[Exception], message: str, loopback: Loopback
) -> None:
    transport = await loopback.transport(FakeModule(rapi=lambda frame: answer))
    with pytest.raises(error, match=message):
        decode_reply(await transport.exchange("$GS^30"))


async def test_v1_client_learns_no_checksum_over_http(
    peers: Path, loopback: Loopback
) -> None:
    """negotiate() over the HTML pages of a RAPI 1.0.3 controller."""
    pages = v1_pages()
    unknown = v1_nk_page()

    def answer(frame: str) -> Answer:
        return file_answer(pages.get(frame[1:3], unknown))

    client = RapiClient(await loopback.transport(FakeModule(rapi=answer)))
    assert await client.negotiate() == {"firmware": "3.11.3", "protocol": "1.0.3"}
    assert client.require_checksum is False
    assert await client.query("GS") == {"state": 3, "elapsed": 568}
    assert await client.query("G3") == {"count": 42}
    with pytest.raises(EvseCommandRejectedError, match=r"\$G0 was rejected: \$NK"):
        await client.query("G0")
