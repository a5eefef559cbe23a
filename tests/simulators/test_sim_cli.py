"""``python -m simulators``: argument parsing, the table, clean shutdown."""

from __future__ import annotations

import asyncio
import io
import os
import runpy
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from simulators import Simulator
from simulators.cli import build_parser, create_simulators, main, render_table, serve
from tests.simulators.sim_helpers import until

ROOT = Path(__file__).resolve().parents[2]
ANY_PORT = [
    "--current-port",
    "0",
    "--legacy-port",
    "0",
    "--goplug-port",
    "0",
    "--goe-port",
    "0",
]


def test_defaults_are_fixed_loopback_ports() -> None:
    sims = create_simulators(build_parser().parse_args([]))
    assert [(s.kind, s.port) for s in sims] == [
        ("current", 8101),
        ("legacy", 8102),
        ("goplug", 8103),
    ]
    assert all(s.realtime and s.ip == "127.0.0.1" for s in sims)


def test_options() -> None:
    args = build_parser().parse_args(
        [
            "--kind",
            "goplug",
            "--kind",
            "goplug",
            "--goplug-port",
            "9000",
            "--no-ticker",
            "--uppercase-hex",
            "--username",
            "u",
            "--password",
            "p",
            "--reboot-seconds",
            "2",
        ]
    )
    (sim,) = create_simulators(args)
    assert (sim.kind, sim.port, sim.realtime) == ("goplug", 9000, False)
    assert sim.options.lowercase_hex is False
    assert sim.credentials == ("u", "p")
    assert sim.reboot_seconds == 2


def test_table_lists_urls_and_curl_commands() -> None:
    sims = [
        Simulator(kind, port=8100 + n)
        for n, kind in enumerate(("current", "legacy", "goplug"), 1)
    ]
    table = render_table(sims)
    assert "current  http://127.0.0.1:8101" in table
    assert "OpenEVSE WiFi v5.1.2" in table
    assert "curl -X POST http://127.0.0.1:8103/sim/plug" in table
    assert "curl http://127.0.0.1:8101/status" in table


async def test_serve_until_stopped(session: aiohttp.ClientSession) -> None:
    args = build_parser().parse_args([*ANY_PORT, "--plugged", "--tick", "0.05"])
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(serve(args, stop, out))
    await until(lambda: "Ctrl-C" in out.getvalue())
    url = out.getvalue().splitlines()[2].split()[1]
    async with session.get(url + "/sim/state") as resp:
        state = await resp.json()
    assert state["connected"] is True
    stop.set()
    await task
    assert out.getvalue().endswith("stopped\n")


def test_main_runs_for_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ANY_PORT, "--duration", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "goplug" in out
    assert out.endswith("stopped\n")


def test_module_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["simulators", *ANY_PORT, "--duration", "0"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("simulators", run_name="__main__")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.endswith("stopped\n")


def test_main_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["--kind", "legacy", "--legacy-port", port, "--duration", "0"]) == 1
    assert "cannot start" in capsys.readouterr().err


def test_module_stops_cleanly_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "simulators", *ANY_PORT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait(timeout=10) == 0
    assert "legacy" in "".join(lines)
    assert rest.endswith("stopped\n")
