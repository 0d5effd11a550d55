"""How the console shows a water station: filter life, today's litres, water quality, the
valve; litres per day and filter life over time."""

from __future__ import annotations

from gateway.history import DeviceView
from gateway.views import Card, Chart, DailyTotal, Line, Meter, Page

__all__ = ["VIEW", "StationView"]


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


class StationView:
    def card(self, view: DeviceView) -> Card:
        t, state = view.telemetry, view.state
        filter_left = t.get("filter_remaining_percent")
        problem = None
        if state.get("valve_locked") and view.available:
            problem = f"valve closed: {state['valve_locked']}"
        elif filter_left is not None and filter_left <= 10 and view.available:
            problem = "filter needs changing"
        valve = "open" if t.get("valve_open") else "closed"
        return Card(
            [
                Meter(filter_left, prefix="Filter life:", low=10, high=30, optimum=100),
                Line(
                    f"Today: {_or_dash(t.get('litres_today'))} L · "
                    f"TDS {_or_dash(t.get('tds_ppm'))} ppm · valve {valve}",
                    small=True,
                ),
            ],
            problem,
        )

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        return Page(
            [
                DailyTotal("Litres per day", "litres per day", "litres_total", "L"),
                Chart(
                    "Filter life left",
                    "filter life",
                    "%",
                    (("filter", "filter_remaining_percent"),),
                    y_range=(0, 100),
                ),
            ]
        )


VIEW = StationView()
