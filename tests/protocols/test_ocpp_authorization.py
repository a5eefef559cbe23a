"""Cards (id tags): the answers, and the charger's local list kept in step.

The charge point is the ``ocpp`` library's (``TestChargePoint``): what it
answers is set per test, so refusals and CallErrors are the real thing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from custom_components.evse_local.protocols.ocpp import CentralSystem, OcppStation
from custom_components.evse_local.protocols.ocpp._lib import call
from custom_components.evse_local.protocols.ocpp.authorization import (
    OPEN,
    Authorization,
    IdTag,
    LocalListStatus,
    valid_id_tag,
)

from .ocpp_support import Client, central_system, connect, eventually

pytestmark = pytest.mark.usefixtures("loopback_sockets")

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ALICE = IdTag(id_tag="04A1B2C3", name="Alice")
BOB = IdTag(id_tag="BOB-CARD", name="Bob", parent="FAMILY")
OLD = IdTag(id_tag="OLD1", name="Old", expiry=NOW - timedelta(days=1))


def test_valid_id_tags() -> None:
    assert valid_id_tag("04A1B2C3D4E5F6A7B8C9")
    assert not valid_id_tag("")
    assert not valid_id_tag("x" * 21)
    assert not valid_id_tag("has space")
    assert not valid_id_tag("ünïcode")


def test_answers_come_from_the_list() -> None:
    cards = Authorization((ALICE, BOB, OLD))
    assert cards.id_tag_info("04a1b2c3", NOW) == {"status": "Accepted"}
    assert cards.id_tag_info("BOB-CARD", NOW) == {
        "status": "Accepted",
        "parent_id_tag": "FAMILY",
    }
    assert cards.id_tag_info("OLD1", NOW) == {
        "status": "Expired",
        "expiry_date": "2026-11-20T12:00:00.000Z",
    }
    assert cards.id_tag_info("STRANGER", NOW) == {"status": "Invalid"}
    # Free charging lets unknown cards in; listed ones keep their answer.
    free = Authorization((OLD,), free_charging=True)
    assert free.id_tag_info("STRANGER", NOW) == {"status": "Accepted"}
    assert free.id_tag_info("OLD1", NOW)["status"] == "Expired"
    assert OPEN.id_tag_info("ANY", NOW) == {"status": "Accepted"}


def test_stored_cards_round_trip_and_bad_ones_are_skipped() -> None:
    cards = Authorization.from_json(
        [
            OLD.to_json(),
            BOB.to_json(),
            {"id_tag": "has space", "name": "bad"},
            {"name": "no tag"},
            "not a card",
        ],
        free_charging=False,
    )
    assert cards.tags == (OLD, BOB)


@dataclass
class Setup:
    system: CentralSystem
    station: OcppStation
    client: Client


@pytest.fixture
async def setup(loopback_sockets: None) -> AsyncIterator[Setup]:
    """A booted charge point that keeps up to 3 cards, 2 per SendLocalList."""
    async with (
        aiohttp.ClientSession() as session,
        central_system(response_timeout=0.5) as system,
    ):
        station = system.add_station("CP", password=None)
        client = await connect(session, system, "CP")
        client.cp.readonly = {
            "LocalAuthListMaxLength": "3",
            "SendLocalListMaxLength": "2",
        }
        await client.cp.boot()
        await eventually(lambda: "LocalAuthListMaxLength" in station.configuration)
        yield Setup(system, station, client)
        await client.close()


def sent(client: Client, action: str) -> list[dict[str, Any]]:
    return [payload for name, payload in client.cp.commands if name == action]


async def test_untouched_list_is_left_alone(setup: Setup) -> None:
    """Nobody listed a card in Home Assistant: the charger's list is its own."""
    assert await setup.station.sync_local_list() is LocalListStatus.UNMANAGED
    assert not sent(setup.client, "GetLocalListVersion")
    assert setup.station.local_list_capacity == 3


async def test_full_then_differential(setup: Setup) -> None:
    """TC_043_4 then TC_043_5: the whole list once, then only what changed."""
    station, client = setup.station, setup.client
    station.set_authorization(Authorization((ALICE,)))
    assert await station.sync_local_list() is LocalListStatus.SYNCED
    (full,) = sent(client, "SendLocalList")
    assert full["update_type"] == "Full"
    assert full["local_authorization_list"] == [
        {"id_tag": "04A1B2C3", "id_tag_info": {"status": "Accepted"}}
    ]
    assert client.cp.list_version == full["list_version"] == 1
    # In step already: only the version is asked.
    assert await station.sync_local_list() is LocalListStatus.SYNCED
    assert len(sent(client, "SendLocalList")) == 1
    cleared = len(sent(client, "ClearCache"))
    station.set_authorization(Authorization((BOB,)))
    assert await station.sync_local_list() is LocalListStatus.SYNCED
    differential = sent(client, "SendLocalList")[-1]
    assert differential["update_type"] == "Differential"
    assert differential["list_version"] == 2
    assert differential["local_authorization_list"] == [
        {
            "id_tag": "BOB-CARD",
            "id_tag_info": {"status": "Accepted", "parent_id_tag": "FAMILY"},
        },
        {"id_tag": "04A1B2C3"},
    ]
    # Alice lost her right to charge: the charger's cache forgets her too.
    assert len(sent(client, "ClearCache")) == cleared + 1


