"""The gate's scenarios' parts: its configuration, the ``gate`` fixture's gateway, the
simulated world's door (walk-ups, faults), enrollment by the CLI and the door's events."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from drivers.sim import control_socket
from drivers.sim.control import request
from hil_tests.harness import GatewayProcess, Upstream

DOOR = "gate"


def entry(time_scale: float = 1, extra: str = "", liveness: str = "off") -> str:
    """The gate; liveness off but where a test turns it on: the simulated camera shows
    photographs, which the liveness models rightly take for photographs."""
    return f"""
[simulation]
time_scale = {time_scale}

[[devices]]
kind = "entry"
id = "{DOOR}"
camera = "gate-camera"
strike_pin = 17
door_pin = 27
exit_pin = 22
report_period_s = 600
liveness = "{liveness}"
{extra}
"""


def configure(process: GatewayProcess, **options: Any) -> None:
    text = process.config_file.read_text()
    head = text[: text.index("[simulation]")]
    process.config_file.write_text(head + entry(**options))


def gateway_cli(process: GatewayProcess, *args: str, exit_code: int = 0) -> str:
    """``gateway ARGS --config …``: its output (stdout, then stderr), having exited so."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(process.config_file)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr
    return done.stdout + done.stderr


def enroll(process: GatewayProcess, faces: Path, resident: str, person: str, *extra: str) -> None:
    photos = [str(faces / "people" / person / f"{n:02d}.jpg") for n in (2, 3, 4)]
    gateway_cli(
        process, "residents", "enroll", "--id", resident, "--name", person, "--unit", "1A",
        *extra, *photos,
    )  # fmt: skip


async def world(process: GatewayProcess, action: str, **args: Any) -> Any:
    sock = control_socket(process.config_file.parent / "data")
    return await request(sock, {"model": DOOR, "action": action, "args": args})


async def walked_through(process: GatewayProcess, passages: int) -> None:
    """Wait (at most 4 s) until ``passages`` people have walked through the door."""
    for _ in range(40):
        if (await world(process, "get"))["passages"] == passages:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {passages} passages: {await world(process, 'get')}")


async def walk_up(process: GatewayProcess, faces: Path, person: str, *numbers: int) -> None:
    photos = [str(faces / "people" / person / f"{n:02d}.jpg") for n in numbers]
    await world(process, "walk_up", photos=photos, seconds=3)


def events(upstream: Upstream, name: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in upstream.envelopes("event")
        if e["device"] == DOOR and e["data"]["event"] == name
    ]


async def started(process: GatewayProcess, upstream: Upstream) -> None:
    """Start the gateway; return once this boot is online and the door reporting."""
    boot = upstream.boot()
    process.start()
    await upstream.born(after=boot)
    await upstream.wait_for(
        lambda: any(e["device"] == DOOR for e in upstream.envelopes("telemetry")), timeout=30
    )


async def crash_and_restart(process: GatewayProcess, upstream: Upstream) -> dict[str, Any]:
    """Fail the camera, check the lock while the driver is down, heal it, and return once the
    door runs again; the state seen while it was down."""

    def running() -> int:
        states = [e for e in upstream.envelopes("state") if e["device"] == DOOR]
        return sum(1 for e in states if e["data"].get("available") is True)

    before = running()
    await world(process, "camera_fault")
    await upstream.wait_for(lambda: events(upstream, "driver_crashed"))
    down: dict[str, Any] = await world(process, "get")
    await world(process, "camera_fault", failed=False)
    await upstream.wait_for(lambda: running() > before, timeout=120)
    return down
