"""Residents: enrollment, templates encrypted at rest, status and removal, all audited."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from gateway.db import Database
from gateway.errors import StorageError
from gateway.residents import ResidentError, Residents
from vision.enrollment import Recognizer
from vision.faces import load_image


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "g.sqlite3")


@pytest.fixture
def residents(db: Database) -> Residents:
    return Residents(db)


def photos(faces: Path, person: str, *numbers: int) -> list[tuple[str, np.ndarray]]:
    folder = faces / "people" / person
    return [(f"{person}_{n}", load_image(folder / f"{n:02d}.jpg")) for n in numbers]


def test_enrollment_keeps_good_photos_and_names_the_bad(
    faces: Path, residents: Residents, recognizer: Recognizer
) -> None:
    shots = photos(faces, "John_Salley", 2, 3)
    shots.append(("moon", load_image(faces / "objects/moon.png")))
    report = residents.enroll(
        recognizer, "R7", shots, name="John Salley", unit="7B", actor="manager"
    )
    assert report.accepted == 2
    assert [(p.photo, p.reason) for p in report.photos if not p.accepted] == [
        ("moon", "no face found")
    ]
    found = residents.require("R7")
    assert (found.name, found.unit, found.status, found.templates) == (
        "John Salley",
        "7B",
        "active",
        2,
    )
    assert residents.audit.entries()[0].action == "enrolled"
    with pytest.raises(ResidentError, match=r"no usable photo for R8 \(moon: no face found\)"):
        residents.enroll(recognizer, "R8", shots[2:], name="X", unit="1", actor="manager")
    with pytest.raises(ResidentError, match="resident id"):
        residents.enroll(recognizer, "R 9", shots, name="X", unit="1", actor="manager")


def test_templates_are_encrypted_at_rest_with_a_private_key(
    faces: Path, residents: Residents, recognizer: Recognizer, db: Database
) -> None:
    residents.enroll(
        recognizer, "R1", photos(faces, "John_Savage", 1), name="H", unit="1", actor="m"
    )
    key = residents.key_file
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    stored = residents.templates()["R1"][0]
    blob = db.conn.execute("SELECT blob FROM templates").fetchone()[0]
    assert stored.sface.astype("<f4").tobytes()[:64] not in blob  # not in the clear
    residents.enroll(
        recognizer, "R2", photos(faces, "John_Salley", 1), name="S", unit="2", actor="m"
    )
    db.conn.execute("UPDATE templates SET blob = zeroblob(1052) WHERE resident = 'R1'")
    unreadable: list[str] = []
    assert list(Residents(db).templates(unreadable=unreadable)) == ["R2"]  # R1 left out
    assert unreadable == ["R1"]
    key.write_bytes(os.urandom(32))  # a replaced key does not decrypt them
    with pytest.raises(StorageError, match="does not decrypt"):
        Residents(db).templates()


def test_suspension_validity_and_removal(
    faces: Path, residents: Residents, recognizer: Recognizer, db: Database
) -> None:
    now = datetime.now(UTC)
    residents.enroll(
        recognizer, "R1", photos(faces, "John_Savage", 1), name="H", unit="1", actor="m"
    )
    residents.enroll(
        recognizer,
        "R2",
        photos(faces, "John_Schneider", 2),
        name="T",
        unit="2",
        actor="m",
        valid_until=now + timedelta(days=1),
    )
    assert set(residents.templates(now)) == {"R1", "R2"}
    assert set(residents.templates(now + timedelta(days=2))) == {"R1"}  # R2's lease ended
    version = residents.version
    residents.set_status("R1", "suspended", actor="m")
    assert set(residents.templates(now)) == {"R2"} and residents.version == version + 1
    residents.set_status("R1", "active", actor="m")
    residents.remove("R1", actor="m")
    assert residents.get("R1") is None
    assert db.conn.execute("SELECT COUNT(*) FROM templates WHERE resident = 'R1'").fetchone() == (
        0,
    )
    actions = [e.action for e in reversed(residents.audit.entries(subject="R1"))]
    assert actions == ["enrolled", "suspended", "resumed", "removed"]
    assert residents.audit.verify().ok
    with pytest.raises(ResidentError, match="no resident 'R1'"):
        residents.remove("R1", actor="m")


def test_photos_are_kept_encrypted_only_when_configured(
    faces: Path, db: Database, recognizer: Recognizer
) -> None:
    path = faces / "people/John_Schneider/02.jpg"
    original = path.read_bytes()
    shots = [("blair", load_image(path))]
    plain = Residents(db)
    plain.enroll(recognizer, "R1", shots, name="T", unit="1", actor="m", originals=[original])
    assert plain.photos("R1") == []  # by default only the templates are kept
    keeping = Residents(db, keep_photos=True)
    keeping.enroll(recognizer, "R2", shots, name="T", unit="2", actor="m", originals=[original])
    assert keeping.photos("R2") == [original]
    stored = db.conn.execute("SELECT blob FROM photos WHERE resident = 'R2'").fetchone()[0]
    assert original[:200] not in stored  # encrypted at rest
    keeping.remove("R2", actor="m")
    assert db.conn.execute("SELECT COUNT(*) FROM photos").fetchone() == (0,)
