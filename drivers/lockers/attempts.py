"""Wrong codes counted over a sliding window; too many lock out for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.devices import DriverContext
from gateway.messages import isoformat

__all__ = ["Attempts"]


class Attempts:
    """Wrong codes counted over a sliding window; too many lock out for a while.

    The state lives in the device's store under ``key``, so a restart does not reset it.
    """

    def __init__(
        self, ctx: DriverContext, key: str, *, limit: int, window_s: float, lockout_s: float
    ) -> None:
        self._ctx, self._key = ctx, key
        self._limit, self._window, self._lockout = limit, window_s, lockout_s

    def locked_until(self) -> str | None:
        until: str | None = self._ctx.store.get(self._key, {}).get("locked_out_until")
        if until and datetime.fromisoformat(until) > self._ctx.clock.now():
            return until
        return None

    def failed(self) -> tuple[int, str | None]:
        """Count a failure: how many in the window, and until when locked (if now locked)."""
        now = self._ctx.clock.now()
        window = timedelta(seconds=self._window)
        failures = [
            f
            for f in self._ctx.store.get(self._key, {}).get("failures", [])
            if now - datetime.fromisoformat(f) < window
        ]
        failures.append(isoformat(now))
        if len(failures) >= self._limit:
            until = isoformat(now + timedelta(seconds=self._lockout))
            self._ctx.store.set(self._key, {"failures": [], "locked_out_until": until})
            return len(failures), until
        self._ctx.store.set(self._key, {"failures": failures})
        return len(failures), None

    def reset(self) -> None:
        self._ctx.store.set(self._key, {})
