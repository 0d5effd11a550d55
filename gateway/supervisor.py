"""Runs each driver as a supervised task.

A crash marks the device unavailable, publishes a ``driver_crashed`` event, puts the driver's
outputs in their safe state (or holds them: :meth:`Driver.crashed`) and restarts it with
exponential backoff, while every other device keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.devices import Driver
from gateway.messages import isoformat
from vision.urls import without_credentials

__all__ = ["supervise"]

log = logging.getLogger(__name__)


async def supervise(
    driver: Driver, *, restart_min_s: float = 1.0, restart_max_s: float = 60.0
) -> None:
    """Run ``driver`` until cancelled, restarting it after each crash."""
    ctx = driver.ctx
    delay = restart_min_s
    while True:
        started = time.monotonic()
        try:
            await driver.run()
            log.info("driver %s finished", ctx.device_id)
            return
        except asyncio.CancelledError:
            _make_safe(driver, crashed=False)
            raise
        except Exception as err:
            _make_safe(driver, crashed=True)
            log.exception("driver %s crashed; restarting in %.0f s", ctx.device_id, delay)
            if time.monotonic() - started > restart_max_s:
                delay = restart_min_s
            error = without_credentials(f"{type(err).__name__}: {err}")[:500]
            ctx.crashes.append({"at": isoformat(ctx.clock.now()), "error": error})
            await ctx.publish_state(available=False)
            await ctx.publish_event("driver_crashed", "warning", error=error, restart_in_s=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, restart_max_s)


def _make_safe(driver: Driver, *, crashed: bool) -> None:
    try:
        if crashed:
            driver.crashed()
        else:
            driver.safe_state()
            driver.close()
    except Exception:
        log.exception("driver %s: could not reach its safe state", driver.ctx.device_id)
