"""Mock pins that obey the simulated world, built on gpiozero's own mock pins."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from time import perf_counter, sleep
from typing import Any

from gpiozero.pins.mock import MockPin, MockTriggerPin

__all__ = ["EchoPin", "HeldPin", "RangerTriggerPin", "SignalPin", "model_pins", "set_fault"]


def set_fault(pin: MockPin, failed: bool) -> None:
    """A GPIO line gone bad (a loose header, a dead chip): the driver's writes, and its
    reads of an input, fail with ``EIO`` until healed. The world still drives the line
    and reads the driver's outputs (it is the physics, not the driver)."""
    if not failed:
        vars(pin).pop("_set_state", None)
        vars(pin).pop("_get_state", None)
        return

    def broken(*_: Any) -> Any:
        raise OSError(errno.EIO, f"GPIO{pin.info.name}: input/output error")

    pin._set_state = broken
    if pin.function == "input":
        pin._get_state = broken


def model_pins(model: object, depth: int = 3) -> Iterator[MockPin]:
    """Every mock pin a simulated model holds (in its attributes, their lists and dicts,
    and the parts it is made of, ``depth`` levels down)."""
    seen: set[int] = set()

    def walk(value: object, level: int) -> Iterator[MockPin]:
        if id(value) in seen or level < 0:
            return
        seen.add(id(value))
        if isinstance(value, MockPin):
            yield value
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item, level - 1)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from walk(item, level - 1)
        elif type(value).__module__.startswith("drivers.sim"):
            for item in vars(value).values():
                yield from walk(item, level - 1)

    yield from walk(model, depth)


class SignalPin(MockPin):  # type: ignore[misc]
    """A mock output whose every change calls ``on_change(level)`` at once, on the writer's
    thread: how a simulated chip sees the edges on its clock, latch and load lines."""

    def __init__(
        self, factory: Any, info: Any, on_change: Callable[[bool], None] | None = None
    ) -> None:
        super().__init__(factory, info)
        self.on_change = on_change

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        if changed:
            del self.states[:-1]  # a clock line toggles millions of times a day
            if self.on_change is not None:
                self.on_change(value)
        return changed


class HeldPin(MockPin):  # type: ignore[misc]
    """An input line the world holds at a level (a closed contact to ground): the driver's
    pull resistor, set when it opens the pin, does not move a line that something drives."""

    def __init__(self, factory: Any, info: Any) -> None:
        super().__init__(factory, info)
        self.held: bool | None = None

    def hold(self, level: bool) -> None:
        self.held = level
        (self.drive_high if level else self.drive_low)()

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if self.held is not None:
            self.hold(self.held)


def _hold(seconds: float) -> None:
    """Wait ``seconds`` to within microseconds: a plain sleep oversleeps by up to a
    millisecond now and then, which an echo would report as 17 cm more."""
    end = perf_counter() + seconds
    if seconds > 0.002:
        sleep(seconds - 0.0015)
    while perf_counter() < end:
        pass


class EchoPin(MockPin):  # type: ignore[misc]
    """An HC-SR04 echo line. :meth:`pulse` holds it high for the echo's length in real time,
    and stamps the falling edge at exactly the rise plus that length: a busy machine that
    wakes the simulating thread late delays the edge's callback, never the echo's length as
    the driver times it (the sound's trip is physics, not the scheduler's)."""

    def __init__(self, factory: Any, info: Any) -> None:
        super().__init__(factory, info)
        self._stamp: float | None = None

    def pulse(self, duration: float) -> None:
        self.drive_high()
        rise = float(self._last_change)
        _hold(duration)
        self._stamp = rise + duration
        try:
            self.drive_low()
        finally:
            self._stamp = None

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        if changed and self._stamp is not None:
            self._last_change = self._stamp
        return changed


class RangerTriggerPin(MockTriggerPin):  # type: ignore[misc]
    """An HC-SR04 trigger pin: each pulse makes the echo pin high for as long as the
    world's ``echo_time()`` says (``None``: no echo, a dead or blinded sensor). Its echo
    pin is an :class:`EchoPin`."""

    def __init__(
        self,
        factory: Any,
        info: Any,
        echo_pin: Any = None,
        echo_time: Callable[[], float | None] | None = None,
    ) -> None:
        if not isinstance(echo_pin, EchoPin):
            raise TypeError("a ranger's echo pin is an EchoPin: pins.pin(n, pin_class=EchoPin)")
        super().__init__(factory, info, echo_pin=echo_pin)
        self.world_echo_time = echo_time

    def _echo(self) -> None:
        duration = self.world_echo_time() if self.world_echo_time else self.echo_time
        if duration is None:
            return
        sleep(0.0002)  # the sensor's own delay before its burst returns
        self.echo_pin.pulse(duration)

    def trim_history(self) -> None:
        """Mock pins remember every change; a simulation running for days must forget.

        Only the list is trimmed: ``clear_states()`` would also reset the time of the last
        change, which the echo's edge callback reads, and shorten a ping in flight.
        """
        del self.states[:-1]
        del self.echo_pin.states[:-1]
