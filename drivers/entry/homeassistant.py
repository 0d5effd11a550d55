"""The gate in Home Assistant: its door and lock (no biometric data: none is published)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    return [
        Entity("door_open", "Door", "binary_sensor", device_class="door"),
        Entity("locked", "Unlocked", "binary_sensor", expression="not value_json.data.locked",
               device_class="lock"),
        Entity("residents", "Residents enrolled", state_class="measurement",
               entity_category="diagnostic"),
    ]  # fmt: skip
