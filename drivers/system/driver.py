"""The gateway's own health, reported as a device."""

from __future__ import annotations

import asyncio
import os
import platform
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

from gpiozero import CPUTemperature
from gpiozero.exc import GPIOZeroError

from drivers.base import Alarm, Reporter
from drivers.system.config import (
    ConfigApplyArgs,
    GatewayDeviceConfig,
    LogLevelArgs,
    ReportPeriodArgs,
)
from gateway.devices import Driver, NoArgs, command
from gateway.errors import CommandRejected
from gateway.logs import RECENT, LevelOverride
from gateway.messages import isoformat

__all__ = ["GatewayDevice"]


class GatewayDevice(Driver):
    """Reports the gateway's health like any other device."""

    kind = "gateway"
    config_model = GatewayDeviceConfig
    config: GatewayDeviceConfig

    _DEADBANDS: ClassVar[dict[str, float]] = {
        "cpu_temp_c": 2.0,
        "disk_free_percent": 1.0,
        "outbox_dropped": 0,
        "uplink": 0,
    }

    _disk_full = False
    _revert: asyncio.TimerHandle | None = None
    _log_level = LevelOverride()

    async def run(self) -> None:
        ctx = self.ctx
        cfg = self.config
        period = float(ctx.store.get("report_period_s", cfg.report_period_s))
        self._reporter = Reporter(period, self._DEADBANDS)
        alarms = [
            Alarm("cpu_hot", "cpu_temp_c", cfg.cpu_hot_c, cfg.cpu_hot_clear_c),
            Alarm(
                "disk_low",
                "disk_free_percent",
                cfg.disk_low_percent,
                cfg.disk_low_clear_percent,
                above=False,
            ),
        ]
        self._cpu = CPUTemperature(
            sensor_file=str(ctx.hardware.cpu_temperature_file), pin_factory=ctx.pins
        )
        await ctx.publish_state(
            {"name": cfg.name or "gateway", "report_period_s": period}, available=True
        )
        try:
            while True:
                values = self.read()
                now = ctx.clock.monotonic()
                if self._reporter.due(values, now):
                    await ctx.publish_telemetry(values)
                    self._reporter.sent(values, now)
                for alarm in alarms:
                    await alarm.check(ctx, values)
                full = bool(ctx.runtime.runtime_stats()["outbox"].get("disk_full"))
                if full != self._disk_full:
                    self._disk_full = full
                    await ctx.publish_event(
                        "disk_full" if full else "disk_full_cleared",
                        "critical" if full else "info",
                        outbox_dropped=values["outbox_dropped"],
                    )
                await ctx.clock.sleep(min(cfg.sample_period_s, self._reporter.period_s))
        finally:
            self.close()

    def close(self) -> None:
        cpu = getattr(self, "_cpu", None)
        if cpu is not None:
            cpu.close()

    def read(self) -> dict[str, Any]:
        """One reading of everything (``None`` for what cannot be read)."""
        ctx = self.ctx
        stats = ctx.runtime.runtime_stats()
        total, free = ctx.hardware.disk_usage(_existing(ctx.data_dir))
        return {
            "cpu_temp_c": _cpu_temperature(self._cpu),
            "load_1m": round(os.getloadavg()[0], 2),
            "memory_used_percent": _memory_used_percent(),
            "disk_free_mb": round(free / 2**20, 1),
            "disk_free_percent": round(100 * free / total, 1) if total else None,
            "outbox_depth": stats["outbox"]["depth"],
            "outbox_dropped": stats["outbox"]["dropped"],
            "uplink": stats["uplink"],
            "uptime_s": stats["uptime_s"],
            "boot": stats["boot"],
        }

    @command(args=ReportPeriodArgs, actuating=True)
    async def set_report_period(self, args: ReportPeriodArgs) -> dict[str, Any]:
        """Change how often telemetry is sent at the latest (kept across restarts)."""
        self.ctx.store.set("report_period_s", args.period_s)
        if hasattr(self, "_reporter"):
            self._reporter.period_s = args.period_s
        await self.ctx.publish_state({"report_period_s": args.period_s})
        return {"report_period_s": args.period_s}

    @command(args=LogLevelArgs, actuating=True)
    async def set_log_level(self, args: LogLevelArgs) -> dict[str, Any]:
        """The whole gateway's log at ``level`` for ``minutes``; then back to the configured
        level by itself (a forgotten ``debug`` never fills the disk)."""
        if self._revert is not None:
            self._revert.cancel()
        self._log_level.set(args.level)
        self._revert = asyncio.get_running_loop().call_later(
            args.minutes * 60, self._log_level.revert
        )
        until = self.ctx.clock.now() + timedelta(minutes=args.minutes)
        self.ctx.log.warning("log level %s for %g min (set upstream)", args.level, args.minutes)
        return {"level": args.level, "until": isoformat(until)}

    @command(actuating=True)
    async def diagnostics(self, args: NoArgs) -> dict[str, Any]:
        """What an installer asks a gateway far away: versions, uptime, restarts and their
        reasons, the outbox, and the log's last lines (credentials in URLs removed)."""
        stats = self.ctx.runtime.runtime_stats()
        return {
            "versions": _versions(),
            "boot": stats["boot"],
            "uptime_s": stats["uptime_s"],
            "uplink": stats["uplink"],
            "outbox": stats["outbox"],
            "commands": stats.get("commands", {}),
            "restarts": stats.get("restarts", {}),
            "log_level": self._log_level.level,
            "log": RECENT.lines(),
        }

    @command(args=ConfigApplyArgs, actuating=True)
    async def config_apply(self, args: ConfigApplyArgs) -> dict[str, Any]:
        """Replace the whole configuration: checked first (the reply names the line and key
        of a refusal), kept once healthy within ``health_s``, else rolled back by itself
        (``config_applied`` / ``config_rolled_back``)."""
        return await self.ctx.runtime.apply_config(args.toml, args.version, args.health_s)

    @command(actuating=True)
    async def config_get(self, args: NoArgs) -> dict[str, Any]:
        """The running configuration (passwords masked), its version and hash."""
        return self.ctx.runtime.config_get()

    @command()
    async def ping(self, args: NoArgs) -> dict[str, Any]:
        """Answer with the gateway's time and boot: proves the command path."""
        return {"pong": True, "ts": isoformat(self.ctx.clock.now()), "boot": self.ctx.runtime.boot}

    @command()
    async def report_now(self, args: NoArgs) -> dict[str, Any]:
        """Send telemetry now."""
        if getattr(self, "_cpu", None) is None:
            raise CommandRejected("refused", "the gateway device is still starting; try again")
        values = self.read()
        await self.ctx.publish_telemetry(values)
        return values


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "machine": platform.machine()}
    for package in ("community-gateway", "aiomqtt", "gpiozero", "opencv-python-headless",
                    "dlib-bin", "pydantic"):  # fmt: skip
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _cpu_temperature(sensor: CPUTemperature) -> float | None:
    try:
        return round(float(sensor.temperature), 1)
    except (OSError, ValueError, GPIOZeroError):
        return None


def _memory_used_percent() -> float | None:
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        total = int(fields["MemTotal"].split()[0])
        available = int(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return round(100 * (total - available) / total, 1)
