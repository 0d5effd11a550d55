"""What a bin's readings mean: fill, full, emptied, fire, the lid left open, the ranger's
faults. One :class:`BinLogic` per bin, fed by the wired driver's measurements or by a bin
node's reports (``drivers.nodes``), so both raise the same events the same way."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from drivers.base import Availability, Hysteresis, Reporter
from drivers.bins.config import BinSettings
from drivers.bins.fill import FillTracker, round_or_none
from gateway.messages import isoformat

if TYPE_CHECKING:
    from gateway.devices import DriverContext

__all__ = ["BinLogic"]


class BinLogic:
    """One bin's state between readings (restored from the device's store)."""

    _DEADBANDS: ClassVar[dict[str, float]] = {"temperature_c": 1.0, "lid_open": 0}

    def __init__(self, ctx: DriverContext, cfg: BinSettings, empty_m: float) -> None:
        self.ctx, self.cfg = ctx, cfg
        self.reporter = Reporter(
            cfg.report_period_s, {"fill_percent": cfg.deadband_percent, **self._DEADBANDS}
        )
        self.full = Hysteresis(cfg.full_threshold_percent, cfg.full_rearm_percent)
        self.full.active = bool(ctx.store.get("full", False))
        self.fire = Hysteresis(cfg.fire_temp_c, cfg.fire_temp_c - 10)
        self.ranger_ok = Availability(cfg.fault_after)
        self.tracker = FillTracker(cfg, empty_m, ctx.store.get("fill_percent"))
        self.fill_values: dict[str, Any] = dict.fromkeys(
            ("fill_percent", "distance_m", "fill_rate_pph", "full_at")
        )
        self.last_temp: tuple[float, float] | None = None
        self.lid_opened_at: float | None = None
        self.lid_reported = False

    async def reading(
        self,
        now: float,
        wall: datetime,
        distance: float | None,
        temperature: float | None,
        lid_open: bool | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """One round of readings at monotonic ``now`` (wall-clock ``wall``): ``distance``
        ``None`` is a ping without echo; ``temperature`` / ``lid_open`` ``None`` when not
        fitted. ``extra`` goes into the telemetry as it is (a node's battery and RSSI)."""
        ctx, cfg = self.ctx, self.cfg
        change = self.ranger_ok.record(distance is not None)
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
            reading = self.tracker.update(now, wall, distance)
            if reading is not None:
                if reading.emptied_from is not None:
                    await ctx.publish_event(
                        "bin_emptied",
                        "info",
                        fill_before=reading.emptied_from,
                        fill_percent=reading.fill_percent,
                    )
                self.fill_values = {
                    "fill_percent": reading.fill_percent,
                    "distance_m": round(reading.distance_m, 3),
                    "fill_rate_pph": round_or_none(reading.rate_pph, 2),
                    "full_at": None if reading.full_at is None else isoformat(reading.full_at),
                }
                ctx.store.set("fill_percent", reading.fill_percent)
        else:
            self.fill_values = dict.fromkeys(self.fill_values)
        values: dict[str, Any] = dict(self.fill_values)
        fire_tripped, rate_c = False, None
        if temperature is not None:
            if self.last_temp is not None and now > self.last_temp[0]:
                rate_c = (temperature - self.last_temp[1]) / (now - self.last_temp[0]) * 60
            self.last_temp = (now, temperature)
            # A fire shows as a temperature above the limit or one rising too fast; either
            # keeps the alarm active, which clears 10 °C below the limit.
            rising = (rate_c or 0) >= cfg.fire_rate_c_per_min
            fire_tripped = (
                self.fire.update(max(temperature, cfg.fire_temp_c if rising else temperature))
                == "tripped"
            )
        if cfg.has_temperature:
            values["temperature_c"] = temperature
            values["fire"] = self.fire.active
        if lid_open is not None:
            values["lid_open"] = lid_open
        values.update(extra or {})
        if self.reporter.due(values, now):
            await ctx.publish_telemetry(values)
            self.reporter.sent(values, now)
        if values["fill_percent"] is not None:
            crossed = self.full.update(values["fill_percent"])
            if crossed == "tripped":
                await ctx.publish_event("bin_full", "warning", fill_percent=values["fill_percent"])
            if crossed:
                ctx.store.set("full", self.full.active)
                await ctx.publish_state({"full": self.full.active})
        if fire_tripped:
            await ctx.publish_event(
                "fire_suspected",
                "critical",
                temperature_c=temperature,
                rise_c_per_min=None if rate_c is None else round(rate_c, 1),
            )
        if values.get("lid_open"):
            self.lid_opened_at = now if self.lid_opened_at is None else self.lid_opened_at
            if not self.lid_reported and now - self.lid_opened_at >= cfg.lid_open_max_s:
                self.lid_reported = True
                await ctx.publish_event(
                    "lid_open", "warning", open_s=round(now - self.lid_opened_at)
                )
        else:
            self.lid_opened_at, self.lid_reported = None, False
