"""The HIL harness: the gateway as a real process, and an observer of what upstream sees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.commands import sign_command
from gateway.mqtt import Observer, ReceivedMessage
from gateway.settings import MqttSettings
from gateway.topics import Topics

SITE = "hil-site"
#: One water station on its own pins (for scenarios that need a device beside the gateway).
WATER_STATION = """
[[devices]]
kind = "water_station"
id = "water-1"
flow_pin = 23
leak_pin = 24
valve_pin = 25
"""
#: One bin with a temperature probe, sampled every 2 s.
BIN_WITH_PROBE = """
[[devices]]
kind = "bin"
id = "bin-1"
trigger_pin = 17
echo_pin = 27
temperature_sensor = "28-00000a1b2c01"
sample_period_s = 2
report_period_s = 5
"""
GATEWAY = "gw-hil"
TOPICS = Topics("cg/v1", SITE, GATEWAY)


def operator_key() -> tuple[Ed25519PrivateKey, str]:
    import base64

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return key, base64.b64encode(public).decode()


def gateway_config(
    data_dir: Path,
    port: int,
    *,
    public_key: str | None = None,
    report_period_s: float = 0.1,
    extra: str = "",
    mqtt_extra: str = "",
) -> str:
    operators = (
        f'[[commands.operators]]\nname = "hil"\npublic_key = "{public_key}"\n' if public_key else ""
    )
    # The test's broker speaks plain MQTT on loopback, unless the test brings TLS.
    plaintext = "" if "[mqtt.tls]" in mqtt_extra else "insecure_plaintext = true"
    return f"""
site = "{SITE}"
gateway_id = "{GATEWAY}"
data_dir = "{data_dir}"
hardware = "simulated"
log_level = "debug"

[mqtt]
host = "127.0.0.1"
port = {port}
keepalive_s = 5
reconnect_min_s = 0.1
backlog_reconnect_max_s = 0.5
{plaintext}
{mqtt_extra}
{operators}
[[devices]]
kind = "gateway"
id = "gateway"
report_period_s = {report_period_s}
sample_period_s = {report_period_s}
{extra}
"""


class GatewayProcess:
    """``python -m gateway run --config FILE`` as a child process."""

    def __init__(self, config_file: Path) -> None:
        self.config_file = config_file
        self.log_file = config_file.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(self.config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def signal(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(20)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def close(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait()


def gateway_with(
    folder: Path, port: int, public_key: str, devices: str = "", report_period_s: float = 0.1
) -> GatewayProcess:
    """A gateway (not started) in ``folder``: the tests' base configuration plus ``devices``."""
    process = GatewayProcess(folder / "gateway.toml")
    process.config_file.write_text(
        gateway_config(
            folder / "data", port, public_key=public_key, report_period_s=report_period_s
        )
        + devices
    )
    return process


class Upstream:
    """Records everything the broker delivers under the gateway's root.

    Like a cloud consumer it keeps a persistent session, so the broker queues what arrives
    while it reconnects.
    """

    def __init__(
        self, port: int, settings: MqttSettings | None = None, topic_filter: str = TOPICS.everything
    ) -> None:
        self.settings = settings or MqttSettings(
            host="127.0.0.1", port=port, insecure_plaintext=True
        )
        self.topic_filter = topic_filter
        self.messages: list[ReceivedMessage] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Upstream]:
        self._task = asyncio.create_task(self._follow())
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        """Stay subscribed, reconnecting while the broker is down (as a cloud would)."""
        while True:
            try:
                async with Observer(
                    self.settings, identifier=f"upstream-{id(self)}", persistent=True
                ) as client:
                    await client.subscribe(self.topic_filter)
                    async for message in client.messages():
                        self.messages.append(message)
                        self._changed.set()
            except Exception:
                await asyncio.sleep(0.1)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                self._changed.clear()
                await self._changed.wait()
            return result

    def envelopes(self, type_: str | None = None) -> list[dict[str, Any]]:
        found = []
        for m in self.messages:
            if TOPICS.parse_device(m.topic):
                body = m.json()
                if type_ is None or body["type"] == type_:
                    found.append(body)
        return found

    def statuses(self) -> list[dict[str, Any]]:
        return [m.json() for m in self.messages if m.topic == TOPICS.status]

    def boot(self) -> int:
        """The boot of the latest birth seen (0: none yet)."""
        return max((s["boot"] for s in self.statuses() if s.get("online")), default=0)

    async def born(self, after: int, timeout: float = 60.0) -> None:
        """Until a gateway started after boot ``after`` has connected (a busy machine may take
        a while to import and start it)."""
        await self.wait_for(lambda: self.boot() > after, timeout=timeout)

    def replies(self) -> dict[str, dict[str, Any]]:
        prefix = f"{TOPICS.root}/reply/"
        return {
            m.topic[len(prefix) :]: m.json() for m in self.messages if m.topic.startswith(prefix)
        }

    async def send(self, device: str, command: str, body: dict[str, Any] | bytes) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with Observer(self.settings) as client:
            await client.publish(TOPICS.command(device, command), payload)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


async def crash_and_recover(
    process: GatewayProcess, upstream: Upstream, device: str, timeout: float = 120.0
) -> list[str]:
    """Break every GPIO line ``device`` is wired to (the simulator's ``gpio_fault``) until its
    driver crashes, heal them, and return once the supervisor runs it again (its state says
    available); the lines that were broken."""

    def running() -> int:
        states = [e for e in upstream.envelopes("state") if e["device"] == device]
        return sum(1 for e in states if e["data"].get("available") is True)

    def crashes() -> list[dict[str, Any]]:
        return [
            e
            for e in upstream.envelopes("event")
            if e["device"] == device and e["data"]["event"] == "driver_crashed"
        ]

    sock = control_socket(process.config_file.parent / "data")
    seen = len(crashes())
    broken = await request(sock, {"model": device, "action": "gpio_fault"})
    await upstream.wait_for(lambda: len(crashes()) > seen, timeout=30)
    before = running()
    await request(sock, {"model": device, "action": "gpio_fault", "args": {"failed": False}})
    await upstream.wait_for(lambda: running() > before, timeout=timeout)
    pins: list[str] = broken["pins"]
    return pins


class Operator:
    """Sends signed commands to one device and waits for their replies."""

    def __init__(self, upstream: Upstream, key: Ed25519PrivateKey, device: str) -> None:
        self.upstream, self.key, self.device, self.sent = upstream, key, device, 0

    async def __call__(self, command: str, **args: Any) -> dict[str, Any]:
        self.sent += 1
        command_id = f"{command}-{self.sent}"
        topic = TOPICS.command(self.device, command)
        body = sign_command(self.key, topic, command_id, args)
        await self.upstream.send(self.device, command, body)
        reply: dict[str, Any] = await self.upstream.wait_for(
            lambda: self.upstream.replies().get(command_id), timeout=30
        )
        return reply
