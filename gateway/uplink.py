"""The connection to the upstream broker.

:class:`Uplink` connects (TLS, credentials, last will), publishes the birth message, drains the
outbox with a bounded in-flight window (a row is deleted only after its PUBACK), receives
commands and reconnects with jittered exponential backoff. The MQTT client itself is
:mod:`gateway.mqtt`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from gateway import mqtt
from gateway.errors import UplinkError
from gateway.messages import mark_historical
from gateway.outbox import Outbox, OutboxRow
from gateway.settings import MqttSettings
from gateway.topics import Topics

__all__ = ["CommandHandler", "Uplink", "UplinkState"]

log = logging.getLogger(__name__)

UplinkState = Literal["connecting", "online", "offline", "stopped"]
CommandHandler = Callable[[str, bytes], Awaitable[None]]

_MAX_CONCURRENT_COMMANDS = 16
_MAX_QUEUED_COMMANDS = 1000

#: Acknowledged rows are deleted in batches this often (a crash re-sends at most these).
_ACK_INTERVAL_S = 0.05
#: A full in-flight window with no PUBACK for this long: the connection is dead; reconnect.
_PUBACK_TIMEOUT_S = 10.0


class _Window:
    """The messages awaiting their PUBACK, at most ``size``. A sender that finds it full
    resumes at the next PUBACK. (Waiting for several would be fewer wake-ups, but a broker
    with Nagle's algorithm on, Mosquitto's default, then holds its PUBACKs for the
    gateway's delayed TCP ACK: 40 ms a round, measured.)"""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self._room: asyncio.Future[None] | None = None

    async def claim(self) -> None:
        """Take a place, waiting while the window is full; :class:`mqtt.MqttError` when the
        broker acknowledges nothing for ``_PUBACK_TIMEOUT_S`` (the connection is dead)."""
        if self.count >= self.size:
            self._room = asyncio.get_running_loop().create_future()
            try:
                # Not asyncio.wait_for: on 3.11 it loses a cancellation that arrives as the
                # PUBACK does, and the session's task group then waits for this forever.
                async with asyncio.timeout(_PUBACK_TIMEOUT_S):
                    await self._room
            except TimeoutError:
                raise mqtt.MqttError(
                    f"the broker acknowledged nothing for {_PUBACK_TIMEOUT_S:.0f} s"
                ) from None
            finally:
                self._room = None
        self.count += 1

    def release(self) -> None:
        self.count -= 1
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)


