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

    #: :meth:`pace`'s beat (real seconds), and how late a beat may be before the lateness is
    #: taken out of simulated time.
    BEAT_S = 0.005
    LATE_S = 0.002

    def __init__(self, scale: float, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()
        self._jumped = 0.0
        self._stalled = 0.0
        self._beat: float | None = None
        self._floor = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic() + self._jumped)

    def monotonic(self) -> float:
        real = time.monotonic()
        stalled = self._stalled
        if self._beat is not None:  # paced: a beat overdue means the process is stalled
            stalled += max(0.0, real - self._beat - self.BEAT_S - self.LATE_S)
        self._floor = max(self._floor, (real - self._t0 - stalled) * self.scale)
        return self._floor

    @property
    def stalled_s(self) -> float:
        """Real seconds the process was kept from running, which simulated time skipped."""
        return self._stalled

    async def pace(self) -> None:
        """Keep simulated time to the process's progress (run it as a task, forever).

        When the machine is busy and this process is kept off the CPU for a while, every
        simulated model and driver would otherwise wake to find ``scale`` times that much
        simulated time gone at once: at 1440x a 1 s stall is 24 minutes of a compressor left
        running. While a beat every :data:`BEAT_S` is overdue, simulated time stands still:
        a busy machine runs the simulation slower, never differently.
        """
        self._beat = time.monotonic()
        try:
            while True:
                await asyncio.sleep(self.BEAT_S)
                now = time.monotonic()
                self._stalled += max(0.0, now - self._beat - self.BEAT_S - self.LATE_S)
                self._beat = now
        finally:
            self._beat = None

    def jump(self, seconds: float) -> None:
        """Set the wall clock forward (or back) as an NTP correction would; the monotonic
        clock, which every duration uses, does not move."""
        self._jumped += seconds

    async def sleep(self, seconds: float) -> None:
        """At least ``seconds`` of simulated time (longer in real time after a stall)."""
        end = self.monotonic() + max(0.0, seconds)
        while (left := end - self.monotonic()) > 0:
            await asyncio.sleep(left / self.scale)
