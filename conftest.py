"""Fixtures shared by ``tests/`` and ``hil_tests/``: a real Mosquitto on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import MosquittoBroker, find_mosquitto

FACES = Path(__file__).resolve().parent.parent / "shared" / "faces"


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A fresh Mosquitto on 127.0.0.1; stop() and start() it to cut the uplink."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the README's test command installs it")
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def faces() -> Path:
    """The shared face photographs (../shared/faces)."""
    if not FACES.is_dir():
        pytest.skip(f"the face photographs are not at {FACES} (see the README)")
    return FACES
