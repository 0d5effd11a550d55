"""A home with a care point: a resident who moves past the entrance's presence sensor now
and then while awake, an emergency call button with its LED, a smoke detector's contact, the
door's contact and the supervision loop.

A PIR module holds its output high for a few seconds after it sees movement; the button is
held for half a second; the LED is read back from its pin (it blinks in real time, as a
real LED does, whatever the simulation's time scale).
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

from drivers.care.config import CareConfig
from drivers.sim.sysfs import apply_settings
from gateway.clock import Clock

__all__ = ["HomeModel"]

#: How long (simulated seconds) a PIR module's output stays high after movement.
PIR_HOLD_S = 5.0
#: How long (real seconds) a press holds the button down.
PRESS_S = 0.5


class HomeModel:
    """One home (named like its care point)."""

    def __init__(self, config: CareConfig, pins: Any, clock: Clock, rng: random.Random) -> None:
        self.name = config.id
        self.clock = clock
        self.random = rng
        self._pins = {
            part: pins.pin(pin)
            for part, pin in (
                ("call", config.call_pin),
                ("led", config.led_pin),
                ("smoke", config.smoke_pin),
                ("presence", config.presence_pin),
                ("door", config.door_pin),
                ("supervision", config.supervision_pin),
            )
            if pin is not None
        }
        #: Movements past the entrance per hour while the resident is up (07:00 to 22:00).
        self.moves_per_hour = 2.0
        #: The resident is in and moving (False: away, or unable to move).
        self.active = True
        self.smoke = False
        self.door_open = False
        #: The supervision loop is closed (the care point's devices connected and powered).
        self.connected = True
        self._pir_until = -1.0
        self._release_at: float | None = None
        self._led_changes: list[float] = []
        self._led_level = False
        self.moves = 0

    def _pin(self, part: str) -> Any:
        if part not in self._pins:
            raise KeyError(f"the care point {self.name} has no {part} pin")
        return self._pins[part]

    def _assert_levels(self) -> None:
        """Drive every input to the world's level (a restarted driver's pull-ups reset it)."""
        now = self.clock.monotonic()
        levels = {
            "smoke": self.smoke,
            "presence": now < self._pir_until,
            "door": self.door_open,  # a shut door closes its contact to ground
            "supervision": not self.connected,
            "call": self._release_at is None,  # pressed pulls the line low
        }
        for part, high in levels.items():
            pin = self._pins.get(part)
            if pin is not None and bool(pin.state) != high:
                (pin.drive_high if high else pin.drive_low)()

    def step(self, dt: float) -> None:
        hour = self.clock.now().astimezone().hour
        awake = self.active and 7 <= hour < 22 and "presence" in self._pins
        # Movements are a Poisson process: the chance of at least one in ``dt``.
        if awake and self.random.random() < 1 - math.exp(-self.moves_per_hour * dt / 3600):
            self.move()
        if self._release_at is not None and time.monotonic() >= self._release_at:
            self._release_at = None
        self._assert_levels()
        led = self._pins.get("led")
        if led is not None:
            level = bool(led.state)
            if level != self._led_level:
                self._led_level = level
                self._led_changes.append(time.monotonic())
            self._led_changes = self._led_changes[-8:]
        for pin in self._pins.values():
            del pin.states[:-1]

    def move(self) -> None:
        """The resident walks past the entrance."""
        self.moves += 1
        self._pir_until = self.clock.monotonic() + PIR_HOLD_S
        self._assert_levels()

    def press(self) -> None:
        """The resident presses the call button (or pulls the cord)."""
        self._release_at = time.monotonic() + PRESS_S
        self._assert_levels()

    @property
    def led(self) -> str:
        """``blinking``, ``on`` or ``off``, as someone at the door would see it."""
        if "led" not in self._pins:
            return "none"
        recent = [t for t in self._led_changes if time.monotonic() - t < 1.5]
        if len(recent) >= 2:
            return "blinking"
        return "on" if self._pins["led"].state else "off"

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``press``; ``move``; ``set`` any of moves_per_hour, active, smoke, door_open,
        connected; ``get``."""
        if action == "press":
            self._pin("call")
            self.press()
        elif action == "move":
            self._pin("presence")
            self.move()
        elif action == "set":
            allowed = {"moves_per_hour", "active", "smoke", "door_open", "connected"}
            apply_settings(self, "home", args, allowed)
            self._assert_levels()
        elif action != "get":
            raise KeyError(f"unknown home action {action!r} (allowed: press, move, set, get)")
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "led": self.led,
            "active": self.active,
            "moves": self.moves,
            "smoke": self.smoke,
            "door_open": self.door_open,
            "connected": self.connected,
        }
