"""The one rate limiter: at most ``limit`` events per key within a sliding window, with an
optional lockout once the limit is reached.

Used for commands (a flood is dropped before it costs a durable reply; signed commands
have their own budget per operator), for the console's
failed logins per address, and for wrong pickup codes at a locker bank (persisted, so a
restart does not forgive them). Keys are bounded: past ``max_keys`` the least recently used
key is forgotten, so a flood of nonsense keys neither grows memory nor wipes the others.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["MemoryWindows", "SlidingWindow", "StoredWindows", "Windows"]


class Windows(Protocol):
    """Where a limiter keeps each key's recent events and its lockout."""

    def load(self, key: str) -> tuple[list[float], float]:
        """The key's event times and the end of its lockout (0: none)."""
        ...

    def save(self, key: str, events: list[float], locked_until: float) -> None: ...


class MemoryWindows:
    """In memory, at most ``max_keys`` keys (the least recently used is forgotten first)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._keys: OrderedDict[str, tuple[list[float], float]] = OrderedDict()

    def load(self, key: str) -> tuple[list[float], float]:
        found = self._keys.get(key)
        if found is None:
            return [], 0.0
        self._keys.move_to_end(key)
        return list(found[0]), found[1]

    def save(self, key: str, events: list[float], locked_until: float) -> None:
        if not events and not locked_until:
            self._keys.pop(key, None)
            return
        self._keys[key] = (events, locked_until)
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)


class _Store(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


class StoredWindows:
    """In a device's store (its SQLite table): lockouts that survive a restart. Times are
    wall-clock seconds, for a clock that does not restart with the process."""

    def __init__(self, store: _Store, prefix: str) -> None:
        self._store, self._prefix = store, prefix

    def load(self, key: str) -> tuple[list[float], float]:
        found = self._store.get(self._prefix + key) or {}
        events = [float(t) for t in found.get("events", []) if isinstance(t, int | float)]
        until = found.get("locked_until", 0.0)
        return events, float(until) if isinstance(until, int | float) else 0.0

    def save(self, key: str, events: list[float], locked_until: float) -> None:
        self._store.set(self._prefix + key, {"events": events, "locked_until": locked_until})


class SlidingWindow:
    """At most ``limit`` events per key in any ``window_s``; with ``lockout_s``, the event
    that reaches the limit locks the key for that long (and starts its count afresh)."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        lockout_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        windows: Windows | None = None,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a limiter needs limit >= 1 and window_s > 0")
        self.limit, self.window_s, self.lockout_s = limit, window_s, lockout_s
        self._clock = clock
        self._windows: Windows = windows if windows is not None else MemoryWindows()

    def _recent(self, key: str) -> tuple[list[float], float, float]:
        now = self._clock()
        events, until = self._windows.load(key)
        return [t for t in events if now - t < self.window_s], until, now

    def locked_until(self, key: str) -> float | None:
        """When ``key``'s lockout ends (on this limiter's clock), or ``None``."""
        _, until, now = self._recent(key)
        return until if until > now else None

    def full(self, key: str) -> bool:
        """Whether one more event for ``key`` would be refused."""
        events, until, now = self._recent(key)
        return until > now or len(events) >= self.limit

    def count(self, key: str) -> int:
        """``key``'s events in the window now."""
        return len(self._recent(key)[0])

    def hit(self, key: str) -> tuple[int, float | None]:
        """Record an event for ``key``: how many are in the window with it, and when the
        lockout it started ends (``None``: not locked)."""
        events, until, now = self._recent(key)
        events.append(now)
        if self.lockout_s and len(events) >= self.limit:
            self._windows.save(key, [], now + self.lockout_s)
            return len(events), now + self.lockout_s
        self._windows.save(key, events, until if until > now else 0.0)
        return len(events), None

    def reset(self, key: str) -> None:
        """Forget ``key``'s events and lockout."""
        self._windows.save(key, [], 0.0)
