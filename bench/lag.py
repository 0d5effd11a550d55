"""How late the event loop runs while some work goes on: the benches' one probe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np

__all__ = ["lag_p99_ms"]


async def lag_p99_ms(work: Callable[[], Awaitable[object]], tick_s: float = 0.005) -> float:
    """The 99th percentile of a ``tick_s`` timer's lateness (ms) while ``work`` runs."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(tick_s)
            lags.append((loop.time() - start - tick_s) * 1000)

    task = asyncio.create_task(ticker())
    try:
        await work()
    finally:
        done.set()
        await task
    return float(np.percentile(lags, 99))
