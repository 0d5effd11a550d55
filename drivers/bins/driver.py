"""The waste bin's driver."""

from __future__ import annotations

from typing import Any

from gpiozero import Button

from drivers.bins.config import BinConfig, CalibrateArgs
from drivers.bins.logic import BinLogic
from drivers.sensors import UltrasonicRanger, ds18b20_or_none
from gateway.devices import Driver, command
from gateway.errors import CommandRejected

__all__ = ["WasteBin"]


class WasteBin(Driver):
    """One bin."""

    kind = "bin"
    config_model = BinConfig
    config: BinConfig

    async def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        self.empty_m = float(ctx.store.get("empty_distance_m", cfg.empty_distance_m))
        self._ranger = UltrasonicRanger(
            cfg.trigger_pin,
            cfg.echo_pin,
            pin_factory=ctx.pins,
            max_distance_m=max(self.empty_m * 1.3, 0.5),
        )
        self._lid = Button(cfg.lid_pin, pull_up=True, pin_factory=ctx.pins) if cfg.lid_pin else None
        self._logic = logic = BinLogic(ctx, cfg, self.empty_m)
        await ctx.publish_state(
            {
                "name": cfg.name,
                "empty_distance_m": self.empty_m,
                "full": logic.full.active,
                "full_threshold_percent": cfg.full_threshold_percent,
            },
            available=True,
        )
        try:
            while True:
                distance = await self._ranger.measure(cfg.pings)
                await logic.reading(
                    ctx.clock.monotonic(),
                    ctx.clock.now(),
                    distance,
                    self._temperature(),
                    None if self._lid is None else not self._lid.is_pressed,
                )
                await ctx.clock.sleep(cfg.sample_period_s)
        finally:
            self.close()

    def _temperature(self) -> float | None:
        return ds18b20_or_none(self.ctx.hardware.w1_root, self.config.temperature_sensor)

    def close(self) -> None:
        for part in ("_ranger", "_lid"):
            device = getattr(self, part, None)
            if device is not None:
                device.close()
                setattr(self, part, None)

    @command(args=CalibrateArgs, actuating=True)
    async def calibrate_empty(self, args: CalibrateArgs) -> dict[str, Any]:
        """Take the distance measured now as the empty bin's (after installation)."""
        ranger = getattr(self, "_ranger", None)
        distance = await ranger.measure(self.config.pings) if ranger else None
        if distance is None:
            raise CommandRejected("refused", "the ranger gives no reading; check its wiring")
        if distance <= self.config.full_distance_m:
            raise CommandRejected(
                "refused",
                f"measured {distance:.2f} m, nearer than the full "
                "distance: is the bin really empty?",
            )
        self.empty_m = round(distance, 3)
        logic = getattr(self, "_logic", None)
        if logic is not None:
            logic.tracker.empty_m = self.empty_m
        self.ctx.store.set("empty_distance_m", self.empty_m)
        await self.ctx.publish_state({"empty_distance_m": self.empty_m})
        return {"empty_distance_m": self.empty_m}
