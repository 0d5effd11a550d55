"""Enrolling residents from files, as the CLI does: photos read from disk (one that cannot
be read is reported, not fatal) and a complex's roster from a CSV file with the columns
``id,name,unit,photos`` (photos separated by ``;``, relative to the CSV)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError
from gateway.photos import PhotoResult
from gateway.residents import ResidentError, Residents
from vision.enrollment import Recognizer
from vision.errors import VisionError
from vision.faces import Image, load_image

__all__ = ["RosterError", "RosterRow", "enroll_files", "read_photos", "read_roster"]

COLUMNS = ("id", "name", "unit", "photos")


class RosterError(GatewayError):
    """A roster file that cannot be read (the message names the file and the fix)."""


@dataclass(frozen=True)
class RosterRow:
    """One resident of a roster: the CSV line it came from and the photos' paths."""

    line: int
    id: str
    name: str
    unit: str
    photos: list[Path]


def read_roster(file: Path) -> list[RosterRow]:
    """The rows of a roster CSV (a byte-order mark allowed); :class:`RosterError` when the
    file cannot be read or a column is missing."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as problem:
        raise RosterError(f"{file}: {problem}") from None
    missing = set(COLUMNS) - set(rows[0] if rows else {})
    if missing:
        raise RosterError(
            f"{file}: missing columns {sorted(missing)} (expected {','.join(COLUMNS)})"
        )
    return [
        RosterRow(
            line,
            (row["id"] or "").strip(),
            (row["name"] or "").strip(),
            (row["unit"] or "").strip(),
            [file.parent / p.strip() for p in (row["photos"] or "").split(";") if p.strip()],
        )
        for line, row in enumerate(rows, start=2)
    ]


def read_photos(paths: Sequence[Path]) -> list[tuple[str, Image | None, str | None]]:
    """Each photo decoded, or why it cannot be read."""
    found: list[tuple[str, Image | None, str | None]] = []
    for path in paths:
        try:
            found.append((str(path), load_image(path), None))
        except FileNotFoundError:
            found.append((str(path), None, "no such file"))
        except (OSError, VisionError) as problem:
            found.append((str(path), None, f"cannot read it ({problem})"))
    return found


def enroll_files(
    residents: Residents,
    recognizer: Recognizer,
    resident: str,
    paths: Sequence[Path],
    *,
    name: str,
    unit: str,
    actor: str,
    progress: Callable[[], None],
    **options: Any,
) -> tuple[list[PhotoResult], str | None]:
    """Enroll one resident; every photo's result, and why the resident was refused."""
    unreadable: dict[str, PhotoResult] = {}
    readable: list[tuple[str, Image]] = []
    order = [str(p) for p in paths]
    for label, image, problem in read_photos(paths):
        if image is None:
            unreadable[label] = PhotoResult(label, False, problem)
            progress()
        else:
            readable.append((label, image))
    if not readable:
        reasons = "; ".join(f"{r.photo}: {r.reason}" for r in unreadable.values()) or "no photos"
        return list(unreadable.values()), f"no usable photo for {resident} ({reasons})"
    try:
        report = residents.enroll(
            recognizer,
            resident,
            readable,
            name=name,
            unit=unit,
            actor=actor,
            progress=lambda _: progress(),
            originals=[Path(label).read_bytes() for label, _ in readable]
            if residents.keep_photos
            else (),
            **options,
        )
    except ResidentError as refused:
        checked = {label: PhotoResult(label, False, None) for label, _ in readable}
        return [{**checked, **unreadable}[label] for label in order], str(refused)
    results = {**{r.photo: r for r in report.photos}, **unreadable}
    return [results[label] for label in order], None
