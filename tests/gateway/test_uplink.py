"""The uplink against a real Mosquitto: birth, drain after PUBACK, reconnect, commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.demo.broker import MosquittoBroker
from gateway.errors import UplinkError
from gateway.messages import Priority
from gateway.mqtt import Observer, ReceivedMessage
from gateway.outbox import Outbox
from gateway.settings import MqttSettings
from gateway.topics import Topics
from gateway.uplink import Uplink
from tests.gateway.helpers import envelope

T = Topics("cg/v1", "unit", "gw")


async def collect(settings: MqttSettings, into: list[ReceivedMessage]) -> None:
    """Record everything; a persistent session keeps what arrives while reconnecting."""
    while True:
        try:
            async with Observer(settings, "unit-upstream", persistent=True) as observer:
                await observer.subscribe(T.everything)
                async for message in observer.messages():
                    into.append(message)
        except UplinkError:
            await asyncio.sleep(0.02)


async def eventually(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_drains_in_order_deletes_after_puback_and_survives_a_restart(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    # The gateway reconnects after 0.5-1 s; the recording observer sooner.
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        reconnect_min_s=1.0,
        backlog_reconnect_max_s=1.0,
        insecure_plaintext=True,
    )
    outbox = Outbox(Database(tmp_path / "g.sqlite3"))
    commands: list[tuple[str, bytes]] = []

    async def on_command(topic: str, payload: bytes) -> None:
        commands.append((topic, payload))

    seen: list[ReceivedMessage] = []
    watcher = asyncio.create_task(collect(settings, seen))
    await asyncio.sleep(0.2)
    for _ in range(3):  # stored before the gateway ever connected: historical
        await outbox.put_envelope(T.device("d", "telemetry"), envelope, Priority.TELEMETRY)
    uplink = Uplink(
        settings, T, outbox, boot=7, birth=lambda: {"devices": []}, on_command=on_command
    )
    async with uplink.running():
        await eventually(lambda: uplink.state == "online" and outbox.depth == 0)
        for _ in range(200):
            await outbox.put_envelope(T.device("d", "telemetry"), envelope, Priority.TELEMETRY)
        await eventually(lambda: outbox.depth == 0)
        async with Observer(settings) as client:
            await client.publish(T.command("d", "ping"), b'{"id": "1"}')
        await eventually(lambda: commands)
        assert commands == [(T.command("d", "ping"), b'{"id": "1"}')]

        broker.stop()
        await eventually(lambda: uplink.state != "online")
        for _ in range(50):
            await outbox.put_envelope(T.device("d", "telemetry"), envelope, Priority.TELEMETRY)
        assert outbox.depth == 50
        broker.start()
        await eventually(lambda: outbox.depth == 0)

    def received() -> set[int]:
        return {m.json()["seq"] for m in seen if m.topic.endswith("/telemetry")}

    # The observer's session queued what arrived while it reconnected: let it catch up.
    with contextlib.suppress(TimeoutError):
        await eventually(lambda: len(received()) >= 253)
    watcher.cancel()
    envelopes = [m.json() for m in seen if m.topic.endswith("/telemetry")]
    seqs = [e["seq"] for e in envelopes]
    assert sorted(set(seqs)) == list(range(1, 254))
    by_seq = {e["seq"]: e["historical"] for e in envelopes}
    assert all(by_seq[s] for s in (1, 2, 3)) and not by_seq[100]
    assert all(by_seq[s] for s in range(204, 254))
    assert uplink.connects == 2
    births = [json.loads(m.payload) for m in seen if m.topic == T.status]
    assert births[0] == {"online": True, "boot": 7, "devices": []}


async def test_a_broker_that_stops_acknowledging_is_left_and_nothing_is_lost(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen broker keeps the TCP connection open and answers nothing: once the in-flight
    window has waited a whole PUBACK timeout, the uplink reconnects, and every message is
    delivered when the broker answers again."""
    monkeypatch.setattr("gateway.uplink._PUBACK_TIMEOUT_S", 1.0)
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        inflight=10,
        reconnect_min_s=0.05,
        reconnect_max_s=0.1,
        backlog_reconnect_max_s=0.1,
        insecure_plaintext=True,
    )
    outbox = Outbox(Database(tmp_path / "g.sqlite3"))
    seen: list[ReceivedMessage] = []
    watcher = asyncio.create_task(collect(settings, seen))

    async def ignore(topic: str, payload: bytes) -> None:
        return None

    uplink = Uplink(settings, T, outbox, boot=1, birth=dict, on_command=ignore)
    async with uplink.running():
        await eventually(lambda: uplink.state == "online")
        broker.pause()
        try:
            for _ in range(50):
                await outbox.put_envelope(T.device("d", "telemetry"), envelope, Priority.EVENT)
            await eventually(lambda: uplink.state != "online", timeout=5)
            assert outbox.depth == 50  # nothing acknowledged, nothing deleted
        finally:
            broker.resume()
        await eventually(lambda: outbox.depth == 0, timeout=30)
    await eventually(lambda: len({m.json()["seq"] for m in seen if "telemetry" in m.topic}) == 50)
    watcher.cancel()
    assert uplink.connects >= 2


async def test_offline_start_keeps_retrying_without_losing_anything(tmp_path: Path) -> None:
    from gateway.demo.broker import free_port

    settings = MqttSettings(
        host="127.0.0.1",
        port=free_port(),
        reconnect_min_s=0.01,
        reconnect_max_s=0.05,
        insecure_plaintext=True,
    )
    outbox = Outbox(Database(tmp_path / "g.sqlite3"))
    await outbox.put_envelope("t", envelope, Priority.EVENT)

    async def ignore(topic: str, payload: bytes) -> None:
        return None

    uplink = Uplink(settings, T, outbox, boot=1, birth=dict, on_command=ignore)
    async with uplink.running():
        await asyncio.sleep(0.5)
        assert uplink.state in {"connecting", "offline"}
        assert outbox.depth == 1
    assert uplink.state in {"stopped"}


async def test_a_full_command_queue_makes_room_for_a_signed_command() -> None:
    import aiomqtt

    from gateway.mqtt import CommandQueue

    def message(n: int, signed: bool = False) -> aiomqtt.Message:
        body = b'{"id": "%d", "sig": "x"}' % n if signed else b'{"id": "%d"}' % n
        return aiomqtt.Message("cg/v1/s/g/cmd/water-1/valve_close", body, 1, False, n, None)

    queue = CommandQueue(maxsize=3)
    for n in range(3):
        queue.put_nowait(message(n))
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(message(3))  # an unsigned one more is discarded, as before
    queue.put_nowait(message(4, signed=True))  # the oldest unsigned one makes room
    ids = [(await queue.get()).mid for _ in range(3)]
    assert ids == [1, 2, 4]
    for n in (5, 6, 7):
        queue.put_nowait(message(n, signed=True))
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(message(8, signed=True))  # nothing unsigned left to give way
