"""The door's hardware: the strike relay, the door contact, the exit button and the fire
panel's contact, and what the door does with them (relock, alarms, fire release)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from drivers.entry.config import EntryConfig
from gateway.devices import DriverContext

__all__ = ["DoorHardware"]


class DoorHardware:
    """The lock and the door's inputs; mixed into :class:`~drivers.entry.driver.EntryController`
    (which acquires them in ``run()`` and releases them in ``close()``)."""

    ctx: DriverContext
    config: EntryConfig

    _strike: DigitalOutputDevice | None = None
    _door: DigitalInputDevice | None = None
    _exit: DigitalInputDevice | None = None
    _fire_input: DigitalInputDevice | None = None
    #: Unlocked until this ``time.monotonic()`` (``-inf``: locked).
    _unlocked_until = -math.inf
    #: The door opened during the current grant (closing it relocks at once).
    _grant_opened = False
    #: Who the current grant is for ("exit", "remote", "fire" or a resident).
    _granted: str | None = None
    _door_open = False
    _opened_at: float | None = None
    _held_reported = False
    #: The fire panel holds the door released.
    _fire = False

    #: An audit entry (:class:`~drivers.entry.access.Access`): actor, action, subject, data.
    _audit: Callable[..., Awaitable[None]]

    def _acquire_strike(self) -> None:
        """The strike relay, de-energised (its safe state); again after a ``close()``."""
        if self._strike is None:
            self._strike = DigitalOutputDevice(
                self.config.strike_pin, initial_value=False, pin_factory=self.ctx.pins
            )

    def _energise(self, on: bool) -> None:
        if self._strike is not None:
            self._strike.value = on

    def _lock(self) -> None:
        if self._fire:
            return  # released for everyone until the fire panel clears
        self._unlocked_until = -math.inf
        self._grant_opened = False
        self._granted = None
        self._energise(self.config.lock_type == "fail_safe")  # a maglock holds when powered

    def _unlock(self, seconds: float, who: str) -> None:
        self._unlocked_until = time.monotonic() + seconds
        self._grant_opened = False
        self._granted = who
        self._energise(self.config.lock_type == "fail_secure")

    @property
    def locked(self) -> bool:
        return time.monotonic() >= self._unlocked_until

    def safe_state(self) -> None:
        self._energise(False)

    def _open_inputs(self) -> None:
        """The door contact, the exit button and the fire panel's contact; the door locked."""
        cfg, pins = self.config, self.ctx.pins
        # Each switches to ground against the pin's pull-up: a closed door holds its reed
        # switch closed (low), an open door reads high; a pressed button reads low; the fire
        # panel's contact is closed (low) until an alarm opens it (or its wire is cut).
        self._door = DigitalInputDevice(cfg.door_pin, pull_up=True, pin_factory=pins)
        self._exit = (
            DigitalInputDevice(cfg.exit_pin, pull_up=True, pin_factory=pins)
            if cfg.exit_pin is not None
            else None
        )
        self._fire_input = (
            DigitalInputDevice(cfg.fire_release_pin, pull_up=True, pin_factory=pins)
            if cfg.fire_release_pin is not None
            else None
        )
        self._lock()
        self._door_open = not self._door.is_active

    async def _door_loop(self) -> None:
        """Door contact and exit button (real time: people), relock, alarms."""
        cfg = self.config
        while True:
            assert self._door is not None
            await self._fire_panel()
            is_open = not self._door.is_active
            now = time.monotonic()
            if self._exit is not None and self._exit.is_active and self.locked:
                self._unlock(cfg.strike_seconds, "exit")
                await self.ctx.publish_event("exit_request", "info", door=cfg.id)
            if is_open and not self._door_open:
                self._opened_at, self._held_reported = now, False
                if self._fire:
                    pass  # everyone leaves
                elif self.locked:
                    await self.ctx.publish_event("door_forced", "critical", door=cfg.id)
                    await self._audit(f"door:{cfg.id}", "door_forced")
                else:
                    self._grant_opened = True
            elif not is_open and self._door_open:
                self._opened_at = None
                if self._grant_opened:
                    self._lock()  # opened and closed: relock at once
            if (
                is_open
                and not self._fire
                and self._opened_at is not None
                and not self._held_reported
                and now - self._opened_at >= cfg.door_held_open_s
            ):
                self._held_reported = True
                await self.ctx.publish_event(
                    "door_held_open", "warning", door=cfg.id, open_s=round(now - self._opened_at)
                )
            if self._granted is not None and self.locked:
                self._lock()  # the grant ran out
            self._door_open = is_open
            await asyncio.sleep(0.05)

    async def _fire_panel(self) -> None:
        """The fire panel's contact: open (or cut) releases the door for everyone."""
        if self._fire_input is None:
            return
        alarm = not self._fire_input.is_active
        if alarm == self._fire:
            return
        cfg = self.config
        if alarm:
            self._unlock(math.inf, "fire")
            self._fire = True
            await self.ctx.publish_event("fire_release", "critical", door=cfg.id)
            await self._audit(f"door:{cfg.id}", "fire_release")
        else:
            self._fire = False
            self._lock()
            await self.ctx.publish_event("fire_release_cleared", "warning", door=cfg.id)
            await self._audit(f"door:{cfg.id}", "fire_release_cleared")
