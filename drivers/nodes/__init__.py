"""Sensor nodes: ESP32 boards running MicroPython (``drivers/nodes/firmware``) for the bins
and water stations the gateway's wires do not reach, reporting to the LAN broker.

``kind = "node_bin"`` and ``kind = "node_water"`` bridge a node's reports into the same
models, events and outbox as the wired kinds (a node bin raises ``bin_full`` like a wired
one, through the same :class:`~drivers.bins.logic.BinLogic`).

A bin node's events are the bin's: ``bin_full``, ``bin_emptied``, ``fire_suspected``,
``lid_open``, ``sensor_fault``, ``sensor_recovered``. A water node's: ``leak_detected``
(the node closed the valve itself), ``leak_cleared``, ``flow_runaway`` (the gateway closes
the valve through the node), ``filter_change_due``, ``filter_expired``,
``filter_replaced``, ``valve_refused`` (``valve_open`` while wet). A care node's are the
care point's (``kind = "node_care"``): ``emergency_call`` (within a second of the press,
repeated until the signed ``acknowledge_call``), ``emergency_call_acknowledged``,
``emergency_call_closed``, ``smoke_detected``, ``smoke_cleared``, ``welfare_check_due``,
``welfare_check_cleared``, ``care_point_offline`` (its supervision in place of
``node_offline``), ``care_point_online``. Every node adds its own:
``node_offline`` / ``node_online`` (its last will, or ``offline_after_periods`` reports
missed), ``battery_low`` / ``battery_ok``, ``node_message_invalid`` (garbage, reported at most
once a minute), ``journal_overflow`` (its flash buffer was full: ``lost`` readings),
``node_watchdog_reset`` (it hung and its watchdog restarted it),
``node_updated`` / ``node_update_current`` / ``node_update_refused`` (firmware updates, the
signed command ``update_firmware``). Readings carry ``battery_v``, ``rssi`` and ``measured_at``.

``gateway nodes add`` gives a node its login and ACL lines on the LAN broker and writes its
``config.json``.
"""

from gateway.plugins import DeviceKind

__all__ = ["BIN", "CARE", "WATER"]

#: ``kind = "node_bin"`` (entry point ``community_gateway.kinds``).
BIN = DeviceKind(
    name="node_bin",
    config="drivers.nodes.config:NodeBinConfig",
    driver="drivers.nodes.bin:NodeBin",
    console="drivers.bins.console:VIEW",
    cli={"nodes": "drivers.nodes.cli:nodes_app"},
    homeassistant="drivers.nodes.homeassistant:bin_node",
)
#: ``kind = "node_water"``.
WATER = DeviceKind(
    name="node_water",
    config="drivers.nodes.config:NodeWaterConfig",
    driver="drivers.nodes.water:NodeWater",
    console="drivers.water.console:VIEW",
    homeassistant="drivers.nodes.homeassistant:water_node",
)
#: ``kind = "node_care"``.
CARE = DeviceKind(
    name="node_care",
    config="drivers.nodes.config:NodeCareConfig",
    driver="drivers.nodes.care:NodeCare",
    console="drivers.care.console:VIEW",
    homeassistant="drivers.care.homeassistant:entities",
)
