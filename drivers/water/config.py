"""A water station's configuration."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from drivers.base import Pin
from gateway.devices import DeviceConfig

__all__ = ["WaterStationConfig"]


class WaterStationConfig(DeviceConfig):
    """``[[devices]] kind = "water_station"``."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "water_station"
    report_period_s: float = Field(default=300, gt=0, le=86_400)
    sample_period_s: float = Field(default=1.0, gt=0, le=60)
    flow_pin: Pin
    pulses_per_litre: float = Field(default=450.0, gt=0)
    leak_pin: Pin
    valve_pin: Pin
    uv_pin: Pin | None = None
    tds_channel: int | None = Field(default=None, ge=0, le=7)
    tds_vref: float = Field(default=3.3, gt=0)
    temperature_sensor: str | None = Field(default=None, pattern=r"^28-[0-9a-f]{12}$")
    tds_limit_ppm: float = Field(default=300.0, gt=0)
    tds_alert_after_s: float = Field(default=600.0, ge=0)
    filter_capacity_litres: float = Field(default=4000.0, gt=0)
    filter_capacity_days: float = Field(default=180.0, gt=0)
    filter_due_percent: float = Field(default=10.0, ge=0, le=100)
    max_continuous_flow_s: float = Field(default=600.0, gt=0)
    #: The fastest flow the station's plumbing allows; a kill -9 recounts at most one
    #: second of it.
    max_flow_lpm: float = Field(default=10.0, gt=0)
    deadband_lpm: float = Field(default=0.5, ge=0)
    #: ``flow_lpm`` is the mean over this long (a meter gives 7.5 pulses a second at 1 L/min).
    flow_window_s: float = Field(default=10.0, gt=0, le=600)
