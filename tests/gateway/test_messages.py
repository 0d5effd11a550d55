"""Envelopes, ULIDs and timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gateway.messages import Envelope, Reply, ReplyError, isoformat, mark_historical, new_ulid


def test_ulids_are_unique_and_sort_by_time() -> None:
    ids = [new_ulid(1_000 + i) for i in range(1000)]
    assert len(set(ids)) == 1000 and ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


def test_isoformat_is_utc_with_milliseconds() -> None:
    ts = datetime(2026, 11, 22, 10, 15, 0, 123456, tzinfo=UTC)
    assert isoformat(ts) == "2026-11-22T10:15:00.123Z"


def test_envelope_json_ends_with_historical_and_can_be_marked() -> None:
    env = Envelope(
        msg_id="m",
        seq=4711,
        ts="2026-11-22T10:15:00.123Z",
        device="bin-3",
        kind="bin",
        type="telemetry",
        data={"fill_percent": 42, "note": "}"},
    )
    raw = env.to_bytes()
    assert json.loads(raw) == {**env.model_dump(), "historical": False}
    marked = json.loads(mark_historical(raw))
    assert marked["historical"] is True and marked["data"] == env.data
    reply = Reply(id="r", ok=False, error=ReplyError(code="malformed", message="x"))
    assert mark_historical(reply.to_bytes()) == reply.to_bytes()
