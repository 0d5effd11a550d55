"""Helpers for driver authors: pin names, when to report, thresholds with hysteresis,
availability."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gateway.devices import DriverContext
    from gateway.messages import Severity

__all__ = [
    "Alarm",
    "Availability",
    "Hysteresis",
    "Pin",
    "Reporter",
    "Sparse",
    "announce_alerts",
    "forget_alerts",
]

#: A GPIO pin as gpiozero names it: a BCM number (17) or a name ("GPIO17", "BOARD11").
Pin = int | str


class Reporter:
    """Decides when telemetry is due: at the report period, or on a change beyond a deadband.

    ``deadbands`` maps a key to the smallest change worth reporting (0: any change); keys
    not listed never trigger a report on their own.
    """

    def __init__(self, period_s: float, deadbands: Mapping[str, float]) -> None:
        self.period_s = period_s
        self._deadbands = dict(deadbands)
        self._last: dict[str, Any] | None = None
        self._last_at = -math.inf

    def due(self, values: Mapping[str, Any], now: float) -> bool:
        """Whether ``values`` (read at monotonic time ``now``) should be sent."""
        if self._last is None or now - self._last_at >= self.period_s:
            return True
        return any(
            _changed(self._last.get(k), values.get(k), band) for k, band in self._deadbands.items()
        )

    def sent(self, values: Mapping[str, Any], now: float) -> None:
        self._last = dict(values)
        self._last_at = now


def _changed(old: Any, new: Any, band: float) -> bool:
    if isinstance(old, int | float) and isinstance(new, int | float) and band > 0:
        return abs(new - old) >= band
    return bool(old != new)


class Sparse:
    """Something reported at most once every ``seconds``: :meth:`happened` counts each time,
    and says how many times since the last report when a report is due."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = -math.inf
        self._count = 0

    def happened(self, now: float) -> int | None:
        self._count += 1
        if now - self._at < self.seconds:
            return None
        self._at, count, self._count = now, self._count, 0
        return count


class Hysteresis:
    """A high (or low) threshold that trips once and clears only past ``clear``.

    ``update()`` returns ``"tripped"`` when the value crosses ``trip``, ``"cleared"`` when it
    comes back past ``clear``, else ``None``: one event per excursion.
    """

    def __init__(self, trip: float, clear: float, *, above: bool = True) -> None:
        if (clear > trip) if above else (clear < trip):
            raise ValueError("clear must lie on the safe side of trip")
        self.trip, self.clear, self.above = trip, clear, above
        self.active = False

    def update(self, value: float | None) -> Literal["tripped", "cleared"] | None:
        if value is None:
            return None
        beyond = value >= self.trip if self.above else value <= self.trip
        back = value < self.clear if self.above else value > self.clear
        if not self.active and beyond:
            self.active = True
            return "tripped"
        if self.active and back:
            self.active = False
            return "cleared"
        return None


class Alarm:
    """A :class:`Hysteresis` on one reading that publishes ``{event}`` when it trips and
    ``{event}_cleared`` when it clears, with the reading under ``key``."""

    def __init__(
        self,
        event: str,
        key: str,
        trip: float,
        clear: float,
        *,
        above: bool = True,
        severity: Severity = "warning",
    ) -> None:
        self.event, self.key, self.severity = event, key, severity
        self.threshold = Hysteresis(trip, clear, above=above)

    async def check(self, ctx: DriverContext, values: Mapping[str, Any]) -> None:
        value = values.get(self.key)
        change = self.threshold.update(value)
        if change == "tripped":
            await ctx.publish_event(self.event, self.severity, **{self.key: value})
        elif change == "cleared":
            await ctx.publish_event(f"{self.event}_cleared", "info", **{self.key: value})


class Availability:
    """A sensor turns unavailable after ``failures`` bad readings in a row, and recovers on
    the first good one. ``record()`` returns the new availability when it changed."""

    def __init__(self, failures: int = 3) -> None:
        self.failures = failures
        self.available = True
        self._bad = 0

    def record(self, ok: bool) -> bool | None:
        self._bad = 0 if ok else self._bad + 1
        now = ok or self._bad < self.failures
        if now != self.available:
            self.available = now
            return now
        return None


#: An alert: its event, severity, whether it holds now, and the event's fields.
AlertState = tuple[str, "Severity", bool, Mapping[str, Any]]


async def announce_alerts(ctx: DriverContext, alerts: Iterable[AlertState]) -> None:
    """Each alert once while it lasts: published when it starts to hold, forgotten when it
    stops (the device's store keeps which were told, across restarts)."""
    told = set(ctx.store.get("announced", []))
    for name, severity, active, data in alerts:
        if active and name not in told:
            told.add(name)
            await ctx.publish_event(name, severity, **data)
        elif not active:
            told.discard(name)
    ctx.store.set("announced", sorted(told))


def forget_alerts(ctx: DriverContext, prefix: str) -> None:
    """The alerts named ``prefix…`` may be told again (their cause was dealt with)."""
    told = ctx.store.get("announced", [])
    ctx.store.set("announced", [name for name in told if not name.startswith(prefix)])
