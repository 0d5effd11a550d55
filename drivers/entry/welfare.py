"""The welfare check: residents marked for it who have not passed the gate for their period
are announced (``welfare_check_due``), once per period, so that someone knocks on their door.
What was announced is kept in the door's store: a restart neither repeats nor forgets it."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.devices import DriverContext
from gateway.messages import isoformat
from gateway.residents import Residents

__all__ = ["check_welfare"]


async def check_welfare(ctx: DriverContext, residents: Residents, period_h: float) -> None:
    """Announce every active resident marked for the check and unseen for ``period_h``."""
    now = ctx.clock.now()
    period = timedelta(hours=period_h)
    announced: dict[str, str] = ctx.store.get("welfare_announced", {})
    due: list[str] = ctx.store.get("welfare_due", [])
    for r in residents.all():
        if not r.welfare_check or r.status != "active":
            continue
        last = datetime.fromisoformat(r.last_seen or r.enrolled_at)
        if now - last < period:
            continue
        previous = announced.get(r.id)
        if previous is not None and now - datetime.fromisoformat(previous) < period:
            continue
        announced[r.id] = isoformat(now)
        if r.id not in due:
            due.append(r.id)
        await ctx.publish_event(
            "welfare_check_due", "warning", resident_id=r.id, last_seen=r.last_seen
        )
    ctx.store.set("welfare_announced", announced)
    ctx.store.set("welfare_due", due)
