"""The water station's driver."""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from datetime import datetime
from typing import Any

from gpiozero import MCP3008, DigitalInputDevice, DigitalOutputDevice

from drivers.base import Reporter, announce_alerts, forget_alerts
from drivers.sensors import ds18b20_or_none
from drivers.water.config import WaterStationConfig
from drivers.water.quality import FilterLife, tds_ppm
from gateway.devices import DeviceConfig, Driver, DriverContext, NoArgs, command
from gateway.errors import CommandRejected
from gateway.messages import Severity, isoformat

__all__ = ["WaterStation"]


class WaterStation(Driver):
    """One station."""

    kind = "water_station"
    config_model = WaterStationConfig
    config: WaterStationConfig

    _valve: DigitalOutputDevice | None = None

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self._count_lock = threading.Lock()
        # The stored count is a reservation: never below the pulses counted (so a kill loses
        # none), at most one second of the fastest flow above them (what a kill recounts).
        self._pulses = self._reserved = int(ctx.store.get("pulses_total", 0))
        self._headroom = math.ceil(self.config.max_flow_lpm / 60 * self.config.pulses_per_litre)
        self._renewing = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        store = ctx.store
        self._loop = asyncio.get_running_loop()
        self._valve = DigitalOutputDevice(cfg.valve_pin, initial_value=False, pin_factory=ctx.pins)
        self._flow = DigitalInputDevice(cfg.flow_pin, pull_up=False, pin_factory=ctx.pins)
        self._leak = DigitalInputDevice(cfg.leak_pin, pull_up=False, pin_factory=ctx.pins)
        self._uv = (
            DigitalInputDevice(cfg.uv_pin, pull_up=False, pin_factory=ctx.pins)
            if cfg.uv_pin is not None
            else None
        )
        self._adc = (
            MCP3008(channel=cfg.tds_channel, pin_factory=ctx.pins)
            if cfg.tds_channel is not None
            else None
        )
        self._flow.when_activated = self._pulse
        self._leak.when_activated = self._leak_edge
        self._lock_reason: str | None = store.get("valve_locked")
        now = ctx.clock.now()
        if store.get("filter_changed_at") is None:
            store.set("filter_changed_at", isoformat(now))
            store.set("filter_pulses_at_change", self._pulses)
        life = FilterLife(cfg.filter_capacity_litres, cfg.filter_capacity_days)
        reporter = Reporter(
            cfg.report_period_s, {"flow_lpm": cfg.deadband_lpm, "valve_open": 0, "uv_ok": 0}
        )
        self._reporter = reporter
        wet = self._leak.is_active
        if self._lock_reason is None and not wet:
            self._valve.on()
        await ctx.publish_state(
            {"name": cfg.name, "valve_locked": self._lock_reason}, available=True
        )
        if wet:  # wet at start: the valve stays closed, and upstream hears why
            self._lock_reason = None
            await self._close_for_leak()
        last_pulses = self._pulses
        window: deque[tuple[float, int]] = deque([(ctx.clock.monotonic(), last_pulses)])
        flowing_since: float | None = None
        tds_high_since: float | None = None
        try:
            while True:
                await ctx.clock.sleep(cfg.sample_period_s)
                t = ctx.clock.monotonic()
                with self._count_lock:
                    pulses = self._pulses
                now = ctx.clock.now()
                today = now.date().isoformat()
                if store.get("day") != today:
                    store.set("day", today)
                    store.set("pulses_day_start", last_pulses)
                if pulses == last_pulses and self._reserved != pulses and not self._renewing:
                    self._store_count(pulses)  # no flow: the stored count is exact again
                window.append((t, pulses))
                while len(window) > 2 and t - window[1][0] >= cfg.flow_window_s:
                    window.popleft()
                t0, p0 = window[0]
                flow_lpm = (pulses - p0) / cfg.pulses_per_litre / max(t - t0, 1e-9) * 60
                last_pulses = pulses
                # Safety first: a leak the edge callback missed, a tap stuck open.
                if self._leak.is_active and self._lock_reason != "leak":
                    await self._close_for_leak()
                flowing_since = (flowing_since or t) if flow_lpm > 0.05 else None
                if (
                    flowing_since is not None
                    and t - flowing_since > cfg.max_continuous_flow_s
                    and self._lock_reason is None
                ):
                    await self._lock("flow_runaway")
                    await ctx.publish_event(
                        "flow_runaway",
                        "critical",
                        flowing_s=round(t - flowing_since),
                        flow_lpm=round(flow_lpm, 2),
                    )
                water_temp = self._temperature()
                tds = self._tds(water_temp)
                tds_high_since = (tds_high_since or t) if tds and tds > cfg.tds_limit_ppm else None
                changed_at = datetime.fromisoformat(store.get("filter_changed_at"))
                litres_since = (
                    pulses - store.get("filter_pulses_at_change", 0)
                ) / cfg.pulses_per_litre
                remaining = life.remaining_percent(litres_since, changed_at, now)
                alerts: list[tuple[str, Severity, bool, dict[str, Any]]] = [
                    (
                        "water_quality_alert",
                        "warning",
                        tds_high_since is not None and t - tds_high_since >= cfg.tds_alert_after_s,
                        {"tds_ppm": None if tds is None else round(tds, 1)},
                    ),
                    (
                        "filter_change_due",
                        "warning",
                        remaining <= cfg.filter_due_percent,
                        {"filter_remaining_percent": remaining},
                    ),
                    (
                        "filter_expired",
                        "critical",
                        remaining <= 0,
                        {"filter_remaining_percent": remaining},
                    ),
                    (
                        "uv_lamp_failed",
                        "critical",
                        self._uv is not None and not self._uv.is_active,
                        {},
                    ),
                ]
                await announce_alerts(ctx, alerts)
                values: dict[str, Any] = {
                    "litres_total": round(pulses / cfg.pulses_per_litre, 3),
                    "litres_today": round(
                        (pulses - store.get("pulses_day_start", 0)) / cfg.pulses_per_litre, 3
                    ),
                    "flow_lpm": round(flow_lpm, 2),
                    "tds_ppm": None if tds is None else round(tds, 1),
                    "water_temp_c": water_temp,
                    "filter_remaining_percent": remaining,
                    "valve_open": bool(self._valve.value),
                }
                if self._uv is not None:
                    values["uv_ok"] = bool(self._uv.is_active)
                if reporter.due(values, t):
                    await ctx.publish_telemetry(values)
                    reporter.sent(values, t)
        finally:
            with self._count_lock:
                self._store_count(self._pulses)
            self.close()

    # -- pin callbacks (gpiozero's thread) ---------------------------------------------------

    def _pulse(self) -> None:
        with self._count_lock:
            self._pulses += 1
            renew = not self._renewing and self._pulses >= self._reserved - self._headroom // 2
            if renew:
                self._renewing = True
        if renew:
            self._loop.call_soon_threadsafe(self._renew)

    def _renew(self) -> None:
        """In the loop: reserve the next second of the fastest flow before it can happen."""
        with self._count_lock:
            pulses = self._pulses
        self._store_count(pulses + self._headroom)
        self._renewing = False

    def _store_count(self, reserved: int) -> None:
        self.ctx.store.set("pulses_total", reserved)
        self._reserved = reserved

    def _leak_edge(self) -> None:
        """Close the valve at once, on the pin's own thread; then tell the loop."""
        if self._valve is not None:
            self._valve.off()
        self._loop.call_soon_threadsafe(self._start_leak_task)

    def _start_leak_task(self) -> None:
        task = self._loop.create_task(self._close_for_leak())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- actions -----------------------------------------------------------------------------

    async def _close_for_leak(self) -> None:
        if self._lock_reason == "leak":
            return
        await self._lock("leak")
        await self.ctx.publish_event("leak_detected", "critical", valve_open=False)

    async def _lock(self, reason: str) -> None:
        if self._valve is not None:
            self._valve.off()
        self._lock_reason = reason
        self.ctx.store.set("valve_locked", reason)
        await self.ctx.publish_state({"valve_locked": reason})

    def _temperature(self) -> float | None:
        return ds18b20_or_none(self.ctx.hardware.w1_root, self.config.temperature_sensor)

    def _tds(self, temperature: float | None) -> float | None:
        if self._adc is None:
            return None
        voltage = float(self._adc.value) * self.config.tds_vref
        return tds_ppm(voltage, 25.0 if temperature is None else temperature)

    def safe_state(self) -> None:
        if self._valve is not None:
            self._valve.off()

    def close(self) -> None:
        for part in ("_valve", "_flow", "_leak", "_uv", "_adc"):
            device = getattr(self, part, None)
            if device is not None:
                if part == "_valve":
                    device.off()
                device.close()
                setattr(self, part, None)

    # -- commands ----------------------------------------------------------------------------

    @command(args=NoArgs, actuating=True)
    async def valve_open(self, args: NoArgs) -> dict[str, Any]:
        """Open the inlet valve (refused while a leak is detected)."""
        leak = getattr(self, "_leak", None)
        if leak is not None and leak.is_active:
            raise CommandRejected(
                "refused",
                "a leak is detected at the station; the valve "
                "stays closed until the leak sensor is dry",
            )
        if self._valve is None:
            raise CommandRejected("refused", "the station is not running")
        self._valve.on()
        self._lock_reason = None
        self.ctx.store.set("valve_locked", None)
        await self.ctx.publish_state({"valve_locked": None})
        return {"valve_open": True}

    @command(args=NoArgs, actuating=True)
    async def valve_close(self, args: NoArgs) -> dict[str, Any]:
        """Close the inlet valve until ``valve_open``."""
        await self._lock("command")
        return {"valve_open": False}

    @command(args=NoArgs, actuating=True)
    async def filter_replaced(self, args: NoArgs) -> dict[str, Any]:
        """A new filter is fitted: its life starts now."""
        store = self.ctx.store
        now = isoformat(self.ctx.clock.now())
        with self._count_lock:
            store.set("filter_pulses_at_change", self._pulses)
        store.set("filter_changed_at", now)
        forget_alerts(self.ctx, "filter_")
        await self.ctx.publish_event("filter_replaced", "info", changed_at=now)
        return {"filter_changed_at": now, "filter_remaining_percent": 100.0}
