"""Waste bins (``kind = "bin"``): an ultrasonic ranger over the contents, optionally a
DS18B20 probe and a lid switch.

Telemetry: ``fill_percent``, ``distance_m``, ``fill_rate_pph``, ``full_at`` (when the fill
reaches the full threshold, from a line fitted to recent readings; ``null`` when not
filling), and ``temperature_c`` / ``lid_open`` when fitted. Events: ``bin_full`` (once per
filling), ``bin_emptied``, ``fire_suspected`` (critical), ``lid_open``, ``sensor_fault`` and
``sensor_recovered``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from gpiozero import Button
from pydantic import BaseModel, Field, model_validator

from drivers.base import Availability, Hysteresis, Reporter
from drivers.sensors import UltrasonicRanger, ds18b20_or_none
from gateway.devices import DeviceConfig, Driver, command
from gateway.errors import CommandRejected
from gateway.messages import isoformat

__all__ = ["BinConfig", "FillReading", "FillTracker", "FillTrend", "WasteBin", "fill_percent"]

Pin = int | str


class BinConfig(DeviceConfig):
    """``[[devices]] kind = "bin"``."""

    kind: str = "bin"
    report_period_s: float = Field(default=900, gt=0, le=86_400)
    sample_period_s: float = Field(default=60, gt=0, le=3600)
    trigger_pin: Pin
    echo_pin: Pin
    empty_distance_m: float = Field(default=1.0, gt=0.05, le=4.0)
    full_distance_m: float = Field(default=0.15, ge=0.02, le=4.0)
    pings: int = Field(default=5, ge=1, le=15)
    deadband_percent: float = Field(default=2.0, ge=0, le=50)
    full_threshold_percent: float = Field(default=80, gt=0, le=100)
    full_rearm_percent: float = Field(default=50, ge=0, lt=100)
    emptied_drop_percent: float = Field(default=30, gt=0, le=100)
    fit_window_s: float = Field(default=6 * 3600, gt=0)
    fault_after: int = Field(default=3, ge=1, le=100)
    temperature_sensor: str | None = Field(default=None, pattern=r"^28-[0-9a-f]{12}$")
    fire_temp_c: float = Field(default=60.0, gt=0, le=125)
    fire_rate_c_per_min: float = Field(default=5.0, gt=0)
    lid_pin: Pin | None = None
    lid_open_max_s: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _geometry(self) -> Self:
        if self.full_distance_m >= self.empty_distance_m:
            raise ValueError(
                "full_distance_m must be smaller than empty_distance_m (the sensor sits "
                "above the contents: a full bin is closer)"
            )
        if self.full_rearm_percent >= self.full_threshold_percent:
            raise ValueError("full_rearm_percent must be below full_threshold_percent")
        return self


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def fill_percent(distance_m: float, empty_m: float, full_m: float) -> float:
    """0 % at the empty distance, 100 % at the full distance, clamped."""
    fraction = (empty_m - distance_m) / (empty_m - full_m)
    return round(min(100.0, max(0.0, fraction * 100)), 1)


class FillTrend:
    """A least-squares line through recent (time, fill) readings."""

    MIN_RATE_PPH = 0.1  # slower than this is "not filling"

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, float]] = deque()

    def add(self, t: float, fill: float) -> None:
        self._points.append((t, fill))
        while self._points and t - self._points[0][0] > self.window_s:
            self._points.popleft()

    def reset(self) -> None:
        self._points.clear()

    def rate_pph(self) -> float | None:
        """Percent per hour, or ``None`` with fewer than three readings."""
        if len(self._points) < 3:
            return None
        n = len(self._points)
        mean_t = sum(p[0] for p in self._points) / n
        mean_f = sum(p[1] for p in self._points) / n
        var = sum((p[0] - mean_t) ** 2 for p in self._points)
        if var == 0:
            return None
        cov = sum((p[0] - mean_t) * (p[1] - mean_f) for p in self._points)
        return cov / var * 3600

    def full_at(self, now: datetime, fill: float, threshold: float) -> datetime | None:
        rate = self.rate_pph()
        if rate is None or rate < self.MIN_RATE_PPH or fill >= threshold:
            return None
        return now + timedelta(hours=(threshold - fill) / rate)


@dataclass(frozen=True)
class FillReading:
    """One accepted fill reading."""

    fill_percent: float
    distance_m: float
    rate_pph: float | None
    full_at: datetime | None
    #: The fill before a collection, when this reading is the one after it.
    emptied_from: float | None = None


class FillTracker:
    """Distances → fill readings, with the trend since the last collection.

    A jump of ``jump_percent`` or more (a collection, a bulky load, or a few false echoes
    from a bag near the sensor) counts only when the next reading confirms it: a single
    stray reading neither empties nor fills a bin.
    """

    CONFIRM_WITHIN_PERCENT = 10.0

    def __init__(self, config: BinConfig, empty_m: float, last_fill: float | None) -> None:
        self.config = config
        self.empty_m = empty_m
        self.last = last_fill
        self.pending: float | None = None
        self.trend = FillTrend(config.fit_window_s)

    def update(self, t: float, now: datetime, distance: float) -> FillReading | None:
        """The reading, or ``None`` while a jump waits for its confirmation."""
        cfg = self.config
        fill = fill_percent(distance, self.empty_m, cfg.full_distance_m)
        emptied_from = None
        if self.last is not None and abs(fill - self.last) >= cfg.emptied_drop_percent:
            if self.pending is None or abs(fill - self.pending) > self.CONFIRM_WITHIN_PERCENT:
                self.pending = fill
                return None
            emptied_from = self.last if fill < self.last else None
            self.trend.reset()  # a new filling starts
        self.pending = None
        self.trend.add(t, fill)
        self.last = fill
        return FillReading(
            fill,
            distance,
            self.trend.rate_pph(),
            self.trend.full_at(now, fill, cfg.full_threshold_percent),
            emptied_from,
        )


class CalibrateArgs(BaseModel):
    """The bin is empty now: take the measured distance as ``empty_distance_m``."""


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
                            "fill_rate_pph": _round(reading.rate_pph, 2),
                            "full_at": None
                            if reading.full_at is None
                            else isoformat(reading.full_at),
                        }
                        ctx.store.set("fill_percent", reading.fill_percent)
                else:
                    fill_values = dict.fromkeys(fill_values)
                values: dict[str, Any] = dict(fill_values)
                temperature = self._temperature()
                if cfg.temperature_sensor:
                    values["temperature_c"] = temperature
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
                if temperature is not None:
                    rate_c = None
                    if last_temp is not None and now > last_temp[0]:
                        rate_c = (temperature - last_temp[1]) / (now - last_temp[0]) * 60
                    last_temp = (now, temperature)
                    # A fire shows as a temperature above the limit or one rising too fast;
                    # either keeps the alarm active, which clears 10 °C below the limit.
                    rising = (rate_c or 0) >= cfg.fire_rate_c_per_min
                    if (
                        fire.update(max(temperature, cfg.fire_temp_c if rising else temperature))
                        == "tripped"
                    ):
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
