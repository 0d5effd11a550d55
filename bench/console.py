"""The console's cost: page times with a full history, and the history's write cost.

    uv run python -m bench.console [--days 30] [--requests 40]

In one run, in this process, on the demo complex's devices (not running) with ``--days`` of
history at one reading per device every 5 minutes (the lockers' with 12 compartments) and an
event every 10 minutes:

1. server time per page through the ASGI app (no network), p50 and p95, against a static
   file served by the same app (the baseline: routing, middleware and a file read); goals on
   this machine: the overview p95 <= 50 ms, a 7-day device page p95 <= 250 ms (a Pi 4 is
   about 4x slower);
2. the gateway's event loop while a manager opens the 7-day compartment page over and over:
   how late a 5 ms timer wakes (p99), with the charts drawn on the console's thread (as
   served) against drawing them on the loop itself (the baseline); goal: p99 <= 20 ms;
3. the history's cost per published message (add + batched write), against rendering the
   same message's JSON (the baseline; the outbox renders it once already); goal: <= 3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx2
import numpy as np
from starlette.testclient import TestClient

from bench.lag import lag_p99_ms
from gateway.app import Gateway
from gateway.config import load_config
from gateway.history import History
from gateway.messages import isoformat
from gateway.plugins import console_view
from gateway.web import Console
from gateway.web.devices import device_page

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
STEP_MIN = 5
PASSWORD = "bench-manager-pw"


def readings(kind: str, n: int) -> dict[str, object]:
    """A plausible reading of a device of ``kind``, the ``n``-th of its history."""
    if kind == "bin":
        return {"fill_percent": (n * 0.7) % 100, "distance_m": 0.8, "fill_rate_pph": 2.1,
                "full_at": None, "temperature_c": 14.2}  # fmt: skip
    if kind == "water_station":
        return {"litres_total": n * 1.5, "litres_today": (n * 1.5) % 300, "flow_lpm": 0.0,
                "tds_ppm": 41.0, "water_temp_c": 12.5, "filter_remaining_percent": 80.0,
                "valve_open": True}  # fmt: skip
    if kind == "locker_bank":
        rows = [{"id": f"C{i:02d}", "class": "chilled", "temperature_c": 3 + (n + i) % 3,
                 "setpoint_c": 3.0, "cooling_on": n % 2 == 0, "door_open": False,
                 "occupied": i % 3 == 0} for i in range(1, 13)]  # fmt: skip
        return {"compartments": rows}
    if kind == "entry":
        return {"door_open": False, "locked": True, "frames_per_s": 29.8, "residents": 40}
    return {"cpu_temp_c": 52.0, "load_1m": 0.4, "memory_used_percent": 31.0,
            "disk_free_percent": 70.0, "outbox_depth": 0}  # fmt: skip


def fill(gateway: Gateway, days: float) -> int:
    history = gateway.history
    now = gateway.clock.now()
    steps = int(days * 24 * 60 / STEP_MIN)
    views = history.views()
    layout = {f"C{i:02d}": {"size": "M", "class": "chilled", "band_c": [0, 5]} for i in range(13)}
    for view in views:
        state: dict[str, object] = {"available": True, "name": view.id}
        if view.kind == "locker_bank":
            state |= {"compartments": layout, "excursions": [], "held": 4}
        history.add(view.id, view.kind, "state", isoformat(now), state)
    for n in range(steps):
        ts = isoformat(now - timedelta(minutes=(steps - n) * STEP_MIN))
        for view in views:
            history.add(view.id, view.kind, "telemetry", ts, readings(view.kind, n))
        if n % 2 == 0:
            event = {"event": "bin_full", "severity": "warning", "fill_percent": 81}
            history.add(views[n % len(views)].id, "bin", "event", ts, event)
        if n % 1000 == 0:
            history.flush()
    history.flush()
    count: int = gateway.db.conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    return count


def timed(client: TestClient, path: str, requests: int) -> list[float]:
    client.get(path)  # warm: templates compiled, pages cached by SQLite
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def pages(console: Console, requests: int) -> None:
    with TestClient(console.app) as client:
        form = client.get("/login").text
        token = form.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD})
        base = timed(client, "/static/console.css", requests)
        base_p50 = statistics.median(base)
        print(f"\n1. page times ({requests} requests each), ms")
        print(f"{'page':<44} {'p50':>7} {'p95':>7} {'p50 ratio':>10}")
        print(f"{'/static/console.css (baseline)':<44} {base_p50:7.2f} "
              f"{np.percentile(base, 95):7.2f} {1.0:10.1f}")  # fmt: skip
        for path in (
            "/",
            "/events",
            "/devices/lockers-a?hours=168&compartment=C08",
            "/devices/bin-north-1?hours=168",
            "/devices/water-1?hours=168",
            "/residents",
            "/audit",
        ):
            t = timed(client, path, requests)
            p50 = statistics.median(t)
            print(f"{path:<44} {p50:7.2f} {np.percentile(t, 95):7.2f} {p50 / base_p50:10.1f}")


async def lag(console: Console, gateway: Gateway, requests: int) -> None:
    path = "/devices/lockers-a?hours=168&compartment=C08"
    transport = httpx2.ASGITransport(app=console.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = (await client.get("/login")).text
        token = form.split('name="csrf" value="')[1].split('"')[0]
        data = {"csrf": token, "name": "bench", "password": PASSWORD}
        await client.post("/login", data=data)

        async def measured(work: Callable[[], Awaitable[None]]) -> float:
            async def repeated() -> None:
                for _ in range(requests // 4):
                    await work()
                    await asyncio.sleep(0.01)

            return await lag_p99_ms(repeated)

        async def served() -> None:
            assert (await client.get(path)).status_code == 200

        async def on_the_loop() -> None:
            since = gateway.clock.now() - timedelta(hours=168)
            readings = gateway.history.readings("lockers-a", since)
            view = gateway.history.view("lockers-a")
            assert view is not None
            device_page(view, readings, console_view("locker_bank"), {"compartment": "C08"})

        inline = await measured(on_the_loop)
        threaded = await measured(served)
    print(
        f"\n2. event-loop lag p99 while the 7-day compartment page is drawn ({requests // 4} times)"
    )
    print(f"charts on the loop (baseline): {inline:.1f} ms; on the console's thread: "
          f"{threaded:.1f} ms; ratio {threaded / inline:.2f} (goal <= 20 ms)")  # fmt: skip


def writes(tmp: Path) -> None:
    config = load_config(DEMO)
    config.data_dir = tmp / "writes"
    gateway = Gateway(config)
    history: History = gateway.history
    messages = [readings("locker_bank", n) for n in range(5000)]
    start = time.perf_counter()
    for m in messages:
        json.dumps(m)
    baseline = (time.perf_counter() - start) / len(messages) * 1e6
    start = time.perf_counter()
    for n, m in enumerate(messages):
        history.add("lockers-a", "locker_bank", "telemetry", isoformat(gateway.clock.now()), m)
        if n % 100 == 99:  # about one flush per FLUSH_S on a busy complex
            history.flush()
    history.flush()
    cost = (time.perf_counter() - start) / len(messages) * 1e6
    print("\n3. history cost per published message (a 12-compartment reading)")
    print(f"JSON of the message (baseline): {baseline:.1f} us; add + batched write: "
          f"{cost:.1f} us; ratio {cost / baseline:.1f} (goal <= 3)")  # fmt: skip
    gateway.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-bench-console-") as scratch:
        config = load_config(DEMO)
        config.data_dir = Path(scratch) / "data"
        gateway = Gateway(config)
        start = time.perf_counter()
        rows = fill(gateway, args.days)
        size = gateway.config.database.stat().st_size / 2**20
        print(f"history: {rows:,} rows, {args.days:g} days, database {size:.1f} MB "
              f"(filled in {time.perf_counter() - start:.1f} s)")  # fmt: skip
        console = Console(gateway, gateway.config.web)
        console.users.add("bench", "manager", PASSWORD)
        pages(console, args.requests)
        asyncio.run(lag(console, gateway, args.requests))
        gateway.close()
        writes(Path(scratch))


if __name__ == "__main__":
    main()
