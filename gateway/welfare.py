"""The welfare check: whoever is watched over and shows no sign of life for their period is
announced (``welfare_check_due``) so that someone knocks on the door, once per period, and
``welfare_check_cleared`` follows the next sign of life.

A sign of life is a passage through the gate (a resident's ``last_seen``) or activity at
home (a care point's last activity). Each resident is watched by exactly one device: the
care point of their home when the gateway has one (see :meth:`DeviceConfig.homes`), else the
gate. What was announced is kept in that device's store: a restart neither repeats nor
forgets it. Quiet hours do not pause the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.messages import isoformat

if TYPE_CHECKING:
    from gateway.devices import DriverContext
    from gateway.residents import Resident
    from gateway.settings import GatewayConfig

__all__ = ["Watched", "announce", "homes_watched", "period_of"]


@dataclass(frozen=True)
class Watched:
    """Someone (a resident, or a home) a device watches over."""

    #: Stable key in the device's store (a resident's id, or ``home``).
    key: str
    #: The last sign of life.
    last: datetime
    period: timedelta
    #: The fields of the events about them (never a movement log: times only).
    data: Mapping[str, Any] = field(default_factory=dict)


def period_of(resident: Resident, default_h: float) -> timedelta:
    """The resident's own period, or the watching device's default."""
    return timedelta(hours=resident.welfare_h or default_h)


def homes_watched(settings: GatewayConfig | None) -> frozenset[str]:
    """The units whose residents a care point watches over (not the gate)."""
    if settings is None:
        return frozenset()
    return frozenset(unit for device in settings.devices for unit in device.homes())


async def announce(ctx: DriverContext, watched: Iterable[Watched]) -> list[str]:
    """Publish what is due and what cleared; returns the keys now due."""
    now = ctx.clock.now()
    announced: dict[str, str] = ctx.store.get("welfare_announced", {})
    due: list[str] = ctx.store.get("welfare_due", [])
    still: list[str] = []
    current = {w.key: w for w in watched}
    for key in due:
        w = current.get(key)
        if w is None:  # no longer watched (removed, suspended, unmarked): nothing to clear
            announced.pop(key, None)
        elif now - w.last < w.period:
            announced.pop(key, None)
            await ctx.publish_event(
                "welfare_check_cleared", "info", last_activity=isoformat(w.last), **w.data
            )
        else:
            still.append(key)
    for w in current.values():
        if now - w.last < w.period:
            continue
        previous = announced.get(w.key)
        if previous is not None and now - datetime.fromisoformat(previous) < w.period:
            continue
        announced[w.key] = isoformat(now)
        if w.key not in still:
            still.append(w.key)
        await ctx.publish_event(
            "welfare_check_due",
            "warning",
            last_activity=isoformat(w.last),
            unseen_h=round((now - w.last).total_seconds() / 3600, 1),
            **w.data,
        )
    ctx.store.set("welfare_announced", announced)
    ctx.store.set("welfare_due", still)
    return still
