"""The database file: records, and recovery from the damage a power cut leaves on an SD card."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.errors import StorageError


def filled(path: Path, rows: int = 3000) -> None:
    db = Database(path, exclusive=True)
    store = db.device_store("lockers")
    with store.batch():
        for n in range(rows):
            store.put_record("deliveries", f"D-{n}", "held", "2026-11-23T10:00:00Z", {"n": n})
    store.set("pulses_total", 4507)
    db.close()


def test_records_and_batches(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    store = db.device_store("lockers")
    with store.batch():
        store.put_record("deliveries", "D-1", "held", "2026-11-23T10:00:00Z", {"a": 1})
        store.put_record("deliveries", "D-2", "collected", "2026-11-23T11:00:00Z", {})
    assert [r.id for r in db.records("deliveries")] == ["D-2", "D-1"]
    assert [r.id for r in store.open_records("deliveries", ("collected",))] == ["D-1"]

    def half_way() -> None:
        with store.batch():
            store.put_record("deliveries", "D-3", "held", "2026-11-23T12:00:00Z", {})
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        half_way()
    assert db.record("deliveries", "D-3") is None  # all or nothing


def test_a_sound_file_is_not_touched(tmp_path: Path) -> None:
    filled(tmp_path / "g.sqlite3", rows=10)
    db = Database(tmp_path / "g.sqlite3", exclusive=True)
    assert db.recovered is None
    assert len(db.records("deliveries")) == 10


def test_a_garbled_header_is_moved_aside_and_a_fresh_file_started(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    filled(path)
    with path.open("r+b") as f:
        f.write(os.urandom(100))  # the header is gone: nothing is readable
    db = Database(path, exclusive=True)
    assert db.recovered is not None
    assert db.recovered["moved_to"].startswith("g.sqlite3.damaged-")
    assert (tmp_path / db.recovered["moved_to"]).exists()
    db.device_store("gateway").set("ok", True)  # the fresh file works
    db.close()


def test_damaged_pages_lose_only_what_they_held(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    filled(path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 8192)  # two pages in the middle of the records' b-tree
    db = Database(path, exclusive=True)
    assert db.recovered is not None
    kept = db.recovered["rows_recovered"].get("records", 0)
    assert 0 < kept <= 3000, db.recovered  # an index page lost costs no row at all
    assert len(db.records("deliveries", limit=5000)) == kept
    assert db.conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    db.close()


def test_a_truncated_file_keeps_what_it_still_has(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    filled(path)
    os.truncate(path, path.stat().st_size // 3)
    db = Database(path, exclusive=True)
    assert db.recovered is not None and "problem" in db.recovered
    db.close()


def test_the_cli_never_moves_a_running_gateways_file(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    filled(path, rows=10)
    with path.open("r+b") as f:
        f.write(os.urandom(100))
    with pytest.raises(StorageError, match="cannot open the database"):
        Database(path)  # not exclusive: a reader reports, the gateway recovers
    assert path.exists()
