"""The gateway itself in Home Assistant: its health, as diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    return [
        Entity("cpu_temp_c", "CPU temperature", device_class="temperature",
               state_class="measurement", unit="°C", entity_category="diagnostic"),
        Entity("outbox_depth", "Outbox", state_class="measurement", unit="messages",
               entity_category="diagnostic"),
        Entity("uplink", "Uplink", entity_category="diagnostic"),
        Entity("disk_free_percent", "Disk free", unit="%", state_class="measurement",
               entity_category="diagnostic"),
    ]  # fmt: skip
