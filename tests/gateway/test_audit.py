"""The audit log: a hash chain that catches edits, deletions and a cut-off tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit import AuditLog
from gateway.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "g.sqlite3")


@pytest.fixture
def log(db: Database) -> AuditLog:
    audit = AuditLog(db)
    for n in range(5):
        audit.append("manager", "enrolled", f"R{n}", photos=2)
    return audit


def test_an_untouched_log_verifies(log: AuditLog) -> None:
    assert log.verify().ok and log.verify().entries == 5
    assert [e.subject for e in log.entries(limit=2)] == ["R4", "R3"]
    assert log.entries(subject="R2")[0].data == {"photos": 2}


def test_an_edited_entry_is_found(log: AuditLog, db: Database) -> None:
    db.conn.execute("UPDATE audit SET actor = 'intruder' WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.seq == 3 and "altered" in str(result.problem)


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next(
    log: AuditLog, db: Database
) -> None:
    from gateway.audit import _digest

    conn = db.conn
    seq, ts, actor, _, subject, data, prev = conn.execute(
        "SELECT seq, ts, actor, action, subject, data, prev FROM audit WHERE seq = 2"
    ).fetchone()
    forged = _digest(prev, seq, ts, actor, "removed", subject, data)
    conn.execute("UPDATE audit SET action = 'removed', hash = ? WHERE seq = 2", (forged,))
    result = log.verify()
    assert not result.ok and result.seq == 3


def test_a_deleted_entry_is_found(log: AuditLog, db: Database) -> None:
    db.conn.execute("DELETE FROM audit WHERE seq = 2")
    result = log.verify()
    assert not result.ok and result.seq == 2 and "missing" in str(result.problem)


def test_a_cut_off_tail_is_found(log: AuditLog, db: Database) -> None:
    db.conn.execute("DELETE FROM audit WHERE seq >= 4")
    result = log.verify()
    assert not result.ok and "cut off" in str(result.problem)
