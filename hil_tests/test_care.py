"""Care points in residents' homes, seen from upstream: calls, smoke, the welfare check and
supervision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.commands import sign_command
from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import (
    TOPICS,
    GatewayProcess,
    Upstream,
    crash_and_recover,
    gateway_with,
)

HOME = "care-1a"


def care_point(
    time_scale: float = 60, sample_period_s: float = 1, report_period_s: float = 60, extra: str = ""
) -> str:
    return f"""
[simulation]
time_scale = {time_scale}

[[devices]]
kind = "care_point"
id = "{HOME}"
unit = "1A"
call_pin = 20
led_pin = 21
smoke_pin = 5
presence_pin = 26
door_pin = 6
supervision_pin = 13
report_period_s = {report_period_s}
sample_period_s = {sample_period_s}
call_repeat_s = 60
acknowledged_led_s = 300
{extra}
"""


@pytest.fixture
def home(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[Any, str]
) -> Iterator[GatewayProcess]:
    process = gateway_with(tmp_path, broker.port, key_pair[1], care_point(), report_period_s=60)
    yield process
    process.close()


def configure(process: GatewayProcess, gateway_period_s: float = 60, **options: Any) -> None:
    text = process.config_file.read_text()
    head = text[: text.index("[simulation]")].replace(
        "report_period_s = 60\nsample_period_s = 60",
        f"report_period_s = {gateway_period_s}\nsample_period_s = 60",
    )
    process.config_file.write_text(head + care_point(**options))


async def world(process: GatewayProcess, action: str, **args: Any) -> Any:
    sock = control_socket(process.config_file.parent / "data")
    return await request(sock, {"model": HOME, "action": action, "args": args})


async def led(process: GatewayProcess, want: str, timeout: float = 5.0) -> None:
    """Until the button's LED looks ``want`` to someone at the door (blinking takes a blink
    or two to see)."""
    async with asyncio.timeout(timeout):
        while (await world(process, "get"))["led"] != want:
            await asyncio.sleep(0.1)


async def now(process: GatewayProcess) -> datetime:
    """The simulated complex's time."""
    sock = control_socket(process.config_file.parent / "data")
    reply = await request(sock, {"action": "clock_jump", "args": {"hours": 0}})
    return datetime.fromisoformat(reply["now"])


def states(upstream: Upstream) -> list[dict[str, Any]]:
    return [e["data"] for e in upstream.envelopes("state") if e["device"] == HOME]


def events(upstream: Upstream, name: str) -> list[dict[str, Any]]:
    return [
        e["data"] | {"ts": e["ts"]}
        for e in upstream.envelopes("event")
        if e["device"] == HOME and e["data"]["event"] == name
    ]


async def started(process: GatewayProcess, upstream: Upstream) -> None:
    """Start; return once the care point reports, with its resident sitting still."""
    process.start()
    await upstream.wait_for(
        lambda: any(e["device"] == HOME for e in upstream.envelopes("telemetry")), timeout=60
    )
    await world(process, "set", active=False)


