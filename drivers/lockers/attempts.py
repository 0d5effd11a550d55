"""Wrong pickup codes: too many in a while lock a compartment (or the keypad) out.

The counting is the gateway's one limiter (:class:`gateway.limits.SlidingWindow`), kept in
the bank's store on the wall clock, so neither a restart nor a crash forgives a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.lockers.config import LockerBankConfig
from gateway.devices import DriverContext
from gateway.limits import SlidingWindow, StoredWindows
from gateway.messages import isoformat

__all__ = ["Attempts"]


class Attempts:
    """Wrong codes for one compartment (or the keypad) of a bank."""

    def __init__(self, ctx: DriverContext, key: str, config: LockerBankConfig) -> None:
        self._key = key
        self._clock = ctx.clock
        self._limiter = SlidingWindow(
            config.max_wrong_codes,
            config.wrong_code_window_s,
            lockout_s=config.lockout_s,
            clock=lambda: ctx.clock.now().timestamp(),
            windows=StoredWindows(ctx.store, "attempts/"),
        )

    def locked_until(self) -> str | None:
        """Until when (ISO time) it is locked out, or ``None``."""
        until = self._limiter.locked_until(self._key)
        return None if until is None else self._iso(until)

    def failed(self) -> tuple[int, str | None]:
        """Count a wrong code: how many in the window, and until when locked (if now locked)."""
        count, until = self._limiter.hit(self._key)
        return count, None if until is None else self._iso(until)

    def reset(self) -> None:
        self._limiter.reset(self._key)

    @staticmethod
    def _iso(seconds: float) -> str:
        return isoformat(datetime.fromtimestamp(seconds, UTC))
