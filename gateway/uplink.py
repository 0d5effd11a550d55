"""The connection to the upstream broker: the only module that uses aiomqtt.

:class:`Uplink` connects (TLS, credentials, last will), publishes the birth message, drains the
outbox with a bounded in-flight window (a row is deleted only after its PUBACK), receives
commands and reconnects with jittered exponential backoff. :class:`Observer` is a plain
client for tools that watch or command a gateway (the demo's live view, ``gateway command``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiomqtt

from gateway.errors import UplinkError
from gateway.messages import mark_historical
from gateway.outbox import Outbox, OutboxRow
from gateway.settings import MqttSettings
from gateway.topics import Topics

__all__ = ["CommandHandler", "Observer", "ReceivedMessage", "Uplink", "UplinkState"]

log = logging.getLogger(__name__)

UplinkState = Literal["connecting", "online", "offline", "stopped"]
CommandHandler = Callable[[str, bytes], Awaitable[None]]

#: Acknowledged rows are deleted in batches this often (a crash re-sends at most these).
_ACK_INTERVAL_S = 0.05


class _QuietPending(logging.Filter):
    """aiomqtt warns on every publish while more than ten await their PUBACK; with an
    in-flight window that is the normal state, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pending publish calls" not in record.getMessage()


class _Once(logging.Filter):
    """paho logs a refused handshake on every retry, aiomqtt every message a full queue
    drops: say each warning once until it changes."""

    def __init__(self) -> None:
        super().__init__()
        self._last = ""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message == self._last:
            return False
        self._last = message
        return True


_mqtt_log = logging.getLogger("gateway.uplink.mqtt")
_mqtt_log.addFilter(_QuietPending())
_mqtt_log.addFilter(_Once())
_MAX_CONCURRENT_COMMANDS = 16
_MAX_QUEUED_COMMANDS = 1000


def _payload(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    return payload if isinstance(payload, bytes) else str(payload or "").encode()


def _client(settings: MqttSettings, **extra: Any) -> aiomqtt.Client:
    tls_context = None
    if settings.tls is not None:
        tls = settings.tls
        try:
            tls_context = ssl.create_default_context(
                cafile=str(tls.ca_file) if tls.ca_file else None
            )
            if tls.cert_file:
                tls_context.load_cert_chain(
                    str(tls.cert_file), str(tls.key_file) if tls.key_file else None
                )
        except (OSError, ssl.SSLError) as err:
            raise UplinkError(f"cannot load the TLS files: {err}") from err
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        keepalive=settings.keepalive_s,
        tls_context=tls_context,
        timeout=10,
        logger=_mqtt_log,
        **extra,
    )


class _Refused(UplinkError):
    """The broker or the gateway refused the connection during the handshake."""


def _is_refusal(err: Exception) -> bool:
    """A failure that retrying soon will not mend: a certificate, CA or password refused."""
    if isinstance(err, _Refused):
        return True
    if isinstance(err, aiomqtt.MqttCodeError) and err.rc in (4, 5, 134, 135):
        return True  # bad user name or password, not authorised (MQTT 3.1.1 and 5)
    return "SSL" in str(err) or isinstance(err.__cause__, ssl.SSLError)


