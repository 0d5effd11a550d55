"""The care point's driver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from gpiozero import LED, DigitalInputDevice

from drivers.care.config import AcknowledgeArgs, CareConfig
from drivers.care.logic import CareLogic
from gateway.devices import DeviceConfig, Driver, DriverContext, command

__all__ = ["CarePoint"]

#: The LED while a call waits: quick blinks that a resident notices from the floor.
BLINK_S = 0.25


class CarePoint(Driver):
    """One home's emergency call button, smoke detector and activity sensors. It acts on
    nothing in the home (no safe state to take); the LED tells the call's state again after a
    restart."""

    kind = "care_point"
    config_model = CareConfig
    config: CareConfig

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.logic = CareLogic(ctx, self.config, self._show_call)
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
        logic = self.logic
        if call is not None:
            call.when_activated = self._from_pin(logic.pressed)
        if presence is not None:
            presence.when_activated = self._from_pin(logic.activity)
        if door is not None:
            door.when_activated = door.when_deactivated = self._from_pin(logic.activity)
        smoke = self._input("smoke")
        if smoke is not None:
            smoke.when_activated = smoke.when_deactivated = self._from_pin(self._check_smoke)
        self._show_call(logic.call_state())
        await ctx.publish_state(
            {"name": cfg.name, "unit": cfg.unit, "call": logic.call_state()},
            available=store.get("offline_since") is None,
        )
        await self._check_smoke()
        try:
            while True:
                await self._check_smoke()
                await self._supervise(ctx.clock.monotonic())
                await logic.tick()
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

    # -- the LED and the commands ------------------------------------------------------------

    def _show_call(self, state: str) -> None:
        led = self._parts.get("led")
        if not isinstance(led, LED):
            return
        if state == "calling":
            led.blink(on_time=BLINK_S, off_time=BLINK_S)
        elif state == "acknowledged":
            led.on()
        else:
            led.off()

    async def _check_smoke(self) -> None:
        smoke = self._input("smoke")
        if smoke is not None:
            await self.logic.smoke(bool(smoke.is_active))

    async def _supervise(self, t: float) -> None:
        """The supervision loop open for two report periods: offline (critical later)."""
        loop = self._input("supervision")
        if loop is None:
            return
        if loop.is_active:  # closed: the care point is there
            self._open_at = None
            await self.logic.supervise(None, 2 * self.config.report_period_s)
            return
        if self._open_at is None:
            self._open_at = t
        await self.logic.supervise(t - self._open_at, 2 * self.config.report_period_s)

    @command(args=AcknowledgeArgs, actuating=True)
    async def acknowledge_call(self, args: AcknowledgeArgs) -> dict[str, Any]:
        """Help is coming: the LED turns steady and the call stops repeating."""
        return await self.logic.acknowledge(args)
