"""A drinking-water station: residents drawing water through a hall-effect flow meter, a
filter that wears with the litres through it, a TDS probe behind an MCP3008, a leak
sensor, an inlet valve and a UV lamp.

The flow meter's pulses are driven on the mock pin one by one (``pulses_per_litre`` of them
per litre); the MCP3008 answers the driver's real SPI transactions on gpiozero's mock SPI
pins.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockSPIDevice

from drivers.sim.sysfs import apply_settings, write_ds18b20
from drivers.water.config import WaterStationConfig
from drivers.water.quality import tds_ppm
from gateway.clock import Clock

__all__ = ["MockMCP3008", "StationModel", "tds_voltage"]


class MockMCP3008(MockSPIDevice):  # type: ignore[misc]
    """The slave side of an MCP3008 (10 bits, 8 channels) on gpiozero's mock SPI pins."""

    def __init__(self, pin_factory: Any, *, vref: float = 3.3) -> None:
        super().__init__(11, 10, 9, 8, pin_factory=pin_factory)  # SPI0: SCLK, MOSI, MISO, CE0
        self.vref = vref
        self.channels = [0.0] * 8
        self.state = "idle"

    def on_start(self) -> None:
        super().on_start()
        self.state = "idle"

    def on_bit(self) -> None:
        if self.state == "idle":
            if self.rx_buf[-1]:  # start bit
                self.state = "mode"
                self.rx_buf.clear()
        elif self.state == "mode":  # single-ended or differential
            self.state = "single" if self.rx_buf[-1] else "diff"
            self.rx_buf.clear()
        elif self.state in ("single", "diff"):
            if len(self.rx_buf) == 3:
                volts = min(max(self.channels[self.rx_word()], 0.0), self.vref)
                self.tx_word(int(volts / self.vref * 1023), 12)  # null bit, 10 bits, pad
                self.state = "result"
        elif self.state == "result" and not self.tx_buf:
            self.state = "idle"
            self.rx_buf.clear()


def tds_voltage(ppm: float, temperature_c: float) -> float:
    """The probe voltage that reads ``ppm`` at ``temperature_c`` (inverse of ``tds_ppm``)."""
    low, high = 0.0, 3.3
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if tds_ppm(mid, temperature_c) < ppm else (low, mid)
    return (low + high) / 2


class StationModel:
    """One station of the simulated complex (named like its device)."""

    DRAW_LPM = 4.0  # a tap at a drinking-water station

    def __init__(
        self,
        config: WaterStationConfig,
        pins: Any,
        adc: MockMCP3008 | None,
        w1_root: Path,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.name = config.id
        self.config = config
        self.clock = clock
        self.random = rng
        self.adc = adc
        self.flow_pin = pins.pin(config.flow_pin)
        self.leak_pin = pins.pin(config.leak_pin)
        self.valve_pin = pins.pin(config.valve_pin)
        self.uv_pin = pins.pin(config.uv_pin) if config.uv_pin is not None else None
        self.probe = (
            w1_root / config.temperature_sensor / "w1_slave" if config.temperature_sensor else None
        )
        self.draws_per_hour = 6.0  # at the daily average
        self.leak = False
        self.stuck_tap = False
        self.uv_failed = False
        self.water_temp_c = 14.0
        self.base_tds_ppm = 40.0
        self.litres_through_filter = 0.0
        self._draw_left_l = 0.0
        self._pulse_debt = 0.0
        self.pulses_sent = 0
        if self.probe is not None:  # on the bus from the start, as a wired probe is
            write_ds18b20(self.probe, self.water_temp_c)

    @property
    def valve_open(self) -> bool:
        return bool(self.valve_pin.state)

    def flow_lpm(self) -> float:
        if not self.valve_open:
            return 0.0
        return self.DRAW_LPM if (self.stuck_tap or self._draw_left_l > 0) else 0.0

    def step(self, dt: float) -> None:
        hour = self.clock.now().hour
        rhythm = 0.2 if hour < 6 else 1.0
        if self.random.random() < 1 - math.exp(-self.draws_per_hour * rhythm * dt / 3600):
            self._draw_left_l += self.random.uniform(0.3, 2.0)  # a glass to a bottle
        flow = self.flow_lpm()
        litres = flow * dt / 60
        self._draw_left_l = max(0.0, self._draw_left_l - litres)
        self.litres_through_filter += litres
        self._pulse_debt += litres * self.config.pulses_per_litre
        self.emit(int(self._pulse_debt))
        (self.leak_pin.drive_high if self.leak else self.leak_pin.drive_low)()
        if self.uv_pin is not None:
            (self.uv_pin.drive_low if self.uv_failed else self.uv_pin.drive_high)()
        if self.adc is not None and self.config.tds_channel is not None:
            self.adc.channels[self.config.tds_channel] = tds_voltage(self.tds(), self.water_temp_c)
        if self.probe is not None:
            write_ds18b20(self.probe, self.water_temp_c)

    def tds(self) -> float:
        """Product water: a fresh filter passes little; a worn one more and more."""
        wear = self.litres_through_filter / self.config.filter_capacity_litres
        return self.base_tds_ppm + 400.0 * max(0.0, wear - 0.7)

    def emit(self, pulses: int) -> None:
        """Drive ``pulses`` pulses on the flow meter's pin."""
        for _ in range(pulses):
            self.flow_pin.drive_high()
            self.flow_pin.drive_low()
        self._pulse_debt = max(0.0, self._pulse_debt - pulses)
        self.pulses_sent += pulses
        del self.flow_pin.states[:-1]

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``set`` leak, stuck_tap, uv_failed, draws_per_hour, base_tds_ppm,
        litres_through_filter, water_temp_c; ``pulses`` (``count``: drive exactly that many
        pulses now); ``get``."""
        if action == "pulses":
            self.emit(int(args["count"]))
        elif action == "set":
            allowed = {
                "leak",
                "stuck_tap",
                "uv_failed",
                "draws_per_hour",
                "base_tds_ppm",
                "litres_through_filter",
                "water_temp_c",
            }
            apply_settings(self, "station", args, allowed)
            (self.leak_pin.drive_high if self.leak else self.leak_pin.drive_low)()
        elif action != "get":
            raise KeyError(f"unknown station action {action!r} (allowed: set, pulses, get)")
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "valve_open": self.valve_open,
            "flow_lpm": self.flow_lpm(),
            "leak": self.leak,
            "stuck_tap": self.stuck_tap,
            "uv_failed": self.uv_failed,
            "pulses_sent": self.pulses_sent,
            "tds_ppm": round(self.tds(), 1),
            "litres_through_filter": round(self.litres_through_filter, 3),
        }
