"""The vision package's errors (``vision`` imports nothing of the gateway; callers in
``gateway/`` translate them into :class:`gateway.errors.VisionError`)."""

from __future__ import annotations

__all__ = ["ImageTooLarge", "RecognizerDied", "VisionError"]


class VisionError(Exception):
    """An image cannot be read, or a face model failed."""


class ImageTooLarge(VisionError):
    """A JPEG or PNG whose header declares more pixels than are ever decoded."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        #: What is wrong, without the file's name.
        self.reason = reason


class RecognizerDied(VisionError):
    """The recognizer's child process is gone (killed, or out of memory): start another."""
