"""Birth, clean stop, kill -9 (last will), boot counter, and a config error."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import GatewayProcess, Upstream


async def test_birth_then_clean_stop_then_lwt_after_kill(
    gateway: GatewayProcess, upstream: Upstream
) -> None:
    gateway.start()
    birth = await upstream.wait_for(
        lambda: next((s for s in upstream.statuses() if s["online"]), None)
    )
    assert birth["boot"] == 1
    assert birth["devices"] == [{"id": "gateway", "kind": "gateway"}]
    assert birth["version"]

    assert await asyncio.to_thread(gateway.signal, signal.SIGTERM) == 0
    offline = await upstream.wait_for(lambda: [s for s in upstream.statuses() if not s["online"]])
    assert offline[-1] == {"online": False, "boot": 1}
    assert "stopped" in gateway.log()

    gateway.start()
    await upstream.wait_for(lambda: [s for s in upstream.statuses() if s.get("boot") == 2])
    await asyncio.to_thread(gateway.kill)
    # The broker publishes the last will when the connection dies without DISCONNECT.
    will = await upstream.wait_for(
        lambda: [s for s in upstream.statuses() if s == {"online": False, "boot": 2}]
    )
    assert will


async def test_retained_status_and_state_greet_a_late_subscriber(
    gateway: GatewayProcess, broker: MosquittoBroker
) -> None:
    gateway.start()
    early = Upstream(broker.port)
    async with early.running():
        await early.wait_for(lambda: early.envelopes("telemetry"))
    late = Upstream(broker.port)
    async with late.running():
        await late.wait_for(lambda: late.statuses() and late.envelopes("state"))
        assert late.statuses()[0]["online"] is True
        assert late.envelopes("state")[0]["data"]["available"] is True


def test_a_config_error_refuses_to_start_and_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'site = "s"\ngateway_id = "g"\n[mqtt]\nport = 99999\n'
        '[[devices]]\nkind = "gateway"\nid = "gateway"\nreport_perod_s = 5\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        f"{config}:mqtt.port: Input should be less than or equal to 65535 (line 4)" in result.stderr
    )
    assert f"{config}:devices.0.report_perod_s: unknown key" in result.stderr
    assert "(line 8)" in result.stderr
