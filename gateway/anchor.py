"""The audit log anchored upstream: checkpoints of its head, signed with the gateway's key.

The hash chain (:mod:`gateway.audit`) catches an edited entry unless whoever edited it also
recomputed every later hash and the head file, which anyone who can write the database can
do. So the gateway signs ``{seq, hash}`` of the newest entry with its own Ed25519 key
(``gateway.key`` beside the database, made at first start; the public half is in the birth
message as ``audit_key``) and sends it upstream: after every grant and removal, and at least
every ``[audit] checkpoint_period_s``, as a retained message on ``{root}/audit`` and as the
critical event ``audit_checkpoint``. Upstream keeps what it received; ``gateway audit verify
--upstream`` reads the last checkpoint back from the broker and checks that the local chain
still holds that entry with that hash.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit import Verification
from gateway.db import Database
from gateway.errors import StorageError
from gateway.keyfile import read_or_create_key

__all__ = ["ANCHORING_ACTIONS", "Checkpoint", "Checkpointer", "GatewayKey", "compare"]

log = logging.getLogger(__name__)

#: Entries after which a checkpoint goes upstream at once (who got in, who was erased).
ANCHORING_ACTIONS = ("access_granted", "removed")


class GatewayKey:
    """The gateway's own signing key (``gateway.key``: a 32-byte Ed25519 seed, mode 0600)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Read the key (made at first use with ``create``; else a missing one is a
        :class:`StorageError`)."""
        self.path = path
        if not create and not path.exists():
            raise StorageError(f"no gateway key at {path}: has this gateway run yet?")
        self._private = Ed25519PrivateKey.from_private_bytes(read_or_create_key(path))

    @property
    def public(self) -> str:
        """The public key, base64 (the birth message's ``audit_key``)."""
        raw = self._private.public_key().public_bytes_raw()
        return base64.b64encode(raw).decode()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private.sign(message)).decode()


@dataclass(frozen=True)
class Checkpoint:
    """The newest audit entry as the gateway vouched for it at ``ts``."""

    gateway: str  # the topic root: prefix/site/gateway
    seq: int
    hash: str
    ts: str
    sig: str = ""

    def signed_bytes(self) -> bytes:
        return json.dumps(
            [self.gateway, self.seq, self.hash, self.ts], separators=(",", ":")
        ).encode()

    def as_dict(self) -> dict[str, Any]:
        return {"gateway": self.gateway, "seq": self.seq, "hash": self.hash, "ts": self.ts,
                "sig": self.sig}  # fmt: skip

    @classmethod
    def parse(cls, payload: bytes) -> Checkpoint:
        """A checkpoint read from the broker (outside input: every field checked)."""
        try:
            body = json.loads(payload)
            found = cls(
                str(body["gateway"]), int(body["seq"]), str(body["hash"]), str(body["ts"]),
                str(body["sig"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"not an audit checkpoint: {err}") from None
        if found.seq < 0 or len(found.hash) != 64:
            raise ValueError("not an audit checkpoint: seq or hash out of shape")
        return found

    def verify(self, public_key: str) -> bool:
        """Whether ``sig`` is the gateway's (``public_key`` from its birth message)."""
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
            key.verify(base64.b64decode(self.sig), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True


def compare(rows: list[tuple[Any, ...]], local: Verification, checkpoint: Checkpoint) -> str | None:
    """What the local chain (``rows`` of :meth:`AuditLog.rows`, checked as ``local``) says
    against upstream's last checkpoint; ``None`` when it agrees."""
    if not local.ok:
        return f"the local chain is broken at entry {local.seq}: {local.problem}"
    if checkpoint.seq == 0:
        return None
    if local.entries < checkpoint.seq:
        return (
            f"the log ends at entry {local.entries} but upstream holds a checkpoint of entry "
            f"{checkpoint.seq} signed at {checkpoint.ts}: entries were cut off the end"
        )
    stored = rows[checkpoint.seq - 1]
    if stored[7] != checkpoint.hash:
        return (
            f"entry {checkpoint.seq} is not the one the gateway signed at {checkpoint.ts}: "
            "the log was rewritten (its hashes and head recomputed)"
        )
    return None


class Checkpointer:
    """Sends a checkpoint after each anchoring entry and every ``period_s``."""

    #: How often the log is looked at (entries come from the doors and from the CLI).
    POLL_S = 1.0

    def __init__(
        self,
        db: Database,
        key: GatewayKey,
        gateway: str,
        send: Callable[[Checkpoint], Awaitable[None]],
        now: Callable[[], str],
        *,
        period_s: float = 600.0,
    ) -> None:
        self._db, self._key, self._gateway, self._send, self._now = db, key, gateway, send, now
        self.period_s = period_s
        self.sent: Checkpoint | None = None

    def _head(self) -> tuple[int, str]:
        row = self._db.conn.execute(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, "0" * 64)

    def _anchoring_since(self, seq: int) -> bool:
        marks = ",".join("?" * len(ANCHORING_ACTIONS))
        row = self._db.conn.execute(
            f"SELECT 1 FROM audit WHERE seq > ? AND action IN ({marks}) LIMIT 1",
            (seq, *ANCHORING_ACTIONS),
        ).fetchone()
        return row is not None

    def make(self) -> Checkpoint:
        seq, digest = self._head()
        unsigned = Checkpoint(self._gateway, seq, digest, self._now())
        return Checkpoint(
            unsigned.gateway, seq, digest, unsigned.ts, self._key.sign(unsigned.signed_bytes())
        )

    async def run(self) -> None:
        last_at = -float("inf")
        while True:
            seq, _ = self._head()
            due = time.monotonic() - last_at >= self.period_s
            sent_seq = self.sent.seq if self.sent is not None else 0
            if due or (seq > sent_seq and self._anchoring_since(sent_seq)):
                checkpoint = self.make()
                await self._send(checkpoint)
                self.sent, last_at = checkpoint, time.monotonic()
            await asyncio.sleep(self.POLL_S)
