"""The water station in Home Assistant."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.water.config import WaterStationConfig
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    assert isinstance(config, WaterStationConfig)
    found = [
        Entity("litres_total", "Water", device_class="water", state_class="total_increasing",
               unit="L"),
        Entity("flow_lpm", "Flow", device_class="volume_flow_rate", state_class="measurement",
               unit="L/min"),
        Entity("filter_remaining_percent", "Filter life", unit="%", state_class="measurement"),
        Entity("valve_open", "Valve", "binary_sensor", device_class="opening"),
        Entity("leak", "Leak", "binary_sensor", "state", "value_json.data.valve_locked == 'leak'",
               device_class="moisture"),
    ]  # fmt: skip
    if config.tds_channel is not None:
        found.append(Entity("tds_ppm", "TDS", unit="ppm", state_class="measurement"))
    if config.temperature_sensor is not None:
        found.append(Entity("water_temp_c", "Water temperature", device_class="temperature",
                            state_class="measurement", unit="°C"))  # fmt: skip
    return found
