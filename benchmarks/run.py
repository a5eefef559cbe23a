"""``python -m benchmarks``: measure, print the table, write the results.

Writes ``benchmarks/results.md`` (the table and how it was made, meant to be
committed) and the raw data to ``benchmarks/results/<UTC time>.json`` (git
ignored). Takes about three minutes (the fault day two of them); nothing here
asserts a time.

What is compared: EVSE Local (this repository) and python-openevse-http, the
library behind Home Assistant's core ``openevse`` integration and the HACS
``firstof9/openevse`` one, on the three simulated chargers of ``simulators/``;
and on the go-e Modbus simulator, EVSE Local next to a YAML Modbus setup that
reads one register per entity (``benchmarks/goe.py``); and a simulated solar
day, EVSE Local's energy controller next to the usual automation and an
ideal follower (``benchmarks/solar_day.py``, also written alone to
``benchmarks/results/solar_day.md``); and a fault day, a charging group
under seeded random faults before and after the circuit-safety change
(``benchmarks/fault_day.py``, also written alone to
``benchmarks/results/fault_day.md``); and a simulated year of day-ahead
prices, the charging planner next to charging at once, the N cheapest slots
and the offline optimum (``benchmarks/planner.py``, also written alone to
``benchmarks/results/planner.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import time
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .common import KINDS, Traffic, Unavailable
from .evse_local import measure_kind as measure_evse_local
from .evse_local import push_alone as evse_local_push_alone
from .fault_day import markdown as fault_day_markdown
from .fault_day import measure_fault_day
from .goe import measure_goe
from .in_hass import (
    EVSE_LOCAL,
    OPENEVSE,
    HassLatency,
    evse_local_latency,
    home_assistant,
    openevse_latency,
    openevse_legacy_setup,
    push_window,
    refresh_cost,
)
from .planner import markdown as planner_markdown
from .planner import measure_planner
from .reference import measure_kind as measure_reference
from .reference import probe_compatibility
from .reference import push_alone as reference_push_alone
from .report import Results, markdown, plain
from .solar_day import markdown as solar_day_markdown
from .solar_day import measure_solar_day

HERE = Path(__file__).resolve().parent


def _versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in ("homeassistant", "python-openevse-http", "aiohttp"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    manifest = resources.files("homeassistant.components.openevse") / "manifest.json"
    requirements = json.loads(manifest.read_text(encoding="utf-8"))["requirements"]
    found["core openevse manifest requirement"] = ", ".join(requirements)
    return found


async def collect(args: argparse.Namespace) -> Results:
    """Run every measurement, in an order that keeps them independent."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    settings = {
        "polls": args.polls,
        "reps": args.reps,
        "minutes": args.minutes,
        "changes": args.changes,
    }
    evse_local = {}
    reference = {}
    for kind in KINDS:
        evse_local[kind] = await measure_evse_local(
            kind, polls=args.polls, reps=args.reps, changes=args.changes
        )
        reference[kind] = await measure_reference(
            kind, polls=args.polls, reps=args.reps, changes=args.changes
        )
    goe = await measure_goe(polls=args.polls, reps=args.reps, changes=args.changes)
    solar_day = await measure_solar_day()
    fault_day = await measure_fault_day()
    planner = measure_planner()
    compatibility = await probe_compatibility()
    push_alone = {
        EVSE_LOCAL: await evse_local_push_alone(args.minutes),
        OPENEVSE: await reference_push_alone(args.minutes),
    }

    goplug_na = reference["goplug"].poll
    if not isinstance(goplug_na, Unavailable):  # pragma: no cover - library grew RAPI
        goplug_na = Unavailable("not measured")
    refresh: dict[str, dict[str, Traffic | Unavailable]] = {
        EVSE_LOCAL: {},
        OPENEVSE: {},
    }
    hass_latency: dict[str, dict[str, HassLatency | Unavailable]] = {
        EVSE_LOCAL: {},
        OPENEVSE: {},
    }
    async with home_assistant() as hass:
        push = {
            EVSE_LOCAL: await push_window(hass, EVSE_LOCAL, args.minutes),
            OPENEVSE: await push_window(hass, OPENEVSE, args.minutes),
        }
        for kind in KINDS:
            refresh[EVSE_LOCAL][kind] = await refresh_cost(
                hass, EVSE_LOCAL, kind, args.polls
            )
            hass_latency[EVSE_LOCAL][kind] = await evse_local_latency(
                hass, kind, args.reps
            )
        for kind in ("current", "legacy"):
            refresh[OPENEVSE][kind] = await refresh_cost(
                hass, OPENEVSE, kind, args.polls
            )
        refresh[OPENEVSE]["goplug"] = goplug_na
        hass_latency[OPENEVSE]["current"] = await openevse_latency(hass, args.reps)
        hass_latency[OPENEVSE]["legacy"] = await openevse_legacy_setup(hass)
        hass_latency[OPENEVSE]["goplug"] = goplug_na

    return Results(
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        duration_s=time.perf_counter() - clock,
        versions=_versions(),
        settings=settings,
        evse_local=evse_local,
        reference=reference,
        compatibility=compatibility,
        push=push,
        push_alone=push_alone,
        refresh=refresh,
        hass_latency=hass_latency,
        goe=goe,
        solar_day=solar_day,
        fault_day=fault_day,
        planner=planner,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--polls", type=int, default=20, help="steady polls per kind")
    parser.add_argument(
        "--reps", type=int, default=50, help="repetitions per latency measurement"
    )
    parser.add_argument(
        "--minutes", type=int, default=30, help="simulated minutes of push"
    )
    parser.add_argument(
        "--changes", type=int, default=1000, help="current changes for the wear test"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only; write no files"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show library and Home Assistant logs"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write results.md and the JSON."""
    args = _parser().parse_args(argv)
    # Both clients log every expected failure (404s, refused commands) loudly.
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)
    results = asyncio.run(collect(args))
    text = markdown(results)
    print(text)
    if not args.no_write:
        (HERE / "results.md").write_text(text, encoding="utf-8")
        raw_dir = HERE / "results"
        raw_dir.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        raw = json.dumps(plain(results), indent=2, sort_keys=False) + "\n"
        (raw_dir / f"{stamp}.json").write_text(raw, encoding="utf-8")
        (raw_dir / "latest.json").write_text(raw, encoding="utf-8")
        if results.solar_day is not None:
            (raw_dir / "solar_day.md").write_text(
                solar_day_markdown(results.solar_day), encoding="utf-8"
            )
        if results.fault_day is not None:
            (raw_dir / "fault_day.md").write_text(
                fault_day_markdown(results.fault_day), encoding="utf-8"
            )
        if results.planner is not None:
            (raw_dir / "planner.md").write_text(
                planner_markdown(results.planner), encoding="utf-8"
            )
    return 0
