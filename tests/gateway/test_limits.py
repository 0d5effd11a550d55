"""The one rate limiter: a sliding window per key, a lockout, bounded keys, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.db import Database
from gateway.limits import MemoryWindows, SlidingWindow, StoredWindows


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_limit_events_in_any_window() -> None:
    clock = Ticks()
    limiter = SlidingWindow(3, 10.0, clock=clock)
    assert [limiter.full("a") for _ in range(1)] == [False]
    for _ in range(3):
        limiter.hit("a")
        clock.now += 1
    assert limiter.full("a") and not limiter.full("b")  # keys are apart
    clock.now += 7.5  # the first event (at 1000) leaves the window at 1010
    assert not limiter.full("a") and limiter.count("a") == 2
    assert limiter.locked_until("a") is None


def test_reaching_the_limit_locks_out_and_starts_afresh() -> None:
    clock = Ticks()
    limiter = SlidingWindow(2, 60.0, lockout_s=300.0, clock=clock)
    assert limiter.hit("door") == (1, None)
    assert limiter.hit("door") == (2, 1300.0)
    assert limiter.full("door") and limiter.locked_until("door") == 1300.0
    clock.now = 1300.0
    assert not limiter.full("door") and limiter.count("door") == 0
    limiter.hit("door")
    limiter.reset("door")
    assert limiter.count("door") == 0


def test_a_flood_of_keys_forgets_the_oldest_not_everyone() -> None:
    windows = MemoryWindows(max_keys=100)
    limiter = SlidingWindow(1, 60.0, clock=Ticks(), windows=windows)
    limiter.hit("real-device")
    for n in range(99):
        limiter.hit(f"nonsense-{n}")
    assert limiter.full("real-device")  # still remembered: 100 keys fit
    for n in range(99, 1000):
        limiter.hit(f"nonsense-{n}")
    assert len(windows) == 100 and not limiter.full("real-device")


def test_stored_windows_survive_a_restart(tmp_path: Path) -> None:
    clock = Ticks()
    db = Database(tmp_path / "g.sqlite3")
    first = SlidingWindow(
        2, 60.0, lockout_s=600.0, clock=clock, windows=StoredWindows(db.device_store("b"), "x/")
    )
    first.hit("keypad")
    first.hit("keypad")
    db.close()
    db = Database(tmp_path / "g.sqlite3")
    again = SlidingWindow(
        2, 60.0, lockout_s=600.0, clock=clock, windows=StoredWindows(db.device_store("b"), "x/")
    )
    assert again.locked_until("keypad") == 1600.0
    db.close()


def test_a_limiter_needs_a_limit_and_a_window() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindow(0, 1.0)
