"""An append-only, hash-chained log of access and enrollment decisions.

Each entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's own fields,
so editing or deleting any entry breaks every hash after it; the newest entry's sequence
number and hash are also written to ``audit.head`` beside the database, so cutting entries
off the end is caught too. :meth:`AuditLog.verify` walks the chain (``gateway audit verify``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.db import Database
from gateway.messages import isoformat

__all__ = ["AuditEntry", "AuditLog", "Verification"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None  # the first entry that does not verify


def _digest(prev: str, seq: int, ts: str, actor: str, action: str, subject: str, data: str) -> str:
    fields = json.dumps([prev, seq, ts, actor, action, subject, data], separators=(",", ":"))
    return hashlib.sha256(fields.encode()).hexdigest()


class AuditLog:
    """The log in the gateway's database, with its head beside it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.head_file = db.path.with_name("audit.head")

    def append(
        self, actor: str, action: str, subject: str = "", *, ts: datetime | None = None, **data: Any
    ) -> AuditEntry:
        """Add an entry; committed (and the head written) when this returns."""
        stamp = isoformat(ts or datetime.now(UTC))
        body = json.dumps(data, sort_keys=True, separators=(",", ":"))
        with self._db.transaction() as conn:
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            digest = _digest(prev, seq, stamp, actor, action, subject, body)
            conn.execute(
                "INSERT INTO audit (seq, ts, actor, action, subject, data, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, stamp, actor, action, subject, body, prev, digest),
            )
        self._write_head(seq, digest)
        return AuditEntry(seq, stamp, actor, action, subject, data, digest)

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_file.with_suffix(".tmp")
        tmp.write_text(f"{seq} {digest}\n")
        os.replace(tmp, self.head_file)

    def entries(self, *, subject: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The newest entries first."""
        query = "SELECT seq, ts, actor, action, subject, data, hash FROM audit"
        params: tuple[Any, ...] = ()
        if subject is not None:
            query += " WHERE subject = ?"
            params = (subject,)
        rows = self._db.conn.execute(query + " ORDER BY seq DESC LIMIT ?", (*params, limit))
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def verify(self) -> Verification:
        """Walk the whole chain; the first entry that was edited, deleted or cut off."""
        return self.check(self.rows())

    def rows(self) -> list[tuple[Any, ...]]:
        """Every entry as stored (for :meth:`check`, which may run on another thread)."""
        return self._db.conn.execute(
            "SELECT seq, ts, actor, action, subject, data, prev, hash FROM audit ORDER BY seq"
        ).fetchall()

    def check(self, rows: list[tuple[Any, ...]]) -> Verification:
        """Verify the chain of ``rows`` (from :meth:`rows`) against the head file."""
        prev, expected_seq, count = GENESIS, 1, 0
        for seq, ts, actor, action, subject, data, stored_prev, digest in rows:
            if seq != expected_seq:
                return Verification(
                    False, count, f"entry {expected_seq} is missing (deleted)", expected_seq
                )
            if (
                stored_prev != prev
                or _digest(prev, seq, ts, actor, action, subject, data) != digest
            ):
                return Verification(False, count, f"entry {seq} was altered", seq)
            prev, expected_seq, count = digest, seq + 1, count + 1
        head = self.head_file.read_text().split() if self.head_file.exists() else []
        if count == 0 and not head:
            return Verification(True, 0)
        if len(head) != 2 or int(head[0]) != count or head[1] != prev:
            return Verification(
                False,
                count,
                f"the log ends at entry {count} but its head says {head[0] if head else 'none'}: "
                "entries were cut off the end",
                count + 1,
            )
        return Verification(True, count)
