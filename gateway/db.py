"""The gateway's SQLite file: WAL mode, schema migrations, one connection owner.

Everything durable lives in one file under ``data_dir``: the outbox, the boot counter, the
sequence counter, seen command ids and each device's own state. A commit in WAL mode with
``synchronous=NORMAL`` survives the process being killed; :meth:`Database.sync` also makes it
survive a power cut.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import StorageError

__all__ = ["Database", "DeviceStore", "Record", "is_full"]

log = logging.getLogger(__name__)

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        priority INTEGER NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        retain INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_drop ON outbox (priority DESC, id);
    CREATE TABLE seen_commands (id TEXT PRIMARY KEY, expires REAL NOT NULL);
    CREATE TABLE device_state (
        device TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (device, key)
    );
    """,
    """
    CREATE TABLE records (
        collection TEXT NOT NULL, id TEXT NOT NULL, device TEXT NOT NULL,
        status TEXT NOT NULL, updated TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (collection, id)
    );
    CREATE INDEX records_status ON records (collection, status);
    """,
    """
    CREATE TABLE residents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active', enrolled_at TEXT NOT NULL,
        consent_at TEXT NOT NULL, valid_from TEXT, valid_until TEXT,
        welfare_check INTEGER NOT NULL DEFAULT 0, last_seen TEXT
    );
    CREATE TABLE templates (
        resident TEXT NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL,
        PRIMARY KEY (resident, n)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL,
        prev TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX audit_subject ON audit (subject, seq);
    """,
    """
    CREATE TABLE photos (
        resident TEXT NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL,
        PRIMARY KEY (resident, n)
    );
    """,
    """
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, type TEXT NOT NULL,
        ts TEXT NOT NULL, severity TEXT, name TEXT, data TEXT NOT NULL
    );
    CREATE INDEX history_device ON history (device, type, ts);
    CREATE INDEX history_events ON history (type, id);
    CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, created TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0, locked_until REAL NOT NULL DEFAULT 0,
        last_login TEXT
    );
    CREATE TABLE sessions (
        digest TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
        created REAL NOT NULL, seen REAL NOT NULL
    );
    """,
    """
    ALTER TABLE residents ADD COLUMN welfare_h REAL;
    """,
)


