"""The gateway's own device on the simulated host: readings, events, a dead sensor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim import SimulatedHardware, control_socket
from drivers.sim.control import request
from gateway.app import Gateway
from gateway.config import parse_config


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    config = parse_config(f"""
site = "t"
gateway_id = "gw"
data_dir = "{tmp_path}"
hardware = "simulated"
[simulation]
time_scale = 60
[mqtt]
port = 1
insecure_plaintext = true
reconnect_max_s = 5
[[devices]]
kind = "gateway"
id = "gateway"
report_period_s = 60
sample_period_s = 1
""")
    gw = Gateway(config)
    stop = asyncio.Event()
    task = asyncio.create_task(gw.run(stop))
    await asyncio.sleep(0.3)
    yield gw
    stop.set()
    await task


def published(gw: Gateway, type_: str) -> list[dict[str, Any]]:
    rows = gw.outbox.fetch(0, 100_000)
    return [json.loads(r.payload) for r in rows if r.topic.endswith(f"/{type_}")]


async def until(check: Any, timeout: float = 10) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := check()):
            await asyncio.sleep(0.05)
    return found


async def test_reports_health_while_the_broker_is_unreachable(gateway: Gateway) -> None:
    assert isinstance(gateway.hardware, SimulatedHardware)
    telemetry = await until(lambda: published(gateway, "telemetry"))
    data = telemetry[0]["data"]
    assert 20 < data["cpu_temp_c"] < 90
    assert data["uplink"] in {"connecting", "offline"} and data["boot"] == 1
    assert data["disk_free_mb"] > 0 and data["memory_used_percent"] > 0
    state = published(gateway, "state")[0]
    assert state["data"]["available"] is True


async def test_fan_failure_raises_cpu_hot_and_full_disk_raises_disk_low(
    gateway: Gateway, tmp_path: Path
) -> None:
    sock = control_socket(tmp_path)
    await request(sock, {"model": "host", "action": "set", "args": {"fan_failed": True}})
    # 40 K of extra heat with a 2-minute time constant: hot within a few simulated minutes.
    events = await until(
        lambda: [e for e in published(gateway, "event") if e["data"]["event"] == "cpu_hot"],
        timeout=20,
    )
    assert events[0]["data"]["severity"] == "warning"
    assert events[0]["data"]["cpu_temp_c"] >= 80
    await request(sock, {"model": "host", "action": "set", "args": {"disk_used_percent": 95}})
    low = await until(
        lambda: [e for e in published(gateway, "event") if e["data"]["event"] == "disk_low"]
    )
    assert low[0]["data"]["disk_free_percent"] == pytest.approx(5, abs=0.2)


async def test_a_dead_temperature_sensor_reports_null_and_the_rest_goes_on(
    gateway: Gateway, tmp_path: Path
) -> None:
    sock = control_socket(tmp_path)
    await request(sock, {"model": "host", "action": "set", "args": {"sensor_ok": False}})
    await asyncio.sleep(0.2)
    reading = await until(
        lambda: [t for t in published(gateway, "telemetry") if t["data"]["cpu_temp_c"] is None]
    )
    assert reading[0]["data"]["disk_free_mb"] > 0
    with pytest.raises(RuntimeError, match="unknown host settings"):
        await request(sock, {"model": "host", "action": "set", "args": {"fan": 1}})
    with pytest.raises(RuntimeError, match="no model 'bins'"):
        await request(sock, {"model": "bins", "action": "get"})
