"""A bank of outputs and inputs on five GPIO lines: 74HC595 and 74HC165 shift registers.

A locker bank has far more relays and door switches than a Pi has GPIO, so its controller
board chains 74HC595s (relay outputs: latches, cooling, heaters) and 74HC165s (door reed
switches) on a shared clock. Output ``i`` is the ``i``-th output of the chain counted from
the first 595's ``Q0``; input ``i`` is the ``i``-th bit the 165 chain shifts out after a load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice

__all__ = ["ShiftRegisterBus"]

Pin = int | str


class ShiftRegisterBus:
    """``outputs`` bits out through 595s, ``inputs`` bits in through 165s."""

    def __init__(
        self,
        *,
        clock: Pin,
        data_out: Pin,
        latch: Pin,
        load: Pin,
        data_in: Pin,
        outputs: int,
        inputs: int,
        pin_factory: Any,
    ) -> None:
        self.outputs, self.inputs = outputs, inputs
        self._lock = threading.Lock()
        self._devices: list[DigitalOutputDevice | DigitalInputDevice] = []
        try:
            self._clock = self._add(DigitalOutputDevice(clock, pin_factory=pin_factory))
            self._data_out = self._add(DigitalOutputDevice(data_out, pin_factory=pin_factory))
            self._latch = self._add(DigitalOutputDevice(latch, pin_factory=pin_factory))
            # The 165's parallel load is active low: idle high.
            self._load = self._add(
                DigitalOutputDevice(load, initial_value=True, pin_factory=pin_factory)
            )
            self._data_in = self._add(
                DigitalInputDevice(
                    data_in, pull_up=None, active_state=True, pin_factory=pin_factory
                )
            )
        except Exception:
            self.close()
            raise
        self._state = [False] * outputs

    def _add(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    @property
    def state(self) -> list[bool]:
        """The outputs as last written."""
        return list(self._state)

    def write(self, bits: Sequence[bool]) -> None:
        """Shift all outputs out and latch them at once (no relay sees a partial state)."""
        if len(bits) != self.outputs:
            raise ValueError(f"{self.outputs} output bits expected, got {len(bits)}")
        with self._lock:
            for bit in reversed(bits):  # the first bit shifted ends furthest down the chain
                self._data_out.value = bit
                self._clock.on()
                self._clock.off()
            self._latch.on()
            self._latch.off()
            self._state = list(bits)

    def set(self, index: int, value: bool) -> None:
        """Change one output (rewrites the chain only when it changes)."""
        if self._state[index] != value:
            bits = self.state
            bits[index] = value
            self.write(bits)

    def read(self) -> list[bool]:
        """Load the inputs and shift them in."""
        with self._lock:
            self._load.off()
            self._load.on()
            bits = []
            for _ in range(self.inputs):
                bits.append(bool(self._data_in.value))
                self._clock.on()
                self._clock.off()
            return bits

    def close(self) -> None:
        for device in reversed(self._devices):
            device.close()
        self._devices.clear()
