"""Sensor primitives shared by the device families.

- :class:`UltrasonicRanger`: an HC-SR04 on gpiozero trigger and echo pins, pinged on demand
  from the event loop (echo edges are timed by the pin factory's ticks on its own thread and
  handed to the loop);
- :func:`read_ds18b20`: a DS18B20 temperature probe through the kernel's 1-wire sysfs files,
  rejecting CRC failures and the 85 °C power-on value;
- :func:`median_of_valid`: the median of readings that are not ``None``.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gpiozero import DigitalOutputDevice, InputDevice

from gateway.errors import DeviceUnavailable
from gateway.hardware import read_ds18b20

__all__ = [
    "SPEED_OF_SOUND_M_S",
    "UltrasonicRanger",
    "ds18b20_or_none",
    "median_of_valid",
    "read_ds18b20",
]

SPEED_OF_SOUND_M_S = 343.0
_PING_TIMEOUT_S = 0.1  # the longest echo is 38 ms; more means no echo
_ONE_AT_A_TIME = asyncio.Lock()  # rangers must not hear each other's pings


def median_of_valid(readings: Sequence[float | None], minimum: int) -> float | None:
    """The median of the readings that are not ``None``; ``None`` when fewer than
    ``minimum`` are valid (a reading made mostly of failures is no reading)."""
    valid = [r for r in readings if r is not None]
    if len(valid) < max(1, minimum):
        return None
    return float(statistics.median(valid))


class UltrasonicRanger:
    """An HC-SR04-class ranger: a 10 µs trigger pulse, an echo as long as the sound's trip."""

    def __init__(
        self,
        trigger: int | str,
        echo: int | str,
        *,
        pin_factory: Any,
        min_distance_m: float = 0.02,
        max_distance_m: float = 4.0,
    ) -> None:
        self.min_distance_m = min_distance_m
        self.max_distance_m = max_distance_m
        self._factory = pin_factory
        self._trigger = DigitalOutputDevice(trigger, pin_factory=pin_factory)
        try:
            self._echo = InputDevice(echo, pull_up=False, pin_factory=pin_factory)
        except Exception:
            self._trigger.close()
            raise
        self._echo.pin.edges = "both"
        self._echo.pin.bounce = None
        self._echo.pin.when_changed = self._changed
        self._rise: float | None = None
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[float | None]] | None = None

    def _changed(self, ticks: float, level: bool) -> None:
        """On the pin factory's thread: time the echo's edges, wake the loop on the fall."""
        if level:
            self._rise = ticks
            return
        waiter, rise = self._waiter, self._rise
        if waiter is None or rise is None:
            return
        loop, done = waiter
        duration = self._factory.ticks_diff(ticks, rise)
        loop.call_soon_threadsafe(_resolve, done, duration)

    async def ping(self) -> float | None:
        """One measurement in metres; ``None`` for no echo or a distance out of range."""
        loop = asyncio.get_running_loop()
        async with _ONE_AT_A_TIME:
            done: asyncio.Future[float | None] = loop.create_future()
            self._rise = None
            self._waiter = (loop, done)
            try:
                self._trigger.on()
                self._trigger.off()
                duration = await asyncio.wait_for(done, _PING_TIMEOUT_S)
            except TimeoutError:
                return None
            finally:
                self._waiter = None
        if duration is None:
            return None
        distance = duration * SPEED_OF_SOUND_M_S / 2
        if not self.min_distance_m <= distance <= self.max_distance_m:
            return None
        return distance

    async def measure(self, pings: int = 5, interval_s: float = 0.06) -> float | None:
        """The median of ``pings`` pings ``interval_s`` apart (real time: this is physics),
        or ``None`` when fewer than half of them returned a valid echo."""
        readings: list[float | None] = []
        for index in range(pings):
            if index:
                await asyncio.sleep(interval_s)
            readings.append(await self.ping())
        return median_of_valid(readings, minimum=math.ceil(pings / 2))

    def close(self) -> None:
        self._echo.close()
        self._trigger.close()


def _resolve(done: asyncio.Future[float | None], value: float) -> None:
    if not done.done():
        done.set_result(value)


def ds18b20_or_none(w1_root: Path, sensor_id: str | None) -> float | None:
    """An optional probe's reading; ``None`` when none is fitted or it cannot be read."""
    if sensor_id is None:
        return None
    try:
        return read_ds18b20(w1_root, sensor_id)
    except DeviceUnavailable:
        return None
