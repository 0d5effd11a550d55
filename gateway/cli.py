"""The ``gateway`` command: run, demo, config check, outbox stats, deliveries, keys,
command send."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from gateway.app import Gateway, run_until_signalled
from gateway.broker import embedded_broker
from gateway.commands import sign_command
from gateway.config import GatewayConfig, MqttSettings, load_config
from gateway.db import Database, Record
from gateway.errors import ConfigError, GatewayError
from gateway.messages import new_ulid
from gateway.outbox import Outbox
from gateway.platform import SimulatedPlatform
from gateway.topics import Topics
from gateway.uplink import Observer, ReceivedMessage

__all__ = ["app", "main"]

app = typer.Typer(
    help="Edge gateway of a residential complex.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
outbox_app = typer.Typer(help="Inspect the store-and-forward queue.", no_args_is_help=True)
keys_app = typer.Typer(help="Operator keys that sign commands.", no_args_is_help=True)
command_app = typer.Typer(help="Send commands to a gateway.", no_args_is_help=True)
deliveries_app = typer.Typer(help="Parcels in the lockers, held and past.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(outbox_app, name="outbox")
app.add_typer(keys_app, name="keys")
app.add_typer(command_app, name="command")
app.add_typer(deliveries_app, name="deliveries")

err = Console(stderr=True)
out = Console()

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The gateway's TOML file.")]
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def _load(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


@app.command()
def run(config: ConfigOption) -> None:
    """Run the gateway until SIGTERM (what systemd starts)."""
    cfg = _load(config)
    _setup_logging(cfg.log_level)
    try:
        gateway = Gateway(cfg)
    except GatewayError as error:
        err.print(f"cannot start: {error}", markup=False)
        raise typer.Exit(1) from None
    asyncio.run(run_until_signalled(gateway))


@config_app.command("check")
def config_check(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a configuration file: exit 0, or exit 2 with each problem on a line."""
    try:
        cfg = load_config(file)
    except ConfigError as error:
        if as_json:
            out.print_json(
                data={
                    "ok": False,
                    "problems": [
                        {"file": p.file, "path": p.path, "message": p.message, "line": p.line}
                        for p in error.problems
                    ],
                }
            )
        else:
            for problem in error.problems:
                typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    summary = {
        "ok": True,
        "site": cfg.site,
        "gateway": cfg.gateway_id,
        "devices": [{"id": d.id, "kind": d.kind} for d in cfg.devices],
    }
    if as_json:
        out.print_json(data=summary)
    else:
        out.print(f"{file}: OK, {cfg.site}/{cfg.gateway_id}, {len(cfg.devices)} devices")


