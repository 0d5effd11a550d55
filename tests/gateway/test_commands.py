"""Commands: authentication, validation, replay, and no payload can crash the router."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from gateway.commands import CommandRouter, sign_command
from gateway.db import Database
from gateway.devices import DeviceConfig, Driver, command
from gateway.errors import CommandRejected
from gateway.messages import Reply
from gateway.outbox import Outbox
from gateway.settings import CommandSettings, Operator
from gateway.topics import Topics

T = Topics("cg/v1", "park", "gw")
KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


class ValveArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    open: bool
    seconds: float = Field(default=1.0, gt=0, le=60)


class Valve(Driver):
    """A tiny real driver: records what it was told."""

    kind = "valve"
    config_model = DeviceConfig

    def __init__(self) -> None:  # no context needed to handle commands
        self.calls: list[ValveArgs] = []

    async def run(self) -> None:
        return None

    @command(args=ValveArgs, actuating=True)
    async def set(self, args: ValveArgs) -> dict[str, Any]:
        if args.seconds > 30:
            raise CommandRejected("refused", "longer than the valve allows", "args.seconds")
        self.calls.append(args)
        return {"open": args.open}

    @command(args=ValveArgs, actuating=True, max_valid_s=60)
    async def door(self, args: ValveArgs) -> dict[str, Any]:
        return {"open": args.open}

    @command()
    async def status(self, args: BaseModel) -> dict[str, Any]:
        return {"calls": len(self.calls)}

    @command()
    async def broken(self, args: BaseModel) -> dict[str, Any]:
        raise ZeroDivisionError


class Ticks:
    """The router's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_router(
    db_path: Path, rate: float = 1e9, clock: Ticks | None = None
) -> tuple[CommandRouter, Valve, Outbox]:
    db = Database(db_path)
    outbox = Outbox(db)
    router = CommandRouter(
        T,
        outbox,
        db,
        CommandSettings(
            operators=[Operator(name="ops", public_key=PUBLIC)],
            max_payload_bytes=1024,
            rate_per_s=rate,
        ),
        monotonic=clock or time.monotonic,
    )
    valve = Valve()
    router.register("valve-1", valve)
    return router, valve, outbox


@pytest.fixture
def router(tmp_path: Path) -> tuple[CommandRouter, Valve, Outbox]:
    return make_router(tmp_path / "g.sqlite3")


def signed(name: str, cid: str, args: dict[str, Any], **kw: Any) -> bytes:
    return json.dumps(sign_command(KEY, T.command("valve-1", name), cid, args, **kw)).encode()


async def send(router: CommandRouter, name: str, payload: bytes, device: str = "valve-1") -> Reply:
    return await router.handle(T.command(device, name), payload)


async def test_signed_command_runs_and_reply_is_stored(router: Any) -> None:
    r, valve, outbox = router
    reply = await send(r, "set", signed("set", "c1", {"open": True}))
    assert reply == Reply(id="c1", ok=True, result={"open": True})
    assert valve.calls == [ValveArgs(open=True)]
    stored = outbox.fetch(0, 10)
    assert stored[-1].topic == T.reply("c1")
    assert json.loads(stored[-1].payload) == {"id": "c1", "ok": True, "result": {"open": True}}


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (b"", "malformed", None),
        (b"[1, 2]", "malformed", None),
        (b'{"id": "x"', "malformed", None),
        (b'{"args": {}}', "malformed", "id"),
        (b'{"id": "a/b"}', "malformed", "id"),
        (b'{"id": "x", "args": [], "extra": 1}', "malformed", "args"),
        (b'{"id": "x", "args": {"open": true}}', "unauthenticated", "sig"),
        (b"x" * 2000, "malformed", None),
    ],
)
async def test_bad_payloads_get_error_replies(
    router: Any, payload: bytes, code: str, field: str | None
) -> None:
    r, valve, _ = router
    reply = await send(r, "set", payload)
    assert reply.ok is False and reply.error is not None
    assert (reply.error.code, reply.error.field) == (code, field)
    assert valve.calls == []


async def test_expired_forged_and_far_future_commands_are_refused(router: Any) -> None:
    r, valve, _ = router
    past = datetime.now(UTC) - timedelta(minutes=5)
    assert (
        await send(r, "set", signed("set", "c1", {"open": True}, now=past))
    ).error.code == "expired"  # type: ignore[union-attr]
    body = json.loads(signed("set", "c2", {"open": True}))
    body["args"]["open"] = False  # tampered after signing
    reply = await send(r, "set", json.dumps(body).encode())
    assert reply.error is not None and reply.error.code == "unauthenticated"
    other = Ed25519PrivateKey.generate()
    foreign = sign_command(other, T.command("valve-1", "set"), "c3", {"open": True})
    reply = await send(r, "set", json.dumps(foreign).encode())
    assert reply.error is not None and reply.error.message.startswith("signature matches no")
    reply = await send(r, "set", signed("set", "c4", {"open": True}, ttl_s=86_400))
    assert reply.error is not None and reply.error.field == "expires"
    # A signature for one device does not open another.
    reply = await r.handle(T.command("valve-2", "set"), signed("set", "c5", {"open": True}))
    assert reply.error is not None and reply.error.code == "unknown_device"
    assert valve.calls == []


