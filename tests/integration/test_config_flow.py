"""Config flow: every path, every error ending in a created entry."""

from __future__ import annotations

from ipaddress import ip_address
from unittest.mock import patch

import pytest
from aiohttp import web
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntry,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_SCAN_INTERVAL,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_local.const import CONF_PERSIST_MAX_CURRENT, DOMAIN
from simulators import Simulator, start_simulator

from .conftest import add_charger, shown_values


def _zeroconf(
    sim: Simulator, name: str = "openevse-0e5e._openevse._tcp.local."
) -> ZeroconfServiceInfo:
    return ZeroconfServiceInfo(
        ip_address=ip_address(sim.ip),
        ip_addresses=[ip_address(sim.ip)],
        hostname="openevse-0e5e.local.",
        name=name,
        port=sim.port,
        type="_openevse._tcp.local.",
        properties={},
    )


async def _start_reconfigure(
    hass: HomeAssistant, entry: ConfigEntry
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def _start_user_flow(hass: HomeAssistant, step: str = "http") -> str:
    """Open the add-a-charger menu and pick how the charger is reached."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["http", "modbus", "ocpp", "group"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return str(result["flow_id"])


@pytest.mark.parametrize(
    ("kind", "title", "unique_id"),
    [
        ("current", "OpenEVSE 0E5E", None),
        ("goplug", "GoPlug Pro 32 0E5E", None),
    ],
)
async def test_user_flow_creates_entry(
    hass: HomeAssistant, kind: str, title: str, unique_id: str | None
) -> None:
    """A charger typed in by address is probed, identified and added."""
    async with start_simulator(kind, identity_seed=0xE5E) as sim:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: f" {sim.host} "}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == title
        assert result["data"] == {CONF_HOST: sim.host}
        entry = result["result"]
        expected = sim.identity.serial if kind == "current" else sim.identity.mcu_id
        assert entry.unique_id == expected
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_user_flow_legacy_without_identity(
    hass: HomeAssistant, legacy_sim: Simulator
) -> None:
    """Old WiFi firmware reports no serial: the address identifies the entry."""
    entry = await add_charger(hass, legacy_sim)
    assert entry.unique_id is None
    # Named after its address, not its factory host name "openevse".
    assert entry.title == "OpenEVSE 127.0.0.1"
    assert hass.states.get("switch.openevse_127_0_0_1_charging_enabled") is not None
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: legacy_sim.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_two_legacy_chargers_get_their_own_names(
    hass: HomeAssistant, legacy_sim: Simulator
) -> None:
    """Two chargers without identity: names and entity ids never collide."""
    first = await add_charger(hass, legacy_sim)
    async with start_simulator("legacy", identity_seed=0xE5F) as other:
        second = await add_charger(hass, other)
        # The same address (simulators): the port tells them apart.
        assert second.title == f"OpenEVSE 127.0.0.1:{other.port}"
        assert first.title != second.title
        registry = er.async_get(hass)
        ids = [
            entity.entity_id
            for entry in (first, second)
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
            if entity.unique_id.endswith("_charging_enabled")
        ]
        assert ids == [
            "switch.openevse_127_0_0_1_charging_enabled",
            f"switch.openevse_127_0_0_1_{other.port}_charging_enabled",
        ]
        assert await hass.config_entries.async_unload(second.entry_id)


async def test_user_flow_cannot_connect_then_recovers(hass: HomeAssistant) -> None:
    """Nothing listening: cannot_connect; once the charger is up, it is added."""
    sim = await start_simulator("current", identity_seed=0xE5E)
    await sim.stop()
    try:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "cannot_connect"}
        await sim.start()
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
    finally:
        await sim.close()


async def test_user_flow_invalid_auth_then_recovers(hass: HomeAssistant) -> None:
    """A protected charger: wrong password is refused, the right one works."""
    async with start_simulator("current", username="admin", password="secret") as sim:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id,
            {CONF_HOST: sim.host, CONF_USERNAME: "admin", CONF_PASSWORD: "wrong"},
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            flow_id,
            {CONF_HOST: sim.host, CONF_USERNAME: "admin", CONF_PASSWORD: "secret"},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            CONF_HOST: sim.host,
            CONF_USERNAME: "admin",
            CONF_PASSWORD: "secret",
        }
        await hass.async_block_till_done()


async def test_user_flow_asks_for_missing_credentials(hass: HomeAssistant) -> None:
    """None entered: say that the charger needs them, not that they are wrong."""
    async with start_simulator("current", username="admin", password="secret") as sim:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host}
        )
        assert result["errors"] == {"base": "auth_required"}
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host, CONF_USERNAME: "admin"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            flow_id,
            {CONF_HOST: sim.host, CONF_USERNAME: "admin", CONF_PASSWORD: "secret"},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()


async def test_user_flow_not_a_charger_then_recovers(hass: HomeAssistant) -> None:
    """A web server that is no charger (HTML everywhere) is named as such."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<html>router</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/config", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: f"127.0.0.1:{port}"}
        )
        assert result["errors"] == {"base": "not_a_charger"}
    finally:
        await runner.cleanup()
    async with start_simulator("goplug") as sim:
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()


