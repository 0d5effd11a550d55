"""Nodes in Home Assistant: the bin's or the station's entities, plus the node's battery and
signal as diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.bins.homeassistant import entities as bin_entities
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def _node() -> list[Entity]:
    return [
        Entity("battery_v", "Battery", device_class="voltage", state_class="measurement",
               unit="V", entity_category="diagnostic"),
        Entity("rssi", "Wi-Fi signal", device_class="signal_strength",
               state_class="measurement", unit="dBm", entity_category="diagnostic"),
    ]  # fmt: skip


def bin_node(config: DeviceConfig) -> Sequence[Entity]:
    return [*bin_entities(config), *_node()]


def water_node(config: DeviceConfig) -> Sequence[Entity]:
    return [
        Entity("litres_total", "Water", device_class="water", state_class="total_increasing",
               unit="L"),
        Entity("flow_lpm", "Flow", device_class="volume_flow_rate", state_class="measurement",
               unit="L/min"),
        Entity("filter_remaining_percent", "Filter life", unit="%", state_class="measurement"),
        Entity("valve_open", "Valve", "binary_sensor", device_class="opening"),
        Entity("leak", "Leak", "binary_sensor", device_class="moisture"),
        *_node(),
    ]  # fmt: skip
