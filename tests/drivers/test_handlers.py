"""Every command handler of every device kind, fed signed arguments of every shape.

The drivers are the real ones, built from ``config/gateway.example.toml`` on gpiozero's mock
pins and not running: whatever arrives, the router answers each command exactly once, and no
handler fails with an internal error (a handler that cannot act says why).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.clock import RealClock
from gateway.commands import CommandRouter, sign_command
from gateway.config import load_config
from gateway.db import Database
from gateway.devices import Driver, DriverContext
from gateway.outbox import Outbox
from gateway.plugins import driver_class
from gateway.settings import CommandSettings, Operator
from gateway.topics import Topics
from tests.gateway.helpers import MockHardware, StubRuntime

IDS = itertools.count()
Command = tuple[str, str, list[str]]
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "gateway.example.toml"
T = Topics("cg/v1", "park", "gw")
KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CommandRouter, Outbox, list[Command]]]:
    root = tmp_path_factory.mktemp("handlers")
    config = load_config(EXAMPLE)
    db = Database(root / "g.sqlite3")
    outbox = Outbox(db)
    hardware = MockHardware(root)
    router = CommandRouter(
        T,
        outbox,
        db,
        CommandSettings(operators=[Operator(name="ops", public_key=PUBLIC)], rate_per_s=1e9),
    )
    drivers: list[Driver] = []
    commands = []
    for device in config.devices:
        ctx = DriverContext(
            config=device,
            clock=RealClock(),
            hardware=hardware,
            outbox=outbox,
            topics=T,
            store=db.device_store(device.id),
            runtime=StubRuntime(),
            data_dir=root,
            database=db,
        )
        driver = driver_class(device.kind)(device, ctx)
        drivers.append(driver)
        router.register(device.id, driver)
        commands += [
            (device.id, name, [f.alias or n for n, f in spec.args.model_fields.items()])
            for name, spec in driver.command_specs().items()
        ]
    yield router, outbox, commands
    for driver in drivers:
        driver.close()
    outbox.close()
    hardware.close()


def test_every_kind_in_the_example_has_commands(
    setup: tuple[CommandRouter, Outbox, list[Command]],
) -> None:
    kinds = {device for device, _, _ in setup[2]}
    assert {"gateway", "bin-north-1", "water-1", "lockers-a", "gate-main"} <= kinds


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.lists(st.text(max_size=8), max_size=3),
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "size": st.sampled_from(["S", "M", "L", "XL", ""]),
    "class": st.sampled_from(["ambient", "chilled", "frozen", "hot"]),
    "delivery_ref": st.sampled_from(["D-1", "D-2", "bad ref", ""]),
    "code": st.from_regex(r"[0-9]{3,11}", fullmatch=True),
    "seconds": st.floats(-5, 120),
    "period_s": st.floats(-5, 100_000),
    "request_id": st.sampled_from(["r1", "nope"]),
    "resident_id": st.sampled_from(["R1", "R 2", ""]),
    "name": st.text(max_size=5),
    "unit": st.text(max_size=5),
    "photos": st.lists(st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
                       max_size=2),
    "consent_at": st.sampled_from(["2026-11-23T10:00:00Z", "yesterday"]),
}  # fmt: skip


@st.composite
def arguments(draw: st.DrawFn, fields: list[str]) -> dict[str, Any]:
    """Mostly the command's own fields (each present or not), sometimes one it does not have."""
    names = [f for f in fields if draw(st.sampled_from([True, True, True, True, False]))]
    if draw(st.sampled_from([False] * 9 + [True])):
        names.append(draw(st.sampled_from([*PLAUSIBLE, "x"])))
    return {
        name: draw(
            st.sampled_from([PLAUSIBLE[name]] * 3 + [VALUES]).flatmap(lambda v: v)
            if name in PLAUSIBLE
            else VALUES
        )
        for name in names
    }


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_every_handler_answers_every_signed_argument_once(
    setup: tuple[CommandRouter, Outbox, list[Command]], data: st.DataObject
) -> None:
    router, outbox, commands = setup
    device, name, fields = data.draw(st.sampled_from(commands))
    args = data.draw(arguments(fields))
    command_id = f"f{next(IDS)}"
    topic = T.command(device, name)
    payload = json.dumps(sign_command(KEY, topic, command_id, args)).encode()
    before = outbox.last_id
    reply = await router.handle(topic, payload)
    replies = [m for m in outbox.fetch(before, 100) if m.topic == T.reply(command_id)]
    assert len(replies) == 1  # exactly one reply, stored (a handler may also publish)
    event(f"{name}: {'ok' if reply.error is None else reply.error.code}")
    if reply.error is not None:
        assert reply.error.code != "internal", (device, name, args, reply.error)
