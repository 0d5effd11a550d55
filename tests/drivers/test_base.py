"""Reporting, thresholds and availability helpers."""

from __future__ import annotations

import pytest

from drivers.base import Availability, Hysteresis, Reporter


def test_reporter_sends_at_period_or_beyond_deadband() -> None:
    reporter = Reporter(60, {"t": 0.5, "state": 0})
    assert reporter.due({"t": 20.0}, 0)
    reporter.sent({"t": 20.0, "state": "ok"}, 0)
    assert not reporter.due({"t": 20.4, "state": "ok", "other": 99}, 10)
    assert reporter.due({"t": 20.5, "state": "ok"}, 10)
    assert reporter.due({"t": 20.0, "state": "bad"}, 10)
    assert reporter.due({"t": 20.0, "state": "ok"}, 60)


def test_hysteresis_trips_once_per_excursion() -> None:
    hot = Hysteresis(80, 75)
    assert [hot.update(v) for v in (70, 80, 85, 78, 76, 74, 81, None)] == [
        None,
        "tripped",
        None,
        None,
        None,
        "cleared",
        "tripped",
        None,
    ]
    low = Hysteresis(10, 15, above=False)
    assert [low.update(v) for v in (50, 9, 12, 16)] == [None, "tripped", None, "cleared"]
    with pytest.raises(ValueError, match="safe side"):
        Hysteresis(80, 85)


def test_availability_needs_consecutive_failures_and_recovers_at_once() -> None:
    sensor = Availability(failures=3)
    assert [sensor.record(ok) for ok in (False, False, True, False, False, False, False, True)] == [
        None,
        None,
        None,
        None,
        None,
        False,
        None,
        True,
    ]


def test_sparse_reports_once_per_interval_with_the_count_since() -> None:
    from drivers.base import Sparse

    sparse = Sparse(60)
    assert sparse.happened(0.0) == 1
    assert [sparse.happened(t) for t in (1.0, 30.0, 59.9)] == [None, None, None]
    assert sparse.happened(60.0) == 4  # the three held back and this one
    assert sparse.happened(61.0) is None
