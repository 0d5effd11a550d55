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
import contextlib
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from gateway import mqtt
from gateway.db import Database
from gateway.demo.broker import MosquittoBroker
from gateway.messages import Priority, isoformat, new_ulid, render_envelope
from gateway.outbox import Outbox
from gateway.settings import MqttSettings, OutboxSettings
from gateway.topics import Topics
from gateway.uplink import Uplink

ROOT = Path(__file__).resolve().parents[1]
PEER = "thingsboard-gateway==3.8.5"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "community-gateway"
LOADS = (100, 500, 2000, 3000, 5000)
DEVICES = 10
OURS = Topics("cg/v1", "bench", "gw")
INPUT = "bench/+/up"
TICK = os.sysconf("SC_CLK_TCK")


# -- the gateways under test ------------------------------------------------------------------


class Gateway:
    """A gateway process: started, killed, restarted; what it delivered, parsed."""

    name = ""

    def __init__(self, folder: Path, lan_port: int, platform_port: int) -> None:
        self.folder = folder
        self.lan_port = lan_port
        self.platform_port = platform_port
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        raise NotImplementedError

    def start(self) -> None:
        argv, env, cwd = self.command()
        with (self.folder / "gateway.log").open("ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log
            )

    def kill(self) -> None:
        """``kill -9``, as a power cut or the kernel's OOM killer."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        """The ``seq`` of each reading in a message the platform received (the harness
        knows when it sent each)."""
        raise NotImplementedError

    #: The platform broker's ACL file, when the gateway needs one.
    platform_acl = ""


class Ours(Gateway):
    name = "community-gateway"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        argv = [sys.executable, "-m", "bench.peer", "--forward", str(self.folder)]
        argv += ["--lan-port", str(self.lan_port), "--platform-port", str(self.platform_port)]
        return argv, dict(os.environ), ROOT

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        if not topic.endswith("/telemetry"):
            return []
        return [int(json.loads(payload)["data"]["seq"])]


class ThingsBoard(Gateway):
    name = "ThingsBoard IoT Gateway 3.8.5"
    # ThingsBoard's client subscribes to the topic it sends its own requests on (a real
    # ThingsBoard does not echo them; a plain broker would, and the gateway answers its own
    # session-limits request with an error before the platform can): it may only write there.
    platform_acl = (
        "topic readwrite #\n\nuser bench\n"
        "topic write v1/devices/me/rpc/request/+\n"
        "topic readwrite v1/devices/me/rpc/response/+\n"
        "topic readwrite v1/devices/me/attributes/#\n"
        "topic readwrite v1/devices/me/attributes\n"
        "topic readwrite v1/devices/me/telemetry\n"
        "topic readwrite v1/gateway/#\n"
    )

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        config = self.folder / "config"
        if not config.exists():
            write_thingsboard_config(config, self.folder, self.lan_port, self.platform_port)
        (self.folder / "logs").mkdir(exist_ok=True)
        env = dict(os.environ, TB_GW_CONFIG_DIR=f"{config}/")
        # The update service (and anything else outside) meets a closed local port.
        env |= {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
        env.pop("NO_PROXY", None)
        return [str(thingsboard_venv() / "bin" / "thingsboard-gateway")], env, self.folder

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        if topic != "v1/gateway/telemetry":
            return []
        # A pack may split one reading's values across entries (by payload size): the
        # reading arrived with its seq.
        return [
            int(entry["values"]["seq"])
            for entries in json.loads(payload).values()
            for entry in entries
            if "seq" in entry["values"]
        ]


def thingsboard_venv() -> Path:
    """The peer in its own virtual environment (made once, kept in the cache)."""
    venv = CACHE / "thingsboard-gateway-3.8.5"
    if (venv / ".installed").exists():
        return venv
    uv = shutil.which("uv") or str(ROOT / ".ci" / "uv")
    print(f"installing {PEER} into {venv}", flush=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "--quiet", "--python", python, PEER], check=True)
    (venv / ".installed").touch()
    return venv


def write_thingsboard_config(config: Path, folder: Path, lan: int, platform: int) -> None:
    """Its shipped ``tb_gateway.json`` and ``logs.json`` with the bench's brokers, SQLite
    storage, the remote configuration and statistics off, logs at warnings only."""
    shipped = next((thingsboard_venv() / "lib").glob("python*/site-packages/thingsboard_gateway"))
    config.mkdir(parents=True)
    main = json.loads((shipped / "config" / "tb_gateway.json").read_text())
    board = main["thingsboard"]
    board |= {"host": "127.0.0.1", "port": platform, "remoteConfiguration": False}
    board["statistics"]["enable"] = False
    board["security"] = {"type": "accessToken", "accessToken": "bench"}
    # The platform sets no rate limit (as a ThingsBoard without tenant limits would).
    for key in [k for k in board if k.endswith("RateLimits") or k.endswith("rateLimits")]:
        del board[key]
    (folder / "data").mkdir(exist_ok=True)
    main["storage"] = {
        "type": "sqlite",
        "data_file_path": f"{folder / 'data'}/",
        "messages_ttl_check_in_hours": 1,
        "messages_ttl_in_days": 7,
        "max_read_records_count": 1000,
    }
    main["connectors"] = [{"type": "mqtt", "name": "MQTT", "configuration": "mqtt.json"}]
    (config / "tb_gateway.json").write_text(json.dumps(main, indent=1))
    logs = json.loads((shipped / "config" / "logs.json").read_text())
    for part in (*logs.get("handlers", {}).values(), *logs.get("loggers", {}).values()):
        part["level"] = "WARNING"
    (config / "logs.json").write_text(json.dumps(logs, indent=1))
    connector = {
        "broker": {
            "host": "127.0.0.1",
            "port": lan,
            "clientId": "tb-bench-input",
            "version": 5,
            "maxMessageNumberPerWorker": 10,
            "maxNumberOfWorkers": 100,
            "cleanSession": False,
            "cleanStart": False,
            "sessionExpiryInterval": 3600,
            "security": {"type": "anonymous"},
        },
        "mapping": [
            {
                "topicFilter": INPUT,
                "subscriptionQos": 1,
                "converter": {
                    "type": "json",
                    "deviceInfo": {
                        "deviceNameExpressionSource": "topic",
                        "deviceNameExpression": "(?<=bench/)(.*?)(?=/up)",
                        "deviceProfileExpressionSource": "constant",
                        "deviceProfileExpression": "default",
                    },
                    "sendDataOnlyOnChange": False,
                    "timeout": 60000,
                    "attributes": [],
                    "timeseries": [
                        {"type": "integer", "key": "seq", "value": "${seq}"},
                        {"type": "double", "key": "sent", "value": "${sent}"},
                    ],
                },
            }
        ],
        "requestsMapping": {},
    }
    (config / "mqtt.json").write_text(json.dumps(connector, indent=1))


# -- our side's input: the gateway's outbox and uplink behind an MQTT subscription --------------


async def forward(folder: Path, lan_port: int, platform_port: int) -> None:
    """Read ``bench/+/up`` and put each reading into the outbox; acknowledge it to the local
    broker once stored (a crash before that: the broker sends it again)."""
    outbox = Outbox(Database(folder / "gateway.sqlite3"), OutboxSettings())
    settings = MqttSettings(host="127.0.0.1", port=platform_port, insecure_plaintext=True)

    async def ignore(topic: str, payload: bytes) -> None:
        return None

    uplink = Uplink(settings, OURS, outbox, boot=1, birth=dict, on_command=ignore)
    room = asyncio.Semaphore(1000)
    tasks: set[asyncio.Task[None]] = set()

    async def take(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        try:
            device = message.topic.value.split("/")[1]
            reading = json.loads(mqtt.message_payload(message))
            data = {"seq": int(reading["seq"]), "sent": float(reading["sent"])}
        except (ValueError, KeyError, TypeError, IndexError):
            logging.warning("dropped a malformed reading on %s", message.topic.value)
        else:

            def render(seq: int) -> bytes:
                ts = isoformat(datetime.now(UTC))
                return render_envelope(new_ulid(), seq, ts, device, "bench", "telemetry", data)

            await outbox.put_envelope(OURS.device(device, "telemetry"), render, Priority.TELEMETRY)
        finally:
            room.release()
        client._client.ack(message.mid, message.qos)  # stored: the broker may forget it

    syncing = asyncio.create_task(outbox.run_sync())
    async with uplink.running():
        while not syncing.done():
            client = aiomqtt.Client(
                "127.0.0.1", lan_port, identifier="cg-bench-input", clean_session=False
            )
            client._client.manual_ack_set(True)
            try:
                async with client:
                    await client.subscribe(INPUT, qos=1)
                    async for message in client.messages:
                        await room.acquire()
                        task = asyncio.create_task(take(client, message))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.5)


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


class Usage:
    """CPU time and the largest RSS of a process tree, sampled twice a second."""

    def __init__(self) -> None:
        self.pid = 0
        self.rss_max_kb = 0
        self.cpu_s = 0.0

    @staticmethod
    def tree(pid: int) -> list[int]:
        found, todo = [], [pid]
        while todo:
            p = todo.pop()
            found.append(p)
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{p}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return found

    def sample(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for p in self.tree(self.pid):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                cpu += (int(fields[11]) + int(fields[12])) / TICK
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        return cpu, rss

    @contextlib.asynccontextmanager
    async def measuring(self, pid: int) -> AsyncIterator[Usage]:
        self.pid, self.rss_max_kb = pid, 0
        cpu0, _ = self.sample()
        wall0 = time.monotonic()

        async def watch() -> None:
            while True:
                _, rss = self.sample()
                self.rss_max_kb = max(self.rss_max_kb, rss)
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch())
        try:
            yield self
        finally:
            watcher.cancel()
            cpu1, _ = self.sample()
            self.cpu_s = (cpu1 - cpu0) / max(time.monotonic() - wall0, 1e-9)


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
