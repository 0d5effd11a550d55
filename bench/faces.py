"""The measurement photographs the face benchmarks read: ``../shared/faces`` beside the
checkout (LFW and dlib's face chips). They are not part of the project; without them the
benchmarks say so and stop."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["DEFAULT", "measurement_set"]

#: Where the measurement photographs are looked for when ``--faces`` is not given.
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "faces"


def measurement_set(faces: Path, *needed: str) -> Path:
    """``faces``, when every folder in ``needed`` is under it; else exit with a message that
    names what is missing and how to point the benchmark at it."""
    missing = [name for name in needed if not (faces / name).is_dir()]
    if missing:
        sys.exit(
            f"this benchmark measures on photographs that are not part of the project: "
            f"{', '.join(str(faces / m) for m in missing)} not found. Put the measurement set "
            f"there or pass --faces DIR (a folder holding {', '.join(needed)})."
        )
    return faces
