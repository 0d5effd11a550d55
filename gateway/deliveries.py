"""Deliveries as people may see them (the CLI and the console): never the code or its hash."""

from __future__ import annotations

from typing import Any

from gateway.db import Database, Record

__all__ = ["COLLECTION", "HIDDEN", "deliveries", "delivery", "shown"]

COLLECTION = "deliveries"

#: Stored with a delivery but never shown: the code's hash is a secret too.
HIDDEN = frozenset({"code_hash", "code_salt", "pending_code", "record"})


def shown(record: Record) -> dict[str, Any]:
    """A delivery record without its secrets."""
    body = {k: v for k, v in record.body.items() if k not in HIDDEN}
    return {
        "id": record.id,
        "device": record.device,
        **body,
        "status": record.status,
        "updated": record.updated,
    }


def deliveries(
    db: Database, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Deliveries, newest first."""
    return [shown(r) for r in db.records(COLLECTION, status=status, limit=limit)]


def delivery(db: Database, ref: str) -> dict[str, Any] | None:
    record = db.record(COLLECTION, ref)
    return None if record is None else shown(record)
