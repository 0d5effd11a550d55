"""Frame sources: a camera through OpenCV, or a replay of photographs.

A :class:`FrameSource` hands out RGB frames one at a time; ``read()`` blocks until the next
frame (call it from a worker thread) and returns ``None`` when the source has ended or
failed. Sources: :class:`VideoCapture` (a V4L2 device such as ``/dev/video0`` or its index,
an RTSP URL or a video file) and :class:`Replay` (photographs at a frame rate).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from vision import MAX_PIXELS
from vision.errors import VisionError
from vision.faces import Image
from vision.urls import without_credentials

__all__ = ["FrameSource", "Replay", "VideoCapture", "frame_problem"]


#: The smallest frame worth deciding (a face needs tens of pixels).
MIN_SIDE = 32


def frame_problem(frame: object) -> str | None:
    """Why ``frame`` is not an RGB picture a recognizer can take (``None``: it is). A camera
    or a stream is outside input: a driver glitch can hand out anything."""
    if not isinstance(frame, np.ndarray):
        return f"not a picture but {type(frame).__name__}"
    if frame.dtype != np.uint8:
        return f"pixels of {frame.dtype}, not 8-bit"
    if frame.ndim != 3 or frame.shape[2] != 3:
        return f"shape {frame.shape}, not height x width x 3 (RGB)"
    height, width = frame.shape[:2]
    if min(height, width) < MIN_SIDE:
        return f"{width}x{height} pixels, smaller than {MIN_SIDE}x{MIN_SIDE}"
    if height * width > MAX_PIXELS:
        return f"{width}x{height} pixels, more than {MAX_PIXELS:,}"
    return None


class FrameSource(Protocol):
    def read(self) -> Image | None: ...

    def close(self) -> None: ...


class VideoCapture:
    """A camera or stream through ``cv2.VideoCapture``."""

    def __init__(self, source: str, *, width: int = 640, height: int = 480) -> None:
        target: str | int = int(source) if source.isdigit() else source
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise VisionError(
                f"camera {without_credentials(source)!r} cannot be opened (is it connected, and "
                "is the URL right?)"
            )
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> Image | None:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)

    def close(self) -> None:
        self._capture.release()


class Replay:
    """Photographs shown one after another at ``fps`` (once, or round and round)."""

    def __init__(self, frames: Sequence[Image], *, fps: float = 10.0, loop: bool = False):
        if fps <= 0:
            raise ValueError("fps must be > 0")
        self._frames = list(frames)
        self._interval = 1.0 / fps
        self._loop = loop
        self._index = 0
        self._next = time.monotonic()
        self._closed = threading.Event()

    def read(self) -> Image | None:
        if self._closed.is_set() or not self._frames:
            return None
        if self._index >= len(self._frames):
            if not self._loop:
                return None
            self._index = 0
        delay = self._next - time.monotonic()
        if delay > 0 and self._closed.wait(delay):
            return None
        self._next = max(self._next + self._interval, time.monotonic())
        frame = self._frames[self._index]
        self._index += 1
        return frame

    def close(self) -> None:
        self._closed.set()
