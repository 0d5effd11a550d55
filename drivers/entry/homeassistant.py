"""The gate in Home Assistant: its door, its lock and what happens at it (no biometric data,
no resident's name: only the kinds of events)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity

#: Every event the gate publishes (an event entity refuses a type it was not told of).
EVENTS = (
    "access_granted", "access_denied", "unknown_face", "door_forced", "door_held_open",
    "exit_request", "approval_requested", "presentation_attack", "fire_release",
    "fire_release_cleared", "welfare_check_due", "welfare_check_cleared", "template_unreadable",
    "bad_frame", "audit_write_failed", "driver_crashed",
)  # fmt: skip


def entities(config: DeviceConfig) -> Sequence[Entity]:
    return [
        Entity("door_open", "Door", "binary_sensor", device_class="door"),
        Entity("locked", "Unlocked", "binary_sensor", expression="not value_json.data.locked",
               device_class="lock"),
        Entity("residents", "Residents enrolled", state_class="measurement",
               entity_category="diagnostic"),
        # Who was let in stays in the gateway's audit log: only the kind of event goes out.
        Entity("access", "Access", "event", "event", event_types=EVENTS),
    ]  # fmt: skip
