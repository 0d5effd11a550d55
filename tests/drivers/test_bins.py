"""Waste bins: the pure parts (fill, trend, configuration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from drivers.bins.config import BinConfig
from drivers.bins.fill import FillTracker, FillTrend, fill_percent


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        (1.0, 0.0),
        (0.1, 100.0),
        (0.55, 50.0),
        (1.2, 0.0),
        (0.05, 100.0),
        (0.82, 20.0),
    ],
)
def test_fill_percent_is_linear_between_calibrations_and_clamped(
    distance: float, expected: float
) -> None:
    assert fill_percent(distance, 1.0, 0.1) == pytest.approx(expected)


def test_trend_fits_rate_and_predicts_full_at() -> None:
    trend = FillTrend(window_s=6 * 3600)
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    for minute in range(0, 61, 10):
        trend.add(minute * 60.0, 40 + minute / 6)  # 10 % per hour
    assert trend.rate_pph() == pytest.approx(10.0)
    assert trend.full_at(now, 50.0, 80.0) == now + timedelta(hours=3)
    assert trend.full_at(now, 85.0, 80.0) is None  # already full
    trend.reset()
    assert trend.rate_pph() is None
    for t in (0.0, 600.0, 1200.0):
        trend.add(t, 30.0)
    assert trend.full_at(now, 30.0, 80.0) is None  # not filling


def test_trend_forgets_readings_older_than_its_window() -> None:
    trend = FillTrend(window_s=3600)
    trend.add(0, 90.0)  # before a collection the window must not see
    for t in range(4000, 8000, 600):
        trend.add(float(t), 10.0 + (t - 4000) / 360)  # 10 % per hour
    assert trend.rate_pph() == pytest.approx(10.0)


def test_config_refuses_impossible_geometry() -> None:
    with pytest.raises(ValidationError, match="full_distance_m must be smaller"):
        BinConfig(id="b", trigger_pin=17, echo_pin=27, empty_distance_m=0.5, full_distance_m=0.6)
    with pytest.raises(ValidationError, match="full_rearm_percent must be below"):
        BinConfig(
            id="b", trigger_pin=17, echo_pin=27, full_threshold_percent=50, full_rearm_percent=60
        )
    with pytest.raises(ValidationError, match="temperature_sensor"):
        BinConfig(id="b", trigger_pin=17, echo_pin=27, temperature_sensor="28-xyz")


NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def distance_for(fill: float) -> float:
    return 1.0 - fill / 100 * 0.9  # empty 1.0 m, full 0.1 m


def test_a_jump_counts_only_when_the_next_reading_confirms_it() -> None:
    config = BinConfig(
        id="b", trigger_pin=17, echo_pin=27, empty_distance_m=1.0, full_distance_m=0.1
    )
    tracker = FillTracker(config, 1.0, last_fill=None)
    first = tracker.update(0, NOW, distance_for(70))
    assert first is not None and first.fill_percent == pytest.approx(70)
    # A stray short echo reads 100 %: held back, then forgotten.
    assert tracker.update(60, NOW, distance_for(100)) is None
    back = tracker.update(120, NOW, distance_for(71))
    assert back is not None and back.emptied_from is None and back.fill_percent == 71
    # A collection: the drop is held once, then confirmed by the next reading.
    assert tracker.update(180, NOW, distance_for(2)) is None
    emptied = tracker.update(240, NOW, distance_for(3))
    assert emptied is not None and emptied.emptied_from == pytest.approx(71)
    assert emptied.rate_pph is None  # the trend starts again after a collection
