"""The payloads of the MQTT contract: envelopes going up, commands and replies.

Every uplink payload is an :class:`Envelope` serialised as compact JSON whose last key is
``historical``, so that a message sent from the backlog can be marked without parsing it
again (:func:`mark_historical`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Command",
    "Envelope",
    "MessageType",
    "Priority",
    "Reply",
    "ReplyError",
    "Severity",
    "isoformat",
    "mark_historical",
    "new_ulid",
    "redacted",
    "render_envelope",
]

#: The gateway's own secret keys; each device kind adds its own
#: (:func:`gateway.plugins.secret_fields`). Sent upstream where the contract says so, never
#: logged or shown.
SECRET_KEYS = frozenset({"password", "pin", "key", "keys"})


def redacted(data: Mapping[str, Any], secrets: frozenset[str] = SECRET_KEYS) -> dict[str, Any]:
    """``data`` fit for a log line: the values of ``secrets`` replaced by ``***``."""
    return {k: "***" if k in secrets else v for k, v in data.items()}


MessageType = Literal["telemetry", "event", "state"]
Severity = Literal["info", "warning", "critical"]


class Priority(IntEnum):
    """How a message waits in the outbox: lower is more important. CRITICAL and REPLY are
    never dropped."""

    CRITICAL = 0
    REPLY = 1
    EVENT = 2
    STATE = 3
    TELEMETRY = 4


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HISTORICAL_FALSE = b'"historical":false}'
_HISTORICAL_TRUE = b'"historical":true}'


_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits → two characters
#: ``json.dumps`` with these options builds an encoder per call; an envelope is rendered for
#: every reading.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds and 80 random bits, Crockford base32, sortable."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def isoformat(ts: datetime) -> str:
    """``2026-11-22T10:15:00.123Z``: UTC, milliseconds, ``Z``."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    return ts.isoformat(timespec="milliseconds")[:-6] + "Z"


def render_envelope(
    msg_id: str, seq: int, ts: str, device: str, kind: str, type_: str, data: dict[str, Any]
) -> bytes:
    """An envelope's JSON, compact, with ``historical`` (false) last: the hot path of every
    published reading, without building an :class:`Envelope`."""
    body = {
        "v": 1,
        "msg_id": msg_id,
        "seq": seq,
        "ts": ts,
        "device": device,
        "kind": kind,
        "type": type_,
        "data": data,
        "historical": False,
    }
    return _COMPACT.encode(body).encode()


class Envelope(BaseModel):
    """One uplink message of a device (telemetry, event or state)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    v: Literal[1] = 1
    msg_id: str
    seq: int = Field(ge=0)
    ts: str
    device: str
    kind: str
    type: MessageType
    data: dict[str, Any]
    historical: bool = False

    def to_bytes(self) -> bytes:
        """Compact JSON with ``historical`` last (see :func:`mark_historical`)."""
        raw = render_envelope(
            self.msg_id, self.seq, self.ts, self.device, self.kind, self.type, self.data
        )
        return mark_historical(raw) if self.historical else raw


def mark_historical(payload: bytes) -> bytes:
    """Turn an envelope's ``"historical":false`` into ``true``; other payloads are unchanged."""
    if payload.endswith(_HISTORICAL_FALSE):
        return payload[: -len(_HISTORICAL_FALSE)] + _HISTORICAL_TRUE
    return payload


class Command(BaseModel):
    """A command received on ``…/cmd/{device}/{command}``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    args: dict[str, Any] = Field(default_factory=dict)
    expires: datetime | None = None
    sig: str | None = None


class ReplyError(BaseModel):
    """Why a command failed."""

    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    field: str | None = None


class Reply(BaseModel):
    """The answer to a command, published on ``…/reply/{id}``."""

    model_config = ConfigDict(defer_build=True)

    id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: ReplyError | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()
