"""The gateway's own device (``kind = "gateway"``): the box's health and the uplink's.

Telemetry: CPU temperature (gpiozero ``CPUTemperature``), load, memory, disk free, outbox
depth and dropped count, uplink state, uptime. Events: ``cpu_hot`` and ``disk_low``, and
``cpu_hot_cleared`` and ``disk_low_cleared`` when they clear; ``disk_full`` (critical:
the outbox could not store, old telemetry is dropped) and ``disk_full_cleared``. A dead
temperature sensor reports ``null`` while the rest goes on.
"""

from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``gateway`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="gateway",
    config="drivers.system.config:GatewayDeviceConfig",
    driver="drivers.system.driver:GatewayDevice",
    console="drivers.system.console:VIEW",
    homeassistant="drivers.system.homeassistant:entities",
)
