"""What the console shows: each device's latest state and readings, and their recent past.

Every message a driver publishes passes through :meth:`History.add` as well as the outbox.
The latest state and telemetry stay in memory; telemetry and events are also written to the
``history`` table in batches (a ``kill -9`` can lose the last few seconds of this local copy;
the outbox, not this, is what guarantees delivery upstream). Secret values (a pickup code)
are redacted before anything is kept. Old rows are pruned by age and by count (shared
fairly between the devices); when the disk or the database's size limit is reached, the
oldest quarter of this history gives way, so the outbox keeps its room.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock
from gateway.db import Database, is_full
from gateway.messages import isoformat, redacted
from gateway.plugins import secret_fields

__all__ = ["DeviceView", "Entry", "History", "Readings"]

log = logging.getLogger(__name__)

#: How often pending rows are written, and how often old ones are pruned.
FLUSH_S = 2.0
PRUNE_S = 3600.0


@dataclass(frozen=True)
class Entry:
    """One kept telemetry sample or event."""

    id: int
    device: str
    type: str
    ts: str
    data: dict[str, Any]
    severity: str | None = None
    name: str | None = None


@dataclass
class DeviceView:
    """A device as the console sees it now."""

    id: str
    kind: str
    state: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    telemetry_ts: str | None = None
    last_event: Entry | None = None

    @property
    def available(self) -> bool:
        """False before the device's first state and while it is faulty or restarting."""
        return bool(self.state.get("available", False))


Point = tuple[datetime, Any]


class Readings:
    """One device's recent telemetry, fields picked out by SQLite's JSON functions (in C,
    without Python's GIL: a week of readings does not stall the gateway's event loop)."""

    _WHERE = "h.device = ? AND h.type = 'telemetry' AND h.ts >= ?"

    def __init__(self, conn: sqlite3.Connection, device: str, since: str) -> None:
        self._conn = conn
        self._where = (device, since)

    def series(self, field: str) -> list[Point]:
        """``(time, value)`` of a top-level field, oldest first (``None`` where missing)."""
        rows = self._conn.execute(
            f"SELECT h.ts, json_extract(h.data, ?) FROM history h WHERE {self._WHERE} "
            "ORDER BY h.ts, h.id",
            (f"$.{field}", *self._where),
        )
        return [(datetime.fromisoformat(ts), value) for ts, value in rows]

    def row(self, array: str, key: str, field: str) -> list[Point]:
        """``(time, value)`` of ``field`` in the element of list ``array`` whose ``id`` is
        ``key`` (a compartment's temperature in a locker bank's reading)."""
        rows = self._conn.execute(
            f"SELECT h.ts, json_extract(j.value, ?) FROM history h, json_each(h.data, ?) j "
            f"WHERE {self._WHERE} AND json_extract(j.value, '$.id') = ? ORDER BY h.ts, h.id",
            (f"$.{field}", f"$.{array}", *self._where, key),
        )
        return [(datetime.fromisoformat(ts), value) for ts, value in rows]


