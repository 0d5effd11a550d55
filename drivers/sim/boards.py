"""The boards of the simulated sensor nodes: what each node's pins read, as the world and
the tests set it (a bin's distance and lid, a station's flow and valve, a care point's
button, smoke and presence), with Wi-Fi, battery and the firmware's requests (sleep,
watchdog, wake source). :class:`drivers.sim.nodes.NodeWorld` serves them to the firmware."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["BinBoard", "Board", "CareBoard", "WaterBoard"]

SOUND_M_PER_S = 343.2


@dataclass
class Board:
    """One node's world: its pins by role (from its ``config.json``), Wi-Fi and battery."""

    id: str
    pins: dict[str, int]
    wifi_up: bool = True
    rssi: int = -61
    battery_v: float = 3.9
    battery_divider: float = 2.0
    outputs: dict[int, int] = field(default_factory=dict)
    # The firmware's requests, for the tests: deep sleeps asked, watchdog, wake source.
    sleep_ms: int | None = None
    wake_pin: tuple[int, int] | None = None
    watchdog_ms: int | None = None
    fed_at: float = 0.0
    resets: int = 0
    #: A hung firmware: the world answers none of its calls until this is cleared.
    stalled: bool = False
    #: When (monotonic) the firmware first turned its Wi-Fi on since it woke (a board
    #: fresh from reset or deep sleep is not associated until it asks).
    wifi_at: float | None = None

    def read(self, pin: int) -> int:
        return self.outputs.get(pin, 0)

    def pulse_us(self, pin: int, timeout_us: int) -> int:
        raise ValueError(f"pin {pin} gives no pulse")

    def adc_uv(self, pin: int) -> int:
        if pin == self.pins.get("battery"):
            return int(self.battery_v / self.battery_divider * 1_000_000)
        raise ValueError(f"no analogue input on pin {pin}")

    def probes(self, pin: int) -> dict[str, float]:
        return {}

    def pulses(self, dt: float) -> dict[int, int]:
        """Interrupt edges due over ``dt`` seconds, by pin."""
        return {}


@dataclass
class BinBoard(Board):
    """A bin node: the contents' distance from the ranger, the lid, one DS18B20."""

    distance_m: float | None = 1.0
    lid_open: bool = False
    temperature_c: float | None = 18.0
    rom: str = "28000000000a01"

    def read(self, pin: int) -> int:
        if pin == self.pins.get("lid"):
            return int(self.lid_open)
        return super().read(pin)

    def pulse_us(self, pin: int, timeout_us: int) -> int:
        if self.distance_m is None:
            return -2  # no echo: MicroPython's timeout
        width = int(self.distance_m * 2 / SOUND_M_PER_S * 1_000_000)
        return width if width <= timeout_us else -2

    def probes(self, pin: int) -> dict[str, float]:
        if self.temperature_c is None:
            return {}
        return {self.rom: self.temperature_c}


@dataclass
class WaterBoard(Board):
    """A water node: a hall-effect flow meter, the leak input, the valve (an output)."""

    flow_lpm: float = 0.0
    pulses_per_litre: float = 450.0
    leak: bool = False
    _due: float = 0.0

    def read(self, pin: int) -> int:
        if pin == self.pins.get("leak"):
            return int(self.leak)
        return super().read(pin)

    @property
    def valve_open(self) -> bool:
        return bool(self.outputs.get(self.pins["valve"], 0))

    def pulses(self, dt: float) -> dict[int, int]:
        # Water flows only through an open valve.
        self._due += self.flow_lpm / 60 * self.pulses_per_litre * dt if self.valve_open else 0
        whole = math.floor(self._due)
        self._due -= whole
        return {self.pins["flow"]: whole} if whole else {}


@dataclass
class CareBoard(Board):
    """A care node: the call button (to ground, pressed reads low), its LED, the smoke
    detector's contact, the presence sensor."""

    pressed: bool = False
    smoke: bool = False
    presence: bool = False
    led_changes: int = 0

    def read(self, pin: int) -> int:
        pins = self.pins
        if pin == pins.get("call"):
            return 0 if self.pressed else 1
        if pin == pins.get("smoke"):
            return int(self.smoke)
        if pin == pins.get("presence"):
            return int(self.presence)
        return super().read(pin)

    @property
    def led(self) -> bool:
        return bool(self.outputs.get(self.pins["led"], 0))