async def test_replay_is_refused_even_after_a_restart(tmp_path: Path) -> None:
    r, valve, _ = make_router(tmp_path / "g.sqlite3")
    payload = signed("set", "c1", {"open": True})
    assert (await send(r, "set", payload)).ok
    assert (await send(r, "set", payload)).error.code == "replayed"  # type: ignore[union-attr]
    restarted, valve2, _ = make_router(tmp_path / "g.sqlite3")
    assert (await send(restarted, "set", payload)).error.code == "replayed"  # type: ignore[union-attr]
    assert len(valve.calls) == 1 and valve2.calls == []


async def test_validation_names_the_field_and_handlers_may_refuse(router: Any) -> None:
    r, _, _ = router
    reply = await send(r, "set", signed("set", "c1", {"open": "maybe"}))
    assert reply.error is not None
    assert (reply.error.code, reply.error.field) == ("invalid_args", "args.open")
    reply = await send(r, "set", signed("set", "c2", {"open": True, "seconds": 45}))
    assert reply.error is not None
    assert (reply.error.code, reply.error.field) == ("refused", "args.seconds")
    reply = await send(r, "nope", b'{"id": "c3"}')
    assert reply.error is not None and reply.error.code == "unknown_command"
    assert "allowed: broken, door, set, status" in reply.error.message
    reply = await send(r, "broken", b'{"id": "c4"}')
    assert reply.error is not None and reply.error.code == "internal"
    assert (await send(r, "status", b'{"id": "c5"}')).result == {"calls": 0}


@settings(
    max_examples=2000, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "id": st.text(max_size=10),
                "args": st.dictionaries(
                    st.sampled_from(["open", "seconds", "x"]), st.integers() | st.text(max_size=5)
                ),
                "sig": st.text(max_size=90),
                "expires": st.text(max_size=30),
            },
        ).map(lambda v: json.dumps(v).encode()),
        # Valid JSON that is still hostile: lone surrogates, huge numbers, deep nesting.
        st.dictionaries(
            st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2),
            st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=4),
            min_size=1,
            max_size=3,
        ).map(lambda v: json.dumps({"id": "s", "args": v}).encode()),
        st.integers(4301, 6000).map(lambda n: b'{"id": "n", "args": {"seconds": %s}}' % (b"9" * n)),
        st.integers(33, 3000).map(lambda n: _nested(n)),
    ),
    name=st.sampled_from(["set", "status", "x"]),
)
async def test_no_payload_crashes_the_router_and_each_gets_one_reply(
    router: Any, payload: bytes, name: str
) -> None:
    r, valve, outbox = router
    before = outbox.last_id
    reply = await send(r, name, payload)
    assert isinstance(reply, Reply)
    assert outbox.last_id == before + 1
    if name == "set":
        assert not reply.ok and valve.calls == []


async def test_a_flood_is_dropped_per_device_without_stored_replies(tmp_path: Path) -> None:
    clock = Ticks()
    r, _, outbox = make_router(tmp_path / "g.sqlite3", rate=5.0, clock=clock)  # burst 30
    other = Valve()
    r.register("valve-2", other)
    replies = [await send(r, "status", b'{"id": "s%d"}' % n) for n in range(100)]
    limited = [x for x in replies if x.error is not None and x.error.code == "rate_limited"]
    assert len(limited) == 70 and r.limited == 70
    stored = len(outbox.fetch(0, 1000))
    assert stored == 30  # a dropped command costs no durable write
    assert (await send(r, "status", b'{"id": "t1"}', device="valve-2")).ok  # another device
    clock.now += 5.9  # at most 30 in any 6 s (5 a second): not yet
    assert not (await send(r, "status", b'{"id": "s-early"}')).ok
    clock.now += 0.2
    assert (await send(r, "status", b'{"id": "s-later"}')).ok


def _nested(depth: int) -> bytes:
    return b'{"id": "deep", "args": {"open": ' + b"[" * depth + b"]" * depth + b"}}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"id": "sur", "args": {"open": "\\ud800"}}', None),  # a lone surrogate
        (b'{"id": "sur2", "args": {"\\udfff": true}}', None),
        (b'{"id": "big", "args": {"seconds": ' + b"9" * 5000 + b"}}", None),
        (_nested(900), None),  # just under the recursion limit
        (_nested(50_000), None),
    ],
)
async def test_hostile_json_gets_an_error_reply_never_a_crash(
    tmp_path: Path, payload: bytes, field: str | None
) -> None:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    r = CommandRouter(T, outbox, db, CommandSettings(operators=[]), monotonic=time.monotonic)
    valve = Valve()
    r.register("valve-1", valve)
    before = outbox.last_id
    reply = await send(r, "status", payload)
    assert reply.ok is False and reply.error is not None
    assert reply.error.code == "malformed", reply.error
    assert outbox.last_id == before + 1  # the error reply is stored and sent
    json.loads(outbox.fetch(before, 1)[0].payload)  # and is itself valid JSON


