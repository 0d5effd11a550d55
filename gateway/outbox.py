"""The store-and-forward queue between devices and the broker.

:meth:`Outbox.put` returns only when the message is committed to the SQLite file: it survives
a broker outage and ``kill -9``. Events and replies are also flushed to the disk before ``put``
returns; telemetry is flushed every ``sync_interval_s``. Delivery is at-least-once: a row is
deleted (:meth:`Outbox.ack`) only after the broker acknowledged it. A backlog is sent
critical events first (an emergency call made during an outage is the first thing upstream
hears when it returns), then everything else in the order it was made.

The store is bounded in rows and bytes. When full it drops the oldest message of the lowest
priority first; it never drops a critical event or a reply, and it counts what it dropped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gateway.db import Database, is_full
from gateway.errors import StorageError
from gateway.messages import Priority
from gateway.settings import OutboxSettings

__all__ = ["Outbox", "OutboxRow"]

log = logging.getLogger(__name__)


_DROPPABLE = Priority.EVENT
#: Rows per INSERT statement (4 parameters each, well under SQLite's 32,766).
_CHUNK = 250


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored message, in delivery order (``id``)."""

    id: int
    topic: str
    payload: bytes
    retain: bool


@dataclass(slots=True)
class _Pending:
    topic: str
    body: bytes | Callable[[int], bytes]
    priority: Priority
    retain: bool
    done: asyncio.Future[int]


