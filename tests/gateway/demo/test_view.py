"""The demo's live view."""

from __future__ import annotations

from gateway.demo.view import _telemetry_line


def test_the_demo_view_summarises_a_locker_bank_on_one_line() -> None:
    boxes = [
        {"id": "A01", "class": "ambient", "temperature_c": None, "occupied": True},
        {"id": "C08", "class": "chilled", "temperature_c": 5.31, "cooling_on": True},
        {"id": "F11", "class": "frozen", "temperature_c": -21.44, "occupied": True},
        {"id": "F12", "class": "frozen", "temperature_c": None, "occupied": True},
    ]
    assert _telemetry_line({"compartments": boxes, "reported": 3}) == (
        "3 of 4 held · C08 5.3 °C cooling · F11 -21.4 °C · F12 no probe, reported=3"
    )
