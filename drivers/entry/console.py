"""How the console shows the gate: its door and lock, its residents, its camera's pace."""

from __future__ import annotations

from gateway.history import DeviceView
from gateway.views import Card, Chart, Line, Page

__all__ = ["VIEW", "GateView"]


class GateView:
    def card(self, view: DeviceView) -> Card:
        t = view.telemetry
        residents = t.get("residents")
        door = "open" if t.get("door_open") else "closed"
        lock = "locked" if t.get("locked") else "unlocked"
        line = f"Door {door}, {lock} · {'-' if residents is None else residents} residents"
        camera_down = view.state.get("camera") == "unavailable"
        return Card([Line(line)], problem="camera unavailable" if camera_down else None)

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        frames = Chart(
            "Camera frames decided per second", "frames", "fps", (("frames", "frames_per_s"),)
        )
        return Page([frames])


VIEW = GateView()
