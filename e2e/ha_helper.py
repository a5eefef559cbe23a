"""Helpers for scripts/e2e that need Home Assistant's Python (run with .venv/bin/python).

Usage:
  ha_helper.py free-ports N                  print N free TCP ports on 127.0.0.1
  ha_helper.py seed-http CONFIG_DIR PORT     write CONFIG_DIR/.storage/http (127.0.0.1:PORT)
  ha_helper.py wait URL SECONDS [PID]        wait until Home Assistant answers on URL
  ha_helper.py onboard URL USER PASSWORD     run every onboarding step through the API
  ha_helper.py goe-state PORT                print the go-e simulator's registers as JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from typing import Any

COUNTRY = "DE"
LANGUAGE = "en"


def free_ports(count: int) -> list[int]:
    """Ask the kernel for COUNT distinct free ports (all sockets held until the end)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def seed_http(config_dir: str, port: int) -> None:
    """Write confirmed HTTP settings with HA's own schema, as scripts/develop does."""
    from homeassistant.components.http import config as c  # noqa: PLC0415
    from homeassistant.util import dt as dt_util  # noqa: PLC0415

    stable = {
        **c.HTTP_STORAGE_SCHEMA({"server_host": ["127.0.0.1"], "server_port": port}),
        "created_at": dt_util.utcnow().isoformat(),
        "error": None,
        "error_message": None,
    }
    doc = {
        "version": c.STORAGE_VERSION,
        "minor_version": c.STORAGE_MINOR_VERSION,
        "key": c.STORAGE_KEY,
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    path = os.path.join(config_dir, ".storage", "http")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)


async def wait(url: str, seconds: float, pid: int | None) -> None:
    """Wait for /api/onboarding to answer 200 (HA is up and the frontend is served)."""
    import aiohttp  # noqa: PLC0415

    deadline = time.monotonic() + seconds
    last = "no answer"
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if pid is not None:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    sys.exit(f"Home Assistant (pid {pid}) exited while starting")
            try:
                async with session.get(
                    f"{url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as err:
                last = repr(err)
            await asyncio.sleep(0.5)
    sys.exit(f"Home Assistant did not answer on {url} within {seconds:.0f} s ({last})")


async def onboard(url: str, user: str, password: str) -> None:
    """User, token, core config (+ country over the websocket), analytics, integration."""
    import aiohttp  # noqa: PLC0415

    client_id = f"{url}/"
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def post(path: str, body: Any, token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with session.post(url + path, json=body, headers=headers) as resp:
                text = await resp.text()
                if resp.status != 200:
                    sys.exit(f"onboarding: POST {path} -> HTTP {resp.status}: {text}")
                return json.loads(text) if text else None

        steps = await (await session.get(f"{url}/api/onboarding")).json()
        if any(step["done"] for step in steps):
            sys.exit(
                f"onboarding: this Home Assistant is already (partly) onboarded: {steps}"
            )
        created = await post(
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "E2E Tester",
                "username": user,
                "password": password,
                "language": LANGUAGE,
            },
        )
        async with session.post(
            f"{url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": client_id,
            },
        ) as resp:
            if resp.status != 200:
                sys.exit(
                    f"onboarding: /auth/token -> HTTP {resp.status}: {await resp.text()}"
                )
            token = (await resp.json())["access_token"]

        # Without a country HA raises a repair issue ("country not configured").
        async with session.ws_connect(f"{url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                sys.exit(f"onboarding: websocket auth failed: {auth}")
            await ws.send_json(
                {
                    "id": 1,
                    "type": "config/core/update",
                    "country": COUNTRY,
                    "unit_system": "metric",
                    "currency": "EUR",
                    "time_zone": "Europe/Berlin",
                }
            )
            result = await ws.receive_json()
            if not result.get("success"):
                sys.exit(f"onboarding: config/core/update failed: {result}")

        await post("/api/onboarding/core_config", {}, token)
        await post("/api/onboarding/analytics", {}, token)
        await post(
            "/api/onboarding/integration",
            {"client_id": client_id, "redirect_uri": f"{url}/?auth_callback=1"},
            token,
        )
        await remove_onboarding_entries(session, url, token)
        steps = await (await session.get(f"{url}/api/onboarding")).json()
        if not all(step["done"] for step in steps):
            sys.exit(f"onboarding: steps left: {steps}")


# Finishing the core_config step starts these integrations' flows in the background;
# they need the internet (radio_browser retries forever without it) and clutter the
# screenshots, so the test removes them again.
ONBOARDING_DOMAINS = frozenset(
    {"google_translate", "met", "radio_browser", "shopping_list"}
)


async def remove_onboarding_entries(session: Any, url: str, token: str) -> None:
    """Wait (bounded) for the onboarding flows to finish, then delete their entries."""
    async with session.ws_connect(f"{url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        await ws.receive_json()
        msg_id = 0

        async def call(msg: dict[str, Any]) -> Any:
            nonlocal msg_id
            msg_id += 1
            await ws.send_json({"id": msg_id, **msg})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == msg_id:
                    if not reply.get("success"):
                        sys.exit(f"onboarding: {msg} failed: {reply}")
                    return reply["result"]

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            flows = await call({"type": "config_entries/flow/progress"})
            if not any(flow["handler"] in ONBOARDING_DOMAINS for flow in flows):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # the tasks may not have started their flows yet
        for entry in await call({"type": "config_entries/get"}):
            if entry["domain"] in ONBOARDING_DOMAINS:
                async with session.delete(
                    f"{url}/api/config/config_entries/entry/{entry['entry_id']}",
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    if resp.status != 200:
                        sys.exit(
                            f"onboarding: deleting {entry['domain']} -> HTTP {resp.status}"
                        )


def goe_state(port: int) -> dict[str, int]:
    """Read the registers the test checks (addresses from simulators/goe.py)."""
    from pymodbus.client import ModbusTcpClient  # noqa: PLC0415

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from simulators import goe  # noqa: PLC0415

    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=1)
    if not client.connect():  # type: ignore[no-untyped-call]
        sys.exit(f"go-e simulator: cannot connect to 127.0.0.1:{port}")
    try:

        def read(address: int) -> int:
            resp = client.read_holding_registers(address, count=1, device_id=1)
            if resp.isError():
                sys.exit(f"go-e simulator: reading register {address} failed: {resp}")
            return int(resp.registers[0])

        return {
            "car_state": read(goe.CAR_STATE),
            "allow": read(goe.ALLOW),
            "ampere_volatile": read(goe.AMPERE_VOLATILE),
            "ampere_eeprom": read(goe.AMPERE_EEPROM),
            "ampere_max": read(goe.AMPERE_MAX),
        }
    finally:
        client.close()  # type: ignore[no-untyped-call]


def main(argv: list[str]) -> None:
    """Dispatch the sub-command."""
    match argv:
        case ["free-ports", count]:
            sys.stdout.write(" ".join(map(str, free_ports(int(count)))) + "\n")
        case ["seed-http", config_dir, port]:
            seed_http(config_dir, int(port))
        case ["wait", url, seconds, *pid]:
            asyncio.run(wait(url, float(seconds), int(pid[0]) if pid else None))
        case ["onboard", url, user, password]:
            asyncio.run(onboard(url, user, password))
        case ["goe-state", port]:
            sys.stdout.write(json.dumps(goe_state(int(port))) + "\n")
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
