"""The payloads of the MQTT contract: envelopes going up, commands and replies.

Every uplink payload is an :class:`Envelope` serialised as compact JSON whose last key is
``historical``, so that a message sent from the backlog can be marked without parsing it
again (:func:`mark_historical`).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Command",
    "Envelope",
    "MessageType",
    "Reply",
    "ReplyError",
    "Severity",
    "isoformat",
    "mark_historical",
    "new_ulid",
]

MessageType = Literal["telemetry", "event", "state"]
Severity = Literal["info", "warning", "critical"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HISTORICAL_FALSE = b'"historical":false}'
_HISTORICAL_TRUE = b'"historical":true}'


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds and 80 random bits, Crockford base32, sortable."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def isoformat(ts: datetime) -> str:
    """``2026-11-22T10:15:00.123Z``: UTC, milliseconds, ``Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class Envelope(BaseModel):
    """One uplink message of a device (telemetry, event or state)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
        body = self.model_dump(exclude={"historical"})
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        flag = "true" if self.historical else "false"
        return (text[:-1] + f',"historical":{flag}}}').encode()


def mark_historical(payload: bytes) -> bytes:
    """Turn an envelope's ``"historical":false`` into ``true``; other payloads are unchanged."""
    if payload.endswith(_HISTORICAL_FALSE):
        return payload[: -len(_HISTORICAL_FALSE)] + _HISTORICAL_TRUE
    return payload


class Command(BaseModel):
    """A command received on ``…/cmd/{device}/{command}``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    args: dict[str, Any] = Field(default_factory=dict)
    expires: datetime | None = None
    sig: str | None = None


class ReplyError(BaseModel):
    """Why a command failed."""

    code: str
    message: str
    field: str | None = None


class Reply(BaseModel):
    """The answer to a command, published on ``…/reply/{id}``."""

    id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: ReplyError | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()
