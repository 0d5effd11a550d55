"""An MQTT broker on a free loopback port, for the demo and the tests.

:class:`MosquittoBroker` runs the real Mosquitto as a subprocess (it can be stopped and
restarted on the same port, to simulate outages). :func:`embedded_broker` uses it when
``mosquitto`` is installed and falls back to amqtt running in-process.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.errors import UplinkError

__all__ = ["MosquittoBroker", "embedded_broker", "find_mosquitto", "free_port"]

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1, below the kernel's
    ephemeral range.

    A port from the ephemeral range can be taken while the broker is down: a client that
    keeps reconnecting to it may be given that very port as its own source port and connect
    to itself (TCP simultaneous open), and the restarted broker then cannot listen there.
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise UplinkError(f"no free port below {low} on 127.0.0.1")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def find_mosquitto() -> str | None:
    """The mosquitto executable (Debian installs it in /usr/sbin)."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None,
    )


def _wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


class MosquittoBroker:
    """A Mosquitto subprocess on ``127.0.0.1:port``; ``stop()`` and ``start()`` at will.

    Like a production broker it keeps sessions, retained messages and queued messages
    across a restart (persistence in its temporary directory).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        extra_config: str = "",
        listener_config: str = "",
        allow_anonymous: bool = True,
    ) -> None:
        """``listener_config``: lines for the listener (TLS files, say);
        ``extra_config``: more global lines (an ``acl_file``)."""
        executable = find_mosquitto()
        if executable is None:
            raise UplinkError("mosquitto is not installed: sudo apt-get install mosquitto")
        self.executable = executable
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="cg-mosquitto-"))
        self.config_file = self._dir / "mosquitto.conf"
        self.config_file.write_text(
            f"listener {self.port} 127.0.0.1\n{listener_config}"
            # Started as root, mosquitto would switch to the 'mosquitto' user, which cannot
            # write into our directory; stay who we are.
            f"user {getpass.getuser()}\n"
            f"allow_anonymous {'true' if allow_anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {self._dir}/\n"
            "max_inflight_messages 100\n"
            "max_queued_messages 100000\n"
            f"log_dest file {self._dir / 'mosquitto.log'}\n" + extra_config
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self._process = subprocess.Popen(
            [self.executable, "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if not _wait_for_port(self.port, 10):
            self.stop()
            raise UplinkError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open, nothing is answered."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def embedded_broker() -> AsyncIterator[tuple[str, int]]:
    """A broker for the demo: Mosquitto if installed, otherwise amqtt in this process."""
    if find_mosquitto():
        with MosquittoBroker() as broker:
            log.info("embedded broker: mosquitto on 127.0.0.1:%d", broker.port)
            yield "127.0.0.1", broker.port
        return
    try:
        from amqtt.broker import Broker
    except ImportError:
        raise UplinkError(
            "the demo needs a broker: install Mosquitto (sudo apt install mosquitto) or the "
            "demo extra with the in-process one (uv sync --extra demo)"
        ) from None

    port = free_port()
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    log.info("embedded broker: amqtt on 127.0.0.1:%d (mosquitto is not installed)", port)
    try:
        yield "127.0.0.1", port
    finally:
        await broker.shutdown()
