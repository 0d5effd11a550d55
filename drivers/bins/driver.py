"""The waste bin's driver."""

from __future__ import annotations

from typing import Any, ClassVar

from gpiozero import Button

from drivers.base import Availability, Hysteresis, Reporter
from drivers.bins.config import BinConfig, CalibrateArgs
from drivers.bins.fill import FillTracker, round_or_none
from drivers.sensors import UltrasonicRanger, ds18b20_or_none
from gateway.devices import Driver, command
from gateway.errors import CommandRejected
from gateway.messages import isoformat

__all__ = ["WasteBin"]


class WasteBin(Driver):
    """One bin."""

    kind = "bin"
    config_model = BinConfig
    config: BinConfig

    _DEADBANDS: ClassVar[dict[str, float]] = {"temperature_c": 1.0, "lid_open": 0}

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
        reporter = Reporter(
            cfg.report_period_s, {"fill_percent": cfg.deadband_percent, **self._DEADBANDS}
        )
        full = Hysteresis(cfg.full_threshold_percent, cfg.full_rearm_percent)
        fire = Hysteresis(cfg.fire_temp_c, cfg.fire_temp_c - 10)
        ranger_ok = Availability(cfg.fault_after)
        last_fill: float | None = ctx.store.get("fill_percent")
        self._tracker = tracker = FillTracker(cfg, self.empty_m, last_fill)
        full.active = bool(ctx.store.get("full", False))
        fill_values: dict[str, Any] = dict.fromkeys(
            ("fill_percent", "distance_m", "fill_rate_pph", "full_at")
        )
        last_temp: tuple[float, float] | None = None
        lid_opened_at: float | None = None
        lid_reported = False
        await ctx.publish_state(
            {
                "name": cfg.name,
                "empty_distance_m": self.empty_m,
                "full": full.active,
                "full_threshold_percent": cfg.full_threshold_percent,
            },
            available=True,
        )
        try:
            while True:
                now = ctx.clock.monotonic()
                distance = await self._ranger.measure(cfg.pings)
                change = ranger_ok.record(distance is not None)
                if change is False:
                    await ctx.publish_state(available=False)
                    await ctx.publish_event(
                        "sensor_fault",
                        "warning",
                        sensor="ranger",
                        reason=f"{cfg.fault_after} readings without echo",
                    )
                elif change is True:
                    await ctx.publish_state(available=True)
                    await ctx.publish_event("sensor_recovered", "info", sensor="ranger")
                if distance is not None:
                    reading = tracker.update(now, ctx.clock.now(), distance)
                    if reading is not None:
                        if reading.emptied_from is not None:
                            await ctx.publish_event(
                                "bin_emptied",
                                "info",
                                fill_before=reading.emptied_from,
                                fill_percent=reading.fill_percent,
                            )
                        fill_values = {
                            "fill_percent": reading.fill_percent,
                            "distance_m": round(reading.distance_m, 3),
                            "fill_rate_pph": round_or_none(reading.rate_pph, 2),
                            "full_at": None
                            if reading.full_at is None
                            else isoformat(reading.full_at),
                        }
                        ctx.store.set("fill_percent", reading.fill_percent)
                else:
                    fill_values = dict.fromkeys(fill_values)
                values: dict[str, Any] = dict(fill_values)
                temperature = self._temperature()
                fire_tripped, rate_c = False, None
                if temperature is not None:
                    if last_temp is not None and now > last_temp[0]:
                        rate_c = (temperature - last_temp[1]) / (now - last_temp[0]) * 60
                    last_temp = (now, temperature)
                    # A fire shows as a temperature above the limit or one rising too fast;
                    # either keeps the alarm active, which clears 10 °C below the limit.
                    rising = (rate_c or 0) >= cfg.fire_rate_c_per_min
                    fire_tripped = (
                        fire.update(max(temperature, cfg.fire_temp_c if rising else temperature))
                        == "tripped"
                    )
                if cfg.temperature_sensor:
                    values["temperature_c"] = temperature
                    values["fire"] = fire.active
                if self._lid is not None:
                    values["lid_open"] = not self._lid.is_pressed
                if reporter.due(values, now):
                    await ctx.publish_telemetry(values)
                    reporter.sent(values, now)
                if values["fill_percent"] is not None:
                    crossed = full.update(values["fill_percent"])
                    if crossed == "tripped":
                        await ctx.publish_event(
                            "bin_full", "warning", fill_percent=values["fill_percent"]
                        )
                    if crossed:
                        ctx.store.set("full", full.active)
                        await ctx.publish_state({"full": full.active})
                if fire_tripped:
                    await ctx.publish_event(
                        "fire_suspected",
                        "critical",
                        temperature_c=temperature,
                        rise_c_per_min=None if rate_c is None else round(rate_c, 1),
                    )
                if values.get("lid_open"):
                    lid_opened_at = now if lid_opened_at is None else lid_opened_at
                    if not lid_reported and now - lid_opened_at >= cfg.lid_open_max_s:
                        lid_reported = True
                        await ctx.publish_event(
                            "lid_open", "warning", open_s=round(now - lid_opened_at)
                        )
                else:
                    lid_opened_at, lid_reported = None, False
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
        if getattr(self, "_tracker", None) is not None:
            self._tracker.empty_m = self.empty_m
        self.ctx.store.set("empty_distance_m", self.empty_m)
        await self.ctx.publish_state({"empty_distance_m": self.empty_m})
        return {"empty_distance_m": self.empty_m}