async def test_long_list_goes_in_parts(setup: Setup) -> None:
    station, client = setup.station, setup.client
    station.set_authorization(Authorization((ALICE, BOB, OLD)))
    assert await station.sync_local_list() is LocalListStatus.SYNCED
    parts = sent(client, "SendLocalList")
    assert [(p["update_type"], p["list_version"]) for p in parts] == [
        ("Full", 1),
        ("Differential", 2),
    ]
    assert [len(p["local_authorization_list"]) for p in parts] == [2, 1]
    # A fourth card does not fit the charger: nothing half-sent.
    station.set_authorization(Authorization((ALICE, BOB, OLD, IdTag(id_tag="FOURTH"))))
    assert await station.sync_local_list() is LocalListStatus.TOO_LONG
    assert len(sent(client, "SendLocalList")) == 2


async def test_charger_with_another_list_gets_ours_whole(setup: Setup) -> None:
    """A list a vendor cloud left (version 7) is replaced, never patched."""
    setup.client.cp.list_version = 7
    setup.station.set_authorization(Authorization((ALICE,)))
    assert await setup.station.sync_local_list() is LocalListStatus.SYNCED
    (full,) = sent(setup.client, "SendLocalList")
    assert full["update_type"] == "Full"
    assert full["list_version"] == 8


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Failed", LocalListStatus.FAILED),
        ("VersionMismatch", LocalListStatus.FAILED),
        ("NotSupported", LocalListStatus.NOT_SUPPORTED),
    ],
)
async def test_refused_list(
    setup: Setup, reply: str, expected: LocalListStatus
) -> None:
    """TC_043_1/2/3: the refusal is reported; the list is sent whole next time."""
    station, client = setup.station, setup.client
    client.cp.replies.statuses["SendLocalList"] = reply
    station.set_authorization(Authorization((ALICE,)))
    assert await station.sync_local_list() is expected
    assert station.local_list_status is expected
    client.cp.replies.statuses.clear()
    assert await station.sync_local_list() is LocalListStatus.SYNCED
    assert [p["update_type"] for p in sent(client, "SendLocalList")] == [
        "Full",
        "Full",
    ]


async def test_list_disabled_or_unsupported(setup: Setup) -> None:
    """TC_042_1: -1 (LocalAuthListEnabled off) or a CallError NotSupported."""
    station, client = setup.station, setup.client
    station.set_authorization(Authorization((ALICE,)))
    client.cp.list_version = -1
    assert await station.sync_local_list() is LocalListStatus.DISABLED
    client.cp.replies.errors["GetLocalListVersion"] = "NotSupportedError"
    assert await station.sync_local_list() is LocalListStatus.NOT_SUPPORTED
    assert not sent(client, "SendLocalList")
    # Silence: tried again at the next connection.
    client.cp.replies.errors.clear()
    client.cp.replies.statuses["GetLocalListVersion"] = None
    assert await station.sync_local_list() is LocalListStatus.PENDING


async def test_free_charging_switched_off_clears_the_cache(setup: Setup) -> None:
    """Cards cached while any card charged must not charge offline afterwards."""
    station, client = setup.station, setup.client
    station.set_authorization(Authorization((ALICE,), free_charging=True))
    await station.sync_local_list()
    assert not sent(client, "ClearCache")
    station.set_authorization(Authorization((ALICE,)))
    await station.sync_local_list()
    assert len(sent(client, "ClearCache")) == 1
    # A charger without ClearCache: nothing more to do, no retry loop.
    client.cp.replies.errors["ClearCache"] = "NotImplementedError"
    station.set_authorization(Authorization(()))
    await station.sync_local_list()
    await station.sync_local_list()
    assert len(sent(client, "ClearCache")) == 2


async def test_unknown_card_is_refused_and_remembered(setup: Setup) -> None:
    """TC_023_1/2: Invalid or Expired; the refused card is shown to the owner."""
    station, client = setup.station, setup.client
    station.set_authorization(Authorization((ALICE, OLD)))
    reply = await client.cp.call(call.Authorize(id_tag="X1"))
    assert reply.id_tag_info == {"status": "Invalid"}
    assert station.snapshot.refused_id_tag == "X1"
    start = await client.cp.start_transaction()
    assert start > 0
    assert station.snapshot.id_tag == "TAG"
    assert station.snapshot.id_tag_name is None
    expired = await client.cp.call(call.Authorize(id_tag="old1"))
    assert expired.id_tag_info["status"] == "Expired"
    accepted = await client.cp.call(call.Authorize(id_tag="04A1B2C3"))
    assert accepted.id_tag_info == {"status": "Accepted"}
    # Our own tag (RemoteStartTransaction) is always accepted.
    own = await client.cp.call(call.Authorize(id_tag="evse_local"))
    assert own.id_tag_info == {"status": "Accepted"}


async def test_state_survives_a_restart(setup: Setup) -> None:
    station = setup.station
    station.set_authorization(Authorization((ALICE,)))
    await station.sync_local_list()
    saved = station.export_state()
    restored = OcppStation("CP")
    restored.restore_state(saved)
    restored.set_authorization(Authorization((ALICE,)))
    assert restored.export_state()["local_list"] == saved["local_list"]
    assert restored.local_list_capacity == 3
