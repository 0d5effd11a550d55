"""What every node's driver does: the LAN broker's session, the node's journal sequence
(duplicates and stragglers), availability from its will and its period, the battery, garbage,
and firmware updates. :mod:`drivers.nodes.bin` and :mod:`drivers.nodes.water` give what a
reading means."""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from collections import deque
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field, ValidationError

from drivers.base import Hysteresis, Sparse
from drivers.nodes.config import NodeConfig
from drivers.nodes.messages import Entry, NodeEvent, NodeStatus
from drivers.nodes.ota import firmware_files, offer
from gateway.devices import Args, DeviceConfig, Driver, DriverContext, command
from gateway.errors import CommandRejected, UplinkError
from gateway.messages import Severity
from gateway.mqtt import Observer
from gateway.settings import NodeBrokerSettings

__all__ = ["NodeDriver", "UpdateArgs"]

#: How many recent sequence numbers are remembered to tell a duplicate from a straggler.
RECENT = 256


class UpdateArgs(Args):
    """Firmware files to send (default: every file of the firmware this gateway carries)."""

    files: list[str] | None = Field(default=None, max_length=16)


class NodeDriver(Driver):
    """A device measured by a node on the LAN broker."""

    config: NodeConfig
    #: The journal entry model of a reading of this kind.
    reading_model: ClassVar[type[Entry]]

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self._link: Observer | None = None
        self._confirmations: list[tuple[asyncio.Future[Entry], str, Any]] = []

    # -- what a kind adds ------------------------------------------------------------------

    @abstractmethod
    async def reading(self, entry: Any, now: float, wall: datetime, fresh: bool) -> None:
        """A reading from the node's journal (``fresh``: newer than any seen; a straggler
        from the journal is not)."""

    async def node_event(self, entry: NodeEvent, at: datetime) -> None:
        """An event the node raised at ``at`` (default: published as the node said it)."""
        await self.ctx.publish_event(entry.event, "info", **_fields(entry))

    async def started(self) -> None:
        """After the state's first publication (restore what the kind keeps)."""

    async def background(self) -> None:
        """What the kind does between the node's messages, for as long as it runs."""

    def silent_s(self) -> float:
        """Seconds since the node was last heard (on the gateway's clock)."""
        return self.ctx.clock.monotonic() - self._last_seen

    # -- the node's life -------------------------------------------------------------------

    @property
    def topic(self) -> str:
        assert self.ctx.settings is not None
        return f"{self.ctx.settings.nodes.prefix}/{self.config.node_id}"

    async def restore(self) -> None:
        """What the device keeps between runs (its sequence, battery, availability), then
        the state's first publication and the kind's :meth:`started`."""
        ctx, cfg = self.ctx, self.config
        store = ctx.store
        self._seq = (str(store.get("epoch", "")), int(store.get("seq", 0)))
        self._recent: deque[int] = deque(store.get("recent", []), maxlen=RECENT)
        self._battery = Hysteresis(cfg.battery_low_v, cfg.battery_low_v + 0.15, above=False)
        self._battery.active = bool(store.get("battery_low", False))
        self._garbage = Sparse(60)
        self._last_seen = self._taken = ctx.clock.monotonic()
        self._online = bool(store.get("online", True))
        await ctx.publish_state(
            {"name": cfg.name, "node": cfg.node_id, "period_s": cfg.period_s},
            available=self._online,
        )
        await self.started()

    async def run(self) -> None:
        ctx = self.ctx
        await self.restore()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._supervise())
                tasks.create_task(self.background())
                while True:
                    try:
                        await self._session()
                    except UplinkError as err:
                        ctx.log.warning("LAN broker: %s; again in 5 s", err)
                        await ctx.publish_state({"lan_broker": "unreachable"})
                    await asyncio.sleep(5)  # real seconds, however fast simulated time runs
        finally:
            self.close()

    async def _session(self) -> None:
        assert self.ctx.settings is not None
        settings: NodeBrokerSettings = self.ctx.settings.nodes
        identity = f"{self.ctx.settings.gateway_id}-{self.config.id}"
        # A kept session: what nodes send while the gateway restarts waits on the broker.
        async with Observer(settings, identity, persistent=True) as link:
            self._link = link
            try:
                await link.subscribe(f"{self.topic}/status")
                await link.subscribe(f"{self.topic}/up")
                await self.ctx.publish_state({"lan_broker": "connected"})
                async for message in link.messages():
                    if message.topic.startswith(f"{self.topic}/ota/"):
                        continue
                    await self._message(message.topic, message.payload)
            finally:
                self._link = None

    async def received(self, topic: str, payload: bytes) -> None:
        """One message from the LAN broker (anything: it is checked here)."""
        await self._message(topic, payload)

    async def _message(self, topic: str, payload: bytes) -> None:
        try:
            body = json.loads(payload)
            if topic.endswith("/status"):
                await self._status(NodeStatus.model_validate(body))
                return
            kind = body.get("type") if isinstance(body, dict) else None
            model = NodeEvent if kind == "event" else self.reading_model
            entry = model.model_validate(body)
        except (ValueError, ValidationError, AttributeError) as err:
            count = self._garbage.happened(self.ctx.clock.monotonic())
            if count is not None:
                await self.ctx.publish_event(
                    "node_message_invalid",
                    "warning",
                    topic=topic,
                    error=_first_error(err),
                    count=count,
                )
            return
        await self._entry(entry)

    async def _status(self, status: NodeStatus) -> None:
        await self.ctx.publish_state({"node_state": status.state, "firmware": status.fw})
        if status.state == "offline":  # its last will: the connection broke
            await self._offline("connection lost")
        else:
            self._last_seen = self.ctx.clock.monotonic()
            await self._back()

    async def _entry(self, entry: Entry) -> None:
        ctx = self.ctx
        self._last_seen = ctx.clock.monotonic()
        await self._back()
        epoch, high = self._seq
        if entry.epoch != epoch:  # a new flash: its sequence starts again
            epoch, high = entry.epoch, 0
            self._recent.clear()
        if entry.seq in self._recent:
            ctx.log.info("node %s: duplicate #%d dropped", self.config.node_id, entry.seq)
            return
        fresh = entry.seq > high
        self._recent.append(entry.seq)
        self._seq = (epoch, max(high, entry.seq))
        # Dated by this gateway's clock, by its age when the node sent it; never before
        # what was already taken (two clocks never run quite alike).
        now = max(ctx.clock.monotonic() - entry.age_s, self._taken)
        wall = ctx.clock.now() - timedelta(seconds=ctx.clock.monotonic() - now)
        self._taken = now
        if isinstance(entry, NodeEvent):
            await self._node_event(entry, wall)
        else:
            await self.reading(entry, now, wall, fresh)
            for waiter in list(self._confirmations):
                future, key, value = waiter
                if getattr(entry, key, None) == value and not future.done():
                    future.set_result(entry)
        if entry.battery_v is not None:
            change = self._battery.update(entry.battery_v)
            if change == "tripped":
                await ctx.publish_event("battery_low", "warning", battery_v=entry.battery_v)
            elif change == "cleared":
                await ctx.publish_event("battery_ok", "info", battery_v=entry.battery_v)
            if change:
                ctx.store.set("battery_low", self._battery.active)
        ctx.store.set("epoch", epoch)
        ctx.store.set("seq", self._seq[1])
        ctx.store.set("recent", list(self._recent))

    async def _node_event(self, entry: NodeEvent, at: datetime) -> None:
        if entry.event == "watchdog_reset":
            await self.ctx.publish_event("node_watchdog_reset", "warning", **_fields(entry))
            return
        # Taken, already there, or refused: the offer is withdrawn either way.
        updates = ("updated", "update_current", "update_refused")
        if entry.event in updates and entry.file and self._link:
            await self._link.publish(f"{self.topic}/ota/{entry.file}", b"", retain=True)
        if entry.event in updates:
            severity: Severity = "warning" if entry.event == "update_refused" else "info"
            await self.ctx.publish_event(f"node_{entry.event}", severity, **_fields(entry))
            return
        await self.node_event(entry, at)

    async def _supervise(self) -> None:
        """The node is offline once it missed ``offline_after_periods`` reports."""
        cfg, clock = self.config, self.ctx.clock
        limit = cfg.period_s * cfg.offline_after_periods + min(60.0, cfg.period_s)
        while True:
            await clock.sleep(min(cfg.period_s / 4, 30.0))
            silent = self.silent_s()
            if silent > limit:
                await self._offline(f"no report for {round(silent)} s")

    async def _offline(self, reason: str) -> None:
        """``node_offline`` and unavailable (a kind with its own supervision overrides it)."""
        if not self._online:
            return
        self._online = False
        self.ctx.store.set("online", False)
        await self.ctx.publish_state(available=False)
        await self.ctx.publish_event(
            "node_offline", "warning", node=self.config.node_id, reason=reason
        )

    async def _back(self) -> None:
        if self._online:
            return
        self._online = True
        self.ctx.store.set("online", True)
        await self.ctx.publish_state(available=True)
        await self.ctx.publish_event("node_online", "info", node=self.config.node_id)

    # -- talking to the node ---------------------------------------------------------------

    async def send(self, name: str, args: dict[str, Any], confirm: tuple[str, Any]) -> Entry:
        """A command to the node, answered by its next reading that shows ``confirm``
        (a field and its value)."""
        link = self._link
        if link is None:
            raise CommandRejected("unavailable", "the LAN broker is not connected")
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        waiter = (future, confirm[0], confirm[1])
        self._confirmations.append(waiter)
        try:
            await link.publish(
                f"{self.topic}/cmd", json.dumps({"name": name, "args": args}).encode()
            )
            scale = float(getattr(self.ctx.clock, "scale", 1.0))
            return await asyncio.wait_for(future, self.config.confirm_s / scale)
        except TimeoutError as err:
            raise CommandRejected(
                "unavailable",
                f"the node did not confirm within {self.config.confirm_s:g} s (offline or asleep)",
            ) from err
        except UplinkError as err:
            raise CommandRejected("unavailable", f"the LAN broker: {err}") from err
        finally:
            self._confirmations.remove(waiter)

    @command(args=UpdateArgs, actuating=True)
    async def update_firmware(self, args: UpdateArgs) -> dict[str, Any]:
        """Offer the node this gateway's firmware files: retained on ``ota/<file>``, taken
        by the node when it is awake, each replaced only when its SHA-256 checks."""
        link = self._link
        if link is None:
            raise CommandRejected("unavailable", "the LAN broker is not connected")
        offers = {name: offer(name) for name in args.files or firmware_files()}
        missing = [name for name, found in offers.items() if found is None]
        if missing:
            raise CommandRejected(
                "invalid", f"no firmware file {missing[0]!r} (allowed: {firmware_files()})",
                "files",
            )  # fmt: skip
        offered = {}
        for name, found in offers.items():
            assert found is not None
            digest, payload = found
            await link.publish(f"{self.topic}/ota/{name}", payload, retain=True)
            offered[name] = digest
        return {"offered": offered}


def _fields(entry: NodeEvent) -> dict[str, Any]:
    return entry.model_dump(exclude={"type", "event", "epoch", "age_s"}, exclude_none=True)


def _first_error(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        return f"{where}: {first['msg']}"
    return str(err)[:200]
