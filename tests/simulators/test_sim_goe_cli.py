"""``python -m simulators`` with the go-e Modbus simulator."""

from __future__ import annotations

import asyncio
import io
import socket

import pytest
from pymodbus.client import AsyncModbusTcpClient

from simulators import GoeSimulator, Simulator
from simulators.cli import (
    build_parser,
    create_goe_simulator,
    create_simulators,
    main,
    render_table,
    serve,
)
from tests.simulators.sim_helpers import until

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


def test_goe_runs_by_default_on_8502() -> None:
    args = build_parser().parse_args([])
    goe = create_goe_simulator(args)
    assert goe is not None
    assert (goe.ip, goe.port, goe.realtime) == ("127.0.0.1", 8502, True)
    assert len(create_simulators(args)) == 3


def test_kind_selects_goe() -> None:
    args = build_parser().parse_args(
        ["--kind", "goe", "--goe-port", "9502", "--no-ticker", "--tick", "2"]
    )
    assert create_simulators(args) == []
    goe = create_goe_simulator(args)
    assert goe is not None
    assert (goe.port, goe.realtime, goe.tick_seconds) == (9502, False, 2)
    args = build_parser().parse_args(["--kind", "legacy"])
    assert create_goe_simulator(args) is None
    assert [sim.kind for sim in create_simulators(args)] == ["legacy"]


def test_table_lists_goe() -> None:
    table = render_table([Simulator("current", port=8101)], GoeSimulator(port=8502))
    assert "goe      modbus://127.0.0.1:8502" in table
    assert "go-eCharger, firmware 60.4 (Modbus TCP, unit 1)" in table
    assert "mbpoll -m tcp -0 -1 -t 3 -r 100 -c 60 -p 8502 127.0.0.1" in table
    assert table.endswith("Ctrl-C stops.\n")
    assert "modbus://" not in render_table([Simulator("current", port=8101)])


async def test_serve_goe_plugged_in() -> None:
    args = build_parser().parse_args(
        ["--kind", "goe", "--goe-port", "0", "--plugged", "--tick", "0.05"]
    )
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(serve(args, stop, out))
    await until(lambda: "Ctrl-C" in out.getvalue())
    url = out.getvalue().splitlines()[2].split()[1]
    host, port = url.removeprefix("modbus://").split(":")
    client = AsyncModbusTcpClient(host, port=int(port), timeout=1, retries=0)
    try:
        assert await client.connect()
        response = await client.read_input_registers(100)
        assert response.registers == [2]  # plugged in and charging
    finally:
        client.close()
    stop.set()
    await task
    assert out.getvalue().endswith("stopped\n")


def test_main_runs_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ANY_PORT, "--duration", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "goe      modbus://127.0.0.1:" in out
    assert "goplug" in out


def test_main_reports_a_busy_goe_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["--kind", "goe", "--goe-port", port, "--duration", "0"]) == 1
    assert "cannot start" in capsys.readouterr().err


def test_main_without_goe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kind", "current", "--current-port", "0", "--duration", "0"]) == 0
    out = capsys.readouterr().out
    assert "modbus://" not in out
    assert out.endswith("stopped\n")
