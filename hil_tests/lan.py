"""The sensor nodes' scenarios' parts: a LAN Mosquitto with the logins and ACL ``gateway
nodes add`` wrote, the simulated boards' world and the nodes' processes, the gateway
bridging them upstream; what upstream saw of each node."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from drivers.sim.boards import Board
from drivers.sim.nodes import NodeProcess, NodeWorld
from gateway.demo.broker import MosquittoBroker, free_port
from gateway.mqtt import Observer
from gateway.settings import MqttSettings
from hil_tests.harness import GatewayProcess, Upstream, gateway_config

#: Simulated seconds per real second, on the gateway and on the nodes asleep (awake, a node
#: runs at the real pace: its awake periods below are the real seconds of SCALE's minutes).
SCALE = 600
GATEWAY_PASSWORD = "lan-gateway-secret"

DEVICES = """
[[devices]]
kind = "node_bin"
id = "bin-node-1"
period_s = 1200
report_period_s = 1
empty_distance_m = 1.0
full_distance_m = 0.1

[[devices]]
kind = "node_bin"
id = "bin-node-2"
period_s = 300
report_period_s = 1
temperature = false

[[devices]]
kind = "node_water"
id = "water-node-1"
period_s = 600
report_period_s = 1

[[devices]]
kind = "node_care"
id = "care-node-1"
unit = "B-204"
period_s = 600
report_period_s = 600
call_repeat_s = 60
acknowledged_led_s = 36000
"""


class Lan:
    """The LAN side: its broker, the nodes' world and their processes."""

    def __init__(self, tmp: Path, broker: MosquittoBroker, world: NodeWorld) -> None:
        self.tmp, self.broker, self.world = tmp, broker, world
        self.nodes: dict[str, NodeProcess] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def config(self, node: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.tmp / "nodes" / node / "config.json").read_text())
        return loaded

    def start(self, board: Board, **changes: Any) -> NodeProcess:
        config = self.config(board.id)
        config["wifi"]["timeout_ms"] = 1000
        config.update(changes)
        self.world.add(board)
        process = NodeProcess(self.world, board, self.tmp / "flash" / board.id, config, scale=SCALE)
        self.nodes[board.id] = process
        self._tasks.append(asyncio.create_task(process.run()))
        return process

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for name, process in self.nodes.items():  # shown when a scenario fails
            print(f"--- {name}: {process.boots} boots, its console:", *process.log[-30:], sep="\n")
        log = self.broker._dir / "mosquitto.log"
        print("--- LAN broker:", log.read_text()[-3000:] if log.exists() else "no log")


def add_nodes(config: Path, out: Path) -> None:
    """``gateway nodes add`` for each node: its login, the ACL, its config.json."""
    nodes = (
        ("bin-node-1", "bin"), ("bin-node-2", "bin"), ("water-node-1", "water"),
        ("care-node-1", "care"),
    )  # fmt: skip
    for node, role in nodes:
        subprocess.run(
            [sys.executable, "-m", "gateway", "nodes", "add", node, "--role", role,
             "--config", str(config), "--out", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip


@asynccontextmanager
async def lan_and_gateway(
    tmp_path: Path, upstream_port: int, public_key: str
) -> AsyncIterator[tuple[Lan, GatewayProcess]]:
    lan_port = free_port()
    extra = f"""
[simulation]
time_scale = {SCALE}

[nodes]
port = {lan_port}
username = "gateway"
password = "{GATEWAY_PASSWORD}"
password_file = "{tmp_path / "lan.passwd"}"
acl_file = "{tmp_path / "lan.acl"}"
{DEVICES}
"""
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", upstream_port, public_key=public_key,
                                     report_period_s=300, extra=extra))  # fmt: skip
    add_nodes(config, tmp_path / "nodes")
    broker = MosquittoBroker(
        lan_port,
        allow_anonymous=False,
        extra_config=f"password_file {tmp_path / 'lan.passwd'}\nacl_file {tmp_path / 'lan.acl'}\n",
    )
    broker.start()
    world = NodeWorld()
    serving = asyncio.create_task(world.serve())
    while not world.port:
        await asyncio.sleep(0.01)
    lan = Lan(tmp_path, broker, world)
    process = GatewayProcess(config)
    process.start()
    try:
        yield lan, process
    finally:
        await lan.close()
        serving.cancel()
        process.close()
        broker.stop()


def lan_sessions(upstream: Upstream) -> set[str]:
    return {
        e["device"]
        for e in upstream.envelopes("state")
        if e["data"].get("lan_broker") == "connected"
    }


def events(upstream: Upstream, device: str, name: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in upstream.envelopes("event")
        if e["device"] == device and e["data"]["event"] == name
    ]


def telemetry(upstream: Upstream, device: str) -> list[dict[str, Any]]:
    return [e["data"] for e in upstream.envelopes("telemetry") if e["device"] == device]


def node_state(upstream: Upstream, device: str) -> str | None:
    states = [e["data"] for e in upstream.envelopes("state") if e["device"] == device]
    return states[-1].get("node_state") if states else None


def lan_client(lan: Lan, user: str, password: str) -> Observer:
    settings = MqttSettings(
        host="127.0.0.1",
        port=lan.broker.port,
        insecure_plaintext=True,
        username=user,
        password=password,  # type: ignore[arg-type]
    )
    return Observer(settings)
