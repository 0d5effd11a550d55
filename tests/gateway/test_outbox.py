"""The outbox: durable on return, ordered, bounded by priority, counted."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.errors import StorageError
from gateway.messages import Priority
from gateway.outbox import Outbox
from gateway.settings import OutboxSettings
from tests.gateway.helpers import envelope


async def test_messages_survive_a_process_that_never_closed_its_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    for _ in range(5):
        await outbox.put_envelope("t/tele", envelope, Priority.TELEMETRY)
    await outbox.put("t/reply", b'{"id":"x"}', Priority.REPLY)
    # A second connection sees every committed row, as a restart after kill -9 would.
    other = sqlite3.connect(tmp_path / "g.sqlite3")
    assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 6
    reopened = Outbox(Database(tmp_path / "g.sqlite3"))
    rows = reopened.fetch(0, 100)
    assert [r.topic for r in rows] == ["t/tele"] * 5 + ["t/reply"]
    assert reopened.stats()["seq"] == 5
    assert await reopened.put_envelope("t/tele", envelope, Priority.TELEMETRY) == 6


async def test_fetch_is_ordered_and_ack_deletes(tmp_path: Path) -> None:
    outbox = Outbox(Database(tmp_path / "g.sqlite3"))
    for _ in range(10):
        await outbox.put_envelope("t", envelope, Priority.TELEMETRY)
    first = outbox.fetch(0, 4)
    assert [r.id for r in first] == [1, 2, 3, 4]
    assert [r.id for r in outbox.fetch(4, 100)] == list(range(5, 11))
    await outbox.ack([r.id for r in first])
    assert outbox.depth == 6
    assert outbox.fetch(0, 1)[0].id == 5
    await outbox.ack([5, 5, 999])  # acknowledging twice or unknown ids is harmless
    assert outbox.depth == 5


async def test_when_full_it_drops_oldest_lowest_priority_never_critical_or_replies(
    tmp_path: Path,
) -> None:
    outbox = Outbox(Database(tmp_path / "g.sqlite3"), OutboxSettings(max_rows=100))
    for _ in range(20):
        await outbox.put_envelope("crit", envelope, Priority.CRITICAL)
        await outbox.put("reply", b"{}", Priority.REPLY)
    for _ in range(20):
        await outbox.put_envelope("event", envelope, Priority.EVENT)
    for _ in range(60):
        await outbox.put_envelope("tele", envelope, Priority.TELEMETRY)
    assert outbox.depth == 100 and outbox.stats()["dropped"] == 20
    topics = [r.topic for r in outbox.fetch(0, 1000)]
    assert topics.count("crit") == 20 and topics.count("reply") == 20
    assert topics.count("event") == 20 and topics.count("tele") == 40
    # The oldest telemetry went first: the survivors are the newest 40.
    tele = [r.payload for r in outbox.fetch(0, 1000) if r.topic == "tele"]
    assert b'"seq":61,' in tele[0]
    # Once only critical events and replies remain they are kept beyond the bound.
    for _ in range(120):
        await outbox.put_envelope("crit", envelope, Priority.CRITICAL)
    topics = [r.topic for r in outbox.fetch(0, 1000)]
    assert topics.count("crit") == 140 and topics.count("reply") == 20
    assert "tele" not in topics and "event" not in topics
    assert outbox.stats()["dropped"] == 20 + 60


async def test_byte_bound(tmp_path: Path) -> None:
    outbox = Outbox(Database(tmp_path / "g.sqlite3"), OutboxSettings(max_bytes=64 * 1024))
    for _ in range(2000):
        await outbox.put_envelope("tele", envelope, Priority.TELEMETRY)
    assert outbox.stats()["bytes"] <= 64 * 1024
    assert outbox.stats()["dropped"] > 0
    assert outbox.stats()["seq"] == 2000


def test_a_second_gateway_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = Database(tmp_path / "g.sqlite3", exclusive=True)
    with pytest.raises(StorageError, match=rf"another gateway \(pid {os.getpid()}\) is running"):
        Database(tmp_path / "g.sqlite3", exclusive=True)
    Database(tmp_path / "g.sqlite3").close()  # readers (gateway outbox stats) are welcome
    first.close()
    Database(tmp_path / "g.sqlite3", exclusive=True).close()


async def test_a_full_disk_drops_old_telemetry_keeps_events_and_recovers(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3", max_file_mb=0.3)  # the database's size limit
    outbox = Outbox(db)
    payload = b"x" * 1500
    for _ in range(600):  # about 1 MB of telemetry into 0.3 MB
        await outbox.put("t/tele", payload, Priority.TELEMETRY)
    assert outbox.disk_full and outbox.stats()["disk_full"]
    assert outbox.stats()["dropped"] > 0
    await outbox.put("t/event", b"critical" * 100, Priority.CRITICAL)  # room is made for it
    rows = outbox.fetch(0, 10_000)
    assert rows[-1].topic == "t/event"
    await outbox.ack([r.id for r in rows[:-1]])  # the broker is back: space returns
    await outbox.put("t/tele", payload, Priority.TELEMETRY)
    assert not outbox.disk_full
    assert outbox.fetch(0, 10)[0].topic == "t/event"  # the event is still first in line
    outbox.close()
