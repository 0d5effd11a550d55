"""A real Home Assistant Core for the discovery scenario: installed once into its own virtual
environment (cached under ``~/.cache/community-gateway``), started on a scratch configuration,
onboarded and given the MQTT integration through its HTTP API, as a user's browser would."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.demo.broker import free_port

__all__ = ["HomeAssistant", "running_home_assistant"]

VERSION = "2024.3.3"  # the newest release that runs on Python 3.11
#: Its pins that the resolver does not find by itself (acme needs josepy 1; its MQTT
#: integration pins paho-mqtt 1.6.1), what the integrations onboarding sets up need
#: (Google Translate's voice, Met.no's weather, the radio browser, ffmpeg's wrapper), and pip
#: for whatever else it installs itself.
REQUIREMENTS = [
    f"homeassistant=={VERSION}", "paho-mqtt==1.6.1", "josepy<2", "mutagen", "gTTS==2.2.4",
    "pyMetno==0.11.0", "radios==0.3.1", "ha-ffmpeg==3.2.0", "pip",
]  # fmt: skip
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "community-gateway"
ROOT = Path(__file__).resolve().parents[1]


def installed() -> Path:
    """The virtual environment's ``hass`` (made the first time: a few minutes; a marker says
    the install finished, so an interrupted one is made again)."""
    digest = hashlib.sha256(" ".join(REQUIREMENTS).encode()).hexdigest()[:8]
    venv = CACHE / f"homeassistant-{VERSION}-{digest}"
    hass, done = venv / "bin" / "hass", venv / ".complete"
    if done.exists():
        return hass
    uv = shutil.which("uv") or str(ROOT / ".ci" / "uv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *REQUIREMENTS],
        check=True,
    )
    done.touch()
    return hass


class HomeAssistant:
    """A running Home Assistant and an owner's access token."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return _call(self.base, path, data, self.token)

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.call("/api/states")}


def _call(
    base: str, path: str, data: dict[str, Any] | None = None, token: str | None = None,
    form: bool = False,
) -> Any:  # fmt: skip
    headers: dict[str, str] = {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(base + path, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


@contextlib.contextmanager
def running_home_assistant(folder: Path, broker_port: int) -> Iterator[HomeAssistant]:
    """Home Assistant on a free port with the MQTT integration on ``broker_port``."""
    hass = installed()
    port = free_port()
    config = folder / "homeassistant"
    (config / ".storage").mkdir(parents=True)
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: complex\n  unit_system: metric\n  time_zone: UTC\n"
        "  latitude: 0\n  longitude: 0\n  elevation: 0\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        "api:\nauth:\nconfig:\nonboarding:\n"
    )
    log = (folder / "homeassistant.log").open("wb")
    process = subprocess.Popen([str(hass), "-c", str(config)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # its first start installs its own integrations
        while True:
            try:
                urllib.request.urlopen(base + "/api/", timeout=5)
            except urllib.error.HTTPError as answer:
                if answer.code == 401:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("Home Assistant did not start: see homeassistant.log")
            time.sleep(1)
        # Onboarding, step by step: the owner, the home, analytics, the first integrations.
        client = base + "/"
        owner = _call(base, "/api/onboarding/users", {
            "client_id": client, "name": "Owner", "username": "owner",
            "password": "owner-password-1", "language": "en",
        })  # fmt: skip
        token = _call(base, "/auth/token", {
            "grant_type": "authorization_code", "code": owner["auth_code"], "client_id": client,
        }, form=True)["access_token"]  # fmt: skip
        home = HomeAssistant(port, token)
        home.call("/api/onboarding/core_config", {})
        home.call("/api/onboarding/analytics", {})
        home.call("/api/onboarding/integration", {"client_id": client, "redirect_uri": client})
        assert all(step["done"] for step in home.call("/api/onboarding"))
        flow = home.call("/api/config/config_entries/flow", {"handler": "mqtt"})
        added = home.call(
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"broker": "127.0.0.1", "port": broker_port},
        )
        assert added["type"] == "create_entry", added
        yield home
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
