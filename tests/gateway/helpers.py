"""Small builders shared by the gateway tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from gateway.errors import CommandRejected, GatewayError
from gateway.messages import render_envelope
from vision.camera import Replay


def envelope(seq: int) -> bytes:
    """A telemetry envelope with ``seq`` (a ``render`` for ``Outbox.put_envelope``)."""
    return render_envelope(f"m{seq}", seq, "2026-11-22T10:15:00.123Z", "d", "k", "telemetry", {})


class MockHardware:
    """Hardware with gpiozero's mock pins and nothing else."""

    def __init__(self, root: Path) -> None:
        self.pin_factory = MockFactory()
        self.cpu_temperature_file = root / "temp"
        self.w1_root = root / "w1"

    def disk_usage(self, path: Path) -> tuple[int, int]:
        return 1, 1

    def camera(self, source: str) -> Replay:
        return Replay([])

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def simulate(self, request: dict[str, Any]) -> Any:
        raise GatewayError("mock pins only: nothing to simulate")

    def close(self) -> None:
        self.pin_factory.close()


class StubRuntime:
    """The runtime's statistics as a driver reads them, all at rest."""

    boot = 1

    def runtime_stats(self) -> dict[str, Any]:
        outbox = {"depth": 0, "dropped": 0}
        return {"boot": 1, "uptime_s": 0.0, "uplink": "online", "outbox": outbox}

    async def apply_config(self, text: str, version: str, health_s: float) -> dict[str, Any]:
        raise CommandRejected("refused", "a test runtime has no configuration file")

    def config_get(self) -> dict[str, Any]:
        raise CommandRejected("refused", "a test runtime has no configuration file")
