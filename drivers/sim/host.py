"""The gateway board itself: a first-order thermal model of its CPU, and its disk.

The CPU relaxes towards ``ambient + load heat (+ heat when the fan fails)`` with a time
constant of a few minutes; the kernel's temperature file is written in millidegrees, as
``/sys/class/thermal/thermal_zone0/temp`` is, in the sensor's steps of half a degree (a
Raspberry Pi's moves by about 0.5 °C), and only when it changes: the world's tick must not
spend the gateway's event loop on file writes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from drivers.sim.sysfs import apply_settings, write_atomically

__all__ = ["HostModel"]


class HostModel:
    """The simulated Raspberry Pi: CPU temperature and disk fill."""

    name = "host"

    def __init__(self, temperature_file: Path, *, ambient_c: float = 25.0) -> None:
        self.temperature_file = temperature_file
        self.ambient_c = ambient_c
        self.tau_s = 120.0
        self.fan_failed = False
        self.sensor_ok = True
        self.disk_used_percent: float | None = None
        self.temperature_c = ambient_c + self._load_heat()
        self._write()

    def _load_heat(self) -> float:
        return 15.0 + 8.0 * min(os.getloadavg()[0], 4.0)

    def step(self, dt: float) -> None:
        target = self.ambient_c + self._load_heat() + (40.0 if self.fan_failed else 0.0)
        self.temperature_c = target + (self.temperature_c - target) * math.exp(-dt / self.tau_s)
        self._write()

    def _write(self) -> None:
        if not self.sensor_ok:
            self.temperature_file.unlink(missing_ok=True)
            return
        millidegrees = round(self.temperature_c * 2) * 500
        write_atomically(self.temperature_file, f"{millidegrees}\n")

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``set`` any of ambient_c, temperature_c, fan_failed, sensor_ok, disk_used_percent."""
        if action == "set":
            allowed = {"ambient_c", "temperature_c", "fan_failed", "sensor_ok", "disk_used_percent"}
            apply_settings(self, "host", args, allowed)
            self._write()
        elif action != "get":
            raise KeyError(f"unknown host action {action!r} (allowed: set, get)")
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "temperature_c": round(self.temperature_c, 2),
            "ambient_c": self.ambient_c,
            "fan_failed": self.fan_failed,
            "sensor_ok": self.sensor_ok,
            "disk_used_percent": self.disk_used_percent,
        }
