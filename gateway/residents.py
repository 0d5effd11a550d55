"""The residents the gate knows: who they are, their templates (encrypted), their status.

One implementation of enrollment and removal for the CLI, the signed commands and the
console. Templates are encrypted at rest with AES-GCM under a key file created with mode
0600 at first use (``templates.key`` beside the database), bound to the resident's id;
removal erases them (SQLite's ``secure_delete`` overwrites the freed pages). Photographs are
not kept unless ``[residents] keep_photos`` says so (then encrypted the same way, and erased
with the templates). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from gateway.audit import AuditLog
from gateway.db import Database
from gateway.errors import GatewayError, StorageError
from gateway.messages import isoformat
from gateway.photos import PhotoResult, TemplateMaker, assess
from gateway.sealing import Sealer
from gateway.topics import Topics
from vision.enrollment import Templates
from vision.faces import Image

__all__ = ["EnrollmentReport", "Resident", "ResidentError", "Residents"]

DIM = 128


class ResidentError(GatewayError):
    """A resident operation was refused (unknown id, no usable photo, bad dates, …)."""


@dataclass(frozen=True)
class Resident:
    id: str
    name: str
    unit: str
    status: str  # active | suspended
    enrolled_at: str
    consent_at: str
    valid_from: str | None
    valid_until: str | None
    welfare_check: bool
    last_seen: str | None
    templates: int
    #: Hours without a sign of life before the welfare check (``None``: the device's own).
    welfare_h: float | None = None

    def allowed_at(self, now: datetime) -> bool:
        if self.status != "active":
            return False
        if self.valid_from and datetime.fromisoformat(self.valid_from) > now:
            return False
        return not (self.valid_until and datetime.fromisoformat(self.valid_until) < now)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EnrollmentReport:
    resident: str
    photos: list[PhotoResult]

    @property
    def accepted(self) -> int:
        return sum(p.accepted for p in self.photos)


class Residents:
    """The residents table and their encrypted templates."""

    def __init__(
        self, db: Database, *, audit: AuditLog | None = None, keep_photos: bool = False
    ) -> None:
        self._db = db
        #: Keep the enrollment photographs (encrypted) as well as the templates.
        self.keep_photos = keep_photos
        self.audit = audit or AuditLog(db)
        self._sealer = Sealer(db.path.with_name("templates.key"))
        self.key_file = self._sealer.key_file

    def _seal(self, resident: str, n: int, templates: Templates) -> bytes:
        plain = np.concatenate([templates.sface, templates.dlib]).astype("<f4").tobytes()
        return self._sealer.seal(f"{resident}/{n}", plain)

    def _open(self, resident: str, n: int, blob: bytes) -> Templates:
        v = np.frombuffer(self._sealer.open(f"{resident}/{n}", blob), "<f4").astype(np.float32)
        return Templates(v[:DIM], v[DIM:])

    # -- reading -----------------------------------------------------------------------------

    def get(self, resident: str) -> Resident | None:
        rows = self._select("WHERE r.id = ?", (resident,))
        return rows[0] if rows else None

    def require(self, resident: str) -> Resident:
        found = self.get(resident)
        if found is None:
            raise ResidentError(f"no resident {resident!r}: `gateway residents list` shows them")
        return found

    def all(self, search: str | None = None) -> list[Resident]:
        if not search:
            return self._select("", ())
        like = f"%{search}%"
        return self._select("WHERE r.id LIKE ? OR r.name LIKE ? OR r.unit LIKE ?", (like,) * 3)

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Resident]:
        rows = self._db.conn.execute(
            "SELECT r.id, r.name, r.unit, r.status, r.enrolled_at, r.consent_at, r.valid_from, "
            "r.valid_until, r.welfare_check, r.last_seen, "
            "(SELECT COUNT(*) FROM templates t WHERE t.resident = r.id), r.welfare_h "
            f"FROM residents r {where} ORDER BY r.unit, r.name",
            params,
        )
        return [
            Resident(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10], r[11])
            for r in rows
        ]

    def templates(
        self,
        now: datetime | None = None,
        *,
        everyone: bool = False,
        unreadable: list[str] | None = None,
    ) -> dict[str, list[Templates]]:
        """The templates of every resident allowed in at ``now`` (``everyone``: suspended
        and out-of-date residents too, so that a door can say why it refuses them).

        A template that does not decrypt is a :class:`StorageError`; with ``unreadable``,
        its resident is left out instead (until enrolled again) and named in that list."""
        now = now or datetime.now(UTC)
        allowed = {r.id for r in self.all() if everyone or r.allowed_at(now)}
        found: dict[str, list[Templates]] = {}
        broken: set[str] = set()
        for resident, n, blob in self._db.conn.execute(
            "SELECT resident, n, blob FROM templates ORDER BY resident, n"
        ):
            if resident not in allowed or resident in broken:
                continue
            try:
                found.setdefault(resident, []).append(self._open(resident, n, blob))
            except StorageError:
                if unreadable is None:
                    raise
                broken.add(resident)
                found.pop(resident, None)
                unreadable.append(resident)
        return found

    def photos(self, resident: str) -> list[bytes]:
        """The kept enrollment photographs (only with :attr:`keep_photos`)."""
        rows = self._db.conn.execute(
            "SELECT n, blob FROM photos WHERE resident = ? ORDER BY n", (resident,)
        )
        return [self._sealer.open(f"photo:{resident}/{n}", blob) for n, blob in rows]

    @property
    def version(self) -> int:
        """Grows with every change (a running door reloads its gallery when it does)."""
        return int(self._db.get_meta("residents_version", "0") or 0)

    # -- changing ----------------------------------------------------------------------------

    def enroll(
        self,
        recognizer: TemplateMaker,
        resident: str,
        photos: Sequence[tuple[str, Image]],
        *,
        name: str,
        unit: str,
        actor: str,
        consent_at: datetime | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        welfare_check: bool = False,
        welfare_h: float | None = None,
        progress: Callable[[PhotoResult], None] | None = None,
        originals: Sequence[bytes] = (),
    ) -> EnrollmentReport:
        """Check each photo, keep the templates of the good ones (photos are not kept).

        A resident who exists already gets the new templates added. Refused when no photo
        is usable, naming each photo's problem.
        """
        _check(resident, name, unit, valid_from, valid_until)
        good, results = assess(recognizer, photos, progress)
        return self.add(
            resident,
            good,
            results,
            name=name,
            unit=unit,
            actor=actor,
            consent_at=consent_at,
            valid_from=valid_from,
            valid_until=valid_until,
            welfare_check=welfare_check,
            welfare_h=welfare_h,
            originals=originals,
        )

    def add(
        self,
        resident: str,
        good: Sequence[Templates],
        results: Sequence[PhotoResult],
        *,
        name: str,
        unit: str,
        actor: str,
        consent_at: datetime | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        welfare_check: bool = False,
        welfare_h: float | None = None,
        originals: Sequence[bytes] = (),
    ) -> EnrollmentReport:
        """Store the templates :func:`assess` kept (the second half of :meth:`enroll`), and
        with :attr:`keep_photos` the accepted photos' ``originals`` (file bytes, in the
        order of ``results``)."""
        _check(resident, name, unit, valid_from, valid_until)
        if welfare_h is not None and not 1 <= welfare_h <= 720:
            raise ResidentError(
                f"welfare hours {welfare_h}: between 1 and 720 (30 days); leave it out for "
                "the door's or the care point's own period"
            )
        report = EnrollmentReport(resident, list(results))
        if not good:
            reasons = "; ".join(f"{r.photo}: {r.reason}" for r in results) or "no photos"
            raise ResidentError(f"no usable photo for {resident} ({reasons})")
        now = datetime.now(UTC)
        with self._db.transaction() as conn:
            existing = conn.execute("SELECT 1 FROM residents WHERE id = ?", (resident,)).fetchone()
            conn.execute(
                "INSERT INTO residents (id, name, unit, status, enrolled_at, consent_at, "
                "valid_from, valid_until, welfare_check, welfare_h) "
                "VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, unit = excluded.unit, "
                "valid_from = excluded.valid_from, valid_until = excluded.valid_until, "
                "welfare_check = excluded.welfare_check, welfare_h = excluded.welfare_h",
                (
                    resident,
                    name,
                    unit,
                    isoformat(now),
                    isoformat(consent_at or now),
                    _iso(valid_from),
                    _iso(valid_until),
                    int(welfare_check),
                    welfare_h,
                ),
            )
            first = conn.execute(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM templates WHERE resident = ?", (resident,)
            ).fetchone()[0]
            for n, templates in enumerate(good, start=first):
                conn.execute(
                    "INSERT INTO templates (resident, n, blob) VALUES (?, ?, ?)",
                    (resident, n, self._seal(resident, n, templates)),
                )
            if self.keep_photos and originals:
                kept = [o for o, r in zip(originals, results, strict=True) if r.accepted]
                for n, original in enumerate(kept, start=first):
                    conn.execute(
                        "INSERT INTO photos (resident, n, blob) VALUES (?, ?, ?)",
                        (resident, n, self._sealer.seal(f"photo:{resident}/{n}", original)),
                    )
            self._bump(conn)
        self.audit.append(
            actor,
            "enrollment_updated" if existing else "enrolled",
            resident,
            unit=unit,
            photos=len(results),
            accepted=len(good),
            consent_at=isoformat(consent_at or now),
        )
        return report

    def remove(self, resident: str, *, actor: str) -> None:
        """Forget the resident and erase their templates."""
        self.require(resident)
        with self._db.transaction() as conn:
            erased = conn.execute("DELETE FROM templates WHERE resident = ?", (resident,))
            conn.execute("DELETE FROM photos WHERE resident = ?", (resident,))
            conn.execute("DELETE FROM residents WHERE id = ?", (resident,))
            self._bump(conn)
        self.audit.append(actor, "removed", resident, templates_erased=erased.rowcount)

    def set_status(self, resident: str, status: str, *, actor: str) -> None:
        """``active`` or ``suspended`` (a suspended resident keeps the templates)."""
        current = self.require(resident)
        if current.status == status:
            return
        with self._db.transaction() as conn:
            conn.execute("UPDATE residents SET status = ? WHERE id = ?", (status, resident))
            self._bump(conn)
        self.audit.append(actor, "suspended" if status == "suspended" else "resumed", resident)

    def seen(self, resident: str, at: datetime) -> None:
        self._db.conn.execute(
            "UPDATE residents SET last_seen = ? WHERE id = ?", (isoformat(at), resident)
        )

    def _bump(self, conn: Any) -> None:
        self._db.set_meta("residents_version", str(self.version + 1), conn)


def _check(
    resident: str, name: str, unit: str, valid_from: datetime | None, valid_until: datetime | None
) -> None:
    if not Topics.valid_segment(resident):
        raise ResidentError(
            f"resident id {resident!r}: letters, digits, '.', '_' and '-' only, "
            "at most 64 characters"
        )
    if not name.strip() or not unit.strip():
        raise ResidentError("a resident needs a name and a unit")
    if valid_from and valid_until and valid_until <= valid_from:
        raise ResidentError("valid_until must come after valid_from")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else isoformat(value)
