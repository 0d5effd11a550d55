"""The gateway device's configuration and its commands' arguments."""

from __future__ import annotations

from pydantic import Field

from gateway.devices import Args, DeviceConfig

__all__ = ["ConfigApplyArgs", "GatewayDeviceConfig", "LogLevelArgs", "ReportPeriodArgs"]


class GatewayDeviceConfig(DeviceConfig):
    """``[[devices]] kind = "gateway"``."""

    kind: str = "gateway"
    sample_period_s: float = Field(default=5.0, gt=0, le=3600)
    cpu_hot_c: float = Field(default=80.0, gt=0, le=125)
    cpu_hot_clear_c: float = Field(default=75.0, gt=0, le=125)
    disk_low_percent: float = Field(default=10.0, ge=0, le=100)
    disk_low_clear_percent: float = Field(default=15.0, ge=0, le=100)


class ReportPeriodArgs(Args):
    period_s: float = Field(gt=0, le=86_400)


class LogLevelArgs(Args):
    """The gateway's log at ``level`` for ``minutes`` (then back by itself)."""

    level: str = Field(pattern="^(debug|info|warning|error)$")
    minutes: float = Field(gt=0, le=1440)


class ConfigApplyArgs(Args):
    """A whole new ``gateway.toml``, its version, and how long it has to prove healthy."""

    toml: str = Field(min_length=1, max_length=256 * 1024)
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$")
    #: Within this many seconds of starting on it: the uplink online and every device
    #: available, or the previous file comes back.
    health_s: float = Field(default=60.0, ge=5, le=600)
