"""Wall-clock jumps (an NTP correction by hours) change timestamps, never durations."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.commands import sign_command
from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import TOPICS, GatewayProcess, Upstream, gateway_config

BANK = """
[simulation]
time_scale = 60

[[devices]]
kind = "locker_bank"
id = "lockers-1"
sample_period_s = 30
report_period_s = 600
bus = { clock = 14, data_out = 15, latch = 7, load = 0, data_in = 1, outputs = 8, inputs = 8 }

[[devices.compartments]]
id = "C01"
size = "M"
class = "chilled"
lock = 0
door = 0
cooling = 1
probe = "28-00000c0c0c01"
"""


@pytest.fixture
def complex_(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[Any, str]
) -> Iterator[GatewayProcess]:
    config = tmp_path / "gateway.toml"
    config.write_text(
        gateway_config(
            tmp_path / "data", broker.port, public_key=key_pair[1], report_period_s=60, extra=BANK
        )
    )
    process = GatewayProcess(config)
    yield process
    process.close()


def gateway_telemetry(upstream: Upstream) -> list[dict[str, Any]]:
    return [e for e in upstream.envelopes("telemetry") if e["device"] == "gateway"]


async def test_ntp_jumps_of_a_day_neither_hurry_nor_repeat_anything(
    complex_: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    complex_.start()
    await upstream.wait_for(lambda: len(gateway_telemetry(upstream)) >= 2, timeout=20)
    topic = TOPICS.command("lockers-1", "deposit")
    args = {"size": "M", "class": "chilled", "delivery_ref": "D-1"}
    await upstream.send("lockers-1", "deposit", sign_command(key_pair[0], topic, "d1", args))
    await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("event") if e["data"]["event"] == "delivery_ready"]
    )
    sock = control_socket(complex_.config_file.parent / "data")
    await asyncio.sleep(5)
    before = len(gateway_telemetry(upstream))
    await request(sock, {"action": "clock_jump", "args": {"hours": 30}})
    await asyncio.sleep(5)
    await request(sock, {"action": "clock_jump", "args": {"hours": -30}})
    await asyncio.sleep(5)
    reports = gateway_telemetry(upstream)[before - 1 :]
    stamps = [datetime.fromisoformat(e["ts"]) for e in reports]
    # Every simulated minute a report, jumps or not: between two reports a minute of
    # simulated time (the wall stamps moved by the jumps, taken back out). Judged on the
    # simulation's own time, so a busy machine (which slows it) does not change the verdict.
    day_and_more = 30 * 3600
    gaps = []
    for earlier, later in itertools.pairwise(stamps):
        gap = (later - earlier).total_seconds()
        gap -= day_and_more * round(gap / day_and_more)
        gaps.append(gap)
    assert len(gaps) >= 3, gaps
    assert all(30 <= gap <= 90 for gap in gaps), gaps  # neither hurried nor held back
    assert max(stamps) - min(stamps) > (stamps[-1] - stamps[0])  # it did see the jump
    names = {e["data"]["event"] for e in upstream.envelopes("event")}
    assert "uncollected" not in names  # the parcel is minutes old, whatever the wall says
    assert "cold_chain_excursion" not in names
