"""The vision package's one error (``vision`` imports nothing of the gateway; callers in
``gateway/`` translate it into :class:`gateway.errors.VisionError`)."""

from __future__ import annotations

__all__ = ["VisionError"]


class VisionError(Exception):
    """An image cannot be read, or a face model failed."""
