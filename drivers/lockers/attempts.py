"""Wrong pickup codes: too many in a while lock a compartment (or the keypad) out.

The counting is the gateway's one limiter (:class:`gateway.limits.SlidingWindow`), kept in
the bank's store on the wall clock, so neither a restart nor a crash forgives a guess. Each
lockout within a day lasts twice the one before (at most a day), and the third is reported
as an attack.
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

    #: Lockouts within this long escalate; from this many on, each is an attack.
    ESCALATION_S = 86_400.0
    ATTACK_AFTER = 3

    def __init__(self, ctx: DriverContext, key: str, config: LockerBankConfig) -> None:
        self._key = key
        self._clock = ctx.clock
        self._store = ctx.store
        self._lockout_s = config.lockout_s
        self._windows = StoredWindows(ctx.store, "attempts/")
        self._limiter = SlidingWindow(
            config.max_wrong_codes,
            config.wrong_code_window_s,
            lockout_s=config.lockout_s,
            clock=lambda: ctx.clock.now().timestamp(),
            windows=self._windows,
        )

    def locked_until(self) -> str | None:
        """Until when (ISO time) it is locked out, or ``None``."""
        until = self._limiter.locked_until(self._key)
        return None if until is None else self._iso(until)

    def failed(self) -> tuple[int, str | None, int]:
        """Count a wrong code: how many in the window, until when locked (if now locked),
        and how many lockouts (this one included) within a day."""
        count, until = self._limiter.hit(self._key)
        if until is None:
            return count, None, 0
        now = self._clock.now().timestamp()
        history = f"lockouts/{self._key}"
        lockouts = [t for t in self._store.get(history, []) if now - t < self.ESCALATION_S]
        lockouts.append(now)
        self._store.set(history, lockouts)
        until = now + min(self._lockout_s * 2 ** (len(lockouts) - 1), self.ESCALATION_S)
        self._windows.save(self._key, [], until)
        return count, self._iso(until), len(lockouts)

    def reset(self) -> None:
        self._limiter.reset(self._key)

    @staticmethod
    def _iso(seconds: float) -> str:
        return isoformat(datetime.fromtimestamp(seconds, UTC))
