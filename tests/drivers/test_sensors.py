"""Sensor primitives against gpiozero's mock pins and real sysfs-format files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.sensors import (
    SPEED_OF_SOUND_M_S,
    UltrasonicRanger,
    median_of_valid,
    read_ds18b20,
)
from drivers.sim.pins import EchoPin, RangerTriggerPin
from drivers.sim.sysfs import w1_slave_text
from gateway.errors import DeviceUnavailable


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def test_median_of_valid_ignores_failures_and_needs_a_quorum() -> None:
    assert median_of_valid([0.5, None, 0.52, 0.07, 0.51, 0.53], minimum=3) == 0.51
    assert median_of_valid([None, None, 0.5], minimum=2) is None
    assert median_of_valid([], minimum=0) is None


async def test_ranger_measures_the_echo_time_of_the_mock_pin(pins: MockFactory) -> None:
    distance = {"m": 0.62}
    pins.pin(
        17,
        pin_class=RangerTriggerPin,
        echo_pin=pins.pin(27, pin_class=EchoPin),
        echo_time=lambda: 2 * distance["m"] / SPEED_OF_SOUND_M_S,
    )
    ranger = UltrasonicRanger(17, 27, pin_factory=pins, max_distance_m=1.5)
    try:
        assert await ranger.measure(5, 0.06) == pytest.approx(0.62, abs=1e-9)
        distance["m"] = 0.2
        assert await ranger.ping() == pytest.approx(0.2, abs=1e-9)
        distance["m"] = 2.0  # beyond max_distance: out of range, not a reading
        assert await ranger.ping() is None
    finally:
        ranger.close()


async def test_dead_ranger_and_spurious_echoes(pins: MockFactory) -> None:
    pattern = itertools.cycle([False, False, True])  # every third ping: a short false echo
    state = {"dead": False}

    def echo() -> float | None:
        if state["dead"]:
            return None
        return 2 * (0.05 if next(pattern) else 0.8) / SPEED_OF_SOUND_M_S

    pins.pin(5, pin_class=RangerTriggerPin, echo_pin=pins.pin(6, pin_class=EchoPin), echo_time=echo)
    ranger = UltrasonicRanger(5, 6, pin_factory=pins, min_distance_m=0.02)
    try:
        readings = [await ranger.measure(7, 0.0) for _ in range(5)]
        assert readings == [pytest.approx(0.8, abs=1e-9)] * 5
        state["dead"] = True
        assert await ranger.measure(3, 0.0) is None
    finally:
        ranger.close()


def test_ds18b20_parses_and_rejects_the_failure_signatures(tmp_path: Path) -> None:
    probe = tmp_path / "28-00000a1b2c01"
    probe.mkdir()
    (probe / "w1_slave").write_text(w1_slave_text(23.1))
    assert read_ds18b20(tmp_path, "28-00000a1b2c01") == 23.125  # 1/16 °C resolution
    (probe / "w1_slave").write_text(w1_slave_text(-18.3))
    assert read_ds18b20(tmp_path, "28-00000a1b2c01") == -18.313
    (probe / "w1_slave").write_text(w1_slave_text(23.1, crc_ok=False))
    with pytest.raises(DeviceUnavailable, match="CRC"):
        read_ds18b20(tmp_path, "28-00000a1b2c01")
    (probe / "w1_slave").write_text(w1_slave_text(85.0))
    with pytest.raises(DeviceUnavailable, match="power-on value"):
        read_ds18b20(tmp_path, "28-00000a1b2c01")
    with pytest.raises(DeviceUnavailable, match="not on the 1-wire bus"):
        read_ds18b20(tmp_path, "28-000000000000")
    (probe / "w1_slave").write_text("garbage")
    with pytest.raises(DeviceUnavailable):
        read_ds18b20(tmp_path, "28-00000a1b2c01")


@settings(
    max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.one_of(
        st.text(max_size=120).map(str.encode),
        st.binary(max_size=120),
        st.builds(
            lambda t, ok, tail: w1_slave_text(t, crc_ok=ok)[
                : len(w1_slave_text(t)) - tail
            ].encode(),
            st.floats(-60, 130, allow_nan=False),
            st.booleans(),
            st.integers(0, 40),
        ),
    )
)
def test_any_w1_slave_file_is_a_reading_in_range_or_unavailable(
    tmp_path: Path, content: bytes
) -> None:
    """Whatever the kernel's file holds (torn, garbled, truncated), the parser returns a
    temperature the DS18B20 can report, or raises DeviceUnavailable: never anything else."""
    probe = tmp_path / "28-00000a1b2c0f"
    probe.mkdir(exist_ok=True)
    (probe / "w1_slave").write_bytes(content)
    try:
        celsius = read_ds18b20(tmp_path, "28-00000a1b2c0f")
    except DeviceUnavailable:
        return
    assert -55.0 <= celsius <= 125.0 and celsius != 85.0
