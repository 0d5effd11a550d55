"""How the console shows a care point: the call, smoke, whether it is connected, and the time
of the last activity at the home (never a history of movements)."""

from __future__ import annotations

from datetime import datetime

from gateway.history import DeviceView
from gateway.views import Card, Line, Page

__all__ = ["VIEW", "CareView"]


def _when(iso: object) -> str:
    if not isinstance(iso, str):
        return "not yet"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%a %d %b %H:%M")
    except ValueError:
        return "unknown"


class CareView:
    def card(self, view: DeviceView) -> Card:
        state, t = view.state, view.telemetry
        unit = state.get("unit", "?")
        call = state.get("call", t.get("call", "none"))
        smoke = bool(state.get("smoke") or t.get("smoke"))
        visit = None
        if call == "calling":
            visit = f"emergency call from {unit}, not yet answered"
        elif smoke:
            visit = f"smoke detected at {unit}"
        elif state.get("welfare_due"):
            visit = f"no sign of life at {unit} since {_when(state.get('welfare_since'))}"
        elif not view.available and state:
            visit = f"the care point of {unit} is not reporting"
        calls = {"calling": "calling for help", "acknowledged": "help is coming"}
        return Card(
            [
                Line(f"Home {unit} · {calls.get(str(call), 'no call')}"),
                Line(f"Last activity: {_when(t.get('last_activity'))}", small=True),
            ],
            "smoke detected" if smoke else None,
            visit,
        )

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        return Page([])  # what a home keeps is its last activity time: the card says it


VIEW = CareView()