async def _connect(client: aiomqtt.Client, stack: contextlib.AsyncExitStack) -> None:
    """Enter ``client``, failing at once when the broker drops the connection before it
    accepts it (a refused client certificate shows only as a TLS alert after the handshake;
    aiomqtt 2 ignores a disconnection before CONNACK and would wait for its timeout)."""
    loop = asyncio.get_running_loop()
    dropped: asyncio.Future[None] = loop.create_future()
    paho = client._client  # aiomqtt 2 keeps the paho client here
    aiomqtt_callback = paho.on_disconnect

    def on_disconnect(*args: Any, **kwargs: Any) -> None:
        if not dropped.done():
            dropped.set_result(None)
        if aiomqtt_callback is not None:
            aiomqtt_callback(*args, **kwargs)

    paho.on_disconnect = on_disconnect
    entering: asyncio.Future[Any] = asyncio.ensure_future(client.__aenter__())
    waiting: set[asyncio.Future[Any]] = {entering, dropped}
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not entering.done():
            entering.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await entering
    if entering.cancelled() or entering.exception() is not None:
        if entering.cancelled():
            raise _Refused(
                "the broker closed the connection before accepting it: it refused this "
                "gateway's certificate or credentials, or the gateway refused the broker's "
                "(the TLS error is logged just before)"
            )
        raise entering.exception()  # type: ignore[misc]
    stack.push_async_exit(client.__aexit__)


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
        self._client: aiomqtt.Client | None = None
        self._acked: list[int] = []
        self.connects = 0
        self._client_was_up = False
        self._stopping = False
        #: Rows up to this id were stored before this process could deliver them.
        self._previous_backlog = outbox.last_id
        self.client_id = settings.client_id or f"{topics.site}-{topics.gateway}"
        if settings.tls is None:
            log.warning(
                "MQTT without TLS to %s:%d: anyone on the path can read and forge messages; "
                "set [mqtt.tls] for production",
                settings.host,
                settings.port,
            )

    @property
    def state(self) -> UplinkState:
        return self._state

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
            except (aiomqtt.MqttError, UplinkError) as err:
                refused = _is_refusal(err)
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
        will = aiomqtt.Will(self._topics.status, self._status(False), qos=1, retain=True)
        client = _client(
            self._settings,
            identifier=self.client_id,
            will=will,
            max_inflight_messages=self._settings.inflight,
            # A command flood waits here at most this deep (the rest is dropped), so memory
            # stays bounded whatever arrives.
            max_queued_incoming_messages=_MAX_QUEUED_COMMANDS,
        )
        async with contextlib.AsyncExitStack() as stack:
            await _connect(client, stack)
            self._client = client
            self._client_was_up = True
            # What waited through an outage (or was left by an earlier run) is historical.
            watermark = self._outbox.last_id if self.connects else self._previous_backlog
            self.connects += 1
            try:
                await client.publish(self._topics.status, self._status(True), qos=1, retain=True)
                await client.subscribe(self._topics.command_filter, qos=1)
                if self._stopping:  # stop() came while we were connecting
                    await self._publish_offline(client)
                    return
                self._state = "online"
                log.info("uplink online (%s:%d)", self._settings.host, self._settings.port)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._receive(client, tg), name="uplink-receive")
                    tg.create_task(self._drain(client, watermark, tg), name="uplink-drain")
                    tg.create_task(self._ack_loop(), name="uplink-ack")
            except* aiomqtt.MqttError as group:
                raise group.exceptions[0] from None
            finally:
                self._client = None
                if not self._stopping:
                    self._state = "offline"

    async def _receive(self, client: aiomqtt.Client, tg: asyncio.TaskGroup) -> None:
        limit = asyncio.Semaphore(_MAX_CONCURRENT_COMMANDS)
        async for message in client.messages:
            await limit.acquire()
            tg.create_task(self._handle(message.topic.value, _payload(message), limit))

    async def _handle(self, topic: str, payload: bytes, limit: asyncio.Semaphore) -> None:
        try:
            await self._on_command(topic, payload)
        except Exception:
            log.exception("command handler failed on %s", topic)
        finally:
            limit.release()

    async def _drain(self, client: aiomqtt.Client, watermark: int, tg: asyncio.TaskGroup) -> None:
        window = asyncio.Semaphore(self._settings.inflight)
        cursor = 0
        while True:
            rows = self._outbox.fetch(cursor, 500)
            if not rows:
                await self._outbox.wait_for_new(cursor)
                continue
            for row in rows:
                await window.acquire()
                tg.create_task(self._send(client, row, row.id <= watermark, window))
                cursor = row.id

    async def _send(
        self, client: aiomqtt.Client, row: OutboxRow, historical: bool, window: asyncio.Semaphore
    ) -> None:
        payload = mark_historical(row.payload) if historical else row.payload
        try:
            await client.publish(row.topic, payload, qos=1, retain=row.retain)
        finally:
            window.release()
        self._acked.append(row.id)

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

    async def _publish_offline(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(
                self._topics.status, self._status(False), qos=1, retain=True, timeout=3
            )


@dataclass(frozen=True)
class ReceivedMessage:
    """A message seen by an :class:`Observer`."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Observer:
    """A plain MQTT client that watches and commands gateways from the outside."""

    def __init__(
        self, settings: MqttSettings, identifier: str | None = None, *, persistent: bool = False
    ) -> None:
        """``persistent``: keep the session (subscriptions, queued QoS 1 messages) on the
        broker while disconnected; needs a fixed ``identifier``."""
        if persistent and identifier is None:
            raise ValueError("a persistent session needs an identifier")
        self._client = _client(settings, identifier=identifier, clean_session=not persistent)

    async def __aenter__(self) -> Observer:
        try:
            await self._client.__aenter__()
        except aiomqtt.MqttError as err:
            raise UplinkError(f"cannot connect to the broker: {err}") from err
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(None, None, None)

    async def subscribe(self, topic_filter: str) -> None:
        await self._client.subscribe(topic_filter, qos=1)

    async def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
    ) -> None:
        try:
            await self._client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise UplinkError(f"publish to {topic} failed: {err}") from err

    async def messages(self) -> AsyncIterator[ReceivedMessage]:
        """Every message received, until the connection drops (then :class:`UplinkError`)."""
        try:
            async for message in self._client.messages:
                yield ReceivedMessage(message.topic.value, _payload(message), bool(message.retain))
        except aiomqtt.MqttError as err:
            raise UplinkError(f"connection to the broker lost: {err}") from err
