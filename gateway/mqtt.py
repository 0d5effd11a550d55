"""The MQTT client library's boundary (aiomqtt 2, on paho): the only module that imports it.

How a client is made (TLS, credentials, last will, a session kept or not), how a connection
is opened so that a refused handshake fails at once, the library's log lines that say
nothing new, and :class:`Observer`, a plain client for tools that watch or command a gateway
(the demo's live view, ``gateway command``, the tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from gateway.errors import UplinkError
from gateway.settings import MqttSettings

__all__ = [
    "Client",
    "MqttError",
    "Observer",
    "ReceivedMessage",
    "Refused",
    "Will",
    "connect",
    "make_client",
    "message_payload",
    "publish_nowait",
]

log = logging.getLogger("gateway.uplink")

Client = aiomqtt.Client
MqttError = aiomqtt.MqttError
Will = aiomqtt.Will


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
_mqtt_log.addFilter(_Once())


def message_payload(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    return payload if isinstance(payload, bytes) else str(payload or "").encode()


def make_client(settings: MqttSettings, **extra: Any) -> aiomqtt.Client:
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
    client = aiomqtt.Client(
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
    # aiomqtt warns past 10 publishes awaiting their PUBACK; with an in-flight window that is
    # the normal state, and the warning's log record cost a share of every publish.
    client.pending_calls_threshold = max(10, settings.inflight)
    return client


class _OnAck:
    """Stands in for the ``asyncio.Event`` aiomqtt sets at a PUBACK: its ``set()`` is the
    callback."""

    __slots__ = ("set",)

    def __init__(self, on_ack: Callable[[], None]) -> None:
        self.set = on_ack


def publish_nowait(
    client: aiomqtt.Client,
    topic: str,
    payload: bytes,
    on_ack: Callable[[], None],
    *,
    retain: bool = False,
) -> None:
    """Send a QoS 1 message and return at once; ``on_ack()`` runs in the event loop when
    the broker's PUBACK arrives (never, if the connection drops first).

    aiomqtt's ``publish`` makes an event, a task and a timer for every message and awaits
    it; draining the outbox without them took its rate from 0.64 to 0.83-0.96 of that
    ``publish``'s (``bench.uplink``). The caller bounds what is in flight and notices a
    broker that stops acknowledging.
    """
    paho = client._client  # aiomqtt 2 keeps the paho client here
    info = paho.publish(topic, payload, 1, retain)
    if info.rc != 0:  # MQTT_ERR_SUCCESS
        raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
    if info.is_published():
        on_ack()
    else:
        # aiomqtt's on_publish pops the message id's entry and calls its ``set()``.
        client._pending_publishes[info.mid] = _OnAck(on_ack)  # type: ignore[assignment]


class CommandQueue(asyncio.Queue[aiomqtt.Message]):
    """The bounded queue of commands received: when a flood has filled it, a message that
    carries a signature takes the place of the oldest one that does not (it is checked
    later like any other; this only keeps a signed ``valve_close`` from being discarded
    behind thousands of unsigned commands)."""

    def put_nowait(self, item: aiomqtt.Message) -> None:
        if self.full() and _carries_signature(item):
            queued: Any = self._queue  # type: ignore[attr-defined]  # asyncio.Queue's deque
            for index, waiting in enumerate(queued):
                if not _carries_signature(waiting):
                    del queued[index]
                    self._unfinished_tasks -= 1  # type: ignore[attr-defined]
                    break
        super().put_nowait(item)


def _carries_signature(message: aiomqtt.Message) -> bool:
    payload = message.payload
    return isinstance(payload, bytes | bytearray) and b'"sig"' in payload


class Refused(UplinkError):
    """The broker or the gateway refused the connection during the handshake."""


def is_refusal(err: Exception) -> bool:
    """A failure that retrying soon will not mend: a certificate, CA or password refused."""
    if isinstance(err, Refused):
        return True
    if isinstance(err, aiomqtt.MqttCodeError) and err.rc in (4, 5, 134, 135):
        return True  # bad user name or password, not authorised (MQTT 3.1.1 and 5)
    return "SSL" in str(err) or isinstance(err.__cause__, ssl.SSLError)


async def connect(client: aiomqtt.Client, stack: contextlib.AsyncExitStack) -> None:
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
            raise Refused(
                "the broker closed the connection before accepting it: it refused this "
                "gateway's certificate or credentials, or the gateway refused the broker's "
                "(the TLS error is logged just before)"
            )
        raise entering.exception()  # type: ignore[misc]
    stack.push_async_exit(client.__aexit__)


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
        self._client = make_client(settings, identifier=identifier, clean_session=not persistent)

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
                yield ReceivedMessage(
                    message.topic.value, message_payload(message), bool(message.retain)
                )
        except aiomqtt.MqttError as err:
            raise UplinkError(f"connection to the broker lost: {err}") from err
