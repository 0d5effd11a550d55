"""The console's history: latest views, redaction, persistence, pruning, and giving way to
the outbox when the disk is full."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.clock import RealClock
from gateway.db import Database
from gateway.history import History
from gateway.messages import isoformat


def at(clock: RealClock, minutes_ago: float) -> str:
    return isoformat(clock.now() - timedelta(minutes=minutes_ago))


def test_the_latest_view_of_each_device_and_secrets_redacted(tmp_path: Path) -> None:
    clock = RealClock()
    history = History(Database(tmp_path / "g.sqlite3"), clock)
    history.register("bin-1", "bin")
    assert not history.view("bin-1").available  # type: ignore[union-attr]
    history.add("bin-1", "bin", "state", at(clock, 0), {"available": True, "name": "North"})
    history.add("bin-1", "bin", "telemetry", at(clock, 0), {"fill_percent": 40})
    data = {"event": "delivery_ready", "severity": "info", "pickup_code": "123456"}
    history.add("lockers", "locker_bank", "event", at(clock, 0), data)
    view = history.view("bin-1")
    assert view is not None and view.available and view.telemetry == {"fill_percent": 40}
    event = history.events()[0]
    assert event.name == "delivery_ready" and event.data == {"pickup_code": "***"}
    assert history.view("lockers").last_event.data == {"pickup_code": "***"}  # type: ignore[union-attr]


def test_telemetry_and_events_survive_a_restart_and_filter(tmp_path: Path) -> None:
    clock = RealClock()
    db = Database(tmp_path / "g.sqlite3")
    history = History(db, clock)
    for minutes in (90, 30, 10):
        history.add("bin-1", "bin", "telemetry", at(clock, minutes), {"fill_percent": minutes})
    history.add("bin-1", "bin", "event", at(clock, 5), {"event": "bin_full", "severity": "warning"})
    history.add(
        "gw", "gateway", "event", at(clock, 4), {"event": "cpu_hot", "severity": "critical"}
    )
    history.flush()
    db.close()
    again = History(Database(tmp_path / "g.sqlite3"), clock)
    recent = again.readings("bin-1", clock.now() - timedelta(hours=1)).series("fill_percent")
    assert [value for _, value in recent] == [30, 10]
    assert [e.name for e in again.events()] == ["cpu_hot", "bin_full"]
    assert [e.name for e in again.events(severity="warning")] == ["bin_full"]
    assert [e.name for e in again.events(device="gw")] == ["cpu_hot"]
    newest = again.events()[0]
    assert [e.name for e in again.events(before=newest.id)] == ["bin_full"]


def test_old_rows_and_rows_over_a_devices_share_are_pruned(tmp_path: Path) -> None:
    clock = RealClock()
    history = History(Database(tmp_path / "g.sqlite3"), clock, keep_days=1, max_rows=20)
    history.add("old", "bin", "telemetry", at(clock, 2 * 1440), {"fill_percent": 1})
    for n in range(30):
        history.add("a", "bin", "telemetry", at(clock, 30 - n), {"fill_percent": n})
        history.add("b", "bin", "telemetry", at(clock, 30 - n), {"fill_percent": n})
    history.flush()
    assert history.prune() == 1 + 20 + 20
    since = clock.now() - timedelta(days=3)
    assert history.readings("old", since).series("fill_percent") == []
    kept = history.readings("a", since).series("fill_percent")
    assert [value for _, value in kept] == list(range(20, 30))


def test_a_field_of_one_row_of_a_list_is_read_as_a_series(tmp_path: Path) -> None:
    clock = RealClock()
    history = History(Database(tmp_path / "g.sqlite3"), clock)
    for minutes, (c07, c08) in ((20, (3.0, 4.0)), (10, (3.5, None)), (0, (3.2, 9.5))):
        rows = [{"id": "C07", "temperature_c": c07}, {"id": "C08", "temperature_c": c08}]
        history.add(
            "lockers", "locker_bank", "telemetry", at(clock, minutes), {"compartments": rows}
        )
    readings = history.readings("lockers", clock.now() - timedelta(hours=1))
    assert [v for _, v in readings.row("compartments", "C08", "temperature_c")] == [4.0, None, 9.5]
    assert [v for _, v in readings.row("compartments", "C09", "temperature_c")] == []
    history.close()


def test_a_full_disk_makes_the_history_give_way(tmp_path: Path) -> None:
    clock = RealClock()
    db = Database(tmp_path / "g.sqlite3", max_file_mb=0.3)
    history = History(db, clock)
    big = {"fill_percent": 1, "note": "x" * 2000}
    written = 0
    for _ in range(400):  # far more than 0.3 MB
        history.add("a", "bin", "telemetry", at(clock, 1), big)
        history.flush()
        written += 1
    rows = db.conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    assert 0 < rows < written
    # The newest reading is always there: the oldest gave way.
    last = db.conn.execute("SELECT MAX(id) FROM history").fetchone()[0]
    assert last == written
