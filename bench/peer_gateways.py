"""The two gateways :mod:`bench.peer` drives: each started, killed and restarted as a
process, and what the platform received from it parsed; the peer's own virtual environment
and configuration; our side's input (the outbox and the uplink behind an MQTT
subscription, run as ``python -m bench.peer --forward``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

from gateway import mqtt
from gateway.db import Database
from gateway.messages import Priority, isoformat, new_ulid, render_envelope
from gateway.outbox import Outbox
from gateway.settings import MqttSettings, OutboxSettings
from gateway.topics import Topics
from gateway.uplink import Uplink

__all__ = ["INPUT", "Gateway", "Ours", "ThingsBoard", "forward", "thingsboard_venv"]

ROOT = Path(__file__).resolve().parents[1]
PEER = "thingsboard-gateway==3.8.5"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "community-gateway"
OURS = Topics("cg/v1", "bench", "gw")
#: Where the devices publish their readings (``bench/<device>/up``).
INPUT = "bench/+/up"


# -- the gateways under test ------------------------------------------------------------------


class Gateway:
    """A gateway process: started, killed, restarted; what it delivered, parsed."""

    name = ""

    def __init__(self, folder: Path, lan_port: int, platform_port: int) -> None:
        self.folder = folder
        self.lan_port = lan_port
        self.platform_port = platform_port
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        raise NotImplementedError

    def start(self) -> None:
        argv, env, cwd = self.command()
        with (self.folder / "gateway.log").open("ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log
            )

    def kill(self) -> None:
        """``kill -9``, as a power cut or the kernel's OOM killer."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        """The ``seq`` of each reading in a message the platform received (the harness
        knows when it sent each)."""
        raise NotImplementedError

    #: The platform broker's ACL file, when the gateway needs one.
    platform_acl = ""


class Ours(Gateway):
    name = "community-gateway"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        argv = [sys.executable, "-m", "bench.peer", "--forward", str(self.folder)]
        argv += ["--lan-port", str(self.lan_port), "--platform-port", str(self.platform_port)]
        return argv, dict(os.environ), ROOT

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        if not topic.endswith("/telemetry"):
            return []
        return [int(json.loads(payload)["data"]["seq"])]


class ThingsBoard(Gateway):
    name = "ThingsBoard IoT Gateway 3.8.5"
    # ThingsBoard's client subscribes to the topic it sends its own requests on (a real
    # ThingsBoard does not echo them; a plain broker would, and the gateway answers its own
    # session-limits request with an error before the platform can): it may only write there.
    platform_acl = (
        "topic readwrite #\n\nuser bench\n"
        "topic write v1/devices/me/rpc/request/+\n"
        "topic readwrite v1/devices/me/rpc/response/+\n"
        "topic readwrite v1/devices/me/attributes/#\n"
        "topic readwrite v1/devices/me/attributes\n"
        "topic readwrite v1/devices/me/telemetry\n"
        "topic readwrite v1/gateway/#\n"
    )

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        config = self.folder / "config"
        if not config.exists():
            write_thingsboard_config(config, self.folder, self.lan_port, self.platform_port)
        (self.folder / "logs").mkdir(exist_ok=True)
        env = dict(os.environ, TB_GW_CONFIG_DIR=f"{config}/")
        # The update service (and anything else outside) meets a closed local port.
        env |= {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
        env.pop("NO_PROXY", None)
        return [str(thingsboard_venv() / "bin" / "thingsboard-gateway")], env, self.folder

    def delivered(self, topic: str, payload: bytes) -> list[int]:
        if topic != "v1/gateway/telemetry":
            return []
        # A pack may split one reading's values across entries (by payload size): the
        # reading arrived with its seq.
        return [
            int(entry["values"]["seq"])
            for entries in json.loads(payload).values()
            for entry in entries
            if "seq" in entry["values"]
        ]


def thingsboard_venv() -> Path:
    """The peer in its own virtual environment (made once, kept in the cache)."""
    venv = CACHE / "thingsboard-gateway-3.8.5"
    if (venv / ".installed").exists():
        return venv
    uv = shutil.which("uv") or str(ROOT / ".ci" / "uv")
    print(f"installing {PEER} into {venv}", flush=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "--quiet", "--python", python, PEER], check=True)
    (venv / ".installed").touch()
    return venv


def write_thingsboard_config(config: Path, folder: Path, lan: int, platform: int) -> None:
    """Its shipped ``tb_gateway.json`` and ``logs.json`` with the bench's brokers, SQLite
    storage, the remote configuration and statistics off, logs at warnings only."""
    shipped = next((thingsboard_venv() / "lib").glob("python*/site-packages/thingsboard_gateway"))
    config.mkdir(parents=True)
    main = json.loads((shipped / "config" / "tb_gateway.json").read_text())
    board = main["thingsboard"]
    board |= {"host": "127.0.0.1", "port": platform, "remoteConfiguration": False}
    board["statistics"]["enable"] = False
    board["security"] = {"type": "accessToken", "accessToken": "bench"}
    # The platform sets no rate limit (as a ThingsBoard without tenant limits would).
    for key in [k for k in board if k.endswith("RateLimits") or k.endswith("rateLimits")]:
        del board[key]
    (folder / "data").mkdir(exist_ok=True)
    main["storage"] = {
        "type": "sqlite",
        "data_file_path": f"{folder / 'data'}/",
        "messages_ttl_check_in_hours": 1,
        "messages_ttl_in_days": 7,
        "max_read_records_count": 1000,
    }
    main["connectors"] = [{"type": "mqtt", "name": "MQTT", "configuration": "mqtt.json"}]
    (config / "tb_gateway.json").write_text(json.dumps(main, indent=1))
    logs = json.loads((shipped / "config" / "logs.json").read_text())
    for part in (*logs.get("handlers", {}).values(), *logs.get("loggers", {}).values()):
        part["level"] = "WARNING"
    (config / "logs.json").write_text(json.dumps(logs, indent=1))
    connector = {
        "broker": {
            "host": "127.0.0.1",
            "port": lan,
            "clientId": "tb-bench-input",
            "version": 5,
            "maxMessageNumberPerWorker": 10,
            "maxNumberOfWorkers": 100,
            "cleanSession": False,
            "cleanStart": False,
            "sessionExpiryInterval": 3600,
            "security": {"type": "anonymous"},
        },
        "mapping": [
            {
                "topicFilter": INPUT,
                "subscriptionQos": 1,
                "converter": {
                    "type": "json",
                    "deviceInfo": {
                        "deviceNameExpressionSource": "topic",
                        "deviceNameExpression": "(?<=bench/)(.*?)(?=/up)",
                        "deviceProfileExpressionSource": "constant",
                        "deviceProfileExpression": "default",
                    },
                    "sendDataOnlyOnChange": False,
                    "timeout": 60000,
                    "attributes": [],
                    "timeseries": [
                        {"type": "integer", "key": "seq", "value": "${seq}"},
                        {"type": "double", "key": "sent", "value": "${sent}"},
                    ],
                },
            }
        ],
        "requestsMapping": {},
    }
    (config / "mqtt.json").write_text(json.dumps(connector, indent=1))


# -- our side's input: the gateway's outbox and uplink behind an MQTT subscription --------------


async def forward(folder: Path, lan_port: int, platform_port: int) -> None:
    """Read ``bench/+/up`` and put each reading into the outbox; acknowledge it to the local
    broker once stored (a crash before that: the broker sends it again)."""
    outbox = Outbox(Database(folder / "gateway.sqlite3"), OutboxSettings())
    settings = MqttSettings(host="127.0.0.1", port=platform_port, insecure_plaintext=True)

    async def ignore(topic: str, payload: bytes) -> None:
        return None

    uplink = Uplink(settings, OURS, outbox, boot=1, birth=dict, on_command=ignore)
    room = asyncio.Semaphore(1000)
    tasks: set[asyncio.Task[None]] = set()

    async def take(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        try:
            device = message.topic.value.split("/")[1]
            reading = json.loads(mqtt.message_payload(message))
            data = {"seq": int(reading["seq"]), "sent": float(reading["sent"])}
        except (ValueError, KeyError, TypeError, IndexError):
            logging.warning("dropped a malformed reading on %s", message.topic.value)
        else:

            def render(seq: int) -> bytes:
                ts = isoformat(datetime.now(UTC))
                return render_envelope(new_ulid(), seq, ts, device, "bench", "telemetry", data)

            await outbox.put_envelope(OURS.device(device, "telemetry"), render, Priority.TELEMETRY)
        finally:
            room.release()
        client._client.ack(message.mid, message.qos)  # stored: the broker may forget it

    syncing = asyncio.create_task(outbox.run_sync())
    async with uplink.running():
        while not syncing.done():
            client = aiomqtt.Client(
                "127.0.0.1", lan_port, identifier="cg-bench-input", clean_session=False
            )
            client._client.manual_ack_set(True)
            try:
                async with client:
                    await client.subscribe(INPUT, qos=1)
                    async for message in client.messages:
                        await room.acquire()
                        task = asyncio.create_task(take(client, message))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.5)
