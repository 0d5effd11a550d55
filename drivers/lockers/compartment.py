"""One compartment as the driver holds it: its control, its probe, its door and its parcel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from drivers.base import Availability
from drivers.lockers.config import CompartmentConfig
from drivers.thermostat import (
    ClassProfile,
    ExcursionMonitor,
    Thermostat,
)

__all__ = ["Compartment", "Grant", "reading"]


def reading(celsius: float | None) -> str:
    return "no probe reading" if celsius is None else f"{celsius:.1f} °C"


@dataclass
class Grant:
    """An unlock in progress: why, for which delivery, until when the door may open."""

    purpose: Literal["deposit", "pickup", "return"]
    delivery_ref: str
    expires: float


@dataclass
class Compartment:
    cfg: CompartmentConfig
    profile: ClassProfile | None
    thermostat: Thermostat | None
    monitor: ExcursionMonitor | None
    probe: Availability = field(default_factory=Availability)
    temperature_c: float | None = None
    door_open: bool = False
    opened_at: float | None = None
    held_reported: bool = False
    excursion_counted: bool = False
    grant: Grant | None = None
    #: The delivery it holds (or is reserved for); persisted.
    delivery: str | None = None

    @property
    def setpoint_c(self) -> float | None:
        if self.thermostat is None:
            return None
        return self.thermostat.setpoint_c

    def in_band(self) -> bool:
        if self.profile is None:
            return True
        t = self.temperature_c
        low, high = self.profile.band
        return self.probe.available and t is not None and low <= t <= high