@outbox_app.command("stats")
def outbox_stats(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """How many messages wait for the broker, and how many were dropped."""
    cfg = _load(config)
    db = Database(cfg.database)
    try:
        outbox = Outbox(db, cfg.outbox)
        stats = outbox.stats()
        outbox.close()
        stats["boot"] = int(db.get_meta("boot", "0") or 0)
    finally:
        db.close()
    if as_json:
        out.print_json(data=stats)
        return
    table = Table(title=f"outbox of {cfg.site}/{cfg.gateway_id}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, f"{value:,}")
    out.print(table)


#: Stored with a delivery but never shown: the code's hash is a secret too.
_HIDDEN = frozenset({"code_hash", "code_salt", "pending_code", "record"})


def _delivery(record: Record) -> dict[str, Any]:
    shown = {k: v for k, v in record.body.items() if k not in _HIDDEN}
    return {
        "id": record.id,
        "device": record.device,
        **shown,
        "status": record.status,
        "updated": record.updated,
    }


@deliveries_app.command("list")
def deliveries_list(
    config: ConfigOption,
    status: Annotated[
        str | None, typer.Option(help="Only these: reserved, held, collected, returned, …")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Deliveries, newest first."""
    cfg = _load(config)
    with _database(cfg) as db:
        found = [_delivery(r) for r in db.records("deliveries", status=status, limit=limit)]
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"deliveries at {cfg.site}/{cfg.gateway_id}")
    for column in ("id", "status", "compartment", "class", "deposited", "min °C", "max °C"):
        table.add_column(column)
    for d in found:
        t = d.get("temperature") or {}
        table.add_row(
            d["id"],
            d["status"],
            f"{d['device']}/{d.get('compartment', '?')}",
            d.get("class", ""),
            d.get("deposited_at", "-"),
            _number(t.get("min_c")),
            _number(t.get("max_c")),
        )
    out.print(table if found else "no deliveries")


@deliveries_app.command("show")
def deliveries_show(
    delivery: Annotated[str, typer.Argument(metavar="ID", help="The delivery_ref.")],
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One delivery with its temperature record."""
    cfg = _load(config)
    with _database(cfg) as db:
        record = db.record("deliveries", delivery)
    if record is None:
        err.print(f"no delivery {delivery!r}: `gateway deliveries list` shows those there are")
        raise typer.Exit(1)
    found = _delivery(record)
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"delivery {delivery}", show_header=False)
    temperature = found.pop("temperature", None) or {}
    for key, value in found.items():
        table.add_row(key, str(value))
    for key, value in temperature.items():
        table.add_row(f"temperature: {key}", str(value))
    out.print(table)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@contextlib.contextmanager
def _database(cfg: GatewayConfig) -> Iterator[Database]:
    if not cfg.database.exists():
        err.print(f"no gateway database at {cfg.database}: has this gateway run yet?")
        raise typer.Exit(1)
    db = Database(cfg.database)
    try:
        yield db
    finally:
        db.close()


@keys_app.command("new")
def keys_new(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    name: Annotated[str, typer.Option(help="The operator's name in the config.")] = "operator",
) -> None:
    """Create an operator key pair; prints the config lines for the public key."""
    if out_file.exists():
        err.print(f"{out_file} exists; refusing to overwrite a key")
        raise typer.Exit(1)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    out.print(f"private key written to {out_file} (keep it off the gateway)")
    out.print("add to the gateway's configuration:\n")
    print(f'[[commands.operators]]\nname = "{name}"\npublic_key = "{public}"')


def _host_port(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``) → ``(host, port)``."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    return parsed.hostname or "localhost", parsed.port or 1883


def _broker_settings(cfg: GatewayConfig, broker: str | None) -> MqttSettings:
    if broker is None:
        return cfg.mqtt
    host, port = _host_port(broker)
    return cfg.mqtt.model_copy(update={"host": host, "port": port})


@command_app.command("send")
def command_send(
    device: str,
    name: Annotated[str, typer.Argument(metavar="COMMAND")],
    config: ConfigOption,
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    sign: Annotated[Path | None, typer.Option("--sign", help="Operator private key.")] = None,
    broker: Annotated[str | None, typer.Option(help="mqtt://host:port (default: config)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the reply.")] = 10.0,
) -> None:
    """Send one command to a gateway and print its reply (exit 1 if refused)."""
    cfg = _load(config)
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as error:
        err.print(f"--args is not JSON: {error}")
        raise typer.Exit(2) from None
    topics = Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id)
    topic = topics.command(device, name)
    command_id = new_ulid()
    if sign is not None:
        key = serialization.load_pem_private_key(sign.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            err.print(f"{sign} is not an Ed25519 private key (make one with `gateway keys new`)")
            raise typer.Exit(2)
        body = sign_command(key, topic, command_id, arguments)
    else:
        body = {"id": command_id, "args": arguments}
    reply = asyncio.run(
        _request(_broker_settings(cfg, broker), topic, topics.reply(command_id), body, timeout)
    )
    if reply is None:
        err.print(f"no reply within {timeout} s (is the gateway online?)")
        raise typer.Exit(1)
    out.print_json(data=reply)
    raise typer.Exit(0 if reply.get("ok") else 1)


async def _request(
    settings: MqttSettings, topic: str, reply_topic: str, body: dict[str, Any], timeout: float
) -> Any:
    async with Observer(settings) as client:
        await client.subscribe(reply_topic)
        await client.publish(topic, json.dumps(body).encode())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for message in client.messages():
                    return message.json()
    return None


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    broker: Annotated[
        str | None,
        typer.Option(help="Use this broker (mqtt://host:port) instead of an embedded one."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Default: config/demo.toml")
    ] = None,
) -> None:
    """Run the simulated complex with an embedded broker and show what upstream receives."""
    path = config or DEMO_CONFIG
    cfg = _load(path)
    live = sys.stdout.isatty()
    _setup_logging("warning" if live else cfg.log_level)
    with tempfile.TemporaryDirectory(prefix="cg-demo-") as scratch:
        if config is None:
            cfg.data_dir = Path(scratch)
        asyncio.run(_demo(cfg, broker, duration, live))


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[tuple[str, int]]:
    if url is None:
        async with embedded_broker() as address:
            yield address
        return
    yield _host_port(url)


async def _demo(cfg: GatewayConfig, broker: str | None, duration: float | None, live: bool) -> None:
    async with _broker(broker) as (host, port):
        cfg.mqtt = cfg.mqtt.model_copy(update={"host": host, "port": port, "tls": None})
        platform = SimulatedPlatform(cfg, Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id))
        platform.authorise()
        gateway = Gateway(cfg)
        view = _UpstreamView(gateway.topics)
        stop = asyncio.Event()
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        out.print(
            f"demo: broker mqtt://{host}:{port}, gateway {gateway.topics.root}, "
            f"data in {cfg.data_dir}; Ctrl-C to stop",
            highlight=False,
        )
        async with Observer(cfg.mqtt, identifier=f"demo-view-{os.getpid()}") as observer:
            await observer.subscribe(gateway.topics.everything)
            watcher = asyncio.create_task(view.follow(observer, live))
            commands = asyncio.create_task(platform.run())
            try:
                await run_until_signalled(gateway, stop)
                await asyncio.sleep(0.5)  # let the view receive the offline status
            finally:
                for task in (watcher, commands):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, GatewayError):
                        await task
        out.print(view.summary(), highlight=False)


class _UpstreamView:
    """What upstream sees: the gateway's status, each device's latest state, recent events."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.status: dict[str, Any] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self.count = 0
        self.started = time.monotonic()

    async def follow(self, observer: Observer, live: bool) -> None:
        if not live:
            async for message in observer.messages():
                line = self.record(message)
                if line:
                    print(line, flush=True)
            return
        with Live(self.render(), console=out, refresh_per_second=4) as screen:
            async for message in observer.messages():
                self.record(message)
                screen.update(self.render())

    def record(self, message: ReceivedMessage) -> str | None:
        self.count += 1
        try:
            body = message.json()
        except ValueError:
            return None
        clock = datetime.now().strftime("%H:%M:%S")
        if message.topic == self.topics.status:
            self.status = body
            return f"{clock} status {json.dumps(body)}"
        parsed = self.topics.parse_device(message.topic)
        if parsed is None:
            return (
                f"{clock} {message.topic.removeprefix(self.topics.root + '/')} {json.dumps(body)}"
            )
        device, kind = parsed
        entry = self.devices.setdefault(device, {"kind": body.get("kind", "?")})
        entry[kind] = body.get("data", {})
        if kind == "event":
            data = body.get("data", {})
            self.events.append(
                f"{body.get('ts', '')} {device} {data.get('event')} [{data.get('severity')}]"
            )
            self.events = self.events[-8:]
        historical = " (historical)" if body.get("historical") else ""
        return (
            f"{clock} {device} {kind} seq={body.get('seq')}{historical} "
            f"{json.dumps(body.get('data', {}))}"
        )

    def render(self) -> Group:
        online = self.status.get("online")
        head = Table.grid()
        head.add_row(
            f"[b]{self.topics.root}[/b]  status: "
            f"{'[green]online' if online else '[red]offline'}[/]  "
            f"boot {self.status.get('boot', '?')}  messages {self.count}"
        )
        table = Table(title="devices", expand=True)
        for column in ("device", "kind", "available", "latest telemetry"):
            table.add_column(column)
        for device, entry in sorted(self.devices.items()):
            available = entry.get("state", {}).get("available")
            shown = ", ".join(f"{k}={v}" for k, v in entry.get("telemetry", {}).items())
            table.add_row(
                device,
                entry["kind"],
                "[green]yes" if available else "[red]no" if available is False else "?",
                shown,
            )
        events = Table(title="recent events", expand=True, show_header=False)
        for line in self.events or ["(none yet)"]:
            events.add_row(line)
        return Group(head, table, events)

    def summary(self) -> str:
        return (
            f"demo stopped after {time.monotonic() - self.started:.0f} s: upstream received "
            f"{self.count} messages from {len(self.devices)} devices; final status "
            f"{json.dumps(self.status)}"
        )


def main() -> None:
    app()
