"""Filtered drinking-water stations (``kind = "water_station"``).

A hall-effect flow meter (YF-S201 class: F(Hz) = 7.5 · Q(L/min), 450 pulses per litre) on a
digital input, a TDS probe on an MCP3008 channel with a DS18B20 for temperature
compensation, a leak sensor, an inlet solenoid valve on a relay, optionally a UV lamp status
input. Every pulse counts; counters and the filter's state live in the database.

The stored pulse count runs one second of the fastest flow ahead of the pulses counted while
water flows (and is exact while it does not), so a ``kill -9`` never loses a pulse and
recounts at most that second.

Telemetry: ``litres_total``, ``litres_today``, ``flow_lpm``, ``tds_ppm``, ``water_temp_c``,
``filter_remaining_percent``, ``valve_open`` (and ``uv_ok`` when fitted). Events:
``leak_detected`` (critical; the valve closes within the sample of the pin's edge),
``flow_runaway``, ``water_quality_alert``, ``filter_change_due``, ``filter_expired``,
``uv_lamp_failed``. Signed commands ``valve_open``, ``valve_close``, ``filter_replaced``.
"""

from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``water_station`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="water_station",
    config="drivers.water.config:WaterStationConfig",
    driver="drivers.water.driver:WaterStation",
    console="drivers.water.console:VIEW",
    homeassistant="drivers.water.homeassistant:entities",
)
