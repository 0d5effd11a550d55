"""Water stations: the pure parts, and the simulated station's pins and ADC."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gpiozero import MCP3008, Device, DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from drivers.sim.water import MockMCP3008, StationModel, tds_voltage
from drivers.water.config import WaterStationConfig
from drivers.water.quality import FilterLife, tds_ppm
from gateway.clock import ScaledClock


def test_tds_formula_and_temperature_compensation() -> None:
    # (133.42·V³ - 255.86·V² + 857.39·V) · 0.5 at 25 °C
    assert tds_ppm(1.0, 25.0) == pytest.approx((133.42 - 255.86 + 857.39) * 0.5)
    assert tds_ppm(0.0) == 0.0
    warm = tds_ppm(1.0, 35.0)  # warmer water conducts better: the same voltage is less TDS
    assert warm < tds_ppm(1.0, 25.0)
    assert tds_ppm(1.0 * (1 + 0.02 * 10), 35.0) == pytest.approx(tds_ppm(1.0, 25.0))
    assert tds_ppm(tds_voltage(250.0, 14.0), 14.0) == pytest.approx(250.0, abs=0.01)


def test_filter_life_is_the_smaller_of_litres_and_days() -> None:
    life = FilterLife(capacity_litres=4000, capacity_days=180)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert life.remaining_percent(0, start, start) == 100.0
    assert life.remaining_percent(3600, start, start + timedelta(days=1)) == 10.0
    assert life.remaining_percent(100, start, start + timedelta(days=162)) == 10.0
    assert life.remaining_percent(5000, start, start) == 0.0


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    factory.close()
    Device.pin_factory = None


def test_the_mock_mcp3008_answers_gpiozeros_real_spi_reads(pins: MockFactory) -> None:
    adc = MockMCP3008(pins)
    adc.channels[3] = 1.25
    channel = MCP3008(channel=3, pin_factory=pins)
    try:
        assert channel.value * 3.3 == pytest.approx(1.25, abs=3.3 / 1023)
    finally:
        channel.close()


def test_every_simulated_pulse_reaches_a_gpiozero_input(pins: MockFactory, tmp_path: Path) -> None:
    config = WaterStationConfig(id="w", flow_pin=23, leak_pin=24, valve_pin=25)
    station = StationModel(config, pins, None, tmp_path, ScaledClock(1), random.Random(0))
    counted = []
    flow = DigitalInputDevice(23, pull_up=False, pin_factory=pins)
    flow.when_activated = lambda: counted.append(1)
    try:
        station.act("pulses", {"count": 1234})
        assert len(counted) == 1234
        assert station.snapshot()["pulses_sent"] == 1234
    finally:
        flow.close()
