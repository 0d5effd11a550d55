"""Devices as the console shows them: a card for the overview and a page with charts.

Reads only what the devices publish (their state and telemetry, the MQTT contract in
``config/asyncapi.yaml``), so it works the same for a device upstream would see.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from markupsafe import Markup

from gateway.history import DeviceView, Readings
from gateway.web.charts import Series, bar_chart, line_chart

__all__ = ["device_page", "summary"]


def summary(view: DeviceView) -> dict[str, Any]:
    """The overview's card: the device's name, headline figures and its problem if any."""
    state, t = view.state, view.telemetry
    card: dict[str, Any] = {
        "id": view.id,
        "kind": view.kind,
        "name": state.get("name") or view.id,
        "available": view.available,
        "problem": None if view.available else "unavailable",
        "updated": view.telemetry_ts,
        "last_event": view.last_event,
    }
    if view.kind == "bin":
        fill = t.get("fill_percent")
        card["fill"] = fill
        card["full_at"] = t.get("full_at")
        if state.get("full") and view.available:
            card["problem"] = "full: needs emptying"
    elif view.kind == "water_station":
        card["filter"] = t.get("filter_remaining_percent")
        card["litres_today"] = t.get("litres_today")
        card["tds"] = t.get("tds_ppm")
        card["valve_open"] = t.get("valve_open")
        if state.get("valve_locked") and view.available:
            card["problem"] = f"valve closed: {state['valve_locked']}"
        elif card["filter"] is not None and card["filter"] <= 10 and view.available:
            card["problem"] = "filter needs changing"
    elif view.kind == "locker_bank":
        card["compartments"] = compartments(view)
        excursions = state.get("excursions") or []
        card["held"] = state.get("held", 0)
        if excursions and view.available:
            card["problem"] = "cold-chain excursion in " + ", ".join(excursions)
    elif view.kind == "entry":
        card["door_open"] = t.get("door_open")
        card["locked"] = t.get("locked")
        card["residents"] = t.get("residents")
        if state.get("camera") == "unavailable":
            card["problem"] = "camera unavailable"
    elif view.kind == "gateway":
        card["cpu_temp_c"] = t.get("cpu_temp_c")
        card["disk_free_percent"] = t.get("disk_free_percent")
        card["outbox_depth"] = t.get("outbox_depth")
    last = view.last_event
    if card["problem"] is None and last is not None and last.severity == "critical":
        card["problem"] = f"{(last.name or 'alarm').replace('_', ' ')} (critical)"
    return card


def compartments(view: DeviceView) -> list[dict[str, Any]]:
    """A locker bank's compartments: temperature, band, door, parcel, excursion."""
    layout: dict[str, dict[str, Any]] = view.state.get("compartments") or {}
    excursions = set(view.state.get("excursions") or [])
    rows = []
    for row in view.telemetry.get("compartments") or []:
        info = layout.get(row["id"], {})
        rows.append(
            {
                **row,
                "size": info.get("size", ""),
                "band_c": info.get("band_c"),
                "excursion": row["id"] in excursions,
            }
        )
    return rows


def device_page(
    view: DeviceView, readings: Readings, *, compartment: str | None = None
) -> dict[str, Any]:
    """The charts (SVG) and figures of one device's page."""
    page: dict[str, Any] = {"card": summary(view), "charts": []}

    def series(name: str, key: str) -> Series:
        return Series(name, readings.series(key))

    if view.kind == "bin":
        fill = series("fill", "fill_percent")
        full_at = view.telemetry.get("full_at")
        threshold = float(view.state.get("full_threshold_percent", 90))
        if full_at:
            fill.projection = (datetime.fromisoformat(full_at), threshold)
        page["charts"].append(
            (
                "Fill level (dashed: when it will be full at the present rate)",
                line_chart([fill], unit="%", title="fill level", y_range=(0, 100)),
            )
        )
    elif view.kind == "locker_bank":
        rows = compartments(view)
        cooled = [r for r in rows if r.get("band_c")]
        choice = next((r for r in rows if r["id"] == compartment), cooled[0] if cooled else None)
        page["compartments"] = rows
        page["compartment"] = choice["id"] if choice else None
        if choice is not None:
            temperature = Series(
                choice["id"], readings.row("compartments", choice["id"], "temperature_c")
            )
            band = choice.get("band_c")
            page["charts"].append(
                (
                    f"Compartment {choice['id']} ({choice['class']}) temperature; shaded: its band",
                    line_chart(
                        [temperature],
                        unit="°C",
                        title=f"{choice['id']} temperature",
                        band=tuple(band) if band else None,
                    ),
                )
            )
    elif view.kind == "water_station":
        page["charts"].append(("Litres per day", _daily_litres(readings.series("litres_total"))))
        filter_left = series("filter", "filter_remaining_percent")
        page["charts"].append(
            (
                "Filter life left",
                line_chart([filter_left], unit="%", title="filter life", y_range=(0, 100)),
            )
        )
    elif view.kind == "gateway":
        cpu = series("CPU", "cpu_temp_c")
        page["charts"].append(
            ("CPU temperature", line_chart([cpu], unit="°C", title="CPU temperature"))
        )
    elif view.kind == "entry":
        fps = series("frames", "frames_per_s")
        page["charts"].append(
            ("Camera frames decided per second", line_chart([fps], unit="fps", title="frames"))
        )
    return page


def _daily_litres(samples: list[tuple[datetime, Any]]) -> Markup:
    """Litres drawn each day: the growth of the station's total meter over the day."""
    last: dict[str, float] = {}
    first: dict[str, float] = {}
    for t, total in samples:
        if total is None:
            continue
        day = t.strftime("%d %b")
        first.setdefault(day, float(total))
        last[day] = float(total)
    days = list(last)
    litres: dict[str, float] = defaultdict(float)
    for i, day in enumerate(days):
        start = last[days[i - 1]] if i > 0 else first[day]
        litres[day] = round(max(last[day] - start, 0.0), 1)
    return bar_chart(list(litres.items()), unit="L", title="litres per day")
