"""Waste bins on the simulated complex, seen from upstream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import GatewayProcess, Upstream, crash_and_recover, gateway_config

BINS = """
[simulation]
time_scale = 60

[[devices]]
kind = "bin"
id = "bin-1"
trigger_pin = 17
echo_pin = 27
empty_distance_m = 1.0
full_distance_m = 0.1
sample_period_s = 30
report_period_s = 120

[[devices]]
kind = "bin"
id = "bin-2"
trigger_pin = 5
echo_pin = 6
sample_period_s = 30
report_period_s = 120
"""


@pytest.fixture
def complex_(tmp_path: Path, broker: MosquittoBroker) -> Iterator[GatewayProcess]:
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", broker.port, report_period_s=5, extra=BINS))
    process = GatewayProcess(config)
    process.start()
    yield process
    process.close()


def world(process: GatewayProcess) -> Path:
    return control_socket(process.config_file.parent / "data")


def events(upstream: Upstream, device: str, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in upstream.envelopes("event")
        if e["device"] == device and e["data"]["event"] == name
    ]


async def test_full_then_emptied_then_full_again_once_per_filling(
    complex_: GatewayProcess, upstream: Upstream
) -> None:
    await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("telemetry") if e["device"] == "bin-1"], timeout=20
    )
    sock = world(complex_)
    # 2 % per simulated minute: from 60 % to the 80 % threshold in about ten real seconds.
    await request(
        sock,
        {
            "model": "bin-1",
            "action": "set",
            "args": {"fill_percent": 60, "steady_pph": 120, "spurious": 0.1},
        },
    )
    full = await upstream.wait_for(lambda: events(upstream, "bin-1", "bin_full"), timeout=40)
    assert full[0]["data"]["fill_percent"] >= 80
    predicted = [
        t
        for t in upstream.envelopes("telemetry")
        if t["device"] == "bin-1" and t["seq"] < full[0]["seq"] and t["data"]["full_at"] is not None
    ]
    assert predicted, "no telemetry predicted full_at before the bin was full"
    assert predicted[-1]["data"]["fill_rate_pph"] == pytest.approx(120, rel=0.35)

    await request(sock, {"model": "bin-1", "action": "set", "args": {"fill_percent": 90}})
    await asyncio.sleep(3)
    assert len(events(upstream, "bin-1", "bin_full")) == 1, "one bin_full per filling"

    await request(sock, {"model": "bin-1", "action": "set", "args": {"steady_pph": 0}})
    await request(sock, {"model": "bin-1", "action": "empty"})
    emptied = await upstream.wait_for(lambda: events(upstream, "bin-1", "bin_emptied"))
    assert emptied[0]["data"]["fill_before"] >= 80 and emptied[0]["data"]["fill_percent"] <= 5
    await request(sock, {"model": "bin-1", "action": "set", "args": {"fill_percent": 50}})
    await asyncio.sleep(3)
    assert len(events(upstream, "bin-1", "bin_full")) == 1, "bin_full before the threshold"
    await request(sock, {"model": "bin-1", "action": "set", "args": {"fill_percent": 85}})
    again = await upstream.wait_for(
        lambda: e if len(e := events(upstream, "bin-1", "bin_full")) == 2 else None
    )
    assert again[1]["seq"] > emptied[0]["seq"]
    assert events(upstream, "bin-2", "bin_full") == []


async def test_a_dead_ranger_is_a_fault_while_everything_else_keeps_reporting(
    complex_: GatewayProcess, upstream: Upstream
) -> None:
    await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("telemetry") if e["device"] == "bin-2"], timeout=20
    )
    sock = world(complex_)
    await request(sock, {"model": "bin-1", "action": "set", "args": {"dead": True}})
    fault = await upstream.wait_for(lambda: events(upstream, "bin-1", "sensor_fault"))
    assert fault[0]["data"]["severity"] == "warning"
    states = [s for s in upstream.envelopes("state") if s["device"] == "bin-1"]
    assert states[-1]["data"]["available"] is False

    def others_after_fault() -> set[str]:
        return {
            t["device"]
            for t in upstream.envelopes("telemetry")
            if t["seq"] > fault[0]["seq"] and t["device"] != "bin-1"
        }

    assert await upstream.wait_for(lambda: others_after_fault() == {"bin-2", "gateway"})

    await request(sock, {"model": "bin-1", "action": "set", "args": {"dead": False}})
    await upstream.wait_for(lambda: events(upstream, "bin-1", "sensor_recovered"))
    await upstream.wait_for(
        lambda: [
            s
            for s in upstream.envelopes("state")
            if s["device"] == "bin-1" and s["seq"] > fault[0]["seq"] and s["data"]["available"]
        ]
    )
    assert complex_.alive


async def test_fire_and_a_lid_left_open(
    tmp_path: Path, broker: MosquittoBroker, upstream: Upstream
) -> None:
    extra = BINS.replace(
        'id = "bin-2"',
        'id = "bin-2"\ntemperature_sensor = "28-00000a1b2c02"\nlid_pin = 22\nlid_open_max_s = 120',
    )
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", broker.port, extra=extra))
    process = GatewayProcess(config)
    process.start()
    try:
        await upstream.wait_for(
            lambda: [t for t in upstream.envelopes("telemetry") if t["device"] == "bin-2"],
            timeout=20,
        )
        first = next(t for t in upstream.envelopes("telemetry") if t["device"] == "bin-2")
        assert first["data"]["lid_open"] is False
        assert 10 < first["data"]["temperature_c"] < 30
        await request(
            world(process),
            {"model": "bin-2", "action": "set", "args": {"lid_open": True, "fire": True}},
        )
        fire = await upstream.wait_for(lambda: events(upstream, "bin-2", "fire_suspected"))
        assert fire[0]["data"]["severity"] == "critical"
        lid = await upstream.wait_for(lambda: events(upstream, "bin-2", "lid_open"))
        assert lid[0]["data"]["open_s"] >= 120
        await asyncio.sleep(2)
        assert len(events(upstream, "bin-2", "fire_suspected")) == 1
        assert len(events(upstream, "bin-2", "lid_open")) == 1
        assert events(upstream, "bin-1", "fire_suspected") == []
    finally:
        process.close()


async def test_a_crashed_bin_driver_is_restarted_and_reports_again(
    complex_: GatewayProcess, upstream: Upstream
) -> None:
    await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("telemetry") if e["device"] == "bin-1"], timeout=20
    )
    lines = await crash_and_recover(complex_, upstream, "bin-1")
    assert set(lines) >= {"GPIO17", "GPIO27"}, lines
    await request(
        world(complex_), {"model": "bin-1", "action": "set", "args": {"fill_percent": 90}}
    )
    full = await upstream.wait_for(lambda: events(upstream, "bin-1", "bin_full"), timeout=40)
    assert full[0]["data"]["fill_percent"] >= 80
    assert not events(upstream, "bin-2", "driver_crashed")  # the other bin never stopped
