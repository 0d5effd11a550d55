"""The embedded broker: Mosquitto when installed, amqtt in-process otherwise."""

from __future__ import annotations

import asyncio
import sys

import pytest

from gateway.demo import broker as broker_module
from gateway.demo.broker import MosquittoBroker, embedded_broker
from gateway.errors import UplinkError
from gateway.mqtt import Observer
from gateway.settings import MqttSettings


async def roundtrip(host: str, port: int) -> bytes:
    settings = MqttSettings(host=host, port=port, insecure_plaintext=True)
    async with Observer(settings) as observer:
        await observer.subscribe("t/#")
        await observer.publish("t/1", b"hello")
        async with asyncio.timeout(10):
            async for message in observer.messages():
                return message.payload
    raise AssertionError("no message")


async def test_amqtt_when_mosquitto_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    async with embedded_broker() as (host, port):
        assert await roundtrip(host, port) == b"hello"


async def test_without_mosquitto_or_the_demo_extra_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)  # a gateway installed without it
    with pytest.raises(UplinkError, match=r"apt install mosquitto.*--extra demo"):
        async with embedded_broker():
            pass


async def test_mosquitto_keeps_retained_messages_across_a_restart(
    broker: MosquittoBroker,
) -> None:
    settings = MqttSettings(host="127.0.0.1", port=broker.port, insecure_plaintext=True)
    async with Observer(settings) as observer:
        await observer.publish("r/1", b"kept", retain=True)
    broker.stop()
    assert not broker.running
    broker.start()
    async with Observer(settings) as observer:
        await observer.subscribe("r/#")
        async with asyncio.timeout(10):
            async for message in observer.messages():
                assert (message.payload, message.retain) == (b"kept", True)
                break
