"""Fixtures shared by ``tests/`` and ``hil_tests/``: a real Mosquitto on a free port, and the
photographs the project carries (the simulated gate's, and the tests' own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.gate import PHOTOGRAPHS
from gateway.demo.broker import MosquittoBroker, find_mosquitto


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A fresh Mosquitto on 127.0.0.1; stop() and start() it to cut the uplink."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the README's test command installs it")
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def faces() -> Path:
    """The simulated gate's photographs: ``people/<Name>/NN.jpg``, ``objects/…``."""
    return PHOTOGRAPHS


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failed run: every test's parts are in the project."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # an xdist worker: the controller judges the whole run
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_sep(
            "=",
            f"{len(skipped)} test(s) skipped: nothing may skip here (a missing part is a failure)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
