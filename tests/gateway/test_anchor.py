"""The audit log's checkpoints: signed by the gateway, checked against the local chain."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from gateway.anchor import Checkpoint, Checkpointer, GatewayKey, compare
from gateway.audit import AuditLog
from gateway.db import Database
from gateway.errors import StorageError


def test_the_gateway_key_signs_and_only_its_signature_verifies(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no gateway key"):
        GatewayKey(tmp_path / "gateway.key", create=False)
    key = GatewayKey(tmp_path / "gateway.key")
    assert stat.S_IMODE(os.stat(key.path).st_mode) == 0o600
    assert GatewayKey(key.path, create=False).public == key.public  # the same key, read back
    blank = Checkpoint("cg/v1/s/g", 3, "a" * 64, "2026-12-01T10:00:00Z")
    signed = Checkpoint(blank.gateway, 3, blank.hash, blank.ts, key.sign(blank.signed_bytes()))
    assert signed.verify(key.public)
    assert not Checkpoint(blank.gateway, 4, blank.hash, blank.ts, signed.sig).verify(key.public)
    assert not signed.verify(GatewayKey(tmp_path / "other.key").public)
    assert not signed.verify("not base64 at all!")
    assert Checkpoint.parse(json.dumps(signed.as_dict()).encode()) == signed


@pytest.mark.parametrize(
    "payload",
    [b"", b"[]", b'{"seq": 1}', b'{"gateway": "g", "seq": "x", "hash": "", "ts": "", "sig": ""}',
     b'{"gateway": "g", "seq": -1, "hash": "' + b"a" * 64 + b'", "ts": "", "sig": ""}',
     b'{"gateway": "g", "seq": 1, "hash": "short", "ts": "", "sig": ""}', b"\xff\xfe"],
)  # fmt: skip
def test_a_hostile_checkpoint_is_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        Checkpoint.parse(payload)


def test_the_local_chain_against_the_checkpoint(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    audit = AuditLog(db)
    for n in range(4):
        audit.append("door:gate", "access_granted", f"R{n}")
    rows = audit.rows()
    local = audit.check(rows)
    at_3 = Checkpoint("g", 3, rows[2][7], "t")
    assert compare(rows, local, at_3) is None
    assert compare(rows, local, Checkpoint("g", 0, "0" * 64, "t")) is None
    rewritten = compare(rows, local, Checkpoint("g", 3, "b" * 64, "t"))
    assert rewritten is not None and "entry 3 is not the one the gateway signed" in rewritten
    cut = compare(rows[:2], audit.check(rows[:2]), at_3)
    assert cut is not None and "entries were cut off" in cut


async def test_a_grant_is_checkpointed_at_once_other_entries_at_the_period(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "g.sqlite3")
    audit = AuditLog(db)
    key = GatewayKey(tmp_path / "gateway.key")
    sent: list[Checkpoint] = []

    async def send(checkpoint: Checkpoint) -> None:
        sent.append(checkpoint)

    checkpointer = Checkpointer(db, key, "cg/v1/s/g", send, lambda: "t", period_s=3600)
    checkpointer.POLL_S = 0.01
    task = asyncio.create_task(checkpointer.run())
    try:
        while not sent:
            await asyncio.sleep(0.01)
        assert (sent[0].seq, sent[0].hash) == (0, "0" * 64)  # at start
        audit.append("console:ann", "login", "ann")
        await asyncio.sleep(0.1)
        assert len(sent) == 1  # a login waits for the period
        granted = audit.append("door:gate", "access_granted", "R1")
        while len(sent) < 2:
            await asyncio.sleep(0.01)
        assert (sent[1].seq, sent[1].hash) == (granted.seq, granted.hash)
        assert sent[1].verify(key.public)
    finally:
        task.cancel()
