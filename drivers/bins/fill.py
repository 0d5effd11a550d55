"""From distances to fill: the fill level, its trend and when the bin will be full, and
the tracker that confirms a jump before believing it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers.bins.config import BinSettings

__all__ = ["FillReading", "FillTracker", "FillTrend", "fill_percent", "round_or_none"]


def round_or_none(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def fill_percent(distance_m: float, empty_m: float, full_m: float) -> float:
    """0 % at the empty distance, 100 % at the full distance, clamped."""
    fraction = (empty_m - distance_m) / (empty_m - full_m)
    return round(min(100.0, max(0.0, fraction * 100)), 1)


class FillTrend:
    """A least-squares line through recent (time, fill) readings."""

    MIN_RATE_PPH = 0.1  # slower than this is "not filling"

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, float]] = deque()

    def add(self, t: float, fill: float) -> None:
        self._points.append((t, fill))
        while self._points and t - self._points[0][0] > self.window_s:
            self._points.popleft()

    def reset(self) -> None:
        self._points.clear()

    def rate_pph(self) -> float | None:
        """Percent per hour, or ``None`` with fewer than three readings."""
        if len(self._points) < 3:
            return None
        n = len(self._points)
        mean_t = sum(p[0] for p in self._points) / n
        mean_f = sum(p[1] for p in self._points) / n
        var = sum((p[0] - mean_t) ** 2 for p in self._points)
        if var == 0:
            return None
        cov = sum((p[0] - mean_t) * (p[1] - mean_f) for p in self._points)
        return cov / var * 3600

    def full_at(self, now: datetime, fill: float, threshold: float) -> datetime | None:
        rate = self.rate_pph()
        if rate is None or rate < self.MIN_RATE_PPH or fill >= threshold:
            return None
        return now + timedelta(hours=(threshold - fill) / rate)


@dataclass(frozen=True)
class FillReading:
    """One accepted fill reading."""

    fill_percent: float
    distance_m: float
    rate_pph: float | None
    full_at: datetime | None
    #: The fill before a collection, when this reading is the one after it.
    emptied_from: float | None = None


class FillTracker:
    """Distances → fill readings, with the trend since the last collection.

    A jump of ``jump_percent`` or more (a collection, a bulky load, or a few false echoes
    from a bag near the sensor) counts only when the next reading confirms it: a single
    stray reading neither empties nor fills a bin.
    """

    CONFIRM_WITHIN_PERCENT = 10.0

    def __init__(self, config: BinSettings, empty_m: float, last_fill: float | None) -> None:
        self.config = config
        self.empty_m = empty_m
        self.last = last_fill
        self.pending: float | None = None
        self.trend = FillTrend(config.fit_window_s)

    def update(self, t: float, now: datetime, distance: float) -> FillReading | None:
        """The reading, or ``None`` while a jump waits for its confirmation."""
        cfg = self.config
        fill = fill_percent(distance, self.empty_m, cfg.full_distance_m)
        emptied_from = None
        if self.last is not None and abs(fill - self.last) >= cfg.emptied_drop_percent:
            if self.pending is None or abs(fill - self.pending) > self.CONFIRM_WITHIN_PERCENT:
                self.pending = fill
                return None
            emptied_from = self.last if fill < self.last else None
            self.trend.reset()  # a new filling starts
        self.pending = None
        self.trend.add(t, fill)
        self.last = fill
        return FillReading(
            fill,
            distance,
            self.trend.rate_pph(),
            self.trend.full_at(now, fill, cfg.full_threshold_percent),
            emptied_from,
        )
