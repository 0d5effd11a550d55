"""Time for drivers: real, or simulated at a time scale.

Drivers never sleep on the wall clock; they use ``ctx.clock`` so that the simulated complex
can live a day in minutes. ``monotonic()`` is for durations, ``now()`` for timestamps.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "ScaledClock"]


@runtime_checkable
class Clock(Protocol):
    """What drivers may ask of time."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, for durations."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of this clock's time."""
        ...


class RealClock:
    """The machine's own clocks."""

    scale = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Simulated time running ``scale`` times faster than real time.

    It starts at ``start`` (default: now) and advances with the real monotonic clock, so it
    never jumps even when the machine's wall clock does.
    """

    def __init__(self, scale: float, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()
        self._jumped = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic() + self._jumped)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.scale

    def jump(self, seconds: float) -> None:
        """Set the wall clock forward (or back) as an NTP correction would; the monotonic
        clock, which every duration uses, does not move."""
        self._jumped += seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)
