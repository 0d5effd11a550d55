"""Home Assistant MQTT discovery: every device of the complex on an existing dashboard.

With ``[homeassistant] enabled = true`` the gateway publishes, retained and again on every
connect, one discovery configuration per entity under ``{discovery_prefix}/{component}/
{node}/{object}/config``, grouped into one Home Assistant device per physical device (the
gateway as its ``via_device``). The states are read from the topics the gateway publishes
anyway (``value_template`` over the envelope's ``data``): no second copy of the data. An
entity is available while the gateway's ``status`` says online and its device's ``state``
says available. Configurations of devices that left the configuration are removed (an
empty retained payload). Nothing that acts is offered: no command topic opens a door, a
valve or a locker from Home Assistant; actuation stays signed (see the README).

Each device kind says which entities it has (``DeviceKind.homeassistant``: a function of
the device's configuration returning :class:`Entity` items).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.db import Database
from gateway.devices import DeviceConfig
from gateway.plugins import device_kinds, load_target
from gateway.settings import GatewayConfig
from gateway.topics import Topics

__all__ = ["Entity", "announce", "discovery"]

MANUFACTURER = "community-gateway"
#: The database's note of the discovery topics published (to remove those that left).
_PUBLISHED = "homeassistant_topics"


@dataclass(frozen=True)
class Entity:
    """One Home Assistant entity read from one of the device's topics."""

    key: str  # unique within the device
    name: str
    component: str = "sensor"  # or binary_sensor
    #: Where its value is: ``telemetry`` or ``state`` (the envelope's ``data``).
    source: str = "telemetry"
    #: A Jinja expression over ``data`` (default: ``data.<key>``).
    expression: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    entity_category: str | None = None
    #: For an ``event`` entity (read from the device's ``event`` topic): the events it
    #: shows. Only the event's name reaches Home Assistant, none of its fields.
    event_types: tuple[str, ...] = ()


Entities = Callable[[DeviceConfig], Sequence[Entity]]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower())


def discovery(
    topics: Topics,
    devices: Sequence[tuple[DeviceConfig, Sequence[Entity]]],
    *,
    prefix: str = "homeassistant",
    console_url: str | None = None,
    version: str = "",
) -> dict[str, bytes]:
    """Every discovery topic and its retained configuration."""
    node = _slug(f"{topics.site}_{topics.gateway}")
    gateway_id = f"{node}_gateway"
    found: dict[str, bytes] = {}
    for device, entities in devices:
        is_gateway = device.kind == "gateway"
        identifier = gateway_id if is_gateway else f"{node}_{_slug(device.id)}"
        ha_device: dict[str, Any] = {
            "identifiers": [identifier],
            "name": device.name or device.id,
            "manufacturer": MANUFACTURER,
            "model": device.kind,
            "sw_version": version,
        }
        if not is_gateway:
            ha_device["via_device"] = gateway_id
        if console_url:
            ha_device["configuration_url"] = console_url
        availability = [
            {
                "topic": topics.status,
                "value_template": "{{ 'online' if value_json.online else 'offline' }}",
            },
            {
                "topic": topics.device(device.id, "state"),
                "value_template": "{{ 'online' if value_json.data.available else 'offline' }}",
            },
        ]
        for entity in entities:
            object_id = f"{_slug(device.id)}_{_slug(entity.key)}"
            expression = entity.expression or f"value_json.data.{entity.key}"
            if entity.component == "binary_sensor":
                template = f"{{{{ 'ON' if {expression} else 'OFF' }}}}"
            elif entity.component == "event":
                template = "{{ {'event_type': value_json.data.event} | tojson }}"
            else:
                template = f"{{{{ {expression} }}}}"
            config: dict[str, Any] = {
                "name": entity.name,
                "unique_id": f"{node}_{object_id}",
                "object_id": f"{node}_{object_id}",
                "state_topic": topics.device(device.id, entity.source),
                "value_template": template,
                "availability": availability,
                "availability_mode": "all",
                "device": ha_device,
            }
            if entity.event_types:
                config["event_types"] = list(entity.event_types)
            for field, value in (
                ("device_class", entity.device_class),
                ("state_class", entity.state_class),
                ("unit_of_measurement", entity.unit),
                ("entity_category", entity.entity_category),
            ):
                if value is not None:
                    config[field] = value
            topic = f"{prefix}/{entity.component}/{node}/{object_id}/config"
            found[topic] = json.dumps(config, separators=(",", ":")).encode()
    return found


async def announce(
    retain: Callable[[str, bytes], Awaitable[None]],
    db: Database,
    topics: Topics,
    config: GatewayConfig,
    version: str,
) -> None:
    """Publish, retained, the discovery configurations of ``config``'s devices, and remove
    those of devices that left the configuration (the topics published are kept in ``db``)."""
    published: list[str] = json.loads(db.get_meta(_PUBLISHED, "[]") or "[]")
    found: dict[str, bytes] = {}
    if config.homeassistant.enabled:
        kinds = device_kinds()
        devices = []
        for device in config.devices:
            target = kinds[device.kind].homeassistant
            if target is not None:
                devices.append((device, load_target(target)(device)))
        web = config.web
        console = (
            f"{'https' if web.tls_cert else 'http'}://{socket.gethostname()}:{web.port}/"
            if web.enabled
            else None
        )
        found = discovery(
            topics, devices, prefix=config.homeassistant.discovery_prefix, console_url=console,
            version=version,
        )  # fmt: skip
    for topic in published:
        if topic not in found:
            await retain(topic, b"")  # gone from Home Assistant
    for topic, payload in found.items():
        await retain(topic, payload)
    db.set_meta(_PUBLISHED, json.dumps(sorted(found)))
