"""A water station run by a water node: the node counts the flow and shuts the valve on a
leak by itself; the gateway turns its counts into litres, flow and the filter's life, stops
a runaway flow, and forwards the operators' signed valve commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drivers.base import Reporter, announce_alerts, forget_alerts
from drivers.nodes.config import NodeWaterConfig
from drivers.nodes.driver import NodeDriver
from drivers.nodes.messages import NodeEvent, WaterReading
from drivers.water.quality import FilterLife
from gateway.devices import NoArgs, command
from gateway.errors import CommandRejected
from gateway.messages import isoformat

__all__ = ["NodeWater"]


class NodeWater(NodeDriver):
    """One water node's station."""

    kind = "node_water"
    config_model = NodeWaterConfig
    config: NodeWaterConfig
    reading_model = WaterReading

    async def started(self) -> None:
        cfg, store = self.config, self.ctx.store
        self._life = FilterLife(cfg.filter_capacity_litres, cfg.filter_capacity_days)
        self._reporter = Reporter(cfg.report_period_s, {"flow_lpm": cfg.deadband_lpm,
                                                        "valve_open": 0, "leak": 0})  # fmt: skip
        self._last: tuple[float, int] | None = None
        self._flowing_since: float | None = None
        self._leak = bool(store.get("leak", False))
        if store.get("filter_changed_at") is None:
            store.set("filter_changed_at", isoformat(self.ctx.clock.now()))

    async def reading(self, entry: Any, now: float, wall: datetime, fresh: bool) -> None:
        assert isinstance(entry, WaterReading)
        if not fresh:
            return
        ctx, cfg, store = self.ctx, self.config, self.ctx.store
        litres = entry.pulses / cfg.pulses_per_litre
        if store.get("filter_litres_at_change") is None:
            store.set("filter_litres_at_change", litres)
        flow = 0.0
        if self._last is not None and now > self._last[0] and entry.pulses >= self._last[1]:
            flow = (entry.pulses - self._last[1]) / cfg.pulses_per_litre / (now - self._last[0])
            flow *= 60
        self._last = (now, entry.pulses)
        day = wall.date().isoformat()
        if store.get("day") != day:
            store.set("day", day)
            store.set("litres_day_start", litres)
        remaining = self._life.remaining_percent(
            litres - float(store.get("filter_litres_at_change")),
            datetime.fromisoformat(store.get("filter_changed_at")),
            wall,
        )
        if entry.leak and not self._leak:
            await ctx.publish_event("leak_detected", "critical", valve_open=entry.valve_open)
        elif self._leak and not entry.leak:
            await ctx.publish_event("leak_cleared", "info", valve_open=entry.valve_open)
        if entry.leak != self._leak:
            self._leak = entry.leak
            store.set("leak", entry.leak)
        if store.get("valve_locked", "unknown") != entry.locked:
            store.set("valve_locked", entry.locked)
            await ctx.publish_state({"valve_locked": entry.locked})
        self._flowing_since = (self._flowing_since or now) if flow > 0.05 else None
        if (
            self._flowing_since is not None
            and now - self._flowing_since > cfg.max_continuous_flow_s
            and entry.valve_open
        ):
            await ctx.publish_event(
                "flow_runaway", "critical", flowing_s=round(now - self._flowing_since)
            )
            self._flowing_since = None
            await self.node_command("valve_close", {"reason": "flow_runaway"})
        life = {"filter_remaining_percent": remaining}
        await announce_alerts(ctx, (
            ("filter_change_due", "warning", remaining <= cfg.filter_due_percent, life),
            ("filter_expired", "critical", remaining <= 0, life),
        ))  # fmt: skip
        values = {
            "litres_total": round(litres, 3),
            "litres_today": round(litres - float(store.get("litres_day_start")), 3),
            "flow_lpm": round(flow, 2),
            "filter_remaining_percent": remaining,
            "valve_open": entry.valve_open,
            "leak": entry.leak,
            "battery_v": entry.battery_v,
            "rssi": entry.rssi,
            "measured_at": isoformat(wall),
        }
        if self._reporter.due(values, now):
            await ctx.publish_telemetry(values)
            self._reporter.sent(values, now)

    async def node_event(self, entry: NodeEvent, at: datetime) -> None:
        if entry.event == "leak_detected":
            return  # the reading that follows it carries the leak and the valve
        if entry.event == "valve_refused":
            await self.ctx.publish_event("valve_refused", "warning", reason=entry.reason)
            return
        await super().node_event(entry, at)

    async def node_command(self, name: str, args: dict[str, Any]) -> None:
        try:
            await self.send(name, args, ("valve_open", name == "valve_open"))
        except CommandRejected as err:
            self.ctx.log.warning("%s: %s", name, err)

    @command(args=NoArgs, actuating=True)
    async def valve_open(self, args: NoArgs) -> dict[str, Any]:
        """Open the inlet valve (the node refuses while its leak input is wet)."""
        if self._leak:
            raise CommandRejected(
                "refused",
                "a leak is detected at the station; the valve stays closed until the leak "
                "sensor is dry",
            )
        entry = await self.send("valve_open", {}, ("valve_open", True))
        return {"valve_open": True, "seq": entry.seq}

    @command(args=NoArgs, actuating=True)
    async def valve_close(self, args: NoArgs) -> dict[str, Any]:
        """Close the inlet valve until ``valve_open``."""
        entry = await self.send("valve_close", {"reason": "command"}, ("valve_open", False))
        return {"valve_open": False, "seq": entry.seq}

    @command(args=NoArgs, actuating=True)
    async def filter_replaced(self, args: NoArgs) -> dict[str, Any]:
        """A new filter is fitted: its life starts now (from the last count)."""
        store, now = self.ctx.store, isoformat(self.ctx.clock.now())
        last = self._last[1] / self.config.pulses_per_litre if self._last else None
        store.set("filter_litres_at_change", last)
        store.set("filter_changed_at", now)
        forget_alerts(self.ctx, "filter_")
        await self.ctx.publish_event("filter_replaced", "info", changed_at=now)
        return {"filter_changed_at": now, "filter_remaining_percent": 100.0}
