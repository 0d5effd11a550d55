"""How the console shows a waste bin: its fill, when it will be full, its fill over time."""

from __future__ import annotations

from gateway.history import DeviceView
from gateway.views import Card, Chart, Line, Meter, Page

__all__ = ["VIEW", "BinView"]


class BinView:
    def card(self, view: DeviceView) -> Card:
        fill = view.telemetry.get("fill_percent")
        parts: list[Meter | Line] = [
            Meter(fill, label="full", missing="No fill reading", low=60, high=85, optimum=0)
        ]
        if fill is not None:
            parts.append(Line("Full at:", small=True, time=view.telemetry.get("full_at") or ""))
        full = bool(view.state.get("full")) and view.available
        return Card(list(parts), problem="full: needs emptying" if full else None)

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        full_at = view.telemetry.get("full_at")
        threshold = float(view.state.get("full_threshold_percent", 90))
        fill = Chart(
            "Fill level (dashed: when it will be full at the present rate)",
            "fill level",
            "%",
            (("fill", "fill_percent"),),
            y_range=(0, 100),
            projection=(full_at, threshold) if full_at else None,
        )
        return Page([fill])


VIEW = BinView()
