"""The locker bank in Home Assistant: each compartment's temperature, door and parcel, and
the bank's cold-chain excursions."""

from __future__ import annotations

from collections.abc import Sequence

from drivers.lockers.config import LockerBankConfig
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity


def entities(config: DeviceConfig) -> Sequence[Entity]:
    assert isinstance(config, LockerBankConfig)
    found = [
        Entity("excursions", "Cold-chain excursion", "binary_sensor", "state",
               "value_json.data.excursions | length > 0", device_class="problem"),
    ]  # fmt: skip
    for c in config.compartments:
        row = f"(value_json.data.compartments | selectattr('id', 'eq', '{c.id}') | first)"
        found += [
            Entity(f"{c.id}_door", f"{c.id} door", "binary_sensor", expression=f"{row}.door_open",
                   device_class="door"),
            Entity(f"{c.id}_occupied", f"{c.id} parcel", "binary_sensor",
                   expression=f"{row}.occupied", device_class="occupancy"),
        ]  # fmt: skip
        if c.probe is not None:
            found.append(Entity(f"{c.id}_temperature", f"{c.id} temperature",
                                expression=f"{row}.temperature_c", device_class="temperature",
                                state_class="measurement", unit="°C"))  # fmt: skip
            found.append(Entity(f"{c.id}_excursion", f"{c.id} cold chain", "binary_sensor",
                                "state", f"'{c.id}' in value_json.data.excursions",
                                device_class="problem"))  # fmt: skip
    return found
