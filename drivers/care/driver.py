"""The care point's driver."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from gpiozero import LED, DigitalInputDevice

from drivers.base import Reporter
from drivers.care.config import AcknowledgeArgs, CareConfig
from gateway.devices import DeviceConfig, Driver, DriverContext, command
from gateway.errors import CommandRejected
from gateway.messages import isoformat, new_ulid
from gateway.residents import Residents
from gateway.welfare import Watched, announce, period_of

__all__ = ["CarePoint"]

#: The LED while a call waits: quick blinks that a resident notices from the floor.
BLINK_S = 0.25
#: How often (simulated seconds) the welfare check is done without a change in activity.
WELFARE_EVERY_S = 60.0


class CarePoint(Driver):
    """One home's emergency call button, smoke detector and activity sensors. It acts on
    nothing in the home (no safe state to take); the LED tells the call's state again after a
    restart."""

    kind = "care_point"
    config_model = CareConfig
    config: CareConfig

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.residents = Residents(ctx.database)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parts: dict[str, DigitalInputDevice | LED] = {}
        #: When (monotonic) the supervision loop was seen open, in this run.
        self._open_at: float | None = None

    # -- life --------------------------------------------------------------------------------

    def _acquire(self) -> None:
        """Every gpiozero device; again after a ``close()``."""
        cfg, pins = self.config, self.ctx.pins
        inputs: dict[str, tuple[Any, bool]] = {
            "call": (cfg.call_pin, True),
            "smoke": (cfg.smoke_pin, False),
            "presence": (cfg.presence_pin, False),
            "door": (cfg.door_pin, True),
            "supervision": (cfg.supervision_pin, True),
        }
        for name, (pin, pull_up) in inputs.items():
            if pin is not None and name not in self._parts:
                self._parts[name] = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pins)
        if cfg.led_pin is not None and "led" not in self._parts:
            self._parts["led"] = LED(cfg.led_pin, pin_factory=pins)

    def _input(self, name: str) -> DigitalInputDevice | None:
        part = self._parts.get(name)
        return part if isinstance(part, DigitalInputDevice) else None

    async def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        store = ctx.store
        self._loop = asyncio.get_running_loop()
        self._acquire()
        call, presence, door = self._input("call"), self._input("presence"), self._input("door")
        if call is not None:
            call.when_activated = self._from_pin(self._pressed)
        if presence is not None:
            presence.when_activated = self._from_pin(self._activity)
        if door is not None:
            door.when_activated = door.when_deactivated = self._from_pin(self._activity)
        smoke = self._input("smoke")
        if smoke is not None:
            smoke.when_activated = smoke.when_deactivated = self._from_pin(self._check_smoke)
        if store.get("last_activity") is None:  # a new care point: the watch starts now
            store.set("last_activity", isoformat(ctx.clock.now()))
        self._show_call()
        await ctx.publish_state(
            {"name": cfg.name, "unit": cfg.unit, "call": self._call_state()},
            available=store.get("offline_since") is None,
        )
        await self._check_smoke()
        reporter = Reporter(cfg.report_period_s, {"call": 0, "smoke": 0, "connected": 0})
        welfare_at = -math.inf
        try:
            while True:
                t = ctx.clock.monotonic()
                await self._repeat_call()
                await self._check_smoke()
                await self._supervise(t)
                if t - welfare_at >= WELFARE_EVERY_S:
                    await self._welfare()
                    welfare_at = t
                values = {
                    "last_activity": store.get("last_activity"),
                    "call": self._call_state(),
                    "smoke": bool(store.get("smoke", False)),
                    "connected": store.get("offline_since") is None,
                }
                if reporter.due(values, t):
                    await ctx.publish_telemetry(values)
                    reporter.sent(values, t)
                await ctx.clock.sleep(cfg.sample_period_s)
        finally:
            self.close()

    def _from_pin(self, handler: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        """A gpiozero callback (its own thread) that runs ``handler`` on the event loop."""

        def callback() -> None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._spawn, handler)

        return callback

    def _spawn(self, handler: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(handler())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for part in self._parts.values():
            part.close()
        self._parts = {}
        self._loop = None

    # -- the emergency call ------------------------------------------------------------------

    def _call_state(self) -> str:
        call = self.ctx.store.get("call")
        if call is None:
            return "none"
        return "acknowledged" if call.get("acknowledged_at") else "calling"

    def _show_call(self) -> None:
        led = self._parts.get("led")
        if not isinstance(led, LED):
            return
        state = self._call_state()
        if state == "calling":
            led.blink(on_time=BLINK_S, off_time=BLINK_S)
        elif state == "acknowledged":
            led.on()
        else:
            led.off()

    async def _pressed(self) -> None:
        """A press: a new call, unless one is already waiting for an answer."""
        ctx, cfg = self.ctx, self.config
        if self._call_state() == "calling":
            return  # it repeats until acknowledged
        now = isoformat(ctx.clock.now())
        call = {"id": new_ulid(), "pressed_at": now, "sent_at": now, "repeat": 0}
        ctx.store.set("call", call)
        self._show_call()
        await ctx.publish_event(
            "emergency_call", "critical", call_id=call["id"], unit=cfg.unit, pressed_at=now,
            repeat=0,
        )  # fmt: skip
        await ctx.publish_state({"call": "calling"})
        await self._activity()  # someone pressed it: a sign of life too

    async def _repeat_call(self) -> None:
        ctx, cfg = self.ctx, self.config
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
                self._show_call()
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

    @command(args=AcknowledgeArgs, actuating=True)
    async def acknowledge_call(self, args: AcknowledgeArgs) -> dict[str, Any]:
        """Help is coming: the LED turns steady and the call stops repeating."""
        ctx = self.ctx
        call = ctx.store.get("call")
        if call is None or call.get("acknowledged_at"):
            raise CommandRejected("refused", f"no call is waiting at {self.config.unit}")
        if args.call_id is not None and args.call_id != call["id"]:
            raise CommandRejected(
                "refused",
                f"call {args.call_id} is not the one waiting ({call['id']})",
                "call_id",
            )
        call["acknowledged_at"] = isoformat(ctx.clock.now())
        call["responder"] = args.responder
        ctx.store.set("call", call)
        self._show_call()
        await ctx.publish_event(
            "emergency_call_acknowledged", "info", call_id=call["id"], unit=self.config.unit,
            responder=args.responder,
        )  # fmt: skip
        await ctx.publish_state({"call": "acknowledged"})
        return {"call_id": call["id"], "acknowledged_at": call["acknowledged_at"]}

    # -- smoke -------------------------------------------------------------------------------

    async def _check_smoke(self) -> None:
        smoke = self._input("smoke")
        if smoke is None:
            return
        ctx = self.ctx
        now_active = bool(smoke.is_active)
        if now_active == bool(ctx.store.get("smoke", False)):
            return
        ctx.store.set("smoke", now_active)
        event = "smoke_detected" if now_active else "smoke_cleared"
        await ctx.publish_event(event, "critical", unit=self.config.unit)
        await ctx.publish_state({"smoke": now_active})

    # -- activity and the welfare check ------------------------------------------------------

    async def _activity(self) -> None:
        """Movement at the entrance, the door, a press: only its time is kept."""
        store = self.ctx.store
        store.set("last_activity", isoformat(self.ctx.clock.now()))
        if store.get("welfare_due"):
            await self._welfare()

    async def _welfare(self) -> None:
        cfg = self.config
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

    async def _supervise(self, t: float) -> None:
        """The supervision loop open for two report periods: offline (critical later)."""
        loop = self._input("supervision")
        if loop is None:
            return
        ctx, cfg = self.ctx, self.config
        store = ctx.store
        if loop.is_active:  # closed: the care point is there
            self._open_at = None
            since = store.get("offline_since")
            if since is not None:
                store.set("offline_since", None)
                store.set("offline_level", None)
                offline_s = (ctx.clock.now() - datetime.fromisoformat(since)).total_seconds()
                await ctx.publish_event(
                    "care_point_online", "info", unit=cfg.unit, offline_s=round(offline_s)
                )
                await ctx.publish_state(available=True)
            return
        if self._open_at is None:
            self._open_at = t
        silent = t - self._open_at
        level = store.get("offline_level")
        since = store.get("offline_since")
        if since is not None:  # counted from when it went silent, across restarts
            silent = (ctx.clock.now() - datetime.fromisoformat(since)).total_seconds()
        if level is None and silent >= 2 * cfg.report_period_s:
            store.set("offline_since", isoformat(ctx.clock.now() - timedelta(seconds=silent)))
            store.set("offline_level", "warning")
            await ctx.publish_event(
                "care_point_offline", "warning", unit=cfg.unit, silent_s=round(silent)
            )
            await ctx.publish_state(available=False)
        elif level == "warning" and silent >= cfg.offline_critical_s:
            store.set("offline_level", "critical")
            await ctx.publish_event(
                "care_point_offline", "critical", unit=cfg.unit, silent_s=round(silent)
            )