class Outbox:
    """Durable, bounded, ordered queue of messages for the broker.

    Writes (puts, acknowledgements, drops) go through one writer thread with its own
    connection, so the event loop keeps serving the broker while SQLite writes; reads
    (:meth:`fetch`) use the database's main connection and see committed rows only.
    """

    def __init__(self, db: Database, settings: OutboxSettings | None = None) -> None:
        self._db = db
        self._settings = settings or OutboxSettings()
        self._wconn = db.connect()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="outbox-writer")
        self._recount()
        self._new = asyncio.Event()
        self._unsynced = False
        self._pending: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None
        self._sync_tasks: set[asyncio.Task[None]] = set()

    def _recount(self) -> None:
        """Read the counters back from the file (at start, and after a failed commit)."""
        conn = self._wconn
        self._rows, self._bytes = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
        ).fetchone()
        self._seq = int(self._db.get_meta("seq", "0", conn) or 0)
        self._dropped = int(self._db.get_meta("dropped", "0", conn) or 0)
        #: The last write found the disk (or the database's size limit) full.
        self.disk_full = False
        self._full_at_rows = 0
        self._last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]

    def close(self) -> None:
        """Finish pending writes and release the writer."""
        self._writer.shutdown(wait=True)
        self._wconn.close()

    # -- writing ---------------------------------------------------------------------------

    async def put_envelope(
        self,
        topic: str,
        render: Callable[[int], bytes],
        priority: Priority,
        *,
        retain: bool = False,
    ) -> int:
        """Store an envelope; ``render(seq)`` builds its payload with the next ``seq``.

        Returns the ``seq`` once the message is committed (and, for events, on the disk).
        """
        return await self._enqueue(topic, render, priority, retain)

    async def put(
        self, topic: str, payload: bytes, priority: Priority, *, retain: bool = False
    ) -> None:
        """Store a message that is not an envelope (a command reply)."""
        await self._enqueue(topic, payload, priority, retain)

    async def _enqueue(
        self, topic: str, body: bytes | Callable[[int], bytes], priority: Priority, retain: bool
    ) -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(topic, body, priority, retain, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_loop(), name="outbox-commit")
        return await done

    async def _commit_loop(self) -> None:
        """Group commit: what was put while the previous batch was written, one transaction."""
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            rows: list[tuple[int, str, bytes, int]] = []
            seqs: list[int] = []
            seq = self._seq
            try:
                for item in batch:
                    if callable(item.body):
                        seq += 1
                        payload = item.body(seq)
                    else:
                        payload = item.body
                    seqs.append(seq)
                    rows.append((int(item.priority), item.topic, payload, int(item.retain)))
                await loop.run_in_executor(self._writer, self._write, rows, seq)
            except Exception as err:
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(err)
                continue
            self._new.set()
            self._release(batch, seqs)

    def _write(self, rows: list[tuple[int, str, bytes, int]], seq: int) -> None:
        """In the writer thread: insert a batch, making room first.

        When the disk (or the database's size limit) is full, the oldest droppable rows
        make room for the batch; when none are left, a batch of telemetry and state is
        dropped (and counted) rather than failing its devices, while events and replies
        fail to their callers. :attr:`disk_full` stays set until the outbox holds half of
        what it held when the disk filled.
        """
        size = sum(len(r[2]) + len(r[1]) for r in rows)
        for attempt in range(3):
            try:
                last_id = self._insert(rows, seq, size, extra_room=attempt > 0)
                break
            except sqlite3.OperationalError as err:
                self._recount()
                if not is_full(err):
                    raise
                if not self.disk_full:
                    log.error("the disk is full: dropping old telemetry to keep events")
                self.disk_full = True
                if attempt == 2:
                    if all(r[0] >= int(Priority.STATE) for r in rows):
                        self._dropped += len(rows)
                        return  # dropped: the callers' seqs were used, the messages not kept
                    raise StorageError(
                        "the disk is full and holds only events and replies"
                    ) from err
            except BaseException:
                self._recount()
                raise
        if attempt > 0:
            self._full_at_rows = self._rows  # room had to be made: the disk is full here
        elif self.disk_full and self._rows + len(rows) <= self._full_at_rows // 2:
            self.disk_full = False  # half of it is free again (the backlog was delivered)
            log.warning("the disk has room again")
        self._seq = seq
        self._rows += len(rows)
        self._bytes += size
        self._last_id = last_id

    def _insert(
        self, rows: list[tuple[int, str, bytes, int]], seq: int, size: int, extra_room: bool
    ) -> int:
        with self._db.transaction(self._wconn) as conn:
            self._make_room(len(rows), size, extra=len(rows) * 4 + 50 if extra_room else 0)
            # One statement per chunk, not one per row: sqlite3 releases and takes back the
            # GIL around every step, and the event loop then waits for this thread each time.
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                conn.execute(
                    "INSERT INTO outbox (priority, topic, payload, retain) VALUES "
                    + ",".join(["(?, ?, ?, ?)"] * len(chunk)),
                    [value for row in chunk for value in row],
                )
            last_id = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
            if seq != self._seq:
                self._db.set_meta("seq", str(seq), conn)
        return last_id

    def _release(self, batch: list[_Pending], seqs: list[int]) -> None:
        """Telemetry and state return now; events and replies once the disk has them."""
        urgent = []
        for item, seq in zip(batch, seqs, strict=True):
            if item.priority < Priority.STATE:
                urgent.append((item, seq))
            elif not item.done.done():
                item.done.set_result(seq)
        if len(urgent) < len(batch):
            self._unsynced = True
        if urgent:
            task = asyncio.get_running_loop().create_task(self._sync_then_release(urgent))
            self._sync_tasks.add(task)
            task.add_done_callback(self._sync_tasks.discard)

    async def _sync_then_release(self, items: list[tuple[_Pending, int]]) -> None:
        try:
            await asyncio.to_thread(self._db.sync)
        except OSError as err:
            for item, _ in items:
                if not item.done.done():
                    item.done.set_exception(err)
            return
        for item, seq in items:
            if not item.done.done():
                item.done.set_result(seq)

    def _make_room(self, count: int, size: int, extra: int = 0) -> None:
        """Drop the oldest droppable rows until ``count`` more rows of ``size`` bytes fit
        (and ``extra`` more rows anyway: the disk is full)."""
        max_rows, max_bytes = self._settings.max_rows, self._settings.max_bytes
        dropped = 0
        while self._rows + count > max_rows or self._bytes + size > max_bytes or dropped < extra:
            excess = max(self._rows + count - max_rows, extra - dropped, 1)
            freed = self._wconn.execute(
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
            self._db.set_meta("dropped", str(self._dropped), self._wconn)
            log.warning("outbox full: dropped %d oldest low-priority messages", dropped)

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

    def fetch_critical(self, after_id: int, up_to_id: int, limit: int) -> list[OutboxRow]:
        """Critical events stored with ``after_id < id <= up_to_id``, in order: a backlog
        sends them before everything else."""
        rows = self._db.conn.execute(
            "SELECT id, topic, payload, retain FROM outbox "
            "WHERE priority = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?",
            (int(Priority.CRITICAL), after_id, up_to_id, limit),
        ).fetchall()
        return [OutboxRow(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    async def wait_for_new(self, after_id: int) -> None:
        """Return once a message with ``id > after_id`` is stored."""
        while self._last_id <= after_id:
            self._new.clear()
            await self._new.wait()

    async def ack(self, ids: Iterable[int]) -> None:
        """The broker has these: delete them (in the writer thread)."""
        id_list = list(ids)
        if id_list:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._delete, id_list)

    def _delete(self, ids: list[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._db.transaction(self._wconn) as conn:
                # Counted in one step, then deleted in one (RETURNING would step per row).
                count, size = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) "
                    f"FROM outbox WHERE id IN ({marks})",
                    chunk,
                ).fetchone()
                conn.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk)
            self._rows -= count
            self._bytes -= size

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
            "disk_full": self.disk_full,
        }
