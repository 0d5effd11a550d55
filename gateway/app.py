"""The composition root: builds the gateway from its configuration and runs it.

Clock, hardware, database, outbox, uplink, command router and drivers are created here and
run in one ``asyncio.TaskGroup``. A stop (SIGTERM, or the ``stop`` event) puts every driver
in its safe state, flushes the outbox, publishes the offline status and disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from gateway import systemd
from gateway.anchor import Checkpoint, Checkpointer, GatewayKey
from gateway.clock import Clock, RealClock, ScaledClock
from gateway.commands import CommandRouter
from gateway.db import Database
from gateway.devices import DeviceConfig, Driver, DriverContext
from gateway.errors import CommandRejected, DeviceUnavailable, GatewayError
from gateway.hardware import Hardware, open_hardware
from gateway.history import History
from gateway.homeassistant import announce
from gateway.messages import isoformat
from gateway.outbox import Outbox
from gateway.photos import DoorCamera, PhotoChecker, PhotoResult, TemplateMaker, assess
from gateway.plugins import driver_class, secret_fields
from gateway.reconfigure import Reconfigure, masked
from gateway.residents import Residents
from gateway.settings import GatewayConfig
from gateway.supervisor import supervise
from gateway.topics import Topics
from gateway.uplink import Uplink
from gateway.web import Console, serve
from vision.enrollment import Templates
from vision.faces import Image
from vision.worker import RecognizerProcess

__all__ = ["VERSION", "Gateway", "run_until_signalled"]

log = logging.getLogger(__name__)

try:
    VERSION = version("community-gateway")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0.0.0"

#: How long a stop waits for the outbox to drain before it disconnects anyway.
FLUSH_TIMEOUT_S = 5.0


class Gateway:
    """One gateway process: everything that runs on the box."""

    def __init__(self, config: GatewayConfig, config_file: Path | None = None) -> None:
        self.config = config
        #: The file it runs from, which a signed ``config_apply`` replaces (with rollback).
        self.reconfigure = (
            Reconfigure(config_file, config.data_dir) if config_file is not None else None
        )
        #: Set when it stopped to start again (a new configuration, or a rollback).
        self.restart_requested = False
        self._stop: asyncio.Event | None = None
        self.topics = Topics(config.mqtt.prefix, config.site, config.gateway_id)
        self.clock: Clock = (
            ScaledClock(config.simulation.time_scale)
            if config.hardware == "simulated"
            else RealClock()
        )
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database, exclusive=True, max_file_mb=config.outbox.max_file_mb)
        self.residents = Residents(self.db, keep_photos=config.residents.keep_photos)
        self.history = History(self.db, self.clock, keep_days=config.web.history_days)
        #: Checks enrollment photos when no door runs (a child process: dlib holds the GIL).
        self._local_recognizer: TemplateMaker | None = None
        self._local_lock = threading.Lock()
        self._boot = self.db.next_boot()
        self.outbox = Outbox(self.db, config.outbox)
        self.router = CommandRouter(self.topics, self.outbox, self.db, config.commands)
        self.hardware: Hardware = open_hardware(config, self.clock)
        self.started = time.monotonic()
        self.drivers: list[Driver] = []
        for device in config.devices:
            ctx = DriverContext(
                config=device,
                clock=self.clock,
                hardware=self.hardware,
                outbox=self.outbox,
                topics=self.topics,
                store=self.db.device_store(device.id),
                runtime=self,
                data_dir=config.data_dir,
                database=self.db,
                settings=config,
                history=self.history,
                secrets=secret_fields(),
            )
            driver = driver_class(device.kind)(device, ctx)
            self.drivers.append(driver)
            self.router.register(device.id, driver)
        self._own_ctx: DriverContext | None = None
        self.key = GatewayKey(config.data_dir / "gateway.key")
        self.checkpoints = Checkpointer(
            self.db,
            self.key,
            self.topics.root,
            self._send_checkpoint,
            lambda: isoformat(self.clock.now()),
            period_s=config.audit.checkpoint_period_s,
        )
        self.uplink = Uplink(
            config.mqtt,
            self.topics,
            self.outbox,
            boot=self._boot,
            birth=self._birth,
            on_command=self._on_command,
        )

    @property
    def boot(self) -> int:
        return self._boot

    def _birth(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "devices": [{"id": d.config.id, "kind": d.config.kind} for d in self.drivers],
            "audit_key": self.key.public,
            **(self.reconfigure.identity() if self.reconfigure is not None else {}),
        }

    # -- what the console asks of the gateway --------------------------------------------------

    async def assess_photos(
        self, photos: Sequence[tuple[str, Image]]
    ) -> tuple[list[Templates], list[PhotoResult]]:
        """Checked by a running door's recognizer, or (no door running) by the gateway's own
        recognizer process, waited on from a thread: the event loop never stalls on it."""
        for driver in self.drivers:
            if isinstance(driver, PhotoChecker):
                with contextlib.suppress(DeviceUnavailable):
                    return await driver.assess_photos(photos)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._assess_locally, photos)

    def _assess_locally(
        self, photos: Sequence[tuple[str, Image]]
    ) -> tuple[list[Templates], list[PhotoResult]]:
        with self._local_lock:
            if self._local_recognizer is None:
                self._local_recognizer = RecognizerProcess()
        return assess(self._local_recognizer, photos)

    def cameras(self) -> list[str]:
        return [d.config.id for d in self.drivers if isinstance(d, DoorCamera)]

    async def capture(self, door: str) -> Image:
        driver = next((d for d in self.drivers if d.config.id == door), None)
        if not isinstance(driver, DoorCamera):
            raise GatewayError(f"{door!r} is not a door with a camera (doors: {self.cameras()})")
        frame = driver.snapshot()
        if frame is None:
            raise GatewayError(f"the camera of {door} has no picture yet; is the door running?")
        return frame

    async def simulate(self, request: dict[str, Any]) -> Any:
        return await self.hardware.simulate(request)

    async def _on_command(self, topic: str, payload: bytes) -> None:
        await self.router.handle(topic, payload)

    def runtime_stats(self) -> dict[str, Any]:
        return {
            "boot": self._boot,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "uplink": self.uplink.state,
            "outbox": self.outbox.stats(),
            "commands": {
                "received": self.router.received,
                "rejected": self.router.rejected,
                "rate_limited": self.router.limited,
            },
            "restarts": {
                d.config.id: {"count": len(d.ctx.crashes), "last": list(d.ctx.crashes)}
                for d in self.drivers
                if d.ctx.crashes
            },
        }

    # -- remote configuration (gateway/reconfigure.py) ---------------------------------------

    async def apply_config(self, text: str, version: str, health_s: float) -> dict[str, Any]:
        """Check, keep the running file, put the new one in place and start again on it."""
        r = self.reconfigure
        if r is None or self._stop is None:
            raise CommandRejected("refused", "this gateway was not started from a file")
        if r.pending() is not None:
            raise CommandRejected(
                "refused", "a configuration is being applied: wait for config_applied or "
                "config_rolled_back",
            )  # fmt: skip
        r.check(text, self.config.site, self.config.gateway_id)
        r.stage(text, version, health_s)
        log.warning("configuration %s in place: starting again on it", version)
        self.restart_requested = True
        asyncio.get_running_loop().call_later(0.2, self._stop.set)  # the reply goes first
        return {"version": version, "restarting": True, "health_s": health_s}

    def config_get(self) -> dict[str, Any]:
        r = self.reconfigure
        if r is None:
            raise CommandRejected("refused", "this gateway was not started from a file")
        return {**r.identity(), "toml": masked(r.text())}

    async def _settle_config(self) -> None:
        """After a ``config_apply``: keep the new file once healthy, else roll back."""
        r = self.reconfigure
        pending = r.pending() if r is not None else None
        if r is None or pending is None:
            return
        own = self._own()
        if pending.state == "rolled_back" or not r.in_place(pending):
            reason = pending.reason or "the apply was interrupted before the new file was in place"
            # Told upstream (durably) before the marker goes: a kill in between tells it again.
            await own.publish_event(
                "config_rolled_back", "critical", version=pending.version, reason=reason,
                running_version=pending.old_version,
            )  # fmt: skip
            r.done()
            return
        deadline = time.monotonic() + pending.health_s
        while time.monotonic() < deadline:
            down = [d.config.id for d in self.drivers if not d.ctx.available]
            if self.uplink.state == "online" and not down:
                await own.publish_event(
                    "config_applied", "info", version=pending.version,
                    previous_version=pending.old_version,
                )  # fmt: skip
                r.keep(pending)
                return
            await asyncio.sleep(0.5)
        if self.uplink.state != "online":
            why = "the uplink did not come back"
        else:
            why = f"not available: {', '.join(down)}"
        r.roll_back(pending, f"{why} within {pending.health_s:g} s")
        log.error("configuration %s rolled back: %s", pending.version, why)
        self.restart_requested = True
        if self._stop is not None:
            self._stop.set()

    async def _report_recovery(self, recovered: dict[str, Any]) -> None:
        """Tell upstream, through the gateway's own device, that storage was recovered."""
        await self._own().publish_event("storage_recovered", "critical", **recovered)

    async def _send_checkpoint(self, checkpoint: Checkpoint) -> None:
        """The audit log's checkpoint: a critical event (durable, in the envelopes' ``seq``)
        and retained on ``{root}/audit`` (outside it, sent again on every connect)."""
        await self._own().publish_event("audit_checkpoint", "critical", **checkpoint.as_dict())
        await self.uplink.retain(self.topics.audit, json.dumps(checkpoint.as_dict()).encode())

    def _own(self) -> DriverContext:
        """The gateway's own device's context (one is made when none is configured)."""
        own = next((d for d in self.drivers if d.kind == "gateway"), None)
        if own is not None:
            return own.ctx
        if self._own_ctx is None:
            self._own_ctx = DriverContext(
                config=DeviceConfig(kind="gateway", id="gateway"),
                clock=self.clock,
                hardware=self.hardware,
                outbox=self.outbox,
                topics=self.topics,
                store=self.db.device_store("gateway"),
                runtime=self,
                data_dir=self.config.data_dir,
                database=self.db,
                settings=self.config,
            )
        return self._own_ctx

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then stop cleanly."""
        log.info(
            "gateway %s boot %d: %d devices, hardware %s, broker %s:%d",
            self.topics.root,
            self._boot,
            len(self.drivers),
            self.config.hardware,
            self.config.mqtt.host,
            self.config.mqtt.port,
        )
        self._stop = stop
        await announce(self.uplink.retain, self.db, self.topics, self.config, VERSION)
        if self.db.recovered is not None:
            await self._report_recovery(self.db.recovered)
        try:
            async with asyncio.TaskGroup() as tg:
                service = [
                    tg.create_task(self.uplink.run(), name="uplink"),
                    tg.create_task(self.outbox.run_sync(), name="outbox-sync"),
                    tg.create_task(self.hardware.run(), name="hardware"),
                    tg.create_task(systemd.watchdog(), name="watchdog"),
                    tg.create_task(self.history.run(), name="history"),
                    tg.create_task(self.checkpoints.run(), name="audit-checkpoints"),
                    tg.create_task(self._settle_config(), name="config-settle"),
                ]
                if self.config.web.enabled:
                    service.append(tg.create_task(self._console(), name="console"))
                devices = [
                    tg.create_task(supervise(d), name=f"driver-{d.config.id}") for d in self.drivers
                ]
                systemd.notify("READY=1")
                await stop.wait()
                systemd.notify("STOPPING=1")
                log.info("stopping: devices to their safe state, flushing the outbox")
                for task in devices:
                    task.cancel()
                await asyncio.gather(*devices, return_exceptions=True)
                flushed = await self.uplink.flush(FLUSH_TIMEOUT_S)
                if not flushed:
                    log.warning(
                        "%d messages stay in the outbox for the next start", self.outbox.depth
                    )
                await self.uplink.stop()
                await _cancel_all(service)
        finally:
            self.close()
            log.info("stopped")

    def close(self) -> None:
        """Release everything (also for a gateway that never ran): each driver's outputs in
        their safe state and closed, the pins, the history, the outbox, the database."""
        for driver in self.drivers:
            driver.close()
        if isinstance(self._local_recognizer, RecognizerProcess):
            self._local_recognizer.close()
        self.hardware.close()
        self.history.close()
        self.outbox.close()
        self.db.sync()
        self.db.close()

    async def _console(self) -> None:
        console = Console(self, self.config.web)
        if not console.users.all():
            log.warning(
                "the console has no accounts yet: `gateway users add NAME --role manager "
                "--config FILE` makes one"
            )
        await serve(console.app, self.config.web)


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again any that swallowed it."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)


async def run_until_signalled(gateway: Gateway, stop: asyncio.Event | None = None) -> None:
    """Run ``gateway`` until SIGTERM or SIGINT (or ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await gateway.run(stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
