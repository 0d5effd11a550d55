"""Waste bins (``kind = "bin"``): an ultrasonic ranger over the contents, optionally a
DS18B20 probe and a lid switch.

Telemetry: ``fill_percent``, ``distance_m``, ``fill_rate_pph``, ``full_at`` (when the fill
reaches the full threshold, from a line fitted to recent readings; ``null`` when not
filling), and ``temperature_c`` / ``lid_open`` when fitted. Events: ``bin_full`` (once per
filling), ``bin_emptied``, ``fire_suspected`` (critical), ``lid_open``, ``sensor_fault`` and
``sensor_recovered``.
"""

from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``bin`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="bin",
    config="drivers.bins.config:BinConfig",
    driver="drivers.bins.driver:WasteBin",
    console="drivers.bins.console:VIEW",
    homeassistant="drivers.bins.homeassistant:entities",
)
