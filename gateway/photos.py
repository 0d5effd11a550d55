"""Enrollment photos: each checked for one face, big and sharp enough, by whatever makes
templates (a door's recognizer, or the gateway's own when no door runs); the doors that
check photos or whose camera can take one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vision.enrollment import Templates
from vision.faces import Image

__all__ = ["DoorCamera", "PhotoChecker", "PhotoResult", "TemplateMaker", "assess"]


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    accepted: bool
    reason: str | None


class TemplateMaker(Protocol):
    """What turns an enrollment photo into templates (a Recognizer, in or out of process)."""

    def templates(self, image: Image) -> tuple[Templates | None, str | None]: ...


@runtime_checkable
class PhotoChecker(Protocol):
    """A door that checks enrollment photos with its own recognizer (off the event loop)."""

    async def assess_photos(
        self, photos: Sequence[tuple[str, Image]]
    ) -> tuple[list[Templates], list[PhotoResult]]: ...


@runtime_checkable
class DoorCamera(Protocol):
    """A door whose camera's latest frame can be taken (to enroll someone standing there)."""

    def snapshot(self) -> Image | None: ...


def assess(
    recognizer: TemplateMaker,
    photos: Sequence[tuple[str, Image]],
    progress: Callable[[PhotoResult], None] | None = None,
) -> tuple[list[Templates], list[PhotoResult]]:
    """Each photo checked (one face, big and sharp enough): the good ones' templates, and
    every photo's result. Slow (a face model per photo): call it off the event loop."""
    good: list[Templates] = []
    results: list[PhotoResult] = []
    for label, image in photos:
        templates, problem = recognizer.templates(image)
        result = PhotoResult(label, templates is not None, problem)
        results.append(result)
        if templates is not None:
            good.append(templates)
        if progress is not None:
            progress(result)
    return good, results
