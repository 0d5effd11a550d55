"""Uplink benchmark against one real Mosquitto, all figures from the same run.

    uv run python -m bench.uplink [--messages 20000] [--backlog 100000]

(a) raw aiomqtt QoS 1 publishing with an in-flight window of 100 (the baseline);
(b) the gateway's durable path: put() → SQLite outbox → PUBACK → delete;
(c) draining a backlog of stored messages after an outage;
(d) latency put() → delivered to an upstream subscriber at 1,000 msg/s offered.
Prints each rate and the ratio b/a (the median of each round's ratio). Goals on 2 cores:
b/a ≥ 0.85, backlog of 100,000 drained in
≤ 40 s, median latency ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

from gateway.db import Database
from gateway.demo.broker import MosquittoBroker
from gateway.messages import Priority, isoformat, new_ulid, render_envelope
from gateway.mqtt import Observer
from gateway.outbox import Outbox
from gateway.settings import MqttSettings, OutboxSettings
from gateway.topics import Topics
from gateway.uplink import Uplink

T = Topics("cg/v1", "bench", "gw")
WINDOW = 100
TOPIC = T.device("bench-1", "telemetry")


DATA = {"fill_percent": 42.5, "distance_m": 0.61, "temperature_c": 21.4}


def payload(seq: int) -> bytes:
    """A bin's telemetry, rendered as ``DriverContext.publish_telemetry`` renders it."""
    ts = isoformat(datetime.now(UTC))
    return render_envelope(new_ulid(), seq, ts, "bench-1", "bin", "telemetry", DATA)


async def raw_rate(port: int, n: int) -> float:
    body = payload(1)
    async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=WINDOW) as client:
        window = asyncio.Semaphore(WINDOW)

        async def one() -> None:
            try:
                await client.publish(TOPIC, body, qos=1)
            finally:
                window.release()

        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for _ in range(n):
                await window.acquire()
                tg.create_task(one())
        return n / (time.perf_counter() - start)


@contextlib.asynccontextmanager
async def uplink(port: int, outbox: Outbox) -> AsyncIterator[Uplink]:
    async def ignore(topic: str, data: bytes) -> None:
        return None

    settings = MqttSettings(host="127.0.0.1", port=port, inflight=WINDOW, insecure_plaintext=True)
    link = Uplink(settings, T, outbox, boot=1, birth=dict, on_command=ignore)
    async with link.running():
        while link.state != "online":
            await asyncio.sleep(0.01)
        yield link


async def drained(outbox: Outbox) -> None:
    while outbox.depth:
        await asyncio.sleep(0.005)


PRODUCERS = 100  # devices putting concurrently, as drivers do


async def durable_rate(port: int, n: int, folder: Path) -> float:
    outbox = Outbox(Database(folder / "durable.sqlite3"), OutboxSettings())

    async def device(count: int) -> None:
        for _ in range(count):
            await outbox.put_envelope(TOPIC, payload, Priority.TELEMETRY)

    async with uplink(port, outbox):
        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for _ in range(PRODUCERS):
                tg.create_task(device(n // PRODUCERS))
        await drained(outbox)
        return (n // PRODUCERS * PRODUCERS) / (time.perf_counter() - start)


async def backlog_drain(port: int, n: int, folder: Path) -> tuple[float, float]:
    outbox = Outbox(Database(folder / "backlog.sqlite3"), OutboxSettings(max_rows=n + 10))
    start = time.perf_counter()
    for _ in range(n):
        await outbox.put_envelope(TOPIC, payload, Priority.TELEMETRY)
    fill = time.perf_counter() - start  # one producer: one commit per message
    start = time.perf_counter()
    async with uplink(port, outbox):
        await drained(outbox)
    return fill, time.perf_counter() - start


async def latency(port: int, rate: float, seconds: float, folder: Path) -> list[float]:
    outbox = Outbox(Database(folder / "latency.sqlite3"), OutboxSettings())
    sent: dict[int, float] = {}
    got: dict[int, float] = {}
    async with Observer(
        MqttSettings(host="127.0.0.1", port=port, insecure_plaintext=True)
    ) as observer:
        await observer.subscribe(TOPIC)

        async def receive() -> None:
            async for message in observer.messages():
                got[json.loads(message.payload)["seq"]] = time.perf_counter()

        receiver = asyncio.create_task(receive())
        async with uplink(port, outbox):
            n = int(rate * seconds)
            start = time.perf_counter()
            for i in range(n):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                before = time.perf_counter()
                seq = await outbox.put_envelope(TOPIC, payload, Priority.TELEMETRY)
                sent[seq] = before
            await drained(outbox)
            await asyncio.sleep(0.5)
        receiver.cancel()
    return [(got[s] - t) * 1000 for s, t in sent.items() if s in got]


ROUNDS = 7


async def main(messages: int, backlog: int) -> None:
    logging.disable(logging.WARNING)  # the plain-MQTT warning, once per client
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        await raw_rate(broker.port, 2000)  # warm-up
        raw: list[float] = []
        durable: list[float] = []
        for round_ in range(ROUNDS):  # interleaved, so that noise hits both alike
            raw.append(await raw_rate(broker.port, messages))
            durable.append(await durable_rate(broker.port, messages, folder / str(round_)))
        fill, drain = await backlog_drain(broker.port, backlog, folder)
        lat = await latency(broker.port, 1000, 5, folder)
    a, b = statistics.median(raw), statistics.median(durable)
    # Each round's two runs are seconds apart: their ratio cancels the machine's drift
    # (another tenant, the CPU's clock), which moves both rates by up to 30 % between rounds.
    ratio = statistics.median(d / r for r, d in zip(raw, durable, strict=True))
    print(f"median of {ROUNDS} interleaved rounds of {messages:,} messages each:")
    print(
        f"(a) raw aiomqtt QoS 1, window {WINDOW}:        {a:8,.0f} msg/s "
        f"({', '.join(f'{r:,.0f}' for r in raw)})"
    )
    print(
        f"(b) durable put → outbox → PUBACK → delete: {b:8,.0f} msg/s "
        f"({', '.join(f'{r:,.0f}' for r in durable)}; {PRODUCERS} devices putting)"
    )
    print(
        f"    ratio b/a, median of the rounds' ratios:  {ratio:6.2f}   (goal ≥ 0.85; "
        f"ratio of the medians {b / a:.2f})"
    )
    print(
        f"(c) backlog of {backlog:,}: stored in {fill:.1f} s by one device, drained in "
        f"{drain:.1f} s ({backlog / drain:,.0f} msg/s; goal ≤ 40 s)"
    )
    p50 = statistics.median(lat)
    p99 = statistics.quantiles(lat, n=100)[98]
    print(
        f"(d) put → delivered upstream at 1,000 msg/s: median {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({len(lat):,} msgs; goal median ≤ 20 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    options = parser.parse_args()
    asyncio.run(main(options.messages, options.backlog))