class History:
    """Recent telemetry and events per device, and every device's latest view."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        keep_days: float = 30.0,
        max_rows: int = 200_000,
        secrets: frozenset[str] | None = None,
    ) -> None:
        self._db = db
        #: Fields kept as ``***`` (default: every installed kind's secrets).
        self.secrets = secret_fields() if secrets is None else secrets
        self._clock = clock
        self.keep_days = keep_days
        #: Rows kept in all (about 40 MB of readings): each device keeps its share.
        self.max_rows = max_rows
        self._views: dict[str, DeviceView] = {}
        self._pending: list[tuple[str, str, str, str | None, str | None, str]] = []
        self._reader: sqlite3.Connection | None = None
        self._failed = False

    # -- writing -----------------------------------------------------------------------------

    def register(self, device: str, kind: str) -> DeviceView:
        """Make a device known (it shows, unavailable, before its first message)."""
        return self._views.setdefault(device, DeviceView(device, kind))

    def add(self, device: str, kind: str, type_: str, ts: str, data: dict[str, Any]) -> None:
        """Keep one published message (``telemetry``, ``event`` or ``state``)."""
        view = self.register(device, kind)
        clean = redacted(data, self.secrets)
        if type_ == "state":
            view.state = clean
            return
        if type_ == "telemetry":
            view.telemetry, view.telemetry_ts = clean, ts
            self._pending.append((device, type_, ts, None, None, json.dumps(clean)))
            return
        body = {k: v for k, v in clean.items() if k not in ("event", "severity")}
        name, severity = str(clean.get("event", "")), str(clean.get("severity", "info"))
        view.last_event = Entry(0, device, type_, ts, body, severity, name)
        self._pending.append((device, type_, ts, severity, name, json.dumps(body)))

    def flush(self) -> None:
        """Write what is pending (best effort: this is a local copy, not the outbox)."""
        rows, self._pending = self._pending, []
        if not rows:
            return
        for attempt in (1, 2):
            try:
                with self._db.transaction() as conn:
                    conn.executemany(
                        "INSERT INTO history (device, type, ts, severity, name, data) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                self._failed = False
                return
            except sqlite3.Error as err:
                if attempt == 1 and is_full(err) and self._give_way():
                    continue
                if not self._failed:
                    log.warning("the console's history could not be written (%s); dropped", err)
                self._failed = True
                return

    def _give_way(self) -> bool:
        """The disk is full: forget the oldest quarter of the history (the outbox, which
        holds what upstream has not received, matters more). ``False``: nothing to forget."""
        try:
            with self._db.transaction() as conn:
                removed = conn.execute(
                    "DELETE FROM history WHERE id <= (SELECT MIN(id) + (MAX(id) - MIN(id)) / 4 "
                    "FROM history)"
                ).rowcount
        except sqlite3.Error as err:
            log.warning("the console's history could not make room: %s", err)
            return False
        if removed:
            log.warning("the disk is full: the console forgot its %d oldest readings", removed)
        return removed > 0

    def prune(self) -> int:
        """Forget rows older than :attr:`keep_days` and beyond the per-device cap."""
        cutoff = isoformat(self._clock.now() - timedelta(days=self.keep_days))
        try:
            with self._db.transaction() as conn:
                removed = conn.execute("DELETE FROM history WHERE ts < ?", (cutoff,)).rowcount
                devices = [d for (d,) in conn.execute("SELECT DISTINCT device FROM history")]
                share = self.max_rows // max(len(devices), 1)
                for device in devices:
                    removed += conn.execute(
                        "DELETE FROM history WHERE device = ? AND id <= ("
                        "SELECT id FROM history WHERE device = ? ORDER BY id DESC "
                        "LIMIT 1 OFFSET ?)",
                        (device, device, share),
                    ).rowcount
        except sqlite3.Error as err:
            log.warning("the console's history could not be pruned: %s", err)
            return 0
        return removed

    async def run(self) -> None:
        """Flush every :data:`FLUSH_S` and prune every :data:`PRUNE_S` (real seconds)."""
        loop = asyncio.get_running_loop()
        pruned_at = loop.time()
        self.prune()
        try:
            while True:
                await asyncio.sleep(FLUSH_S)
                self.flush()
                if loop.time() - pruned_at >= PRUNE_S:
                    pruned_at = loop.time()
                    self.prune()
        finally:
            self.flush()

    def close(self) -> None:
        """Write what is pending and close the reading connection."""
        self.flush()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- reading -----------------------------------------------------------------------------

    def views(self) -> list[DeviceView]:
        return list(self._views.values())

    def view(self, device: str) -> DeviceView | None:
        return self._views.get(device)

    def readings(self, device: str, since: datetime) -> Readings:
        """The device's telemetry from ``since`` on, for charts; safe to read on another
        thread (it has its own connection: WAL lets it read while the gateway writes)."""
        self.flush()
        if self._reader is None:
            self._reader = self._db.connect()
        return Readings(self._reader, device, isoformat(since))

    def events(
        self,
        *,
        device: str | None = None,
        severity: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Events, newest first; ``before``: an :attr:`Entry.id` to page back from."""
        self.flush()
        where, params = ["type = 'event'"], []
        if device:
            where.append("device = ?")
            params.append(device)
        if severity:
            where.append("severity = ?")
            params.append(severity)
        if before is not None:
            where.append("id < ?")
            params.append(str(before))
        rows = self._db.conn.execute(
            "SELECT id, device, type, ts, data, severity, name FROM history "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [Entry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]
