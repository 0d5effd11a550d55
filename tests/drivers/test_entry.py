"""The gate's package, apart from the door itself (``hil_tests/test_entry.py``): enrolling
from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.entry.roster import RosterError, read_photos, read_roster
from drivers.sim.gate import PHOTOGRAPHS


def test_a_roster_names_each_row_by_its_line_and_its_photos_beside_it(tmp_path: Path) -> None:
    roster = tmp_path / "complex" / "roster.csv"
    roster.parent.mkdir()
    # A spreadsheet's export: a byte-order mark, spaces around the photos.
    roster.write_text(
        "\ufeffid,name,unit,photos\nr-1, Ana Ruiz ,1A, ana/1.jpg ; ana/2.jpg;\nr-2,Bo Li,2B,\n",
        encoding="utf-8",
    )
    first, second = read_roster(roster)
    assert (first.line, first.id, first.name, first.unit) == (2, "r-1", "Ana Ruiz", "1A")
    assert first.photos == [roster.parent / "ana/1.jpg", roster.parent / "ana/2.jpg"]
    assert (second.line, second.photos) == (3, [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,name,photos\nr-1,Ana,a.jpg\n", r"missing columns \['unit'\] \(expected id,name,"),
        (b"", r"missing columns \['id', 'name', 'photos', 'unit'\]"),
        (b"id,name,unit,photos\nr-1,\xff\xfe,1A,a.jpg\n", "can't decode"),
    ],
)
def test_a_roster_that_cannot_be_read_names_the_file_and_why(
    tmp_path: Path, content: bytes, message: str
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(content)
    with pytest.raises(RosterError, match=rf"roster.csv: .*{message}"):
        read_roster(roster)
    with pytest.raises(RosterError, match="No such file"):
        read_roster(tmp_path / "none.csv")


def test_photos_that_cannot_be_read_are_reported_one_by_one(tmp_path: Path) -> None:
    good = next(iter(sorted(PHOTOGRAPHS.rglob("*.jpg"))))
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    found = read_photos([good, tmp_path / "gone.jpg", text])
    assert [(label, image is not None) for label, image, _ in found] == [
        (str(good), True), (str(tmp_path / "gone.jpg"), False), (str(text), False),
    ]  # fmt: skip
    assert found[1][2] == "no such file"
    assert str(found[2][2]).startswith("cannot read it (")
