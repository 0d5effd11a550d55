"""The slave side of :class:`drivers.shiftbus.ShiftRegisterBus`: a 74HC595 chain whose
latched outputs the world reads, and a 74HC165 chain whose parallel inputs the world sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.base import Pin
from drivers.sim.pins import SignalPin

__all__ = ["MockShiftChain"]


class MockShiftChain:
    """Reacts to the bus's clock, latch and load edges as the chips would."""

    def __init__(
        self,
        pins: Any,
        *,
        clock: Pin,
        data_out: Pin,
        latch: Pin,
        load: Pin,
        data_in: Pin,
        outputs: int,
        inputs: int,
        on_latch: Callable[[list[bool]], None] | None = None,
        before_load: Callable[[], None] | None = None,
    ) -> None:
        self._data_out = pins.pin(data_out)
        self._data_in = pins.pin(data_in)
        pins.pin(clock, pin_class=SignalPin, on_change=self._clock)
        pins.pin(latch, pin_class=SignalPin, on_change=self._latch)
        pins.pin(load, pin_class=SignalPin, on_change=self._load)
        self._shift = [False] * outputs
        #: The 595s' outputs, as last latched.
        self.outputs = [False] * outputs
        #: The 165s' parallel inputs (the world sets these).
        self.inputs = [False] * inputs
        self._register: list[bool] = []
        self._on_latch = on_latch
        self._before_load = before_load

    def _clock(self, level: bool) -> None:
        if not level:
            return
        self._shift = [bool(self._data_out.state), *self._shift[:-1]]
        self._register = self._register[1:]
        self._present()

    def _latch(self, level: bool) -> None:
        if level:
            self.outputs = list(self._shift)
            if self._on_latch is not None:
                self._on_latch(self.outputs)

    def _load(self, level: bool) -> None:
        if not level:  # active low: parallel load while low
            if self._before_load is not None:
                self._before_load()  # inputs that depend on the outputs (a key matrix)
            self._register = list(self.inputs)
            self._present()

    def _present(self) -> None:
        high = bool(self._register) and self._register[0]
        (self._data_in.drive_high if high else self._data_in.drive_low)()