async def test_a_flood_of_unsigned_or_forged_commands_cannot_crowd_out_a_signed_one(
    tmp_path: Path,
) -> None:
    clock = Ticks()
    r, valve, _ = make_router(tmp_path / "g.sqlite3", rate=5.0, clock=clock)  # burst 30
    stranger = Ed25519PrivateKey.generate()
    topic = T.command("valve-1", "set")
    for n in range(500):
        await send(r, "status", b'{"id": "u%d"}' % n)
        forged = sign_command(stranger, topic, f"f{n}", {"open": False})
        await send(r, "set", json.dumps(forged).encode())
    assert r.limited >= 900  # the flood was dropped ...
    reply = await send(r, "set", signed("set", "real-1", {"open": False}))
    assert reply.ok, reply  # ... and the operator's command still went through
    assert [c.open for c in valve.calls] == [False]
    # The operator's own budget is a budget too: no more than the burst at once.
    replies = [await send(r, "set", signed("set", f"again-{n}", {"open": True})) for n in range(40)]
    assert sum(x.ok for x in replies) == 29


async def test_a_door_command_may_be_valid_for_a_minute_at_most(router: Any) -> None:
    r, _, _ = router
    ok = await send(r, "door", signed("door", "d1", {"open": True}, ttl_s=59))
    assert ok.ok, ok
    late = await send(r, "door", signed("door", "d2", {"open": True}, ttl_s=600))
    assert late.error is not None and late.error.code == "unauthenticated"
    assert late.error.message == "expires more than 60 s ahead" and late.error.field == "expires"
    # Other commands keep the gateway's max_expiry_s (an hour).
    assert (await send(r, "set", signed("set", "s1", {"open": True}, ttl_s=600))).ok


async def test_a_clock_pushed_forward_then_back_does_not_open_the_way_to_a_replay(
    tmp_path: Path,
) -> None:
    wall = Ticks()
    wall.now = datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp()

    def router() -> tuple[CommandRouter, Valve]:
        db = Database(tmp_path / "g.sqlite3")
        made = CommandRouter(
            T, Outbox(db), db, CommandSettings(operators=[Operator(name="ops", public_key=PUBLIC)]),
            wall=wall,
        )  # fmt: skip
        valve = Valve()
        made.register("valve-1", valve)
        return made, valve

    r, valve = router()
    issued = datetime.fromtimestamp(wall.now, UTC)
    captured = json.dumps(
        sign_command(KEY, T.command("valve-1", "set"), "c1", {"open": True}, now=issued)
    ).encode()
    assert (await send(r, "set", captured)).ok
    # Someone pushes the clock two days ahead (unauthenticated NTP): the gateway reads it.
    wall.now += 2 * 86_400
    later = datetime.fromtimestamp(wall.now, UTC)
    fresh = sign_command(KEY, T.command("valve-1", "set"), "c2", {"open": False}, now=later)
    assert (await send(r, "set", json.dumps(fresh).encode())).ok
    # ... then back to the captured command's minute, and restarts the gateway: no replay.
    wall.now = issued.timestamp() + 5
    restarted, valve2 = router()
    replay = await send(restarted, "set", captured)
    assert replay.error is not None and replay.error.code == "expired", replay
    assert "was a clock set back?" in replay.error.message
    assert valve2.calls == [] and len(valve.calls) == 2


async def test_an_operator_key_signs_only_within_its_scope(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    doors = Ed25519PrivateKey.generate()
    doors_public = base64.b64encode(
        doors.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    scoped = Operator(name="doors", public_key=doors_public, commands=["door"], devices=["valve-1"])
    r = CommandRouter(T, outbox, db, CommandSettings(operators=[scoped]))
    valve, other = Valve(), Valve()
    r.register("valve-1", valve)
    r.register("valve-2", other)

    def by_doors(device: str, name: str, cid: str) -> bytes:
        return json.dumps(
            sign_command(doors, T.command(device, name), cid, {"open": True})
        ).encode()

    assert (await send(r, "door", by_doors("valve-1", "door", "d1"))).ok
    wrong_command = await send(r, "set", by_doors("valve-1", "set", "d2"))
    assert wrong_command.error is not None and wrong_command.error.code == "forbidden"
    assert wrong_command.error.message == "operator 'doors' may not send 'set' to 'valve-1'"
    wrong_device = await send(r, "door", by_doors("valve-2", "door", "d3"), device="valve-2")
    assert wrong_device.error is not None and wrong_device.error.code == "forbidden"
    assert valve.calls == [] and other.calls == []
