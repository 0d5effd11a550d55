"""The simulated complex: physical models stepped on the (scaled) clock.

Each model has a ``name``, ``step(dt)`` (advance ``dt`` simulated seconds), ``act(action,
args)`` (the control channel) and ``snapshot()``. Drivers see the world only through the
pins and files the models drive.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any, Protocol

from drivers.sim.pins import model_pins, set_fault
from gateway.clock import Clock
from gateway.messages import redacted
from gateway.plugins import secret_fields
from gateway.settings import ScriptStep

__all__ = ["Model", "World"]

log = logging.getLogger(__name__)


class Model(Protocol):
    name: str

    def step(self, dt: float) -> None: ...

    def act(self, action: str, args: dict[str, Any]) -> Any: ...

    def snapshot(self) -> dict[str, Any]: ...


class World:
    """All models of the complex, stepped together."""

    #: Real seconds between steps (the simulated step is this times the time scale).
    TICK_S = 0.1

    def __init__(self, clock: Clock, seed: int = 0, script: Sequence[ScriptStep] = ()) -> None:
        self.clock = clock
        self.random = random.Random(seed)
        self.models: dict[str, Model] = {}
        self._script = sorted(script, key=lambda step: step.at_s)

    def add(self, model: Model) -> None:
        self.models[model.name] = model

    async def run(self) -> None:
        start = last = self.clock.monotonic()
        scale = float(getattr(self.clock, "scale", 1.0))
        script = list(self._script)
        while True:
            await self.clock.sleep(self.TICK_S * scale)
            now = self.clock.monotonic()
            while script and script[0].at_s <= now - start:
                step = script.pop(0)
                try:
                    await self.handle(step.model_dump())
                except (KeyError, TypeError, ValueError) as err:
                    log.warning("simulation script at %s s: %s", step.at_s, err)
            for model in self.models.values():
                model.step(now - last)
            last = now

    def jump(self, args: dict[str, Any]) -> dict[str, Any]:
        """The control channel's ``{"action": "clock_jump", "args": {"hours": h}}``."""
        jump = getattr(self.clock, "jump", None)
        if jump is None:
            raise KeyError("this clock cannot jump (the simulation runs on the real clock)")
        jump(float(args.get("hours", 0)) * 3600)
        return {"now": self.clock.now().isoformat()}

    async def handle(self, message: dict[str, Any]) -> Any:
        """One control-channel request: ``{"model", "action", "args"}``. Every model also
        takes ``gpio_fault`` (``failed``: its lines fail the driver with EIO, or heal)."""
        name = message.get("model")
        if name is None:
            if message.get("action") == "snapshot":
                return {n: m.snapshot() for n, m in self.models.items()}
            if message.get("action") == "clock_jump":
                args = message.get("args") or {}
                return self.jump(args if isinstance(args, dict) else {})
            raise KeyError("a request names a model (or asks for 'snapshot' or 'clock_jump')")
        if name not in self.models:
            raise KeyError(f"no model {name!r} (allowed: {sorted(self.models)})")
        args = message.get("args") or {}
        if not isinstance(args, dict):
            raise TypeError("args must be an object")
        if message.get("action") == "gpio_fault":  # any model: every line it is wired to
            pins = list(model_pins(self.models[name]))
            for pin in pins:
                set_fault(pin, bool(args.get("failed", True)))
            return {"pins": sorted(str(pin.info.name) for pin in pins)}
        result = self.models[name].act(str(message.get("action", "get")), args)
        log.info(
            "world: %s %s %s", name, message.get("action", "get"), redacted(args, secret_fields())
        )
        return result
