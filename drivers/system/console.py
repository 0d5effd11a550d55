"""How the console shows the gateway itself: CPU temperature, disk, outbox."""

from __future__ import annotations

from gateway.history import DeviceView
from gateway.views import Card, Chart, Line, Page

__all__ = ["VIEW", "GatewayView"]


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


class GatewayView:
    def card(self, view: DeviceView) -> Card:
        t = view.telemetry
        return Card(
            [
                Line(
                    f"CPU {_or_dash(t.get('cpu_temp_c'))} °C · disk free "
                    f"{_or_dash(t.get('disk_free_percent'))} % · outbox "
                    f"{_or_dash(t.get('outbox_depth'))}",
                    small=True,
                )
            ]
        )

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        return Page([Chart("CPU temperature", "CPU temperature", "°C", (("CPU", "cpu_temp_c"),))])


VIEW = GatewayView()
