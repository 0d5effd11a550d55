"""Commands from upstream: signed ones act, everything else gets an error reply."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from gateway.commands import sign_command
from gateway.mqtt import Observer
from hil_tests.harness import TOPICS, GatewayProcess, Upstream


async def test_bad_commands_get_error_replies_and_the_gateway_keeps_running(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    gateway.start()
    await upstream.wait_for(lambda: upstream.envelopes("telemetry"))
    key = key_pair[0]
    topic = TOPICS.command("gateway", "set_report_period")
    signed = sign_command(key, topic, "c-signed", {"period_s": 2.5})

    await upstream.send("gateway", "set_report_period", b"{not json")
    await upstream.send(
        "gateway", "set_report_period", {"id": "c-unsigned", "args": {"period_s": 1}}
    )
    await upstream.send("gateway", "set_report_period", signed)
    await upstream.send("gateway", "set_report_period", signed)  # replayed
    forged = {**signed, "id": "c-forged"}
    await upstream.send("gateway", "set_report_period", forged)
    await upstream.send("gateway", "ping", {"id": "c-ping"})
    await upstream.send("nobody", "ping", {"id": "c-nobody"})

    replies = await upstream.wait_for(
        lambda: upstream.replies() if len(upstream.replies()) >= 6 else None
    )
    assert replies["invalid"]["error"]["code"] == "malformed"
    assert replies["c-unsigned"]["error"] == {
        "code": "unauthenticated",
        "message": "this command must be signed",
        "field": "sig",
    }
    assert replies["c-forged"]["error"]["code"] == "unauthenticated"
    assert replies["c-ping"]["ok"] is True and replies["c-ping"]["result"]["pong"] is True
    assert replies["c-nobody"]["error"]["code"] == "unknown_device"
    # The original and its replay are handled concurrently: one acts, the other is refused.
    await upstream.wait_for(
        lambda: len([m for m in upstream.messages if m.topic == TOPICS.reply("c-signed")]) == 2
    )
    signed_replies = [m.json() for m in upstream.messages if m.topic == TOPICS.reply("c-signed")]
    accepted = [r for r in signed_replies if r["ok"]]
    assert accepted == [{"id": "c-signed", "ok": True, "result": {"report_period_s": 2.5}}]
    refused = [r for r in signed_replies if not r["ok"]]
    assert refused[0]["error"]["code"] == "replayed"
    await upstream.wait_for(
        lambda: any(e["data"].get("report_period_s") == 2.5 for e in upstream.envelopes("state"))
    )
    assert gateway.alive


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def test_a_command_flood_is_dropped_while_telemetry_flows(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    gateway.start()
    await upstream.wait_for(lambda: len(upstream.envelopes("telemetry")) >= 5)
    assert gateway.process is not None
    rss_before = _rss_kb(gateway.process.pid)
    flood = json.dumps({"id": "flood", "args": {}}).encode() + b" " * 900
    async with Observer(upstream.settings, identifier="flooder") as client:
        started = time.monotonic()
        for n in range(20_000):  # about 20 MB of commands, as fast as the broker takes them
            await client.publish(TOPICS.command("gateway", "ping"), flood, qos=0)
            if n % 500 == 0:
                await asyncio.sleep(0)
        sent_s = time.monotonic() - started
    during = len(upstream.envelopes("telemetry"))
    await asyncio.sleep(3)
    assert len(upstream.envelopes("telemetry")) > during  # telemetry keeps flowing
    rss_after = _rss_kb(gateway.process.pid)
    assert rss_after - rss_before < 60_000, (rss_before, rss_after)  # bounded: < 60 MB more
    # The limiter dropped nearly all of it; a real command is answered once the flood ends.
    topic = TOPICS.command("gateway", "ping")
    await upstream.send("gateway", "ping", sign_command(key_pair[0], topic, "after", {}))
    reply = await upstream.wait_for(lambda: upstream.replies().get("after"), timeout=20)
    assert reply["ok"], reply
    elapsed = time.monotonic() - started
    flood_replies = [m for m in upstream.messages if m.topic == TOPICS.reply("flood")]
    # The device topic's bucket: a burst of 30, then 10 a second, however long the flood
    # took to send and to drain (a slow machine takes longer, and refills more).
    allowed = 30 + 10 * elapsed
    assert len(flood_replies) <= allowed, (len(flood_replies), elapsed)
    assert gateway.alive and sent_s < 60


async def test_remote_diagnosis_raises_the_log_level_for_a_while_and_reads_the_log(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    text = gateway.config_file.read_text()
    gateway.config_file.write_text(text.replace('log_level = "debug"', 'log_level = "info"'))
    gateway.start()
    await upstream.wait_for(lambda: upstream.envelopes("telemetry"))
    key = key_pair[0]

    async def send(command: str, command_id: str, **args: Any) -> dict[str, Any]:
        topic = TOPICS.command("gateway", command)
        await upstream.send("gateway", command, sign_command(key, topic, command_id, args))
        reply: dict[str, Any] = await upstream.wait_for(lambda: upstream.replies().get(command_id))
        return reply

    await upstream.send("gateway", "diagnostics", {"id": "d-unsigned", "args": {}})
    unsigned = await upstream.wait_for(lambda: upstream.replies().get("d-unsigned"))
    assert unsigned["error"]["code"] == "unauthenticated"  # the log is not for anyone
    bad = await send("set_log_level", "l-bad", level="verbose", minutes=1)
    assert bad["ok"] is False and bad["error"]["field"] == "args.level"
    raised = await send("set_log_level", "l-1", level="debug", minutes=0.05)  # 3 s
    assert raised["ok"] and raised["result"]["level"] == "debug"
    await send("ping", "p-1")
    report = (await send("diagnostics", "d-1"))["result"]
    assert report["log_level"] == "debug"
    assert report["versions"]["python"].startswith("3.")
    assert report["uptime_s"] > 0 and report["outbox"]["depth"] >= 0
    assert any(" DEBUG " in line for line in report["log"]), report["log"][-5:]
    assert len(report["log"]) <= 200
    await asyncio.sleep(3.5)
    assert (await send("diagnostics", "d-2"))["result"]["log_level"] == "info"  # back by itself
