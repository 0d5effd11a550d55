"""Charts drawn on the server as SVG (no JavaScript, no chart library).

:func:`line_chart` draws time series with an optional shaded band (a compartment's
temperature band) and a dashed projection (a bin's predicted full time); :func:`bar_chart`
draws one bar per label (litres per day). Both return markup safe to put in a page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup, escape

__all__ = ["Series", "bar_chart", "line_chart"]

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30
COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")


@dataclass
class Series:
    name: str
    points: list[tuple[datetime, float | None]] = field(default_factory=list)
    #: A dashed line from the last point to here (a prediction).
    projection: tuple[datetime, float] | None = None


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step) + 1)]


def _time_label(t: datetime, span_s: float) -> str:
    return t.strftime("%H:%M" if span_s <= 36 * 3600 else "%d %b %H:%M")


def line_chart(
    series: Sequence[Series],
    *,
    unit: str,
    title: str,
    band: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> Markup:
    """Time series on one time axis; ``band``: shaded (low, high); gaps where ``None``."""
    times = [t for s in series for t, _ in s.points] + [
        s.projection[0] for s in series if s.projection
    ]
    values = [v for s in series for _, v in s.points if v is not None] + [
        s.projection[1] for s in series if s.projection
    ]
    if not times or not values:
        return Markup('<p class="empty">No readings in this period yet.</p>')
    if band is not None:
        values += list(band)
    low, high = y_range or (min(values), max(values))
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.05 if y_range is None else 0
    low, high = low - pad, high + pad
    t0, t1 = min(times), max(times)
    span = max((t1 - t0).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: datetime) -> float:
        return LEFT + (t - t0).total_seconds() / span * plot_w

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if band is not None:
        top, bottom = y(min(band[1], high)), y(max(band[0], low))
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{top:.1f}" width="{plot_w}" '
            f'height="{max(bottom - top, 0):.1f}"><title>band {band[0]:g} to {band[1]:g} '
            f"{escape(unit)}</title></rect>"
        )
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    for i in range(5):
        t = t0 + (t1 - t0) * (i / 4)
        anchor = ("start", "middle", "middle", "middle", "end")[i]
        parts.append(
            f'<text class="axis" x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{_time_label(t, span)}</text>"
        )
    parts.append(
        f'<text class="axis" x="{LEFT - 6}" y="{TOP - 2}" text-anchor="end">{escape(unit)}</text>'
    )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        for run in _runs(s.points):
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
                f"<title>{escape(s.name)}</title></polyline>"
            )
        last = next(((t, v) for t, v in reversed(s.points) if v is not None), None)
        if s.projection is not None and last is not None:
            (pt, pv), (lt, lv) = s.projection, last
            parts.append(
                f'<line class="projection" x1="{x(lt):.1f}" y1="{y(lv):.1f}" x2="{x(pt):.1f}" '
                f'y2="{y(pv):.1f}" stroke="{colour}"/>'
                f'<circle cx="{x(pt):.1f}" cy="{y(pv):.1f}" r="4" fill="{colour}">'
                f"<title>predicted {pv:g} {escape(unit)} at {pt:%d %b %H:%M}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _runs(
    points: Sequence[tuple[datetime, float | None]],
) -> list[list[tuple[datetime, float]]]:
    """Consecutive points with values (a ``None`` breaks the line: no reading then)."""
    runs: list[list[tuple[datetime, float]]] = [[]]
    for t, v in points:
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((t, v))
    return [r for r in runs if r]


def bar_chart(bars: Sequence[tuple[str, float]], *, unit: str, title: str) -> Markup:
    """One bar per label, labelled with its value."""
    if not bars:
        return Markup('<p class="empty">No readings in this period yet.</p>')
    top = max(max(v for _, v in bars), 1e-9) * 1.15
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(bars)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(bars):
        h = value / top * plot_h
        bx = LEFT + i * slot + slot * 0.15
        parts.append(
            f'<rect class="bar" x="{bx:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {value:g} {escape(unit)}</title></rect>'
            f'<text class="axis" x="{bx + slot * 0.35:.1f}" y="{TOP + plot_h - h - 4:.1f}" '
            f'text-anchor="middle">{value:.0f}</text>'
            f'<text class="axis" x="{bx + slot * 0.35:.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<text class="axis" x="{LEFT - 6}" y="{TOP - 2}" text-anchor="end">{escape(unit)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
