"""A damaged database (a power cut on an SD card) never keeps the gateway from starting."""

from __future__ import annotations

import asyncio
import os

from hil_tests.harness import GatewayProcess, Upstream


async def test_a_garbled_database_is_moved_aside_and_reported_upstream(
    gateway: GatewayProcess, upstream: Upstream
) -> None:
    gateway.start()
    await upstream.wait_for(lambda: [s for s in upstream.statuses() if s.get("boot") == 1])
    await asyncio.to_thread(gateway.kill)
    data = gateway.config_file.parent / "data"
    database = data / "gateway.sqlite3"
    with database.open("r+b") as f:
        f.write(os.urandom(4096))  # the first page, header included, is garbage
    (data / "gateway.sqlite3-wal").unlink(missing_ok=True)

    gateway.start()
    recovered = await upstream.wait_for(
        lambda: [
            e["data"]
            for e in upstream.envelopes("event")
            if e["data"]["event"] == "storage_recovered"
        ]
    )
    assert recovered[0]["severity"] == "critical"
    assert (data / recovered[0]["moved_to"]).exists()
    assert "not a database" in recovered[0]["problem"] or "malformed" in recovered[0]["problem"]
    # It runs on the fresh file: telemetry flows, and it is a new boot history.
    await upstream.wait_for(
        lambda: [s for s in upstream.statuses() if s.get("online") and s.get("boot") == 1][1:]
    )
    assert gateway.alive
