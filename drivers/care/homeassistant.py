"""The care point in Home Assistant: the call, smoke, supervision and the last activity
time (never a history of movements)."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.care.config import CareSettings
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    assert isinstance(config, CareSettings)
    found = [
        Entity("last_activity", "Last activity", device_class="timestamp"),
        Entity("connected", "Care point connected", "binary_sensor", device_class="connectivity",
               entity_category="diagnostic"),
    ]  # fmt: skip
    if config.has_call:
        calling = "value_json.data.call == 'calling'"
        found.append(Entity("call", "Emergency call", "binary_sensor", expression=calling,
                            device_class="problem"))  # fmt: skip
    if config.has_smoke:
        found.append(Entity("smoke", "Smoke", "binary_sensor", device_class="smoke"))
    return found
