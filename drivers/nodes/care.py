"""A home's care point on a care node: its presses, smoke and activity go through the same
:class:`~drivers.care.logic.CareLogic` as a wired care point's, and the gateway tells the
node how to show the call on the button's LED."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from drivers.care.config import AcknowledgeArgs
from drivers.care.logic import CareLogic
from drivers.nodes.config import NodeCareConfig
from drivers.nodes.driver import NodeDriver
from drivers.nodes.messages import CareReading, NodeEvent
from gateway.devices import command
from gateway.errors import UplinkError

__all__ = ["NodeCare"]

#: The LED's mode on the node for each state of the call.
LED = {"calling": "blink", "acknowledged": "on", "none": "off"}


class NodeCare(NodeDriver):
    """One care node's home."""

    kind = "node_care"
    config_model = NodeCareConfig
    config: NodeCareConfig
    reading_model = CareReading

    async def started(self) -> None:
        self._led_tasks: set[asyncio.Task[None]] = set()
        self.logic = CareLogic(self.ctx, self.config, self._show_call)
        await self.ctx.publish_state({"unit": self.config.unit, "call": self.logic.call_state()})

    # -- the node's messages ---------------------------------------------------------------

    async def reading(self, entry: Any, now: float, wall: datetime, fresh: bool) -> None:
        assert isinstance(entry, CareReading)
        if not fresh:
            return
        if entry.smoke is not None and self.config.smoke:
            await self.logic.smoke(entry.smoke)
        wanted = LED[self.logic.call_state()]
        if entry.led != wanted:  # the node restarted, or missed the last word
            self._show_call(self.logic.call_state())

    async def node_event(self, entry: NodeEvent, at: datetime) -> None:
        if entry.event == "call":
            await self.logic.pressed()
        elif entry.event == "smoke" and entry.active is not None:
            await self.logic.smoke(entry.active)
        elif entry.event == "activity":
            await self.logic.activity(at)
        else:
            await super().node_event(entry, at)

    def _show_call(self, state: str) -> None:
        link = self._link
        if link is None:
            return  # the node blinks by itself on a press; its next reading is corrected
        body = json.dumps({"name": "led", "args": {"mode": LED[state]}}).encode()
        task = asyncio.get_running_loop().create_task(self._publish(f"{self.topic}/cmd", body))
        self._led_tasks.add(task)
        task.add_done_callback(self._led_tasks.discard)

    async def _publish(self, topic: str, body: bytes) -> None:
        link = self._link
        if link is not None:
            try:
                await link.publish(topic, body)
            except UplinkError as err:
                self.ctx.log.warning("LED: %s", err)

    # -- between messages ------------------------------------------------------------------

    async def background(self) -> None:
        cfg = self.config
        while True:
            silent = self.silent_s()
            await self.logic.supervise(silent if silent > cfg.period_s + 5 else None,
                                       2 * cfg.period_s)  # fmt: skip
            await self.logic.tick()
            await self.ctx.clock.sleep(1.0)

    async def _offline(self, reason: str) -> None:
        """The care point's own supervision says it (``care_point_offline``)."""

    async def _back(self) -> None:
        """The care point's own supervision says it (``care_point_online``)."""

    @command(args=AcknowledgeArgs, actuating=True)
    async def acknowledge_call(self, args: AcknowledgeArgs) -> dict[str, Any]:
        """Help is coming: the node's LED turns steady and the call stops repeating."""
        return await self.logic.acknowledge(args)
