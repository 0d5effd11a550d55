"""Commands from upstream: signed ones act, everything else gets an error reply."""

from __future__ import annotations

from typing import Any

from gateway.commands import sign_command
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
