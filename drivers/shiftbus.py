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

from drivers.base import Pin

__all__ = ["MatrixKeypad", "ShiftRegisterBus"]


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


class MatrixKeypad:
    """A key matrix wired to a :class:`ShiftRegisterBus`: rows on outputs, columns on inputs
    pulled up.

    It costs nothing while no key is down: the rows idle low (all scanned at once), so the
    bank's regular read of its inputs shows a pressed key's column low; only then are the
    rows scanned one by one to find the key. ``*`` clears the entry, ``#`` confirms it.
    """

    def __init__(
        self,
        bus: ShiftRegisterBus,
        *,
        rows: Sequence[int],
        columns: Sequence[int],
        keys: str,
        entry_timeout_s: float = 15.0,
        max_length: int = 16,
    ) -> None:
        if len(keys) != len(rows) * len(columns):
            raise ValueError("one key per row and column")
        self._bus = bus
        self.rows, self.columns, self.keys = list(rows), list(columns), keys
        self.entry_timeout_s = entry_timeout_s
        self.max_length = max_length
        self._down: str | None = None
        self._entry = ""
        self._last = 0.0

    def poll(self, inputs: Sequence[bool], now: float) -> str | None:
        """Feed one read of the inputs (at real time ``now``); returns a confirmed entry."""
        if all(inputs[c] for c in self.columns):
            self._down = None
            return None
        if self._down is not None:
            return None  # still held: one key press, one key
        key = self._scan()
        if key is None:
            return None
        self._down = key
        if now - self._last > self.entry_timeout_s:
            self._entry = ""
        self._last = now
        if key == "*":
            self._entry = ""
        elif key == "#":
            entry, self._entry = self._entry, ""
            return entry or None
        elif len(self._entry) < self.max_length:
            self._entry += key
        return None

    def _scan(self) -> str | None:
        idle = self._bus.state
        try:
            for r, row in enumerate(self.rows):
                bits = list(idle)
                for other in self.rows:
                    bits[other] = other != row  # only this row low
                self._bus.write(bits)
                inputs = self._bus.read()
                for c, column in enumerate(self.columns):
                    if not inputs[column]:
                        return self.keys[r * len(self.columns) + c]
            return None
        finally:
            self._bus.write(idle)
