"""Running the demo: the residents and console accounts it starts with, the broker, the
simulated platform, the gateway and the live view, until a duration or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator

from rich.console import Console

from gateway.app import Gateway, run_until_signalled
from gateway.db import Database
from gateway.demo.broker import embedded_broker, free_port
from gateway.demo.platform import SimulatedPlatform
from gateway.demo.view import UpstreamView
from gateway.errors import GatewayError
from gateway.mqtt import Observer
from gateway.plugins import hardware_class
from gateway.residents import Residents
from gateway.settings import GatewayConfig, broker_address
from gateway.topics import Topics
from gateway.web.auth import Users
from vision.faces import load_image
from vision.worker import RecognizerProcess

__all__ = ["DEMO_USERS", "prepare", "run_demo"]

out = Console()


def prepare(cfg: GatewayConfig) -> None:
    """What the demo's scratch database starts with: its residents and console accounts."""
    _demo_residents(cfg)
    _demo_console(cfg)


async def run_demo(
    cfg: GatewayConfig, broker: str | None, duration: float | None, live: bool
) -> None:
    """The demo until ``duration`` seconds have passed (or SIGINT/SIGTERM)."""
    await _demo(cfg, broker, duration, live)


@contextlib.contextmanager
def _database(cfg: GatewayConfig) -> Iterator[Database]:
    db = Database(cfg.database)
    try:
        yield db
    finally:
        db.close()


#: The demo's console accounts (a scratch database: these exist only while the demo runs).
DEMO_USERS = (("manager", "manager", "demo-manager"), ("installer", "installer", "demo-installer"))


def _demo_console(cfg: GatewayConfig) -> None:
    """Make the demo's console accounts, and take another port when the configured one is
    busy (another program, or a second demo)."""
    if not cfg.web.enabled:
        return
    with socket.socket() as probe:
        try:
            probe.bind((cfg.web.host, cfg.web.port))
        except OSError:
            cfg.web.port = free_port()
    with _database(cfg) as db:
        users = Users(db)
        for name, role, password in DEMO_USERS:
            if users.get(name) is None:
                users.add(name, role, password, actor="demo")


async def _announce_console(cfg: GatewayConfig) -> None:
    """Print the console's address and logins once it answers (not before: a newcomer who
    opens it at once must find it there)."""
    if not cfg.web.enabled:
        return
    while True:
        try:
            _, writer = await asyncio.open_connection(cfg.web.host, cfg.web.port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        break
    scheme = "https" if cfg.web.tls_cert else "http"
    name, _, password = DEMO_USERS[0]
    out.print(
        f"demo: console at {scheme}://{cfg.web.host}:{cfg.web.port}/ — log in as {name} / "
        f"{password} (or {DEMO_USERS[1][0]} / {DEMO_USERS[1][2]})",
        highlight=False,
        soft_wrap=True,
    )


def _demo_residents(cfg: GatewayConfig) -> None:
    """Enroll the demo's residents from the simulated gate's photographs."""
    sim = cfg.simulation
    if not sim.residents:
        return
    photos = hardware_class("simulated").photographs(cfg)  # type: ignore[attr-defined]
    # In a recognizer process (forked from the one that loads the models for the gate's
    # recognizers too): the gateway's own process never holds the face models.
    with out.status("loading the face models…"):
        recognizer = RecognizerProcess()
    try:
        with _database(cfg) as db:
            residents = Residents(db)
            for r in sim.residents:
                shots = [(p, load_image(photos / p)) for p in r.photos]
                residents.enroll(recognizer, r.id, shots, name=r.name, unit=r.unit, actor="demo")
    finally:
        recognizer.close()
    out.print(f"demo: {len(sim.residents)} residents enrolled at the gate", highlight=False)


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[tuple[str, int]]:
    if url is None:
        async with embedded_broker() as address:
            yield address
        return
    yield broker_address(url)


async def _demo(cfg: GatewayConfig, broker: str | None, duration: float | None, live: bool) -> None:
    async with _broker(broker) as (host, port):
        cfg.mqtt = cfg.mqtt.model_copy(
            update={"host": host, "port": port, "tls": None, "insecure_plaintext": True}
        )
        platform = SimulatedPlatform(cfg, Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id))
        platform.authorise()
        gateway = Gateway(cfg)
        view = UpstreamView(gateway.topics, out)
        stop = asyncio.Event()
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        out.print(
            f"demo: broker mqtt://{host}:{port}, gateway {gateway.topics.root}, "
            f"data in {cfg.data_dir}; Ctrl-C to stop",
            highlight=False,
            soft_wrap=True,
        )
        async with Observer(cfg.mqtt, identifier=f"demo-view-{os.getpid()}") as observer:
            await observer.subscribe(gateway.topics.everything)
            watcher = asyncio.create_task(view.follow(observer, live))
            commands = asyncio.create_task(platform.run())
            # The platform falls silent as soon as the demo stops (its devices are stopping
            # and would refuse every command while the outbox is flushed).
            silencer = asyncio.create_task(stop.wait())
            silencer.add_done_callback(lambda _: commands.cancel())
            console = asyncio.create_task(_announce_console(cfg))
            try:
                await run_until_signalled(gateway, stop)
                await asyncio.sleep(0.5)  # let the view receive the offline status
            finally:
                for task in (watcher, commands, console, silencer):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, GatewayError):
                        await task
        out.print(view.summary(), highlight=False, soft_wrap=True)