async def test_a_call_reaches_upstream_within_a_second_and_repeats_until_acknowledged(
    home: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    await started(home, upstream)
    pressed = time.monotonic()
    await world(home, "press")
    call = (await upstream.wait_for(lambda: events(upstream, "emergency_call"), timeout=5))[0]
    latency = time.monotonic() - pressed
    assert latency < 1.0, f"the call reached upstream {latency:.2f} s after the press"
    assert call["severity"] == "critical" and call["unit"] == "1A" and call["repeat"] == 0
    await led(home, "blinking")
    # A minute (one real second at 60x) without an answer: the call is sent again.
    await upstream.wait_for(lambda: len(events(upstream, "emergency_call")) >= 3, timeout=10)
    repeats = events(upstream, "emergency_call")
    assert [c["repeat"] for c in repeats[:3]] == [0, 1, 2]
    assert {c["call_id"] for c in repeats} == {call["call_id"]}

    topic = TOPICS.command(HOME, "acknowledge_call")
    stranger = Ed25519PrivateKey.generate()
    await upstream.send(HOME, "acknowledge_call", sign_command(stranger, topic, "ack-forged", {}))
    forged = await upstream.wait_for(lambda: upstream.replies().get("ack-forged"))
    assert forged["ok"] is False and forged["error"]["code"] == "unauthenticated"
    await led(home, "blinking")

    args = {"call_id": call["call_id"], "responder": "neighbourhood committee"}
    await upstream.send(HOME, "acknowledge_call", sign_command(key_pair[0], topic, "ack", args))
    reply = await upstream.wait_for(lambda: upstream.replies().get("ack"))
    assert reply["ok"] is True, reply
    acked = await upstream.wait_for(lambda: events(upstream, "emergency_call_acknowledged"))
    assert acked[0]["responder"] == "neighbourhood committee"
    await led(home, "on")
    calls = len(events(upstream, "emergency_call"))
    # Five simulated minutes later the call is closed and the LED goes out; no repeat since.
    await upstream.wait_for(lambda: events(upstream, "emergency_call_closed"), timeout=20)
    assert len(events(upstream, "emergency_call")) == calls
    await led(home, "off")
    again = {"call_id": call["call_id"]}
    await upstream.send(HOME, "acknowledge_call", sign_command(key_pair[0], topic, "ack2", again))
    late = await upstream.wait_for(lambda: upstream.replies().get("ack2"))
    assert late["ok"] is False and "no call is waiting" in late["error"]["message"]


async def test_a_call_during_a_broker_outage_is_delivered_first_when_it_returns(
    home: GatewayProcess, upstream: Upstream, broker: MosquittoBroker
) -> None:
    await started(home, upstream)
    await asyncio.to_thread(broker.stop)
    stopped = await now(home)
    await asyncio.sleep(3)  # readings pile up in the outbox: three simulated minutes
    await world(home, "press")
    await asyncio.sleep(2)
    assert home.alive
    await asyncio.to_thread(broker.start)
    await upstream.wait_for(
        lambda: any(
            e["historical"] and datetime.fromisoformat(e["ts"]) >= stopped
            for e in upstream.envelopes("telemetry")
        ),
        timeout=20,
    )
    # In the order of arrival, what was made during the outage (not what was in flight when
    # it began, nor the broker's retained copies of earlier states).
    after = [e for e in upstream.envelopes() if datetime.fromisoformat(e["ts"]) >= stopped]
    assert after[0]["type"] == "event" and after[0]["data"]["event"] == "emergency_call", after[:3]
    assert any(e["type"] == "telemetry" and e["historical"] for e in after[1:])


async def test_smoke_is_detected_and_cleared(home: GatewayProcess, upstream: Upstream) -> None:
    await started(home, upstream)
    await world(home, "set", smoke=True)
    detected = await upstream.wait_for(lambda: events(upstream, "smoke_detected"), timeout=5)
    assert detected[0]["severity"] == "critical" and detected[0]["unit"] == "1A"
    await world(home, "set", smoke=False)
    cleared = await upstream.wait_for(lambda: events(upstream, "smoke_cleared"), timeout=5)
    assert cleared[0]["severity"] == "critical"


async def test_48_hours_without_activity_raise_the_welfare_check_and_one_movement_clears_it(
    home: GatewayProcess, upstream: Upstream
) -> None:
    # Two simulated days in half a real minute; the gateway reports hourly (not a flood).
    configure(
        home, gateway_period_s=3600, time_scale=7200, sample_period_s=10, report_period_s=3600
    )
    await started(home, upstream)
    first = min(
        datetime.fromisoformat(e["ts"]) for e in upstream.envelopes() if e["device"] == HOME
    )
    due = (await upstream.wait_for(lambda: events(upstream, "welfare_check_due"), timeout=90))[0]
    assert due["unit"] == "1A" and due["resident_ids"] == []
    assert due["unseen_h"] >= 48
    assert datetime.fromisoformat(due["ts"]) - first >= timedelta(hours=47.9)
    # The telemetry says when, and nothing else about the home.
    latest = [e["data"] for e in upstream.envelopes("telemetry") if e["device"] == HOME][-1]
    assert set(latest) == {"last_activity", "call", "smoke", "connected"}
    await world(home, "move")
    cleared = await upstream.wait_for(lambda: events(upstream, "welfare_check_cleared"), timeout=5)
    assert cleared[0]["unit"] == "1A"


async def test_a_silent_care_point_goes_offline_then_critical_and_comes_back(
    home: GatewayProcess, upstream: Upstream
) -> None:
    configure(home, extra="offline_critical_s = 600")
    await started(home, upstream)
    await world(home, "set", connected=False)
    offline = await upstream.wait_for(lambda: events(upstream, "care_point_offline"), timeout=10)
    assert offline[0]["severity"] == "warning" and offline[0]["silent_s"] >= 120
    await upstream.wait_for(lambda: states(upstream)[-1]["available"] is False)
    critical = await upstream.wait_for(
        lambda: [e for e in events(upstream, "care_point_offline") if e["severity"] == "critical"],
        timeout=30,
    )
    assert critical[0]["silent_s"] >= 600
    await world(home, "set", connected=True)
    back = await upstream.wait_for(lambda: events(upstream, "care_point_online"), timeout=10)
    assert back[0]["offline_s"] >= 600
    await upstream.wait_for(lambda: states(upstream)[-1]["available"])


async def test_a_crashed_care_point_is_restarted_and_a_call_still_gets_through(
    home: GatewayProcess, upstream: Upstream
) -> None:
    await started(home, upstream)
    lines = await crash_and_recover(home, upstream, HOME)
    assert {"GPIO20", "GPIO21"} <= set(lines), lines
    await world(home, "press")
    call = (await upstream.wait_for(lambda: events(upstream, "emergency_call"), timeout=5))[0]
    assert call["severity"] == "critical" and call["unit"] == "1A"
    await led(home, "blinking")
