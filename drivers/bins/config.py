"""A waste bin's configuration and its commands' arguments."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from drivers.base import Pin
from gateway.devices import Args, DeviceConfig

__all__ = ["BinConfig", "BinSettings", "CalibrateArgs"]


class BinSettings(DeviceConfig):
    """What any bin has, wired to the gateway or measured by a bin node: its geometry, its
    thresholds and how often it reports."""

    report_period_s: float = Field(default=900, gt=0, le=86_400)
    empty_distance_m: float = Field(default=1.0, gt=0.05, le=4.0)
    full_distance_m: float = Field(default=0.15, ge=0.02, le=4.0)
    pings: int = Field(default=5, ge=1, le=15)
    deadband_percent: float = Field(default=2.0, ge=0, le=50)
    full_threshold_percent: float = Field(default=80, gt=0, le=100)
    full_rearm_percent: float = Field(default=50, ge=0, lt=100)
    emptied_drop_percent: float = Field(default=30, gt=0, le=100)
    fit_window_s: float = Field(default=6 * 3600, gt=0)
    fault_after: int = Field(default=3, ge=1, le=100)
    fire_temp_c: float = Field(default=60.0, gt=0, le=125)
    fire_rate_c_per_min: float = Field(default=5.0, gt=0)
    lid_open_max_s: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _geometry(self) -> Self:
        if self.full_distance_m >= self.empty_distance_m:
            raise ValueError(
                "full_distance_m must be smaller than empty_distance_m (the sensor sits "
                "above the contents: a full bin is closer)"
            )
        if self.full_rearm_percent >= self.full_threshold_percent:
            raise ValueError("full_rearm_percent must be below full_threshold_percent")
        return self

    @property
    def has_temperature(self) -> bool:
        """Whether the bin has a temperature probe (its telemetry then carries ``fire``)."""
        return False

    @property
    def has_lid(self) -> bool:
        """Whether the bin has a lid switch."""
        return False


class BinConfig(BinSettings):
    """``[[devices]] kind = "bin"``: a bin wired to the gateway."""

    kind: str = "bin"
    sample_period_s: float = Field(default=60, gt=0, le=3600)
    trigger_pin: Pin
    echo_pin: Pin
    temperature_sensor: str | None = Field(default=None, pattern=r"^28-[0-9a-f]{12}$")
    lid_pin: Pin | None = None

    @property
    def has_temperature(self) -> bool:
        return self.temperature_sensor is not None

    @property
    def has_lid(self) -> bool:
        return self.lid_pin is not None


class CalibrateArgs(Args):
    """The bin is empty now: take the measured distance as ``empty_distance_m``."""
