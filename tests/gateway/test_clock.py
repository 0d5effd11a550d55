"""Real and scaled clocks."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.clock import Clock, RealClock, ScaledClock


async def test_scaled_clock_runs_faster_and_sleeps_shorter() -> None:
    clock = ScaledClock(100.0)
    assert isinstance(clock, Clock) and isinstance(RealClock(), Clock)
    # Each simulated reading is bracketed by real ones: the verdict does not depend on how
    # long the test is kept off the CPU between two readings.
    r0, s0, w0, r1 = time.monotonic(), clock.monotonic(), clock.now(), time.monotonic()
    await clock.sleep(5.0)  # five simulated seconds: 50 ms
    r2, w1, s1, r3 = time.monotonic(), clock.now(), clock.monotonic(), time.monotonic()
    simulated = s1 - s0
    assert (r2 - r1) * 100 - 1e-6 <= simulated <= (r3 - r0) * 100 + 1e-6
    assert simulated >= 5.0
    wall = (w1 - w0).total_seconds()
    assert (r2 - r1) * 100 - 1e-3 <= wall <= (r3 - r0) * 100 + 1e-3
    with pytest.raises(ValueError, match="scale"):
        ScaledClock(0)
    await asyncio.sleep(0)


async def test_a_paced_clock_stands_still_while_the_process_is_stalled() -> None:
    clock = ScaledClock(1000.0)
    pacer = asyncio.create_task(clock.pace())
    try:
        await asyncio.sleep(0.05)
        before = clock.monotonic()
        time.sleep(0.3)  # noqa: ASYNC251 - the process kept off the CPU for 0.3 s
        during = clock.monotonic()  # read before the beat notices: no jump
        await asyncio.sleep(0.05)
        after = clock.monotonic()
    finally:
        pacer.cancel()
    assert during - before <= (ScaledClock.BEAT_S + ScaledClock.LATE_S) * 1000 + 1e-6
    assert after - during < 0.3 * 1000  # the stall's 300 simulated seconds never came
    assert clock.stalled_s >= 0.29
    assert after >= during >= before  # and time never ran backwards
    await clock.sleep(5.0)  # a sleep still lasts its simulated time
    assert clock.monotonic() - after >= 5.0
