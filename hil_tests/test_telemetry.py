"""Telemetry flows with a strictly increasing seq and unique message ids."""

from __future__ import annotations

from hil_tests.harness import GatewayProcess, Upstream


async def test_seq_strictly_increases_and_msg_ids_are_unique(
    gateway: GatewayProcess, upstream: Upstream
) -> None:
    gateway.start()
    await upstream.wait_for(lambda: len(upstream.envelopes("telemetry")) >= 30)
    envelopes = upstream.envelopes()
    seqs = [e["seq"] for e in envelopes]
    assert seqs == sorted(set(seqs)), "seq must strictly increase"
    assert seqs[0] == 1
    assert seqs == list(range(1, len(seqs) + 1)), "no gap"
    assert len({e["msg_id"] for e in envelopes}) == len(envelopes)
    telemetry = upstream.envelopes("telemetry")[-1]
    assert telemetry["device"] == "gateway" and telemetry["kind"] == "gateway"
    assert telemetry["v"] == 1 and telemetry["ts"].endswith("Z")
    data = telemetry["data"]
    assert data["uplink"] == "online"
    assert 0 < data["cpu_temp_c"] < 110
    assert data["disk_free_mb"] > 0 and data["outbox_dropped"] == 0
