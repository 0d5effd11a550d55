"""Sensor nodes: the MicroPython firmware run by the Unix port on simulated boards, reporting
to a LAN Mosquitto with the logins and ACL ``gateway nodes add`` wrote, bridged by the
gateway process to the upstream broker."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.nodes.ota import FIRMWARE
from drivers.sim.boards import BinBoard, CareBoard, WaterBoard
from gateway.demo.broker import MosquittoBroker
from gateway.errors import UplinkError
from hil_tests.harness import GatewayProcess, Operator, Upstream
from hil_tests.lan import (
    GATEWAY_PASSWORD,
    Lan,
    events,
    lan_and_gateway,
    lan_client,
    lan_sessions,
    node_state,
    telemetry,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def site(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[object, str], upstream: Upstream
) -> AsyncIterator[tuple[Lan, GatewayProcess]]:
    async with lan_and_gateway(tmp_path, broker.port, key_pair[1]) as both:
        # The gateway's sessions on the LAN broker exist before the first node speaks.
        await upstream.wait_for(lambda: len(lan_sessions(upstream)) == 4, timeout=30)
        yield both


async def test_a_bin_node_fills_and_the_gateway_reports_bin_full(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    board = BinBoard("bin-node-1", lan.config("bin-node-1")["pins"], distance_m=0.9)
    lan.start(board, period_s=1200)
    first = await upstream.wait_for(lambda: telemetry(upstream, "bin-node-1"), timeout=30)
    assert first[0]["fill_percent"] == pytest.approx(11.1, abs=0.2)
    assert first[0]["battery_v"] == pytest.approx(3.9, abs=0.01)
    assert first[0]["rssi"] == -61
    assert first[0]["temperature_c"] == 18.0
    board.distance_m = 0.2  # a jump is confirmed by the next reading, then it is full
    full = await upstream.wait_for(lambda: events(upstream, "bin-node-1", "bin_full"), 30)
    assert full[0]["fill_percent"] >= 80
    # The lid wakes the node before its period is over, and the reading says so.
    board.lid_open = True
    woke = await upstream.wait_for(
        lambda: [t for t in telemetry(upstream, "bin-node-1") if t.get("lid_open")], 10
    )
    assert woke
    state = [e["data"] for e in upstream.envelopes("state") if e["device"] == "bin-node-1"]
    assert state[-1]["available"] and state[-1]["full"]


async def test_an_hour_without_the_broker_arrives_in_order_once(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    pins = {k: v for k, v in lan.config("bin-node-2")["pins"].items() if k != "onewire"}
    board = BinBoard("bin-node-2", pins, distance_m=0.9)
    # A 300 s sleep lasts half a second.
    node = lan.start(board, pings=1, pins=pins, period_s=300)
    await upstream.wait_for(lambda: telemetry(upstream, "bin-node-2"), timeout=30)
    lan.broker.stop()
    before = len(telemetry(upstream, "bin-node-2"))
    woke, outage_start = node.boots, node.now()
    while node.now() - outage_start < 3600:  # an hour of the node's time; the bin fills
        board.distance_m = round(0.9 - (node.boots - woke) * 0.01, 3)
        await asyncio.sleep(0.1)
    unheard = node.boots - woke
    assert unheard >= 11  # every 300 s, and the seconds it is awake
    lan.broker.start()
    await upstream.wait_for(
        lambda: len(telemetry(upstream, "bin-node-2")) >= before + unheard, timeout=60
    )
    await asyncio.sleep(2)
    measured = [t["measured_at"] for t in telemetry(upstream, "bin-node-2")]
    assert measured == sorted(measured), "in order"
    assert len(measured) == len(set(measured)), "once"
    distances = [t["distance_m"] for t in telemetry(upstream, "bin-node-2")]
    assert distances[before : before + unheard] == sorted(distances[before : before + unheard],
                                                          reverse=True)  # fmt: skip


async def test_a_water_node_closes_its_valve_on_a_leak_with_wifi_down_and_reports_it_back(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    board = WaterBoard("water-node-1", lan.config("water-node-1")["pins"])
    lan.start(board, period_s=1)  # awake, its period runs in real time: 600 s at SCALE
    await upstream.wait_for(lambda: telemetry(upstream, "water-node-1"), timeout=30)
    assert board.valve_open
    board.flow_lpm = 6.0
    await upstream.wait_for(
        lambda: [t for t in telemetry(upstream, "water-node-1") if t["litres_total"] > 1], 30
    )
    board.flow_lpm = 0
    board.wifi_up = False
    await asyncio.sleep(1)
    board.leak = True
    lan.world.interrupt(board.id, board.pins["leak"])
    for _ in range(50):  # closed by the node itself, within the interrupt
        if not board.valve_open:
            break
        await asyncio.sleep(0.02)
    assert not board.valve_open
    await asyncio.sleep(2)
    assert not events(upstream, "water-node-1", "leak_detected"), "not heard while offline"
    board.wifi_up = True
    leak = await upstream.wait_for(
        lambda: events(upstream, "water-node-1", "leak_detected"), timeout=30
    )
    assert leak[0]["severity"] == "critical"
    assert leak[0]["valve_open"] is False
    wet = await upstream.wait_for(
        lambda: [t for t in telemetry(upstream, "water-node-1") if t["leak"]], timeout=30
    )
    assert wet[0]["valve_open"] is False


async def test_a_hung_node_is_restarted_by_its_watchdog_and_keeps_its_count(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    board = WaterBoard("water-node-1", lan.config("water-node-1")["pins"], flow_lpm=6.0)
    node = lan.start(board, period_s=1, save_s=1, watchdog_ms=2000)
    counted = await upstream.wait_for(
        lambda: [t for t in telemetry(upstream, "water-node-1") if t["litres_total"] > 1], 30
    )
    board.flow_lpm = 0
    await asyncio.sleep(1.5)  # the count is on flash
    board.stalled = True  # the firmware hangs in a call to its hardware
    await upstream.wait_for(lambda: board.resets == 1, timeout=10)
    board.stalled = False
    reset = await upstream.wait_for(
        lambda: events(upstream, "water-node-1", "node_watchdog_reset"), timeout=30
    )
    assert reset[0]["severity"] == "warning"
    assert node.boots == 2
    after = telemetry(upstream, "water-node-1")[-1]
    assert after["litres_total"] >= counted[0]["litres_total"], "kept across the reset"
    # Its battery running down is told while there is time to change it.
    board.battery_v = 3.4
    low = await upstream.wait_for(
        lambda: events(upstream, "water-node-1", "battery_low"), timeout=30
    )
    assert low[0]["severity"] == "warning" and low[0]["battery_v"] == pytest.approx(3.4, abs=0.01)


async def test_a_silent_node_goes_offline_after_its_periods(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    node = lan.start(BinBoard("bin-node-1", lan.config("bin-node-1")["pins"]), period_s=1200)
    await upstream.wait_for(lambda: telemetry(upstream, "bin-node-1"), timeout=30)
    node.powered = False  # its battery pulled while it sleeps: no will, only silence
    offline = await upstream.wait_for(
        lambda: events(upstream, "bin-node-1", "node_offline"), timeout=30
    )
    assert "no report" in offline[0]["reason"]
    state = [e["data"] for e in upstream.envelopes("state") if e["device"] == "bin-node-1"]
    assert state[-1]["available"] is False
    node.powered = True
    await upstream.wait_for(lambda: events(upstream, "bin-node-1", "node_online"), timeout=30)


async def test_forged_nodes_and_garbage_are_refused(
    site: tuple[Lan, GatewayProcess], upstream: Upstream
) -> None:
    lan, _ = site
    await upstream.wait_for(lambda: upstream.statuses(), timeout=30)
    real = lan.config("bin-node-1")["broker"]
    with pytest.raises(UplinkError):
        async with lan_client(lan, real["user"], "not-its-password"):
            pass
    # bin-node-2's login cannot speak for bin-node-1: the broker's ACL drops it.
    other = lan.config("bin-node-2")["broker"]
    forged = {"seq": 1, "epoch": "ab", "t": 1, "type": "reading", "distance_m": 0.1}
    async with lan_client(lan, other["user"], other["password"]) as impostor:
        await impostor.publish("nodes/bin-node-1/up", json.dumps(forged).encode())
    # bin-node-1's own login sending garbage is reported, and what follows still counts.
    async with lan_client(lan, real["user"], real["password"]) as node:
        await node.publish("nodes/bin-node-1/up", b"\x00not json")
        await node.publish(
            "nodes/bin-node-1/up",
            json.dumps({**forged, "distance_m": "far"}).encode(),
        )
        invalid = await upstream.wait_for(
            lambda: events(upstream, "bin-node-1", "node_message_invalid"), timeout=30
        )
        good = {**forged, "seq": 2, "distance_m": 0.5, "t": 2}
        await node.publish("nodes/bin-node-1/up", json.dumps(good).encode())
        await node.publish("nodes/bin-node-1/up", json.dumps(good).encode())  # a duplicate
        await upstream.wait_for(lambda: telemetry(upstream, "bin-node-1"), timeout=30)
    await asyncio.sleep(1)
    assert invalid[0]["severity"] == "warning"
    seen = telemetry(upstream, "bin-node-1")
    assert [t["distance_m"] for t in seen] == [0.5], "the forged 0.1 never arrived, once only"


async def test_firmware_updates_are_signed_and_checked_by_the_node(
    site: tuple[Lan, GatewayProcess], upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    lan, _ = site
    board = WaterBoard("water-node-1", lan.config("water-node-1")["pins"])
    node = lan.start(board, period_s=1)
    await upstream.wait_for(lambda: telemetry(upstream, "water-node-1"), timeout=30)
    stale = node.root / "waternode.py"
    stale.write_text(stale.read_text() + "\n# an older build\n")
    operator = Operator(upstream, key_pair[0], "water-node-1")
    reply = await operator("update_firmware", files=["waternode.py", "node.py"])
    assert reply["ok"] is True, reply
    updated = await upstream.wait_for(
        lambda: events(upstream, "water-node-1", "node_updated"), timeout=30
    )
    assert updated[0]["file"] == "waternode.py"
    assert stale.read_bytes() == (FIRMWARE / "waternode.py").read_bytes()
    await upstream.wait_for(lambda: events(upstream, "water-node-1", "node_update_current"), 30)
    # A file whose hash does not match is refused by the node itself.
    admin = lan_client(lan, "gateway", GATEWAY_PASSWORD)
    data = b"print('not what was signed')\n"
    body = {"sha256": hashlib.sha256(b"other").hexdigest(), "data": base64.b64encode(data).decode()}
    async with admin as link:
        await link.publish("nodes/water-node-1/ota/main.py", json.dumps(body).encode(), retain=True)
    refused = await upstream.wait_for(
        lambda: events(upstream, "water-node-1", "node_update_refused"), timeout=30
    )
    assert refused[0]["file"] == "main.py"
    assert (node.root / "main.py").read_bytes() == (FIRMWARE / "main.py").read_bytes()


async def test_a_care_node_calls_within_a_second_until_a_signed_answer(
    site: tuple[Lan, GatewayProcess], upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    lan, _ = site
    board = CareBoard("care-node-1", lan.config("care-node-1")["pins"])
    node = lan.start(board, period_s=1)  # awake: its period runs in real time, 600 s at SCALE
    await upstream.wait_for(lambda: node_state(upstream, "care-node-1") == "online", 30)
    loop = asyncio.get_running_loop()
    pressed_at = loop.time()
    lan.world.press(board.id)
    calls = await upstream.wait_for(
        lambda: events(upstream, "care-node-1", "emergency_call"), timeout=10
    )
    heard_s = loop.time() - pressed_at
    assert heard_s < 1.0, f"upstream heard the press after {heard_s:.2f} s"
    assert calls[0]["severity"] == "critical" and calls[0]["unit"] == "B-204"
    await upstream.wait_for(lambda: board.led_changes >= 4, timeout=5)  # blinking
    # Unanswered, it repeats every (simulated) minute.
    repeats = await upstream.wait_for(
        lambda: [c for c in events(upstream, "care-node-1", "emergency_call") if c["repeat"]], 10
    )
    assert repeats[0]["call_id"] == calls[0]["call_id"]
    # An unsigned answer is refused; the signed one turns the LED steady.
    await upstream.send("care-node-1", "acknowledge_call", {"id": "forged", "args": {}})
    refused = await upstream.wait_for(lambda: upstream.replies().get("forged"), timeout=10)
    assert refused["ok"] is False
    answer = await Operator(upstream, key_pair[0], "care-node-1")("acknowledge_call")
    assert answer["ok"] is True, answer
    await upstream.wait_for(lambda: board.led, timeout=5)
    changes = board.led_changes
    await asyncio.sleep(1.5)
    assert board.led and board.led_changes == changes, "steady: help is coming"
    # Smoke, and movement at the door: only its time is kept.
    board.smoke = True
    lan.world.interrupt(board.id, board.pins["smoke"])
    smoke = await upstream.wait_for(
        lambda: events(upstream, "care-node-1", "smoke_detected"), timeout=10
    )
    assert smoke[0]["severity"] == "critical"
    before = telemetry(upstream, "care-node-1")[-1]["last_activity"]
    board.presence = True
    lan.world.interrupt(board.id, board.pins["presence"])
    await upstream.wait_for(
        lambda: telemetry(upstream, "care-node-1")[-1]["last_activity"] > before, timeout=20
    )
    # A care node that goes silent is the care point's own alarm.
    node.powered = False
    offline = await upstream.wait_for(
        lambda: events(upstream, "care-node-1", "care_point_offline"), timeout=30
    )
    assert offline[0]["severity"] == "warning"
    assert not events(upstream, "care-node-1", "node_offline")
