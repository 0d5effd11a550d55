"""Remote configuration: a signed ``config_apply`` kept when healthy, rolled back when not,
refused when wrong, and never half-applied by ``kill -9``."""

from __future__ import annotations

from typing import Any

from gateway.commands import sign_command
from gateway.config import load_config
from gateway.demo.broker import free_port
from hil_tests.harness import TOPICS, WATER_STATION, GatewayProcess, Operator, Upstream

WATER = WATER_STATION


def events(upstream: Upstream, name: str) -> list[dict[str, Any]]:
    return [e["data"] for e in upstream.envelopes("event") if e["data"]["event"] == name]


async def online(gateway: GatewayProcess, upstream: Upstream, after: int) -> int:
    """Once a boot after ``after`` is online and taking commands (its telemetry flows only
    after it has subscribed to them)."""
    seen = len(upstream.envelopes("telemetry"))
    await upstream.born(after=after, timeout=90)
    boot = upstream.boot()
    await upstream.wait_for(lambda: len(upstream.envelopes("telemetry")) > seen, timeout=60)
    return boot


async def test_a_good_configuration_is_kept_and_a_wrong_one_refused_before_anything_changes(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    gateway.start()
    boot = await online(gateway, upstream, 0)
    send = Operator(upstream, key_pair[0], "gateway")
    running = gateway.config_file.read_text()
    shared = running + WATER + WATER.replace('"water-1"', '"water-2"')  # same pins twice
    refused = await send("config_apply", toml=shared, version="v2")
    assert refused["ok"] is False and refused["error"]["field"] == "toml"
    assert "devices.2.flow_pin: GPIO23 is already water-1.flow_pin" in refused["error"]["message"]
    assert "(line " in refused["error"]["message"]
    assert gateway.config_file.read_text() == running and upstream.boot() == boot

    shown = await send("config_get")
    assert shown["ok"] and shown["result"]["toml"] == running
    applied = await send("config_apply", toml=running + WATER, version="v2", health_s=30)
    assert applied["ok"] and applied["result"]["restarting"] is True
    boot = await online(gateway, upstream, boot)  # the same process, started again
    born = [s for s in upstream.statuses() if s.get("online")][-1]
    assert born["config_version"] == "v2" and born["config_on_trial"] is True
    assert len(born["config_hash"]) == 64
    kept = (await upstream.wait_for(lambda: events(upstream, "config_applied"), timeout=40))[0]
    assert kept["version"] == "v2"
    shown = await send("config_get")
    assert shown["result"]["config_version"] == "v2" and "water-1" in shown["result"]["toml"]
    assert load_config(gateway.config_file).devices[-1].id == "water-1"


async def test_a_configuration_that_loses_the_broker_is_rolled_back_within_its_bound(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    gateway.start()
    boot = await online(gateway, upstream, 0)
    send = Operator(upstream, key_pair[0], "gateway")
    running = gateway.config_file.read_text()
    broker_port = load_config(gateway.config_file).mqtt.port
    dead = running.replace(f"port = {broker_port}", f"port = {free_port()}")
    applied = await send("config_apply", toml=dead, version="v-dead", health_s=8)
    assert applied["ok"], applied
    back = (await upstream.wait_for(lambda: events(upstream, "config_rolled_back"), timeout=60))[0]
    assert back["version"] == "v-dead" and "uplink did not come back within 8 s" in back["reason"]
    assert upstream.boot() > boot
    assert gateway.config_file.read_text() == running
    assert gateway.alive


async def test_kill_9_in_the_middle_of_an_apply_leaves_a_whole_file_and_a_gateway_that_starts(
    gateway: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    gateway.start()
    boot = await online(gateway, upstream, 0)
    running = gateway.config_file.read_text()
    topic = TOPICS.command("gateway", "config_apply")
    new = running + WATER
    await upstream.send(
        "gateway", "config_apply",
        sign_command(key_pair[0], topic, "k1", {"toml": new, "version": "v3", "health_s": 30}),
    )  # fmt: skip
    await upstream.wait_for(lambda: upstream.replies().get("k1"))
    gateway.kill()  # the new file in place, the gateway not yet started on it
    assert gateway.config_file.read_text() in (running, new)  # a whole file, never half
    gateway.start()
    await online(gateway, upstream, boot)
    kept = (await upstream.wait_for(lambda: events(upstream, "config_applied"), timeout=60))[0]
    assert kept["version"] == "v3"
    assert gateway.config_file.read_text() == new and gateway.alive
