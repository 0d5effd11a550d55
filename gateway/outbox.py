"""The store-and-forward queue between devices and the broker.

:meth:`Outbox.put` returns only when the message is committed to the SQLite file: it survives
a broker outage and ``kill -9``. Events and replies are also flushed to the disk before ``put``
returns; telemetry is flushed every ``sync_interval_s``. Delivery is at-least-once: a row is
deleted (:meth:`Outbox.ack`) only after the broker acknowledged it.

The store is bounded in rows and bytes. When full it drops the oldest message of the lowest
priority first; it never drops a critical event or a reply, and it counts what it dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from gateway.config import OutboxSettings
from gateway.db import Database

__all__ = ["Outbox", "OutboxRow", "Priority"]

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Lower is more important. CRITICAL and REPLY are never dropped."""

    CRITICAL = 0
    REPLY = 1
    EVENT = 2
    STATE = 3
    TELEMETRY = 4


_DROPPABLE = Priority.EVENT


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored message, in delivery order (``id``)."""

    id: int
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """Durable, bounded, ordered queue of messages for the broker."""

    def __init__(self, db: Database, settings: OutboxSettings | None = None) -> None:
        self._db = db
        self._settings = settings or OutboxSettings()
        conn = db.conn
        self._rows, self._bytes = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
        ).fetchone()
        self._seq = int(db.get_meta("seq", "0") or 0)
        self._dropped = int(db.get_meta("dropped", "0") or 0)
        self._last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        self._new = asyncio.Event()
        self._unsynced = False

    # -- writing ---------------------------------------------------------------------------

    async def put_envelope(
        self,
        topic: str,
        render: Callable[[int], bytes],
        priority: Priority,
        *,
        retain: bool = False,
    ) -> int:
        """Store an envelope; ``render(seq)`` builds its payload with the next ``seq``."""
        with self._db.transaction():
            self._seq += 1
            self._db.set_meta("seq", str(self._seq))
            self._insert(topic, render(self._seq), priority, retain)
        await self._after_commit(priority)
        return self._seq

    async def put(
        self, topic: str, payload: bytes, priority: Priority, *, retain: bool = False
    ) -> None:
        """Store a message that is not an envelope (a command reply)."""
        with self._db.transaction():
            self._insert(topic, payload, priority, retain)
        await self._after_commit(priority)

    def _insert(self, topic: str, payload: bytes, priority: Priority, retain: bool) -> None:
        size = len(payload) + len(topic.encode())
        self._make_room(size)
        cursor = self._db.conn.execute(
            "INSERT INTO outbox (priority, topic, payload, retain) VALUES (?, ?, ?, ?)",
            (int(priority), topic, payload, int(retain)),
        )
        self._last_id = cursor.lastrowid or self._last_id
        self._rows += 1
        self._bytes += size

    def _make_room(self, size: int) -> None:
        max_rows, max_bytes = self._settings.max_rows, self._settings.max_bytes
        dropped = 0
        while self._rows + 1 > max_rows or self._bytes + size > max_bytes:
            excess = max(self._rows + 1 - max_rows, 1)
            freed = self._db.conn.execute(
                "DELETE FROM outbox WHERE id IN ("
                " SELECT id FROM outbox WHERE priority = ("
                "  SELECT MAX(priority) FROM outbox WHERE priority >= ?)"
                " ORDER BY id LIMIT ?) RETURNING LENGTH(payload) + LENGTH(topic)",
                (int(_DROPPABLE), excess),
            ).fetchall()
            if not freed:
                break  # only critical events and replies remain: keep them all
            dropped += len(freed)
            self._rows -= len(freed)
            self._bytes -= sum(r[0] for r in freed)
        if dropped:
            self._dropped += dropped
            self._db.set_meta("dropped", str(self._dropped))
            log.warning("outbox full: dropped %d oldest low-priority messages", dropped)

    async def _after_commit(self, priority: Priority) -> None:
        self._new.set()
        if priority < Priority.STATE:
            await asyncio.to_thread(self._db.sync)
        else:
            self._unsynced = True

    async def run_sync(self) -> None:
        """Flush telemetry to the disk every ``sync_interval_s`` (runs until cancelled)."""
        while True:
            await asyncio.sleep(self._settings.sync_interval_s)
            if self._unsynced:
                self._unsynced = False
                await asyncio.to_thread(self._db.sync)

    # -- draining --------------------------------------------------------------------------

    def fetch(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` stored messages with ``id > after_id``, in order."""
        rows = self._db.conn.execute(
            "SELECT id, topic, payload, retain FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [OutboxRow(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    async def wait_for_new(self, after_id: int) -> None:
        """Return once a message with ``id > after_id`` is stored."""
        while self._last_id <= after_id:
            self._new.clear()
            await self._new.wait()

    def ack(self, ids: Iterable[int]) -> None:
        """The broker has these: delete them."""
        id_list = list(ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._db.transaction():
                freed = self._db.conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks}) "
                    "RETURNING LENGTH(payload) + LENGTH(topic)",
                    chunk,
                ).fetchall()
            self._rows -= len(freed)
            self._bytes -= sum(r[0] for r in freed)

    # -- statistics ------------------------------------------------------------------------

    @property
    def last_id(self) -> int:
        return int(self._last_id)

    @property
    def depth(self) -> int:
        return int(self._rows)

    def stats(self) -> dict[str, Any]:
        return {
            "depth": int(self._rows),
            "bytes": int(self._bytes),
            "dropped": self._dropped,
            "seq": self._seq,
            "max_rows": self._settings.max_rows,
            "max_bytes": self._settings.max_bytes,
        }