class Uplink:
    """Keeps the gateway connected and the outbox drained."""

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        outbox: Outbox,
        *,
        boot: int,
        birth: Callable[[], dict[str, Any]],
        on_command: CommandHandler,
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._outbox = outbox
        self._boot = boot
        self._birth = birth
        self._on_command = on_command
        self._state: UplinkState = "connecting"
        self._client: mqtt.Client | None = None
        self._acked: list[int] = []
        #: Retained messages outside the envelope stream (no ``seq``): sent now when online,
        #: and again on every connect after the birth.
        self._retained: dict[str, bytes] = {}
        self.connects = 0
        self._client_was_up = False
        self._stopping = False
        #: Rows up to this id were stored before this process could deliver them.
        self._previous_backlog = outbox.last_id
        self.client_id = settings.client_id or f"{topics.site}-{topics.gateway}"
        if settings.tls is None:
            log.warning(
                "MQTT without TLS to %s:%d (insecure_plaintext): anyone on the path can read "
                "and forge messages",
                settings.host,
                settings.port,
            )

    @property
    def state(self) -> UplinkState:
        return self._state

    async def retain(self, topic: str, payload: bytes) -> None:
        """Keep ``payload`` retained on ``topic`` (the latest one per topic), published now
        when online and on every connect."""
        self._retained[topic] = payload
        client = self._client
        if client is not None and self._state == "online":
            with contextlib.suppress(mqtt.MqttError):
                await client.publish(topic, payload, qos=1, retain=True)

    def _status(self, online: bool) -> bytes:
        body: dict[str, Any] = {"online": online, "boot": self._boot}
        if online:
            body.update(self._birth())
        return json.dumps(body, separators=(",", ":")).encode()

    async def run(self) -> None:
        """Stay connected until cancelled; reconnect with jittered exponential backoff."""
        attempt = 0
        last_error = ""
        while not self._stopping:
            self._state = "connecting"
            refused = False
            try:
                await self._session()
            except (mqtt.MqttError, UplinkError) as err:
                refused = mqtt.is_refusal(err)
                message = str(err) or type(err).__name__
                if message != last_error or self._client_was_up:  # no log spam while retrying
                    log.warning(
                        "uplink to %s:%d: %s", self._settings.host, self._settings.port, message
                    )
                    last_error = message
            except Exception:
                # A gateway left alone for years must not stop reporting because of one bad
                # moment: log it whole, then reconnect like after any other failure.
                log.exception("uplink session failed unexpectedly; reconnecting")
                last_error = ""
            if self._stopping:
                break
            self._state = "offline"
            await self._flush_acks()
            if self._client_was_up:
                attempt = 0
            # A refused certificate or password does not mend in a second: back off fully.
            cap = (
                self._settings.backlog_reconnect_max_s
                if self._outbox.depth and not refused
                else self._settings.reconnect_max_s
            )
            delay = min(cap, self._settings.reconnect_min_s * 2**attempt)
            attempt = min(attempt + 1, 30)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _session(self) -> None:
        self._client_was_up = False
        will = mqtt.Will(self._topics.status, self._status(False), qos=1, retain=True)
        client = mqtt.make_client(
            self._settings,
            identifier=self.client_id,
            will=will,
            max_inflight_messages=self._settings.inflight,
            # A command flood waits here at most this deep (the rest is dropped), so memory
            # stays bounded whatever arrives.
            max_queued_incoming_messages=_MAX_QUEUED_COMMANDS,
            queue_type=mqtt.CommandQueue,
        )
        async with contextlib.AsyncExitStack() as stack:
            await mqtt.connect(client, stack)
            self._client = client
            self._client_was_up = True
            # What waited through an outage (or was left by an earlier run) is historical.
            watermark = self._outbox.last_id if self.connects else self._previous_backlog
            self.connects += 1
            try:
                await client.publish(self._topics.status, self._status(True), qos=1, retain=True)
                for topic, payload in list(self._retained.items()):
                    await client.publish(topic, payload, qos=1, retain=True)
                await client.subscribe(self._topics.command_filter, qos=1)
                if self._stopping:  # stop() came while we were connecting
                    await self._publish_offline(client)
                    return
                self._state = "online"
                log.info("uplink online (%s:%d)", self._settings.host, self._settings.port)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._receive(client, tg), name="uplink-receive")
                    tg.create_task(self._drain(client, watermark), name="uplink-drain")
                    tg.create_task(self._ack_loop(), name="uplink-ack")
            except* mqtt.MqttError as group:
                raise group.exceptions[0] from None
            finally:
                self._client = None
                if not self._stopping:
                    self._state = "offline"

    async def _receive(self, client: mqtt.Client, tg: asyncio.TaskGroup) -> None:
        limit = asyncio.Semaphore(_MAX_CONCURRENT_COMMANDS)
        async for message in client.messages:
            await limit.acquire()
            tg.create_task(self._handle(message.topic.value, mqtt.message_payload(message), limit))

    async def _handle(self, topic: str, payload: bytes, limit: asyncio.Semaphore) -> None:
        try:
            await self._on_command(topic, payload)
        except Exception:
            log.exception("command handler failed on %s", topic)
        finally:
            limit.release()

    async def _drain(self, client: mqtt.Client, watermark: int) -> None:
        window = _Window(self._settings.inflight)
        first: set[int] = set()  # the backlog's critical events, sent ahead of the rest
        cursor = 0
        while rows := self._outbox.fetch_critical(cursor, watermark, 500):
            for row in rows:
                await window.claim()
                self._send(client, row, True, window)
                first.add(row.id)
                cursor = row.id
        cursor = 0
        while True:
            rows = self._outbox.fetch(cursor, 500)
            if not rows:
                await self._outbox.wait_for_new(cursor)
                continue
            for row in rows:
                cursor = row.id
                if row.id in first:
                    first.discard(row.id)
                    continue
                await window.claim()
                self._send(client, row, row.id <= watermark, window)

    def _send(self, client: mqtt.Client, row: OutboxRow, historical: bool, window: _Window) -> None:
        """Publish ``row`` in its claimed place of the window; its PUBACK marks it for
        deletion and frees the place."""
        payload = mark_historical(row.payload) if historical else row.payload

        def on_ack() -> None:
            self._acked.append(row.id)
            window.release()

        try:
            mqtt.publish_nowait(client, row.topic, payload, on_ack, retain=row.retain)
        except BaseException:
            window.release()
            raise

    async def _ack_loop(self) -> None:
        while True:
            await asyncio.sleep(_ACK_INTERVAL_S)
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        if self._acked:
            acked, self._acked = self._acked, []
            await self._outbox.ack(acked)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Uplink]:
        """Run in the background for the ``async with`` block; stop cleanly after it."""
        task = asyncio.create_task(self.run(), name="uplink")
        try:
            yield self
        finally:
            await self.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self, timeout: float) -> bool:
        """Wait until the outbox is empty (while online); ``True`` if it emptied."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self._flush_acks()
            if self._outbox.depth == 0:
                return True
            if self._state != "online":
                return False
            await asyncio.sleep(0.02)
        return False

    async def stop(self) -> None:
        """Publish the retained offline status (when online) and stop reconnecting."""
        self._stopping = True
        if self._client is not None:
            await self._publish_offline(self._client)
        self._state = "stopped"

    async def _publish_offline(self, client: mqtt.Client) -> None:
        with contextlib.suppress(mqtt.MqttError):
            await client.publish(
                self._topics.status, self._status(False), qos=1, retain=True, timeout=3
            )