async def test_user_flow_unexpected_error_then_recovers(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """A bug while probing is logged and shown as unknown, never a crash."""
    flow_id = await _start_user_flow(hass)
    with patch(
        "custom_components.evse_local.helpers.connect_charger",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: current_sim.host}
        )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: current_sim.host}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_user_flow_already_configured_updates_host(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """The same charger at a new address updates the existing entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=current_sim.identity.serial,
        data={CONF_HOST: "192.0.2.1"},
    )
    entry.add_to_hass(hass)
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: current_sim.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == current_sim.host


async def test_zeroconf_flow(hass: HomeAssistant, current_sim: Simulator) -> None:
    """A discovered charger is confirmed and added; rediscovery updates it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(current_sim)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {"host": current_sim.host}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == current_sim.identity.serial
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(current_sim)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_zeroconf_on_port_80_uses_bare_host(
    hass: HomeAssistant, current_sim: Simulator
) -> None:
    """Port 80 is left out of the stored address (abort: nothing answers there)."""
    info = _zeroconf(current_sim)
    info.port = 80
    with patch(
        "custom_components.evse_local.helpers.connect_charger",
        side_effect=RuntimeError("not reached in real life"),
    ) as probe:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
        )
    assert probe.call_args.args[1] == current_sim.ip
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown"


async def test_zeroconf_unreachable_aborts(hass: HomeAssistant) -> None:
    """A stale announcement for a charger that is gone is dropped."""
    sim = await start_simulator("current")
    await sim.close()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(sim)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_zeroconf_with_credentials(hass: HomeAssistant) -> None:
    """A protected discovered charger asks for credentials, retries on error."""
    async with start_simulator("goplug", username="admin", password="secret") as sim:
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_ZEROCONF},
            data=_zeroconf(sim, "goplug-1234._http._tcp.local."),
        )
        assert result["step_id"] == "zeroconf_confirm"
        flow_id = result["flow_id"]
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_USERNAME: "admin", CONF_PASSWORD: "nope"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_USERNAME: "admin", CONF_PASSWORD: "secret"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"].startswith("GoPlug Pro 32")
        await hass.async_block_till_done()


async def test_reauth(hass: HomeAssistant) -> None:
    """New credentials are checked and stored; the entry reloads."""
    async with start_simulator("current", username="admin", password="old") as sim:
        entry = await add_charger(hass, sim, username="admin", password="old")
        sim.credentials = ("admin", "new")
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_REAUTH, "entry_id": entry.entry_id},
            data=dict(entry.data),
        )
        assert result["step_id"] == "reauth_confirm"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "bad"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "new"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        assert entry.data[CONF_PASSWORD] == "new"
        await hass.async_block_till_done()


async def test_reconfigure(
    hass: HomeAssistant, current_sim: Simulator, goplug_sim: Simulator
) -> None:
    """Only the same charger can be moved to a new address."""
    entry = await add_charger(hass, current_sim)
    result = await _start_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: goplug_sim.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"

    result = await _start_reconfigure(hass, entry)
    await current_sim.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: current_sim.host}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    await current_sim.start()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: current_sim.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_options_flow(hass: HomeAssistant, goplug_sim: Simulator) -> None:
    """Poll interval and persistence are saved and take effect on reload."""
    entry = await add_charger(hass, goplug_sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30, CONF_PERSIST_MAX_CURRENT: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_SCAN_INTERVAL: 30, CONF_PERSIST_MAX_CURRENT: True}
    assert entry.runtime_data.coordinator.update_interval.total_seconds() == 30


async def test_reconfigure_never_shows_or_silently_drops_the_password(
    hass: HomeAssistant,
) -> None:
    """The stored password stays on the server; removing it is a choice."""
    async with start_simulator("current", username="admin", password="secret") as sim:
        entry = await add_charger(hass, sim, username="admin", password="secret")
        result = await _start_reconfigure(hass, entry)
        shown = shown_values(result)
        assert "secret" not in shown.values()
        assert shown[CONF_USERNAME] == "admin"
        assert shown["remove_password"] is False
        # Nothing typed: the stored password is kept (and still works).
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: sim.host, CONF_USERNAME: "admin"}
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_PASSWORD] == "secret"
        await hass.async_block_till_done()
        # A new password and the removal at once: which one was meant?
        result = await _start_reconfigure(hass, entry)
        flow_id = result["flow_id"]
        both = {
            CONF_HOST: sim.host,
            CONF_PASSWORD: "other",
            "remove_password": True,
        }
        result = await hass.config_entries.flow.async_configure(flow_id, both)
        assert result["errors"] == {"remove_password": "password_and_remove"}
        assert "other" not in shown_values(result).values()
        # Removing it while the charger still asks for one: refused.
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host, "remove_password": True}
        )
        assert result["errors"] == {"base": "auth_required"}
        sim.credentials = None
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_HOST: sim.host, "remove_password": True}
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.data == {CONF_HOST: sim.host}
        await hass.async_block_till_done()
        # Without a stored password there is nothing to remove.
        result = await _start_reconfigure(hass, entry)
        assert "remove_password" not in shown_values(result)
