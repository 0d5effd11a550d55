"""The shift-register board against the simulated 595/165 chips on gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.shiftbus import ShiftRegisterBus
from drivers.sim.shiftbus import MockShiftChain

LINES: dict[str, Any] = {"clock": 14, "data_out": 15, "latch": 7, "load": 0, "data_in": 1}


@pytest.fixture
def board() -> Iterator[tuple[ShiftRegisterBus, MockShiftChain, list[list[bool]]]]:
    pins = MockFactory()
    latched: list[list[bool]] = []
    chips = MockShiftChain(pins, outputs=24, inputs=16, on_latch=latched.append, **LINES)
    bus = ShiftRegisterBus(outputs=24, inputs=16, pin_factory=pins, **LINES)
    yield bus, chips, latched
    bus.close()
    pins.reset()
    pins.close()


def test_outputs_arrive_in_order_and_all_at_once(
    board: tuple[ShiftRegisterBus, MockShiftChain, list[list[bool]]],
) -> None:
    bus, chips, latched = board
    bits = [i % 3 == 0 for i in range(24)]
    bus.write(bits)
    assert chips.outputs == bits
    assert latched == [bits]  # one latch: no relay ever saw a half-shifted pattern
    bus.set(5, True)
    assert chips.outputs[5] and len(latched) == 2
    bus.set(5, True)
    assert len(latched) == 2  # unchanged: nothing rewritten


def test_inputs_are_read_bit_for_bit(
    board: tuple[ShiftRegisterBus, MockShiftChain, list[list[bool]]],
) -> None:
    bus, chips, _ = board
    chips.inputs = [i in (0, 7, 8, 15) for i in range(16)]
    assert bus.read() == chips.inputs
    chips.inputs = [False] * 16
    assert bus.read() == [False] * 16


def test_a_wrong_length_is_refused(
    board: tuple[ShiftRegisterBus, MockShiftChain, list[list[bool]]],
) -> None:
    with pytest.raises(ValueError, match="24 output bits"):
        board[0].write([True] * 8)
