"""The console of ``gateway run``: served over HTTPS with Secure cookies to an account made
with ``gateway users add``, and a console that cannot listen leaves the devices running."""

from __future__ import annotations

import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from gateway.demo.broker import MosquittoBroker, free_port
from gateway.pki import SiteAuthority
from hil_tests.harness import GatewayProcess, Upstream, gateway_config


def _console_config(tmp_path: Path, broker_port: int, web: str) -> Path:
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", broker_port) + f"\n[web]\n{web}\n")
    return config


def _add_user(config: Path, name: str, password: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", "users", "add", name, "--config", str(config),
         "--role", "manager", "--password-stdin"],
        input=password + "\n", text=True, check=True, capture_output=True,
    )  # fmt: skip


def _wait_for_console(client: httpx2.Client, process: GatewayProcess) -> httpx2.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return client.get("/login")
        except httpx2.TransportError:
            if time.monotonic() > deadline or not process.alive:
                raise AssertionError("the console never answered:\n" + process.log()) from None
            time.sleep(0.3)


def test_gateway_run_serves_the_console_over_https_with_secure_cookies(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    authority = SiteAuthority(tmp_path / "pki", "test-ca")
    server = authority.issue("console", server=True)
    port = free_port()
    web = (
        f'enabled = true\nhost = "127.0.0.1"\nport = {port}\n'
        f'tls_cert = "{server.cert_file}"\ntls_key = "{server.key_file}"'
    )
    config = _console_config(tmp_path, broker.port, web)
    _add_user(config, "alice", "alice-manager-pw")
    process = GatewayProcess(config)
    process.start()
    tls = ssl.create_default_context(cafile=str(authority.ca_file))
    try:
        with httpx2.Client(base_url=f"https://127.0.0.1:{port}", verify=tls) as client:
            form = _wait_for_console(client, process)
            assert "Secure" in form.headers["set-cookie"]
            token = re.search(r'name="csrf" value="([^"]*)"', form.text)
            assert token is not None
            login = client.post(
                "/login",
                data={"csrf": token.group(1), "name": "alice", "password": "alice-manager-pw"},
            )
            assert login.status_code == 303
            cookie = login.headers["set-cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
            deadline = time.monotonic() + 30
            while 'data-device="gateway"' not in (page := client.get("/").text):
                assert time.monotonic() < deadline, page
                time.sleep(0.5)
        # Plain HTTP to the HTTPS port gets nothing.
        with pytest.raises(httpx2.TransportError):
            httpx2.get(f"http://127.0.0.1:{port}/login", timeout=3)
    finally:
        assert process.signal(signal.SIGTERM) == 0, process.log()


async def test_a_console_that_cannot_listen_leaves_the_devices_running(
    tmp_path: Path, broker: MosquittoBroker, upstream: Upstream
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = _console_config(
        tmp_path, broker.port, f'enabled = true\nhost = "127.0.0.1"\nport = {port}'
    )
    process = GatewayProcess(config)
    process.start()
    try:
        await upstream.wait_for(lambda: len(upstream.envelopes("telemetry")) >= 3, timeout=60)
        assert process.alive
        log = process.log()
        assert f"the console cannot listen on 127.0.0.1:{port}" in log
        assert "the console has no accounts yet: `gateway users add NAME" in log
    finally:
        taken.close()
        assert process.signal(signal.SIGTERM) == 0, process.log()
