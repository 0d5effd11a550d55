"""A waste bin: contents that grow with the residents' deposits and drop at collections,
seen by an ultrasonic ranger from the lid; a DS18B20 in the lid; a lid switch.

Deposits arrive as a Poisson process whose rate follows the day (quiet at night, peaks in
the morning and the evening). The echo lasts ``2·d / 343 m/s`` with a little jitter; a
fraction of pings return a spurious short echo (a bag edge near the sensor); a dead ranger
returns none.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from drivers.bins.config import BinConfig
from drivers.sensors import SPEED_OF_SOUND_M_S
from drivers.sim.pins import EchoPin, RangerTriggerPin
from drivers.sim.sysfs import apply_settings, write_ds18b20
from gateway.clock import Clock

__all__ = ["BinModel"]


def _day_rhythm(hour: float) -> float:
    """Relative deposit rate over the day: ~0.1 at night, peaks near 8:00 and 19:00."""
    morning = math.exp(-(((hour - 8) / 1.5) ** 2))
    evening = 1.3 * math.exp(-(((hour - 19) / 2.0) ** 2))
    return 0.1 + morning + evening


class BinModel:
    """One bin of the simulated complex (named like its device)."""

    def __init__(
        self, config: BinConfig, pins: Any, w1_root: Path, clock: Clock, rng: random.Random
    ) -> None:
        self.name = config.id
        self.config = config
        self.clock = clock
        self.random = rng
        self.fill = 0.1  # fraction of the usable height
        self.deposits_per_hour = 1.2  # at the daily average
        self.deposit_percent = 1.5  # mean size of one deposit
        self.steady_pph = 0.0  # a steady fill on top of the deposits (percent per hour)
        self.dead = False
        self.spurious = 0.05  # fraction of pings with a short false echo
        self.temperature_c = 18.0 + rng.uniform(-1, 1)
        self.fire = False
        self.lid_open = False
        echo = pins.pin(config.echo_pin, pin_class=EchoPin)
        self.trigger: RangerTriggerPin = pins.pin(
            config.trigger_pin,
            pin_class=RangerTriggerPin,
            echo_pin=echo,
            echo_time=self.echo_time,
        )
        self.lid = pins.pin(config.lid_pin) if config.lid_pin is not None else None
        self.probe = (
            w1_root / config.temperature_sensor / "w1_slave" if config.temperature_sensor else None
        )
        self._write_probe()

    @property
    def fill_percent(self) -> float:
        return self.fill * 100

    @fill_percent.setter
    def fill_percent(self, value: float) -> None:
        self.fill = float(value) / 100

    @property
    def distance_m(self) -> float:
        cfg = self.config
        return cfg.empty_distance_m - self.fill * (cfg.empty_distance_m - cfg.full_distance_m)

    def echo_time(self) -> float | None:
        """Called on the trigger pin's thread for each ping."""
        if self.dead:
            return None
        if self.random.random() < self.spurious:
            return 2 * self.random.uniform(0.03, 0.08) / SPEED_OF_SOUND_M_S
        distance = max(0.02, self.distance_m + self.random.gauss(0, 0.004))
        return 2 * distance / SPEED_OF_SOUND_M_S

    def step(self, dt: float) -> None:
        hour = self.clock.now().hour + self.clock.now().minute / 60
        expected = self.deposits_per_hour * _day_rhythm(hour) * dt / 3600
        # Poisson arrivals in this step (dt is short: at most a few deposits).
        arrivals = 0
        threshold, product = math.exp(-expected), self.random.random()
        while product > threshold:
            arrivals += 1
            product *= self.random.random()
        for _ in range(arrivals):
            self.fill = min(
                1.05, self.fill + self.random.expovariate(1 / self.deposit_percent) / 100
            )
        self.fill = min(1.05, self.fill + self.steady_pph * dt / 3600 / 100)
        if self.fire:  # a smouldering fire: +10 °C per minute up to 300 °C
            self.temperature_c = min(300.0, self.temperature_c + 10.0 * dt / 60)
        else:
            self.temperature_c += (18.0 - self.temperature_c) * min(1.0, dt / 1800)
        if self.lid is not None:
            (self.lid.drive_high if self.lid_open else self.lid.drive_low)()
        self._write_probe()
        self.trigger.trim_history()

    def _write_probe(self) -> None:
        if self.probe is not None:
            write_ds18b20(self.probe, self.temperature_c)

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``set`` fill_percent, dead, spurious, fire, lid_open, deposits_per_hour,
        steady_pph, temperature_c; ``empty`` (a collection); ``get``."""
        if action == "empty":
            self.fill = self.random.uniform(0.0, 0.03)
        elif action == "set":
            allowed = {
                "fill_percent",
                "dead",
                "spurious",
                "fire",
                "lid_open",
                "deposits_per_hour",
                "steady_pph",
                "temperature_c",
            }
            apply_settings(self, "bin", args, allowed)
            self._write_probe()
        elif action != "get":
            raise KeyError(f"unknown bin action {action!r} (allowed: set, empty, get)")
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "fill_percent": round(self.fill * 100, 1),
            "distance_m": round(self.distance_m, 3),
            "dead": self.dead,
            "fire": self.fire,
            "lid_open": self.lid_open,
            "temperature_c": round(self.temperature_c, 1),
        }
