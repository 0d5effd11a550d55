"""Mock pins that obey the simulated world, built on gpiozero's own mock pins."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter, sleep
from typing import Any

from gpiozero.pins.mock import MockPin, MockTriggerPin

__all__ = ["EchoPin", "RangerTriggerPin", "SignalPin"]


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
