"""HIL fixtures: a gateway process on simulated hardware against the ``broker`` fixture."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gateway.demo.broker import MosquittoBroker
from hil_tests.gate import entry
from hil_tests.harness import GatewayProcess, Upstream, gateway_with, operator_key


@pytest.fixture
def key_pair() -> tuple[object, str]:
    return operator_key()


@pytest.fixture
def gateway(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[object, str]
) -> Iterator[GatewayProcess]:
    process = gateway_with(tmp_path, broker.port, key_pair[1])
    yield process
    process.close()


@pytest.fixture
def gate(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[object, str]
) -> Iterator[GatewayProcess]:
    """A gateway with the gate (``hil_tests/gate.py``), not started."""
    process = gateway_with(tmp_path, broker.port, key_pair[1], entry(), report_period_s=60)
    yield process
    process.close()


@pytest.fixture
async def upstream(broker: MosquittoBroker) -> AsyncIterator[Upstream]:
    async with Upstream(broker.port).running() as observer:
        yield observer
