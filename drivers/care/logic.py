"""What a care point's inputs mean: the emergency call and its repeats, smoke, the time of
the last activity and the welfare check, supervision. One :class:`CareLogic` per home, fed by
the wired care point's pins or by a care node's reports (``drivers.nodes``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drivers.base import Reporter
from drivers.care.config import AcknowledgeArgs, CareSettings
from gateway.errors import CommandRejected
from gateway.messages import isoformat, new_ulid
from gateway.residents import Residents
from gateway.welfare import Watched, announce, period_of

if TYPE_CHECKING:
    from gateway.devices import DriverContext

__all__ = ["WELFARE_EVERY_S", "CareLogic"]

#: How often (simulated seconds) the welfare check is done without a change in activity.
WELFARE_EVERY_S = 60.0


class CareLogic:
    """One home's care state (in the device's store, so it outlives restarts).

    ``show_call`` puts the button's LED in the call's state: ``"calling"`` (blinking),
    ``"acknowledged"`` (steady) or ``"none"`` (off).
    """

    def __init__(
        self, ctx: DriverContext, cfg: CareSettings, show_call: Callable[[str], None]
    ) -> None:
        self.ctx, self.cfg, self.show_call = ctx, cfg, show_call
        self.residents = Residents(ctx.database)
        self.reporter = Reporter(cfg.report_period_s, {"call": 0, "smoke": 0, "connected": 0})
        self._welfare_at = -math.inf
        if ctx.store.get("last_activity") is None:  # a new care point: the watch starts now
            ctx.store.set("last_activity", isoformat(ctx.clock.now()))

    def values(self) -> dict[str, Any]:
        store = self.ctx.store
        return {
            "last_activity": store.get("last_activity"),
            "call": self.call_state(),
            "smoke": bool(store.get("smoke", False)),
            "connected": store.get("offline_since") is None,
        }

    async def tick(self) -> None:
        """Between inputs, about every second: the call's repeats, the welfare check (every
        :data:`WELFARE_EVERY_S`) and the telemetry when due."""
        t = self.ctx.clock.monotonic()
        await self.repeat_call()
        if t - self._welfare_at >= WELFARE_EVERY_S:
            await self.welfare()
            self._welfare_at = t
        values = self.values()
        if self.reporter.due(values, t):
            await self.ctx.publish_telemetry(values)
            self.reporter.sent(values, t)

    # -- the emergency call ------------------------------------------------------------------

    def call_state(self) -> str:
        call = self.ctx.store.get("call")
        if call is None:
            return "none"
        return "acknowledged" if call.get("acknowledged_at") else "calling"

    async def pressed(self) -> None:
        """A press: a new call, unless one is already waiting for an answer."""
        ctx, cfg = self.ctx, self.cfg
        if self.call_state() == "calling":
            return  # it repeats until acknowledged
        now = isoformat(ctx.clock.now())
        call = {"id": new_ulid(), "pressed_at": now, "sent_at": now, "repeat": 0}
        ctx.store.set("call", call)
        self.show_call("calling")
        await ctx.publish_event(
            "emergency_call", "critical", call_id=call["id"], unit=cfg.unit, pressed_at=now,
            repeat=0,
        )  # fmt: skip
        await ctx.publish_state({"call": "calling"})
        await self.activity()  # someone pressed it: a sign of life too

    async def repeat_call(self) -> None:
        ctx, cfg = self.ctx, self.cfg
        call = ctx.store.get("call")
        if call is None:
            return
        now = ctx.clock.now()
        acknowledged = call.get("acknowledged_at")
        if acknowledged is not None:
            if now - datetime.fromisoformat(acknowledged) >= timedelta(
                seconds=cfg.acknowledged_led_s
            ):
                ctx.store.set("call", None)
                self.show_call("none")
                await ctx.publish_event("emergency_call_closed", "info", call_id=call["id"])
                await ctx.publish_state({"call": "none"})
            return
        if now - datetime.fromisoformat(call["sent_at"]) < timedelta(seconds=cfg.call_repeat_s):
            return
        call["repeat"] += 1
        call["sent_at"] = isoformat(now)
        ctx.store.set("call", call)
        await ctx.publish_event(
            "emergency_call", "critical", call_id=call["id"], unit=cfg.unit,
            pressed_at=call["pressed_at"], repeat=call["repeat"],
        )  # fmt: skip

    async def acknowledge(self, args: AcknowledgeArgs) -> dict[str, Any]:
        """Help is coming: the LED turns steady and the call stops repeating."""
        ctx = self.ctx
        call = ctx.store.get("call")
        if call is None or call.get("acknowledged_at"):
            raise CommandRejected("refused", f"no call is waiting at {self.cfg.unit}")
        if args.call_id is not None and args.call_id != call["id"]:
            raise CommandRejected(
                "refused",
                f"call {args.call_id} is not the one waiting ({call['id']})",
                "call_id",
            )
        call["acknowledged_at"] = isoformat(ctx.clock.now())
        call["responder"] = args.responder
        ctx.store.set("call", call)
        self.show_call("acknowledged")
        await ctx.publish_event(
            "emergency_call_acknowledged", "info", call_id=call["id"], unit=self.cfg.unit,
            responder=args.responder,
        )  # fmt: skip
        await ctx.publish_state({"call": "acknowledged"})
        return {"call_id": call["id"], "acknowledged_at": call["acknowledged_at"]}

    # -- smoke -------------------------------------------------------------------------------

    async def smoke(self, active: bool) -> None:
        ctx = self.ctx
        if active == bool(ctx.store.get("smoke", False)):
            return
        ctx.store.set("smoke", active)
        event = "smoke_detected" if active else "smoke_cleared"
        await ctx.publish_event(event, "critical", unit=self.cfg.unit)
        await ctx.publish_state({"smoke": active})

    # -- activity and the welfare check ------------------------------------------------------

    async def activity(self, at: datetime | None = None) -> None:
        """Movement at the entrance, the door, a press: only its time is kept."""
        store = self.ctx.store
        at = at or self.ctx.clock.now()
        last = store.get("last_activity")
        if last is None or datetime.fromisoformat(last) < at:
            store.set("last_activity", isoformat(at))
        if store.get("welfare_due"):
            await self.welfare()

    async def welfare(self) -> None:
        cfg = self.cfg
        if not cfg.welfare_check:
            return
        home = [r for r in self.residents.all() if r.unit == cfg.unit and r.status == "active"]
        signs = [datetime.fromisoformat(self.ctx.store.get("last_activity"))]
        signs += [datetime.fromisoformat(r.last_seen) for r in home if r.last_seen]
        period = min(
            (period_of(r, cfg.welfare_check_h) for r in home if r.welfare_check),
            default=timedelta(hours=cfg.welfare_check_h),
        )
        data = {"unit": cfg.unit, "resident_ids": [r.id for r in home]}
        due = "home" in await announce(self.ctx, [Watched("home", max(signs), period, data)])
        if due != bool(self.ctx.store.get("welfare_shown", False)):
            self.ctx.store.set("welfare_shown", due)
            await self.ctx.publish_state(
                {"welfare_due": due, "welfare_since": isoformat(max(signs)) if due else None}
            )

    # -- supervision -------------------------------------------------------------------------

    async def supervise(self, silent_s: float | None, allowed_s: float) -> None:
        """``silent_s``: how long the care point has not been heard (``None``: it is);
        beyond ``allowed_s`` it is offline (warning), critical after ``offline_critical_s``."""
        ctx, cfg = self.ctx, self.cfg
        store = ctx.store
        since = store.get("offline_since")
        if silent_s is None:
            if since is not None:
                store.set("offline_since", None)
                store.set("offline_level", None)
                offline_s = (ctx.clock.now() - datetime.fromisoformat(since)).total_seconds()
                await ctx.publish_event(
                    "care_point_online", "info", unit=cfg.unit, offline_s=round(offline_s)
                )
                await ctx.publish_state(available=True)
            return
        level = store.get("offline_level")
        if since is not None:  # counted from when it went silent, across restarts
            silent_s = (ctx.clock.now() - datetime.fromisoformat(since)).total_seconds()
        if level is None and silent_s >= allowed_s:
            store.set("offline_since", isoformat(ctx.clock.now() - timedelta(seconds=silent_s)))
            store.set("offline_level", "warning")
            await ctx.publish_event(
                "care_point_offline", "warning", unit=cfg.unit, silent_s=round(silent_s)
            )
            await ctx.publish_state(available=False)
        elif level == "warning" and silent_s >= cfg.offline_critical_s:
            store.set("offline_level", "critical")
            await ctx.publish_event(
                "care_point_offline", "critical", unit=cfg.unit, silent_s=round(silent_s)
            )
