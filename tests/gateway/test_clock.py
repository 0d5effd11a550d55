"""Real and scaled clocks."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.clock import Clock, RealClock, ScaledClock


async def test_scaled_clock_runs_faster_and_sleeps_shorter() -> None:
    clock = ScaledClock(100.0)
    assert isinstance(clock, Clock) and isinstance(RealClock(), Clock)
    start_real, start_sim, start_wall = time.monotonic(), clock.monotonic(), clock.now()
    await clock.sleep(5.0)  # five simulated seconds: 50 ms
    real = time.monotonic() - start_real
    simulated = clock.monotonic() - start_sim
    assert simulated == pytest.approx(real * 100, rel=0.05)
    assert simulated >= 5.0
    assert (clock.now() - start_wall).total_seconds() == pytest.approx(simulated, abs=0.5)
    with pytest.raises(ValueError, match="scale"):
        ScaledClock(0)
    await asyncio.sleep(0)
