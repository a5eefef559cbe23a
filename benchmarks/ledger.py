"""What the session ledger costs: CPU per reading, bytes kept, statistics export.

One charger's evenings are generated (seeded): a car plugged in at a random
time between 17:00 and 21:00, charging 5-40 kWh at 7.4 kW (single phase,
32 A) until it is unplugged the next morning, with a price that changes every
15 minutes (a dynamic tariff's slots) and a solar share with every reading.
The recorder (``energy/sessions.py``, plain Python) is fed exactly what the
Home Assistant side feeds it: 30 days read every 10 s (the poll interval)
for the CPU time, ten years read every 5 minutes for what is kept. Measured:

- CPU time per reading, while charging and while plugged in but full (the
  recorder runs on every coordinator update, also for a fleet of OCPP
  chargers pushing every second);
- the bytes a kept session takes in the ledger's ``Store``, and the open
  session's state (saved at most once a minute while energy flows);
- the time to recompute the hourly statistics from all kept sessions (done
  once per finished session and at start).

Run with ``python -m benchmarks.ledger`` (about 15 s); it prints a table.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from custom_components.evse_local.energy.sessions import (
    Reading,
    Session,
    SessionEnded,
    SessionRecorder,
    hourly_totals,
)

SEED = 12
POWER_W = 7400.0
SLOT = timedelta(minutes=15)


def _run(days: int, read_seconds: int) -> dict[str, float]:
    rng = random.Random(SEED)
    recorder = SessionRecorder("bench")
    sessions: list[Session] = []
    charging_ns: list[int] = []
    idle_ns: list[int] = []
    open_bytes: list[int] = []
    lifetime = 0.0
    day = datetime(2026, 1, 1, tzinfo=UTC)
    slot_price = 0.25
    next_slot = day
    for _ in range(days):
        plug = day + timedelta(hours=17, minutes=rng.randrange(240))
        unplug = day + timedelta(days=1, hours=7)
        wanted_wh = rng.uniform(5000, 40000)
        now = plug - timedelta(seconds=read_seconds)
        delivered = 0.0
        while now <= unplug + timedelta(seconds=3 * read_seconds):
            while next_slot <= now:
                slot_price = max(-0.05, slot_price + rng.uniform(-0.04, 0.04))
                recorder.set_price(next_slot, slot_price, "EUR")
                next_slot += SLOT
            plugged = plug <= now <= unplug
            step_wh = 0.0
            if plugged and delivered < wanted_wh:
                step_wh = min(POWER_W * read_seconds / 3600, wanted_wh - delivered)
            delivered += step_wh
            lifetime += step_wh
            reading = Reading(
                at=now,
                vehicle_connected=plugged,
                charging=step_wh > 0,
                lifetime_wh=round(lifetime),
                session_wh=delivered,
                solar_share=rng.random() if step_wh else None,
            )
            started = time.perf_counter_ns()
            events = recorder.update(reading)
            elapsed = time.perf_counter_ns() - started
            (charging_ns if step_wh else idle_ns).append(elapsed)
            if step_wh and len(open_bytes) < 1000:
                open_bytes.append(len(json.dumps(recorder.export_state())))
            sessions += [e.session for e in events if isinstance(e, SessionEnded)]
            now += timedelta(seconds=read_seconds)
        day += timedelta(days=1)
    kept = json.dumps({"sessions": [session.as_dict() for session in sessions]})
    begun = time.perf_counter()
    hours = hourly_totals(sessions)
    export_s = time.perf_counter() - begun
    return {
        "sessions": len(sessions),
        "readings": len(charging_ns) + len(idle_ns),
        "charging_us": statistics.median(charging_ns) / 1000,
        "charging_p99_us": statistics.quantiles(charging_ns, n=100)[98] / 1000,
        "idle_us": statistics.median(idle_ns) / 1000,
        "session_bytes": len(kept) / len(sessions),
        "ledger_mb": len(kept) / 1e6,
        "open_bytes": max(open_bytes),
        "hours": len(hours),
        "export_ms": export_s * 1000,
        "energy_error_wh": abs(sum(s.energy_wh for s in sessions) - round(lifetime)),
    }


def main() -> None:
    """Print the table the README quotes."""
    result = _run(30, 10)
    kept = _run(3650, 300)
    for key in ("sessions", "session_bytes", "ledger_mb", "hours", "export_ms"):
        result[key] = kept[key]
    result["energy_error_wh"] = max(result["energy_error_wh"], kept["energy_error_wh"])
    rows = [
        ("Readings fed (30 days every 10 s)", f"{result['readings']:,.0f}"),
        (
            "Recorder CPU per reading while charging, median / p99",
            f"{result['charging_us']:.1f} / {result['charging_p99_us']:.1f} µs",
        ),
        (
            "Recorder CPU per reading, plugged in and full",
            f"{result['idle_us']:.1f} µs",
        ),
        ("Kept session in the ledger Store", f"{result['session_bytes']:.0f} B"),
        (
            f"Ledger Store after 10 years ({result['sessions']:,.0f} sessions)",
            f"{result['ledger_mb']:.2f} MB",
        ),
        ("Open session state (saved ≤ once a minute)", f"{result['open_bytes']} B"),
        (
            f"Hourly statistics recomputed from all sessions ({result['hours']:,} hours)",
            f"{result['export_ms']:.0f} ms",
        ),
        (
            "Energy in sessions vs the counter's rise",
            f"{result['energy_error_wh']:.0f} Wh apart",
        ),
    ]
    print("| Metric | Value |")
    print("| --- | --- |")
    for metric, value in rows:
        print(f"| {metric} | {value} |")


if __name__ == "__main__":
    main()
