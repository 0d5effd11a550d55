"""A crashing driver is restarted; the others keep reporting."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from gateway.clock import RealClock
from gateway.db import Database
from gateway.devices import DeviceConfig, Driver, DriverContext
from gateway.logs import Redacting
from gateway.outbox import Outbox
from gateway.supervisor import supervise
from gateway.topics import Topics
from tests.gateway.helpers import MockHardware, StubRuntime
from vision.errors import VisionError
from vision.urls import without_credentials


class Flaky(Driver):
    """Publishes, then crashes on its first two runs."""

    kind = "flaky"
    config_model = DeviceConfig
    runs = 0
    safe_calls = 0

    async def run(self) -> None:
        type(self).runs += 1
        await self.ctx.publish_telemetry({"run": self.runs})
        if self.runs <= 2:
            raise RuntimeError("sensor bus glitch")
        await asyncio.Event().wait()

    def safe_state(self) -> None:
        type(self).safe_calls += 1


class Steady(Driver):
    kind = "steady"
    config_model = DeviceConfig

    async def run(self) -> None:
        while True:
            await self.ctx.publish_telemetry({"ok": True})
            await asyncio.sleep(0.01)


async def test_crash_marks_unavailable_reports_and_restarts(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    topics = Topics("cg/v1", "s", "g")

    def context(device: str, kind: str) -> DriverContext:
        return DriverContext(
            config=DeviceConfig(kind=kind, id=device),
            clock=RealClock(),
            hardware=MockHardware(tmp_path),
            outbox=outbox,
            topics=topics,
            store=db.device_store(device),
            runtime=StubRuntime(),
            data_dir=tmp_path,
            database=db,
        )

    flaky = Flaky(DeviceConfig(kind="flaky", id="flaky"), context("flaky", "flaky"))
    steady = Steady(DeviceConfig(kind="steady", id="steady"), context("steady", "steady"))
    tasks = [
        asyncio.create_task(supervise(flaky, restart_min_s=0.05)),
        asyncio.create_task(supervise(steady)),
    ]
    await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    messages = [(r.topic, json.loads(r.payload)) for r in outbox.fetch(0, 10_000)]
    events = [m["data"] for t, m in messages if t == topics.device("flaky", "event")]
    assert [e["event"] for e in events] == ["driver_crashed", "driver_crashed"]
    assert events[0]["error"] == "RuntimeError: sensor bus glitch"
    assert [e["restart_in_s"] for e in events] == [0.05, 0.1]
    states = [m["data"] for t, m in messages if t == topics.device("flaky", "state")]
    assert states[0] == {"available": False}
    assert Flaky.runs == 3 and Flaky.safe_calls == 3  # two crashes and the final cancel
    steady_count = sum(1 for t, _ in messages if t == topics.device("steady", "telemetry"))
    assert steady_count > 10


async def test_a_crash_report_and_a_log_line_never_carry_a_cameras_password(
    tmp_path: Path,
) -> None:
    url = "rtsp://admin:hunter2@10.0.0.5:554/stream1"
    assert without_credentials(f"camera {url!r} failed") == (
        "camera 'rtsp://***@10.0.0.5:554/stream1' failed"
    )
    assert without_credentials("http://example.org/a@b") == "http://example.org/a@b"
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    ctx = DriverContext(
        config=DeviceConfig(kind="cam", id="cam"), clock=RealClock(),
        hardware=MockHardware(tmp_path), outbox=outbox, topics=Topics("cg/v1", "s", "g"),
        store=db.device_store("cam"), runtime=StubRuntime(), data_dir=tmp_path, database=db,
    )  # fmt: skip

    class Camera(Driver):
        kind = "cam"
        config_model = DeviceConfig

        async def run(self) -> None:
            raise VisionError(f"camera {url!r} cannot be opened")

    task = asyncio.create_task(supervise(Camera(ctx.config, ctx), restart_min_s=10))
    await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    payloads = b"".join(r.payload for r in outbox.fetch(0, 100))
    assert b"driver_crashed" in payloads and b"rtsp://***@10.0.0.5" in payloads
    assert b"hunter2" not in payloads
    record = logging.LogRecord("gateway.x", logging.WARNING, "f", 1, "opening %s", (url,), None)
    assert Redacting("%(message)s").format(record) == "opening rtsp://***@10.0.0.5:554/stream1"


async def test_a_kind_can_hold_its_outputs_through_a_restart(tmp_path: Path) -> None:
    """``crashed()`` runs after a crash (a maglock may stay locked), ``safe_state()`` and
    ``close()`` on a stop."""
    db = Database(tmp_path / "g.sqlite3")
    ctx = DriverContext(
        config=DeviceConfig(kind="door", id="door"), clock=RealClock(),
        hardware=MockHardware(tmp_path), outbox=Outbox(db), topics=Topics("cg/v1", "s", "g"),
        store=db.device_store("door"), runtime=StubRuntime(), data_dir=tmp_path, database=db,
    )  # fmt: skip
    calls: list[str] = []

    class Door(Driver):
        kind = "door"
        config_model = DeviceConfig

        async def run(self) -> None:
            calls.append("run")
            if calls.count("run") == 1:
                raise OSError("GPIO17: input/output error")
            await asyncio.Event().wait()

        def crashed(self) -> None:
            calls.append("crashed")

        def safe_state(self) -> None:
            calls.append("safe_state")

        def close(self) -> None:
            calls.append("close")

    task = asyncio.create_task(supervise(Door(ctx.config, ctx), restart_min_s=0.01))
    while calls.count("run") < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == ["run", "crashed", "run", "safe_state", "close"]


def test_the_recent_log_lines_keep_the_last_ones_without_credentials() -> None:
    from gateway.logs import RecentLines

    recent = RecentLines(size=3)
    log = logging.getLogger("gateway.test.recent")
    log.addHandler(recent)
    log.setLevel(logging.INFO)
    try:
        for n in range(5):
            log.info("camera rtsp://admin:hunter2@10.0.0.5/stream %d", n)
    finally:
        log.removeHandler(recent)
    lines = recent.lines()
    assert len(lines) == 3 and lines[-1].endswith("rtsp://***@10.0.0.5/stream 4")
    assert not any("hunter2" in line for line in lines)
