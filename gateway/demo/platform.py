"""The demo's simulated platform: the upstream side that sends signed commands.

In a real installation the property's platform sends commands; in the demo this stands in
for it: the ``simulation.platform`` commands at their simulated times, and the
``simulation.responses`` answers to events (a resident collecting a parcel a while after
``delivery_ready`` told them the code, say). It signs with a key made for the demo run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.commands import sign_command
from gateway.messages import new_ulid
from gateway.mqtt import Observer
from gateway.settings import GatewayConfig, Operator
from gateway.topics import Topics

__all__ = ["SimulatedPlatform"]

log = logging.getLogger(__name__)


class SimulatedPlatform:
    """Sends the configured commands; register it with :meth:`authorise` before the
    gateway starts."""

    def __init__(self, config: GatewayConfig, topics: Topics) -> None:
        self.config = config
        self.topics = topics
        self.key = Ed25519PrivateKey.generate()
        self.sent = 0

    def authorise(self) -> None:
        """Add the platform's public key to the gateway's operators."""
        public = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        operator = Operator(name="demo-platform", public_key=base64.b64encode(public).decode())
        self.config.commands.operators.append(operator)

    @property
    def _scale(self) -> float:
        return self.config.simulation.time_scale

    async def run(self) -> None:
        sim = self.config.simulation
        if not (sim.platform or sim.responses):
            return
        async with Observer(self.config.mqtt, identifier=f"demo-platform-{new_ulid()}") as client:
            if sim.responses:
                await client.subscribe(self.topics.device("+", "event"))
            async with asyncio.TaskGroup() as tg:
                for step in sim.platform:
                    tg.create_task(
                        self._send_at(client, step.at_s, step.device, step.command, step.args)
                    )
                if sim.responses:
                    tg.create_task(self._respond(client, tg))

    async def _send_at(
        self, client: Observer, at_s: float, device: str, command: str, args: dict[str, Any]
    ) -> None:
        await asyncio.sleep(at_s / self._scale)
        topic = self.topics.command(device, command)
        self.sent += 1
        body = sign_command(self.key, topic, f"demo-{self.sent}-{new_ulid()[-6:]}", args)
        await client.publish(topic, json.dumps(body).encode())

    async def _respond(self, client: Observer, tg: asyncio.TaskGroup) -> None:
        rules = self.config.simulation.responses
        async for message in client.messages():
            parsed = self.topics.parse_device(message.topic)
            if parsed is None:
                continue
            try:
                data = message.json().get("data", {})
            except ValueError:
                continue
            for rule in rules:
                if data.get("event") != rule.on_event or any(
                    data.get(field) != value for field, value in rule.when.items()
                ):
                    continue
                missing = [f for f in rule.args.values() if f not in data]
                if missing:
                    log.warning("demo platform: event %s has no %s", rule.on_event, missing)
                    continue
                args = {name: data[source] for name, source in rule.args.items()}
                tg.create_task(self._send_at(client, rule.after_s, parsed[0], rule.command, args))
