"""What the console needs of the running gateway (:class:`gateway.app.Gateway` is one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gateway.clock import Clock
from gateway.db import Database
from gateway.history import History
from gateway.photos import PhotoResult
from gateway.residents import Residents
from gateway.settings import GatewayConfig
from vision.enrollment import Templates
from vision.faces import Image

__all__ = ["Site"]


class Site(Protocol):
    config: GatewayConfig
    clock: Clock
    db: Database
    residents: Residents
    history: History

    def runtime_stats(self) -> dict[str, Any]:
        """Uplink, outbox and command counters (the installer's diagnostics)."""
        ...

    async def assess_photos(
        self, photos: Sequence[tuple[str, Image]]
    ) -> tuple[list[Templates], list[PhotoResult]]:
        """Enrollment photos checked as the gate's recognizer sees them."""
        ...

    def cameras(self) -> list[str]:
        """The doors whose camera can take an enrollment photo."""
        ...

    async def capture(self, door: str) -> Image:
        """The door camera's latest frame; :class:`GatewayError` when there is none."""
        ...

    async def simulate(self, request: dict[str, Any]) -> Any:
        """Act on the simulated complex; :class:`GatewayError` on real hardware."""
        ...
