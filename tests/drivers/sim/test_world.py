"""The simulated world: models stepped on a scaled clock, scripts, the control channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from drivers.sim.control import ControlServer, request
from drivers.sim.host import HostModel
from drivers.sim.sysfs import write_atomically
from drivers.sim.world import World
from gateway.clock import ScaledClock
from gateway.settings import ScriptStep


async def test_host_heats_when_the_fan_fails_as_a_first_order_system(tmp_path: Path) -> None:
    host = HostModel(tmp_path / "temp", ambient_c=25)
    start = host.temperature_c
    host.act("set", {"fan_failed": True})
    host.step(120)  # one time constant: 63 % of the 40 K step
    assert host.temperature_c - start == pytest.approx(40 * 0.632, abs=3)
    # In millidegrees, in the Pi sensor's half-degree steps.
    assert int((tmp_path / "temp").read_text()) == round(host.temperature_c * 2) * 500
    host.act("set", {"sensor_ok": False})
    assert not (tmp_path / "temp").exists()


async def test_script_steps_happen_at_their_simulated_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(1000)
    world = World(
        clock,
        script=[
            ScriptStep(at_s=200, model="host", args={"ambient_c": 40}),
            ScriptStep(at_s=100, model="nowhere"),
        ],
    )
    host = HostModel(tmp_path / "temp")
    world.add(host)
    task = asyncio.create_task(world.run())
    with caplog.at_level(logging.WARNING):
        await clock.sleep(150)
        assert host.ambient_c == 25
        await clock.sleep(250)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert host.ambient_c == 40
    assert "simulation script at 100.0 s: \"no model 'nowhere'" in caplog.text


async def test_control_channel_answers_and_reports_errors(tmp_path: Path) -> None:
    world = World(ScaledClock(1))
    world.add(HostModel(tmp_path / "temp"))
    server = ControlServer(tmp_path / "sim.sock", world.handle)
    task = asyncio.create_task(server.serve())
    await asyncio.sleep(0.1)
    try:
        snapshot = await request(tmp_path / "sim.sock", {"action": "snapshot"})
        assert set(snapshot) == {"host"}
        result = await request(
            tmp_path / "sim.sock", {"model": "host", "action": "set", "args": {"ambient_c": 30}}
        )
        assert result["ambient_c"] == 30
        with pytest.raises(RuntimeError, match="unknown host action 'explode'"):
            await request(tmp_path / "sim.sock", {"model": "host", "action": "explode"})
        with pytest.raises(RuntimeError, match="a request is a JSON object"):
            await request(tmp_path / "sim.sock", [1])  # type: ignore[arg-type]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_a_sysfs_file_is_written_only_when_its_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "zone" / "temp"
    write_atomically(path, "41000\n")
    first = path.stat().st_mtime_ns, path.stat().st_ino
    write_atomically(path, "41000\n")
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == first  # not replaced
    path.unlink()  # removed behind its back (a probe pulled): written again
    write_atomically(path, "41000\n")
    assert path.read_text() == "41000\n"
    write_atomically(path, "41500\n")
    assert path.read_text() == "41500\n"
