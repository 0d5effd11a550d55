"""A console on a real gateway (the demo's devices, simulated, not running) and a browser-like
client; accounts ``alice`` (manager) and ``ivan`` (installer)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import Gateway
from gateway.config import load_config
from gateway.messages import isoformat
from gateway.web import Console
from vision.enrollment import Recognizer

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo.toml"
PASSWORDS = {"alice": "alice-manager-pw", "ivan": "ivan-installer-pw"}


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    return Recognizer()


def make_gateway(data_dir: Path, recognizer: Recognizer | None = None) -> Gateway:
    config = load_config(DEMO)
    config.data_dir = data_dir
    config.web.max_upload_mb = 1
    gateway = Gateway(config)
    gateway._local_recognizer = recognizer  # the models load once for the whole session
    return gateway


@pytest.fixture
def gateway(tmp_path: Path, recognizer: Recognizer) -> Iterator[Gateway]:
    made = make_gateway(tmp_path / "data", recognizer)
    yield made
    made.close()


@pytest.fixture
def console(gateway: Gateway) -> Console:
    made = Console(gateway, gateway.config.web)
    made.users.add("alice", "manager", PASSWORDS["alice"])
    made.users.add("ivan", "installer", PASSWORDS["ivan"])
    return made


@pytest.fixture
def client(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, base_url="http://console.test") as made:
        yield made


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def log_in(client: TestClient, name: str = "alice", password: str | None = None) -> str:
    """Log in as ``name``; the session's CSRF token."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf": csrf_of(form.text),
            "name": name,
            "password": password or PASSWORDS[name],
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def publish(
    gateway: Gateway, device: str, kind: str, type_: str, minutes_ago: float, **data: object
) -> None:
    ts = isoformat(gateway.clock.now() - timedelta(minutes=minutes_ago))
    gateway.history.add(device, kind, type_, ts, dict(data))


def photo(faces: Path, person: str, n: int) -> bytes:
    return (faces / "people" / person / f"{n:02d}.jpg").read_bytes()


def enroll(client: TestClient, csrf: str, files: list[tuple[str, bytes]], **fields: str) -> Any:
    data = {"csrf": csrf, "resident_id": "A-12-kim", "name": "Kim", "unit": "A-12"}
    data |= {"consent": "on"} | fields
    upload = [("photos", (name, body, "image/jpeg")) for name, body in files]
    return client.post("/residents/new", data=data, files=upload or None)
