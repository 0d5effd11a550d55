"""The bin in Home Assistant."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.bins.config import BinSettings
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    assert isinstance(config, BinSettings)
    found = [
        Entity("fill_percent", "Fill", unit="%", state_class="measurement"),
        Entity("full_at", "Full at", device_class="timestamp"),
        Entity("full", "Needs emptying", "binary_sensor", "state", device_class="problem"),
    ]
    if config.has_temperature:
        found.append(Entity("temperature_c", "Temperature", device_class="temperature",
                            state_class="measurement", unit="°C"))  # fmt: skip
        found.append(Entity("fire", "Fire", "binary_sensor", device_class="smoke"))
    if config.has_lid:
        found.append(Entity("lid_open", "Lid", "binary_sensor", device_class="opening"))
    return found
