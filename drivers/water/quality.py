"""Water quality and filter life: TDS from the probe's voltage, the filter's litres left."""

from __future__ import annotations

from datetime import datetime

__all__ = ["FilterLife", "tds_ppm"]


def tds_ppm(voltage: float, temperature_c: float = 25.0) -> float:
    """Total dissolved solids of the usual analogue TDS probe, compensated to 25 °C."""
    v = voltage / (1 + 0.02 * (temperature_c - 25.0))
    return max(0.0, (133.42 * v**3 - 255.86 * v**2 + 857.39 * v) * 0.5)


class FilterLife:
    """What is left of a filter: the smaller of its litres and its days."""

    def __init__(self, capacity_litres: float, capacity_days: float) -> None:
        self.capacity_litres = capacity_litres
        self.capacity_days = capacity_days

    def remaining_percent(self, litres_since: float, since: datetime, now: datetime) -> float:
        days = max(0.0, (now - since).total_seconds() / 86_400)
        left = min(1 - litres_since / self.capacity_litres, 1 - days / self.capacity_days)
        return round(max(0.0, min(1.0, left)) * 100, 1)
