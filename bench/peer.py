"""The closest peer beside the gateway, by one harness: the ThingsBoard IoT Gateway.

    uv run python -m bench.peer [--seconds 10] [--outage 60] [--kill-run 90]

Both gateways take the same input and deliver to the same kind of platform. Devices publish
JSON readings ``{"seq", "sent"}`` with QoS 1 to a local Mosquitto (``bench/<device>/up``,
10 devices); each gateway reads them with a persistent QoS 1 subscription, stores them in
SQLite and forwards them with QoS 1 to a second Mosquitto standing in for the platform,
where this process records each arrival. Ours is the gateway's own durable path
(:class:`gateway.outbox.Outbox`, :class:`gateway.uplink.Uplink`) behind an MQTT input that
acknowledges a reading to the local broker only once the outbox holds it; the peer is
``thingsboard-gateway`` (PyPI, in its own virtual environment in the cache, SQLite storage,
its MQTT connector with a persistent session, everything else as shipped). Its update
service is pointed at a closed local port (``HTTPS_PROXY=http://127.0.0.1:9``), its remote
configuration and statistics are off, and the fake platform answers the session-limits
request ThingsBoard waits for before it sends anything; nothing leaves the machine.

For each gateway, in one run: offered loads of 100, 500, 2,000, 3,000 and 5,000 msg/s for
``--seconds`` each (delivered msg/s, lag p50/p99, duplicates, CPU and RSS of its process);
the platform's broker away for ``--outage`` s under 100 msg/s (its return to the first
delivery, to the last message of the outage delivered); ``kill -9`` of the gateway a third
of the way into ``--kill-run`` s at 100 msg/s, restarted at once (messages lost, duplicates).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from bench.peer_gateways import Gateway, Ours, ThingsBoard, forward, thingsboard_venv
from bench.procfs import Usage
from gateway import mqtt
from gateway.demo.broker import MosquittoBroker

LOADS = (100, 500, 2000, 3000, 5000)
DEVICES = 10


# -- the harness: devices, the platform, the process's CPU and memory ---------------------------


@dataclass
class Platform:
    """What arrived upstream: arrival times by ``seq``."""

    gateway: Gateway
    arrivals: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    sent: dict[int, float] = field(default_factory=dict)
    unreadable: int = 0

    async def run(self, port: int) -> None:
        """Subscribe (a persistent session: nothing is missed across the broker's restart),
        record deliveries, answer ThingsBoard's session-limits request."""
        while True:
            client = aiomqtt.Client(
                "127.0.0.1", port, identifier="bench-platform", clean_session=False
            )
            try:
                async with client:
                    await client.subscribe("#", qos=1)
                    async for message in client.messages:
                        topic, payload = message.topic.value, mqtt.message_payload(message)
                        if topic.startswith("v1/devices/me/rpc/request/"):
                            number = topic.rsplit("/", 1)[1]
                            limits: dict[str, Any] = {"rateLimits": {}, "gatewayRateLimits": {}}
                            limits["maxPayloadSize"] = 65536
                            reply = json.dumps(limits).encode()
                            await client.publish(f"v1/devices/me/rpc/response/{number}", reply)
                            continue
                        now = time.time()
                        try:
                            found = self.gateway.delivered(topic, payload)
                        except (ValueError, KeyError, TypeError, AttributeError) as err:
                            if not self.unreadable:
                                print(f"unreadable on {topic}: {err!r} {payload[:200]!r}")
                            self.unreadable += 1
                            continue
                        for seq in found:
                            self.arrivals[seq].append(now)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def got(self, seqs: Iterable[int]) -> int:
        return sum(1 for s in seqs if s in self.arrivals)

    async def wait(self, seqs: list[int], limit_s: float, stall_s: float = 10.0) -> None:
        """Until every one of ``seqs`` arrived, nothing new arrived for ``stall_s``, or
        ``limit_s`` passed."""
        deadline = time.monotonic() + limit_s
        count, moved = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = self.got(seqs)
            if now_count == len(seqs):
                return
            if now_count != count:
                count, moved = now_count, time.monotonic()
            elif time.monotonic() - moved > stall_s:
                return
            await asyncio.sleep(0.1)


class Devices:
    """The devices publishing readings with QoS 1 to the local broker, at a given rate."""

    def __init__(self, client: aiomqtt.Client, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.next_seq = 1
        self.window = asyncio.Semaphore(200)

    async def offer(self, rate: float, seconds: float) -> list[int]:
        loop = asyncio.get_running_loop()
        count = int(rate * seconds)
        seqs = list(range(self.next_seq, self.next_seq + count))
        self.next_seq += count
        start = loop.time()
        for i, seq in enumerate(seqs):
            delay = start + i / rate - loop.time()
            if delay > 0.001:
                await asyncio.sleep(delay)
            await self.window.acquire()
            sent = time.time()
            self.platform.sent[seq] = sent
            body = json.dumps({"seq": seq, "sent": sent}).encode()
            mqtt.publish_nowait(
                self.client, f"bench/dev-{seq % DEVICES}/up", body, self.window.release
            )
        return seqs


# -- the scenarios ------------------------------------------------------------------------------


@dataclass
class LoadResult:
    offered: int
    delivered_rate: float
    delivered: int
    count: int
    lag_p50_s: float
    lag_p99_s: float
    duplicates: int
    cpu: float
    rss_mb: float


def summarise(platform: Platform, seqs: list[int]) -> tuple[list[float], int, float]:
    """Lags (first arrival - sent), duplicate copies, and the time of the last arrival."""
    lags, duplicates, last = [], 0, 0.0
    for seq in seqs:
        times = platform.arrivals.get(seq)
        if times:
            lags.append(times[0] - platform.sent[seq])
            duplicates += len(times) - 1
            last = max(last, max(times))
    return lags, duplicates, last


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


async def load(devices: Devices, gateway: Gateway, rate: int, seconds: float) -> LoadResult:
    platform = devices.platform
    usage = Usage()
    assert gateway.process is not None
    async with usage.measuring(gateway.process.pid):
        first = time.time()
        seqs = await devices.offer(rate, seconds)
        await platform.wait(seqs, limit_s=max(2 * seconds, 20), stall_s=5)
    lags, duplicates, last = summarise(platform, seqs)
    delivered = platform.got(seqs)
    return LoadResult(
        rate,
        delivered / max(last - first, seconds) if delivered else 0.0,
        delivered,
        len(seqs),
        percentile(lags, 50),
        percentile(lags, 99),
        duplicates,
        usage.cpu_s * 100,
        usage.rss_max_kb / 1024,
    )


@dataclass
class OutageResult:
    first_delivery_s: float
    drained_s: float
    lost: int
    duplicates: int


async def outage(devices: Devices, upstream: MosquittoBroker, seconds: float) -> OutageResult:
    """100 msg/s; the platform's broker away for ``seconds``; back: how soon, how long."""
    platform = devices.platform
    before = await devices.offer(100, 5)
    upstream.stop()
    during = await devices.offer(100, seconds)
    upstream.start()
    back = time.time()
    after = asyncio.create_task(devices.offer(100, 10))
    await platform.wait(during, limit_s=max(3 * seconds, 120), stall_s=20)
    seqs = before + during + await after
    await platform.wait(seqs, limit_s=30, stall_s=10)
    later = [t for s in during for t in platform.arrivals.get(s, []) if t >= back]
    firsts = [min(ts) for s in seqs if (ts := platform.arrivals.get(s)) and min(ts) >= back]
    _, duplicates, _ = summarise(platform, seqs)
    drained = max((min(platform.arrivals[s]) for s in during if s in platform.arrivals), default=0)
    return OutageResult(
        (min(firsts) - back) if firsts else float("nan"),
        (drained - back) if later else float("nan"),
        len(seqs) - platform.got(seqs),
        duplicates,
    )


@dataclass
class KillResult:
    sent: int
    lost: int
    duplicates: int
    restart_s: float


async def kill9(devices: Devices, gateway: Gateway, seconds: float) -> KillResult:
    """100 msg/s for ``seconds``; ``kill -9`` a third of the way in, restarted at once."""
    platform = devices.platform
    offering = asyncio.create_task(devices.offer(100, seconds))
    await asyncio.sleep(seconds / 3)
    gateway.kill()
    killed = time.time()
    gateway.start()
    seqs = await offering
    await platform.wait(seqs, limit_s=60, stall_s=15)
    _, duplicates, _ = summarise(platform, seqs)
    resumed = [t for s in seqs for t in platform.arrivals.get(s, []) if t > killed]
    return KillResult(
        len(seqs),
        len(seqs) - platform.got(seqs),
        duplicates,
        (min(resumed) - killed) if resumed else float("nan"),
    )


@dataclass
class Report:
    name: str
    loads: list[LoadResult]
    outage: OutageResult
    kill: KillResult
    ready_s: float


async def measure(
    kind: type[Gateway], folder: Path, seconds: float, outage_s: float, kill_s: float
) -> Report:
    acl = folder / "platform.acl"
    acl.write_text(kind.platform_acl)
    extra = f"acl_file {acl}\n" if kind.platform_acl else ""
    with MosquittoBroker() as lan, MosquittoBroker(extra_config=extra) as upstream:
        gateway = kind(folder, lan.port, upstream.port)
        platform = Platform(gateway)
        receiving = asyncio.create_task(platform.run(upstream.port))
        async with aiomqtt.Client("127.0.0.1", lan.port, max_inflight_messages=200) as client:
            devices = Devices(client, platform)
            started = time.monotonic()
            gateway.start()
            try:
                # Ready: a reading makes it through (ThingsBoard takes seconds to start).
                while True:
                    probe = await devices.offer(1000, 0.001)
                    await platform.wait(probe, limit_s=2, stall_s=2)
                    if platform.got(probe):
                        break
                    if gateway.process is not None and gateway.process.poll() is not None:
                        raise RuntimeError(f"{kind.name} exited: see {folder}/gateway.log")
                ready = time.monotonic() - started
                loads = []
                for rate in LOADS:
                    loads.append(await load(devices, gateway, rate, seconds))
                    print(f"  {kind.name}: {rate} msg/s done", flush=True)
                away = await outage(devices, upstream, outage_s)
                print(f"  {kind.name}: outage done", flush=True)
                killed = await kill9(devices, gateway, kill_s)
            finally:
                gateway.stop()
                receiving.cancel()
    return Report(kind.name, loads, away, killed, ready)


def table(reports: list[Report]) -> str:
    lines = [
        "| offered msg/s | gateway | delivered msg/s | lag p50 / p99 | duplicates | CPU | RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, rate in enumerate(LOADS):
        for report in reports:
            r = report.loads[i]
            short = "" if r.delivered == r.count else f" ({r.count - r.delivered:,} not delivered)"
            lines.append(
                f"| {rate:,} | {report.name} | {r.delivered_rate:,.0f}{short} | "
                f"{r.lag_p50_s * 1000:,.0f} / {r.lag_p99_s * 1000:,.0f} ms | {r.duplicates:,} | "
                f"{r.cpu:.0f} % | {r.rss_mb:.0f} MB |"
            )
    lines += [
        "",
        "| gateway | ready after start | outage: back → first delivery | outage: back → "
        "drained | outage: lost / duplicates | kill -9: lost / duplicates | kill -9 → "
        "delivering again |",
        "|---|---|---|---|---|---|---|",
    ]
    for report in reports:
        o, k = report.outage, report.kill
        lines.append(
            f"| {report.name} | {report.ready_s:.1f} s | {o.first_delivery_s:.1f} s | "
            f"{o.drained_s:.1f} s | {o.lost} / {o.duplicates} | {k.lost} of {k.sent:,} / "
            f"{k.duplicates} | {k.restart_s:.1f} s |"
        )
    return "\n".join(lines)


async def main(options: argparse.Namespace) -> None:
    logging.disable(logging.WARNING)  # the plain-MQTT warnings of the bench's own clients
    thingsboard_venv()
    reports = []
    with tempfile.TemporaryDirectory() as scratch:
        for kind in (Ours, ThingsBoard):
            folder = Path(scratch) / kind.__name__
            folder.mkdir()
            print(f"{kind.name}: ...", flush=True)
            reports.append(
                await measure(kind, folder, options.seconds, options.outage, options.kill_run)
            )
    print(
        f"\n{options.seconds:g} s per load, outage {options.outage:g} s, kill -9 run "
        f"{options.kill_run:g} s, 2 of {os.cpu_count()} cores shared with the harness\n"
    )
    print(table(reports))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--kill-run", type=float, default=90.0)
    parser.add_argument("--forward", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lan-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--platform-port", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.forward:
        asyncio.run(forward(options.forward, options.lan_port, options.platform_port))
    else:
        asyncio.run(main(options))
