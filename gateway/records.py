"""Records a device kind keeps in the gateway's database (a locker bank's deliveries), and
how people may see them: the CLI and the console show a kind's :class:`RecordSet` without
knowing the kind, and never its hidden fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a kind names its records at import: no database opened, no sqlite3
    from gateway.db import Database, Record

__all__ = ["RecordSet", "field", "find", "listed"]


@dataclass(frozen=True)
class RecordSet:
    """One collection of records as a kind describes it to the console and the CLI."""

    #: The database collection.
    collection: str
    #: What people call them (``Deliveries``), and one of them (``delivery``).
    title: str
    noun: str
    #: Statuses a list can be filtered by.
    statuses: tuple[str, ...]
    #: A list's columns: heading → key (a dotted key reaches into a nested object).
    columns: tuple[tuple[str, str], ...]
    #: Fields stored but never shown (secrets, and their hashes).
    hidden: frozenset[str] = frozenset()
    #: A nested object shown as its own table on a record's page (``temperature``).
    detail: str | None = None
    #: A dotted key whose truth marks a row as a problem (``temperature.excursions``).
    flag: str | None = None

    @property
    def path(self) -> str:
        """Its place in the console (``/deliveries``) and the CLI (``gateway deliveries``)."""
        return self.title.lower().replace(" ", "-")


def field(row: dict[str, Any], key: str) -> Any:
    """``row``'s value at a dotted ``key`` (``None`` where it is missing)."""
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _shown(records: RecordSet, record: Record) -> dict[str, Any]:
    body = {k: v for k, v in record.body.items() if k not in records.hidden}
    return {
        "id": record.id,
        "device": record.device,
        **body,
        "status": record.status,
        "updated": record.updated,
    }


def listed(
    db: Database, records: RecordSet, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The records, newest first, without their hidden fields."""
    return [_shown(records, r) for r in db.records(records.collection, status=status, limit=limit)]


def find(db: Database, records: RecordSet, id_: str) -> dict[str, Any] | None:
    """One record without its hidden fields, or ``None``."""
    found = db.record(records.collection, id_)
    return None if found is None else _shown(records, found)
