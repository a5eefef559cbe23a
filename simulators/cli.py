"""``python -m simulators``: run one simulator of each kind on loopback.

By default ``current`` listens on 8101, ``legacy`` on 8102, ``goplug`` on
8103 and ``goe`` (Modbus TCP) on 8502, with a real-time ticker advancing the
models once a second. A table of
what runs where, and curl commands to drive it, is printed at start-up.
Ctrl-C or SIGTERM stops everything cleanly.

``--ocpp URL`` also starts ``--ocpp-count`` Blink MQ 200 charge points that
dial the OCPP central system at URL (without ``--kind``, only those run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from .device import DeviceKind, DeviceOptions
from .goe import DEFAULT_PORT as GOE_DEFAULT_PORT
from .goe import GOE_KIND, GoeSimulator
from .ocpp_mq200 import Mq200Simulator, start_fleet, stop_fleet
from .server import Simulator

DEFAULT_PORTS = {
    DeviceKind.CURRENT: 8101,
    DeviceKind.LEGACY: 8102,
    DeviceKind.GOPLUG: 8103,
}


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description=(
            "Simulated OpenEVSE (current, legacy), GoPlug and go-e (Modbus) chargers."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    for kind, port in DEFAULT_PORTS.items():
        parser.add_argument(
            f"--{kind}-port", type=int, default=port, help=f"port of {kind} (0: any)"
        )
    parser.add_argument(
        "--goe-port",
        type=int,
        default=GOE_DEFAULT_PORT,
        help="Modbus TCP port of goe (0: any)",
    )
    parser.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        choices=[*(str(kind) for kind in DeviceKind), GOE_KIND],
        help="run only this kind (repeatable; default: all four)",
    )
    parser.add_argument("--username", help="require HTTP Basic auth with this user")
    parser.add_argument("--password", default="", help="password for --username")
    parser.add_argument(
        "--tick", type=float, default=1.0, help="seconds between model updates"
    )
    parser.add_argument(
        "--no-ticker", action="store_true", help="freeze time (drive it via /sim)"
    )
    parser.add_argument(
        "--reboot-seconds", type=float, default=5.0, help="downtime of a reboot"
    )
    parser.add_argument(
        "--plugged", action="store_true", help="start with a car plugged in"
    )
    parser.add_argument(
        "--uppercase-hex", action="store_true", help="upper-case hex in $GS/$GE/$GF"
    )
    parser.add_argument(
        "--ocpp",
        metavar="URL",
        help="start Blink MQ 200s (OCPP 1.6J) against this central system URL",
    )
    parser.add_argument(
        "--ocpp-count", type=int, default=1, help="how many MQ 200s (with --ocpp)"
    )
    parser.add_argument(
        "--ocpp-prefix", default="MQ200-", help="charge point ids: <prefix>001..."
    )
    parser.add_argument(
        "--ocpp-password", default=None, help="Basic auth password of every MQ 200"
    )
    parser.add_argument(
        "--ocpp-meter-interval",
        type=int,
        default=10,
        help="initial MeterValueSampleInterval of the MQ 200s",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    return parser


def create_simulators(args: argparse.Namespace) -> list[Simulator]:
    """Create (without starting) the simulators the arguments ask for."""
    if getattr(args, "ocpp", None) and not args.kinds:
        return []
    kinds = (
        [DeviceKind(kind) for kind in args.kinds if kind != GOE_KIND]
        if args.kinds
        else list(DeviceKind)
    )
    options = DeviceOptions(lowercase_hex=not args.uppercase_hex)
    return [
        Simulator(
            kind,
            host=args.host,
            port=getattr(args, f"{kind}_port"),
            username=args.username,
            password=args.password,
            options=options,
            realtime=not args.no_ticker,
            tick_seconds=args.tick,
            reboot_seconds=args.reboot_seconds,
        )
        for kind in dict.fromkeys(kinds)
    ]


def create_goe_simulator(args: argparse.Namespace) -> GoeSimulator | None:
    """Create (without starting) the go-e simulator, unless left out by --kind."""
    if getattr(args, "ocpp", None) and not args.kinds:
        return None
    if args.kinds and GOE_KIND not in args.kinds:
        return None
    return GoeSimulator(
        host=args.host,
        port=args.goe_port,
        realtime=not args.no_ticker,
        tick_seconds=args.tick,
        reboot_seconds=args.reboot_seconds,
    )


def render_table(
    sims: Sequence[Simulator],
    goe: GoeSimulator | None = None,
    mq200s: Sequence[Mq200Simulator] = (),
) -> str:
    """Describe what runs where, and how to drive it."""
    lines = [f"{'kind':<8} {'url':<24} device", f"{'-' * 8} {'-' * 24} {'-' * 40}"]
    lines += [f"{sim.kind!s:<8} {sim.url:<24} {sim.describe()}" for sim in sims]
    if goe is not None:
        lines.append(f"{goe.kind:<8} {goe.url:<24} {goe.describe()}")
    lines += [f"{mq.kind:<8} {mq.url:<24} {mq.describe()}" for mq in mq200s]
    lines += ["", "Drive them with curl (GET <url>/sim lists every action):"]
    for sim in sims:
        lines.append(f"  # {sim.kind}")
        lines += [f"  {example}" for example in sim.device.curl_examples(sim.url)]
        lines += [
            f"  curl -X POST {sim.url}/sim/plug",
            f"  curl -X POST '{sim.url}/sim/fault?kind=gfci'",
            f"  curl -X POST '{sim.url}/sim/reboot?seconds=5'",
            f"  curl {sim.url}/sim/state",
        ]
    if goe is not None:
        # mbpoll -0: 0-based addresses as in the go-e document; -t 3 input,
        # -t 4:int holding. One value written is function 6, which the
        # charger (and the simulator) refuses: write 299..300 together.
        where = f"-p {goe.port} {goe.host}"
        lines += [
            "  # goe (Modbus TCP, unit 1; no HTTP control: --plugged plugs a car in)",
            f"  mbpoll -m tcp -0 -1 -t 3 -r 100 -c 60 {where}",
            f"  mbpoll -m tcp -0 -1 -t 4 -r 200 -c 19 {where}",
            f"  mbpoll -m tcp -0 -1 -t 4 -r 299 {where} -- 10 16",
        ]
    lines += ["", "Ctrl-C stops."]
    return "\n".join(lines) + "\n"


async def serve(args: argparse.Namespace, stop: asyncio.Event, out: TextIO) -> None:
    """Run the simulators until ``stop`` is set (or ``--duration`` passes)."""
    sims = create_simulators(args)
    goe = create_goe_simulator(args)
    mq200s: list[Mq200Simulator] = []
    try:
        for sim in sims:
            await sim.start()
            if args.plugged:
                sim.model.plug_in()
        if goe is not None:
            await goe.start()
            if args.plugged:
                goe.model.plug_in()
        if getattr(args, "ocpp", None):
            password = args.ocpp_password
            mq200s = await start_fleet(
                args.ocpp,
                args.ocpp_count,
                prefix=args.ocpp_prefix,
                password_for=lambda _cp_id: password,
                meter_interval=args.ocpp_meter_interval,
                plugged=args.plugged,
                # Home Assistant's central system may not listen yet.
                wait=False,
            )
        out.write(render_table(sims, goe, mq200s))
        out.flush()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.duration):
                await stop.wait()
    finally:
        for sim in sims:
            await sim.close()
        if goe is not None:
            await goe.close()
        await stop_fleet(mq200s)
        out.write("stopped\n")
        out.flush()


async def _run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(args, stop, sys.stdout)
    except OSError as err:
        sys.stderr.write(f"cannot start the simulators: {err}\n")
        return 1
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators``."""
    return asyncio.run(_run(build_parser().parse_args(argv)))