class Database:
    """Owner of the one SQLite connection (used from the event loop's thread)."""

    def __init__(
        self, path: Path | str, *, exclusive: bool = False, max_file_mb: float | None = None
    ) -> None:
        """Open (and create or migrate) the file. ``exclusive``: this process is the gateway
        that owns it; a second gateway on the same ``data_dir`` is refused."""
        self.path = Path(path)
        self.max_file_mb = max_file_mb
        self._lock: int | None = None
        #: What :meth:`recover` did at this start (``None``: the file was sound).
        self.recovered: dict[str, Any] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                self._lock = _lock_or_refuse(self.path.with_name(self.path.name + ".lock"))
        except OSError as err:
            raise StorageError(f"cannot open the database {self.path}: {err}") from err
        try:
            self.conn = self.connect()
            if exclusive:
                self._check()
            self._migrate()
        except sqlite3.DatabaseError as err:
            if not exclusive:
                raise StorageError(f"cannot open the database {self.path}: {err}") from err
            self.recovered = self._recover(str(err))
        except OSError as err:
            raise StorageError(f"cannot open the database {self.path}: {err}") from err

    def _check(self) -> None:
        """Raise ``DatabaseError`` unless SQLite finds the file sound."""
        result = self.conn.execute("PRAGMA quick_check").fetchall()
        if result != [("ok",)]:
            problems = "; ".join(str(r[0]) for r in result[:3])
            raise sqlite3.DatabaseError(f"quick_check: {problems}")

    def _recover(self, problem: str) -> dict[str, Any]:
        """A damaged file (a power cut on an SD card, say) is moved aside, a fresh one is
        started, and every row that can still be read is copied into it."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self.conn.close()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        damaged = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(damaged.with_name(damaged.name + suffix))
        try:
            self.conn = self.connect()
            self._migrate()
        except sqlite3.Error as err:
            raise StorageError(f"cannot start a fresh database at {self.path}: {err}") from err
        rows = _salvage(damaged, self.conn)
        self.sync()
        log.error(
            "the database %s was damaged (%s): moved to %s, %d rows recovered",
            self.path,
            problem,
            damaged.name,
            sum(rows.values()),
        )
        return {"problem": problem, "moved_to": damaged.name, "rows_recovered": rows}

    def connect(self) -> sqlite3.Connection:
        """A connection to the file in WAL mode (the outbox writes through its own)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        # Deleted rows (sent messages: a pickup code, say) are overwritten, not left behind.
        conn.execute("PRAGMA secure_delete=ON")
        if self.max_file_mb is not None:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = max(16, int(self.max_file_mb * 2**20 / page))
            conn.execute(f"PRAGMA max_page_count={pages}")
        return conn

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on ``conn`` (default: the main connection)."""
        conn = conn or self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does that).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def get_meta(
        self, key: str, default: str | None = None, conn: sqlite3.Connection | None = None
    ) -> str | None:
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key = ?", (key,))
        found = row.fetchone()
        return str(found[0]) if found else default

    def set_meta(self, key: str, value: str, conn: sqlite3.Connection | None = None) -> None:
        (conn or self.conn).execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def next_boot(self) -> int:
        """Count this start: 1 on the first, one more on each later start."""
        with self.transaction():
            boot = int(self.get_meta("boot", "0") or 0) + 1
            self.set_meta("boot", str(boot))
        self.sync()
        return boot

    def sync(self) -> None:
        """Flush committed transactions to the disk (fsync of the write-ahead log)."""
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(
        self, collection: str, *, status: str | None = None, limit: int = 1000
    ) -> list[Record]:
        """Records of every device in ``collection``, newest first."""
        query = "SELECT id, device, status, updated, body FROM records WHERE collection = ?"
        params: list[Any] = [collection]
        if status is not None:
            query += " AND status = ?"
            params.append(status)
        rows = self.conn.execute(query + " ORDER BY updated DESC LIMIT ?", (*params, limit))
        return [Record(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def record(self, collection: str, id_: str) -> Record | None:
        row = self.conn.execute(
            "SELECT id, device, status, updated, body FROM records WHERE collection = ? AND id = ?",
            (collection, id_),
        ).fetchone()
        return Record(row[0], row[1], row[2], row[3], json.loads(row[4])) if row else None

    def device_store(self, device: str) -> DeviceStore:
        return DeviceStore(self, device)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None


_TABLES = (
    "meta", "outbox", "seen_commands", "device_state", "records",
    "residents", "templates", "audit", "photos", "history", "users",
)  # fmt: skip


def _salvage(damaged: Path, into: sqlite3.Connection) -> dict[str, int]:
    """Copy what can be read from each table of ``damaged``, row by row, until it fails."""
    copied: dict[str, int] = {}
    try:
        source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.Error:
        return copied
    try:
        for table in _TABLES:
            count = 0
            try:
                cursor = source.execute(f"SELECT * FROM {table}")
                for row in cursor:
                    marks = ", ".join("?" * len(row))
                    with contextlib.suppress(sqlite3.Error):
                        into.execute(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", row)
                        count += 1
            except sqlite3.Error:
                pass  # the rest of this table is unreadable
            if count:
                copied[table] = count
    finally:
        source.close()
    return copied


def _lock_or_refuse(lock_file: Path) -> int:
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StorageError(
            f"another gateway (pid {holder}) is running on {lock_file.parent}; "
            "stop it first, or give this one its own data_dir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def is_full(err: sqlite3.Error) -> bool:
    """The disk, or the database's size limit (``max_file_mb``), is full."""
    return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(err)


@dataclass(frozen=True)
class Record:
    """One entry of a collection that outlives a device's state (a delivery, say)."""

    id: str
    device: str
    status: str
    updated: str
    body: dict[str, Any]


class DeviceStore:
    """A device's own durable state: key-value (JSON values) and records in collections."""

    def __init__(self, db: Database, device: str) -> None:
        self._db = db
        self._device = device

    def get(self, key: str, default: Any = None) -> Any:
        row = self._db.conn.execute(
            "SELECT value FROM device_state WHERE device = ? AND key = ?", (self._device, key)
        ).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, key: str, value: Any) -> None:
        """Store ``value``; committed (survives ``kill -9``) when this returns."""
        self._db.conn.execute(
            "INSERT INTO device_state (device, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(device, key) DO UPDATE SET value = excluded.value",
            (self._device, key, json.dumps(value)),
        )

    def batch(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Make several writes one transaction (one commit, all or nothing)."""
        return self._db.transaction()

    def put_record(
        self, collection: str, id_: str, status: str, updated: str, body: dict[str, Any]
    ) -> None:
        """Create or replace a record of this device; committed when this returns."""
        self._db.conn.execute(
            "INSERT INTO records (collection, id, device, status, updated, body) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(collection, id) DO UPDATE SET "
            "status = excluded.status, updated = excluded.updated, body = excluded.body",
            (collection, id_, self._device, status, updated, json.dumps(body)),
        )

    def record(self, collection: str, id_: str) -> Record | None:
        return self._db.record(collection, id_)

    def open_records(self, collection: str, closed: tuple[str, ...]) -> list[Record]:
        """This device's records in ``collection`` whose status is not one of ``closed``."""
        marks = ", ".join("?" * len(closed)) or "''"
        rows = self._db.conn.execute(
            "SELECT id, device, status, updated, body FROM records WHERE collection = ? "
            f"AND device = ? AND status NOT IN ({marks}) ORDER BY updated",
            (collection, self._device, *closed),
        )
        return [Record(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
