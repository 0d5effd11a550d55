"""Devices as the console shows them: the card each kind describes (:mod:`gateway.views`),
with what every device has (its name, availability, last event), and its page's charts
drawn from the gateway's history.

Reads only what the devices publish (their state and telemetry, the MQTT contract in
``config/asyncapi.yaml``), so it works the same for a device upstream would see.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from markupsafe import Markup

from gateway.history import DeviceView, Readings
from gateway.views import Card, Chart, ConsoleView, DailyTotal, Page
from gateway.web.charts import Series, bar_chart, line_chart

__all__ = ["device_page", "summary"]


def summary(view: DeviceView, described: ConsoleView | None) -> dict[str, Any]:
    """The overview's card: the device's name, what its kind shows, its problem if any."""
    card = described.card(view) if described is not None else Card()
    problem = card.problem if view.available else "unavailable"
    last = view.last_event
    if problem is None and last is not None and last.severity == "critical":
        problem = f"{(last.name or 'alarm').replace('_', ' ')} (critical)"
    return {
        "id": view.id,
        "kind": view.kind,
        "name": view.state.get("name") or view.id,
        "available": view.available,
        "problem": problem,
        "visit": card.visit,
        "updated": view.telemetry_ts,
        "last_event": last,
        "parts": card.parts,
    }


def device_page(
    view: DeviceView, readings: Readings, described: ConsoleView | None, query: dict[str, str]
) -> dict[str, Any]:
    """The card, the charts (SVG) and the table of one device's page."""
    page = described.page(view, query) if described is not None else Page()
    return {
        "card": summary(view, described),
        "charts": [(chart.caption, draw(chart, readings)) for chart in page.charts],
        "choice": page.choice,
        "table": page.table,
    }


def draw(chart: Chart | DailyTotal, readings: Readings) -> Markup:
    """One chart of a device's page, from its readings."""
    if isinstance(chart, DailyTotal):
        return _daily_totals(readings.series(chart.field), chart.unit, chart.title)
    lines = []
    for name, key in chart.series:
        if chart.row is not None:
            points = readings.row(chart.row[0], chart.row[1], key)
        else:
            points = readings.series(key)
        lines.append(Series(name, points))
    if chart.projection is not None and lines:
        when, value = chart.projection
        lines[0].projection = (datetime.fromisoformat(when), value)
    return line_chart(
        lines, unit=chart.unit, title=chart.title, y_range=chart.y_range, band=chart.band
    )


def _daily_totals(samples: list[tuple[datetime, Any]], unit: str, title: str) -> Markup:
    """How much a growing counter grew each day (a station's litres)."""
    last: dict[str, float] = {}
    first: dict[str, float] = {}
    for t, total in samples:
        if total is None:
            continue
        day = t.strftime("%d %b")
        first.setdefault(day, float(total))
        last[day] = float(total)
    days = list(last)
    grown: dict[str, float] = defaultdict(float)
    for i, day in enumerate(days):
        start = last[days[i - 1]] if i > 0 else first[day]
        grown[day] = round(max(last[day] - start, 0.0), 1)
    return bar_chart(list(grown.items()), unit=unit, title=title)
