"""Drinking-water stations on the simulated complex, seen from upstream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.commands import sign_command
from gateway.demo.broker import MosquittoBroker
from gateway.mqtt import Observer
from hil_tests.harness import TOPICS, GatewayProcess, Upstream, crash_and_recover, gateway_config

STATIONS = """
[simulation]
time_scale = 10

[[devices]]
kind = "water_station"
id = "water-1"
flow_pin = 23
leak_pin = 24
valve_pin = 25
tds_channel = 0
temperature_sensor = "28-00000b1c2d01"
sample_period_s = 1
report_period_s = 5

[[devices]]
kind = "water_station"
id = "water-2"
flow_pin = 16
leak_pin = 18
valve_pin = 4
sample_period_s = 1
report_period_s = 5
"""


@pytest.fixture
def stations(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[Any, str]
) -> Iterator[GatewayProcess]:
    config = tmp_path / "gateway.toml"
    config.write_text(
        gateway_config(
            tmp_path / "data",
            broker.port,
            report_period_s=5,
            public_key=key_pair[1],
            extra=STATIONS,
        )
    )
    process = GatewayProcess(config)
    yield process
    process.close()


def sock(process: GatewayProcess) -> Path:
    return control_socket(process.config_file.parent / "data")


def telemetry(upstream: Upstream, device: str) -> list[dict[str, Any]]:
    return [t["data"] for t in upstream.envelopes("telemetry") if t["device"] == device]


async def quiet(process: GatewayProcess) -> None:
    """No resident draws water: only the pulses a test sends."""
    for station in ("water-1", "water-2"):
        await request(
            sock(process), {"model": station, "action": "set", "args": {"draws_per_hour": 0}}
        )


async def test_litres_are_exact_to_the_pulse_and_survive_kill_9(
    stations: GatewayProcess, upstream: Upstream
) -> None:
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    await quiet(stations)
    await request(sock(stations), {"model": "water-1", "action": "pulses", "args": {"count": 4507}})
    exact = 4507 / 450
    await upstream.wait_for(
        lambda: any(t["litres_total"] == round(exact, 3) for t in telemetry(upstream, "water-1"))
    )
    await asyncio.sleep(1.5)  # at least one sample (0.1 s real) after the last pulse: stored
    await asyncio.to_thread(stations.kill)
    before = len(upstream.messages)
    stations.start()
    await upstream.wait_for(lambda: any(s.get("boot") == 2 for s in upstream.statuses()))
    after = await upstream.wait_for(
        lambda: [
            m.json()["data"]
            for m in upstream.messages[before:]
            if m.topic == TOPICS.device("water-1", "telemetry")
        ]
    )
    assert after[0]["litres_total"] == round(exact, 3)
    assert after[0]["filter_remaining_percent"] == pytest.approx(100 - exact / 4000 * 100, abs=0.1)


async def test_kill_9_while_water_flows_loses_no_pulse_and_recounts_at_most_a_second(
    stations: GatewayProcess, upstream: Upstream
) -> None:
    # Real time: the flow meter's pulses arrive a few at a time, as from a real tap.
    stations.config_file.write_text(
        stations.config_file.read_text().replace("time_scale = 10", "time_scale = 1")
    )
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    await quiet(stations)
    await request(
        sock(stations), {"model": "water-1", "action": "set", "args": {"stuck_tap": True}}
    )
    await upstream.wait_for(
        lambda: any(t["litres_total"] > 0.3 for t in telemetry(upstream, "water-1")), timeout=20
    )
    await asyncio.sleep(0.5)  # within a sample: pulses counted, not yet reported
    sent = (await request(sock(stations), {"model": "water-1", "action": "get"}))["pulses_sent"]
    await asyncio.to_thread(stations.kill)  # mid-flow
    before = len(upstream.messages)
    stations.start()
    after = await upstream.wait_for(
        lambda: [
            m.json()["data"]
            for m in upstream.messages[before:]
            if m.topic == TOPICS.device("water-1", "telemetry")
        ],
        timeout=20,
    )
    restored = round(after[0]["litres_total"] * 450)
    headroom = 75  # one second at max_flow_lpm = 10 L/min
    between = 10  # pulses of the world ticks between the query and the kill (3 per tick)
    assert restored >= sent, f"{sent - restored} pulses lost"
    assert restored <= sent + headroom + between


async def test_a_leak_closes_the_valve_within_a_second_and_refuses_to_reopen(
    stations: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    await request(
        sock(stations), {"model": "water-1", "action": "set", "args": {"stuck_tap": True}}
    )
    assert (await request(sock(stations), {"model": "water-1", "action": "get"}))["valve_open"]
    started = time.monotonic()
    await request(sock(stations), {"model": "water-1", "action": "set", "args": {"leak": True}})
    while (await request(sock(stations), {"model": "water-1", "action": "get"}))["valve_open"]:
        assert time.monotonic() - started < 1.0, "the valve is still open after 1 s"
        await asyncio.sleep(0.01)
    leak = await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("event") if e["data"]["event"] == "leak_detected"]
    )
    assert leak[0]["device"] == "water-1" and leak[0]["data"]["severity"] == "critical"

    topic = TOPICS.command("water-1", "valve_open")
    await upstream.send("water-1", "valve_open", sign_command(key_pair[0], topic, "open-1", {}))
    refused = await upstream.wait_for(lambda: upstream.replies().get("open-1"))
    assert refused["ok"] is False and refused["error"]["code"] == "refused"
    assert "leak" in refused["error"]["message"]
    assert not (await request(sock(stations), {"model": "water-1", "action": "get"}))["valve_open"]
    # The other station keeps serving water and reporting.
    assert (await request(sock(stations), {"model": "water-2", "action": "get"}))["valve_open"]

    await request(sock(stations), {"model": "water-1", "action": "set", "args": {"leak": False}})
    await upstream.send("water-1", "valve_open", sign_command(key_pair[0], topic, "open-2", {}))
    reopened = await upstream.wait_for(lambda: upstream.replies().get("open-2"))
    assert reopened == {"id": "open-2", "ok": True, "result": {"valve_open": True}}


async def test_a_stuck_tap_is_a_flow_runaway(stations: GatewayProcess, upstream: Upstream) -> None:
    stations.config_file.write_text(
        stations.config_file.read_text().replace(
            'id = "water-2"', 'id = "water-2"\nmax_continuous_flow_s = 60'
        )
    )
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-2"), timeout=20)
    await request(
        sock(stations), {"model": "water-2", "action": "set", "args": {"stuck_tap": True}}
    )
    runaway = await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("event") if e["data"]["event"] == "flow_runaway"],
        timeout=30,
    )
    assert runaway[0]["device"] == "water-2"
    assert runaway[0]["data"]["flowing_s"] >= 60
    assert not (await request(sock(stations), {"model": "water-2", "action": "get"}))["valve_open"]


async def test_water_quality_uv_lamp_and_a_new_filter(
    stations: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    stations.config_file.write_text(
        stations.config_file.read_text().replace(
            'id = "water-1"',
            'id = "water-1"\nuv_pin = 12\ntds_alert_after_s = 30\nfilter_capacity_litres = 20',
        )
    )
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    assert telemetry(upstream, "water-1")[0]["tds_ppm"] == pytest.approx(40, abs=3)
    await quiet(stations)
    await request(
        sock(stations),
        {"model": "water-1", "action": "set", "args": {"base_tds_ppm": 450, "uv_failed": True}},
    )
    await request(
        sock(stations), {"model": "water-1", "action": "pulses", "args": {"count": 450 * 19}}
    )  # 19 of the filter's 20 L

    def event(name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in upstream.envelopes("event")
            if e["device"] == "water-1" and e["data"]["event"] == name
        ]

    quality = await upstream.wait_for(lambda: event("water_quality_alert"), timeout=20)
    assert quality[0]["data"]["tds_ppm"] == pytest.approx(450, rel=0.05)
    assert (await upstream.wait_for(lambda: event("uv_lamp_failed")))[0]["data"][
        "severity"
    ] == "critical"
    due = await upstream.wait_for(lambda: event("filter_change_due"))
    assert due[0]["data"]["filter_remaining_percent"] == pytest.approx(5, abs=0.5)

    topic = TOPICS.command("water-1", "filter_replaced")
    await upstream.send(
        "water-1", "filter_replaced", sign_command(key_pair[0], topic, "filter-1", {})
    )
    reply = await upstream.wait_for(lambda: upstream.replies().get("filter-1"))
    assert reply["ok"] is True and reply["result"]["filter_remaining_percent"] == 100.0
    await upstream.wait_for(
        lambda: any(
            t["filter_remaining_percent"] == 100.0 and t["litres_total"] >= 19
            for t in telemetry(upstream, "water-1")
        )
    )


async def test_a_signed_valve_close_gets_through_a_flood_of_unsigned_commands(
    stations: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    assert (await request(sock(stations), {"model": "water-1", "action": "get"}))["valve_open"]
    flood = json.dumps({"id": "flood", "args": {}}).encode()
    topic = TOPICS.command("water-1", "valve_close")
    applied: list[float] = []

    async def close_midway() -> None:
        await asyncio.sleep(0.3)  # well inside the flood
        sent = time.monotonic()
        await upstream.send("water-1", "valve_close", sign_command(key_pair[0], topic, "vc", {}))
        async with asyncio.timeout(15):  # dropped by the limiter, it would never close
            while (await request(sock(stations), {"model": "water-1", "action": "get"}))[
                "valve_open"
            ]:
                await asyncio.sleep(0.01)
        applied.append(time.monotonic() - sent)

    async with Observer(upstream.settings, identifier="flooder") as client:
        closer = asyncio.create_task(close_midway())
        closer_started = time.monotonic()
        for n in range(20_000):
            await client.publish(topic, flood, qos=0)
            if n % 200 == 0:
                await asyncio.sleep(0)  # the closer's turn, as a second client's would be
        flood_done = time.monotonic()
        await closer
    applied_s = applied[0]
    reply = await upstream.wait_for(lambda: upstream.replies().get("vc"))
    assert reply["ok"] is True, reply
    print(
        f"\nsigned valve_close applied {applied_s:.3f} s after it was sent, in a flood of "
        f"20,000 unsigned commands (published in {flood_done - closer_started:.1f} s)"
    )
    assert applied_s < 1.0


async def test_a_crashed_station_is_restarted_counts_again_and_its_valve_obeys(
    stations: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    stations.start()
    await upstream.wait_for(lambda: telemetry(upstream, "water-1"), timeout=20)
    await quiet(stations)
    lines = await crash_and_recover(stations, upstream, "water-1")
    assert {"GPIO23", "GPIO24", "GPIO25"} <= set(lines), lines
    counted = max(t["litres_total"] for t in telemetry(upstream, "water-1"))
    await request(sock(stations), {"model": "water-1", "action": "pulses", "args": {"count": 900}})
    await upstream.wait_for(
        lambda: any(
            t["litres_total"] == round(counted + 2, 3) for t in telemetry(upstream, "water-1")
        )
    )
    topic = TOPICS.command("water-1", "valve_close")
    await upstream.send("water-1", "valve_close", sign_command(key_pair[0], topic, "close-1", {}))
    closed = await upstream.wait_for(lambda: upstream.replies().get("close-1"))
    assert closed["ok"], closed
    assert not (await request(sock(stations), {"model": "water-1", "action": "get"}))["valve_open"]
    crashed = [e for e in upstream.envelopes("event") if e["data"]["event"] == "driver_crashed"]
    assert {e["device"] for e in crashed} == {"water-1"}  # the other station kept running
