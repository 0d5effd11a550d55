"""Frame sources: OpenCV's capture (here on a video file) and a replay of photographs."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.camera import Replay, VideoCapture, frame_problem
from vision.errors import VisionError


def test_a_video_file_is_read_frame_by_frame_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "walk-up.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (64, 48))
    for n in range(5):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :, 2] = 200  # red in OpenCV's BGR
        frame[0, 0] = n
        writer.write(frame)
    writer.release()
    camera = VideoCapture(str(path))
    try:
        frames = []
        while (read := camera.read()) is not None:
            frames.append(read)
    finally:
        camera.close()
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    assert frames[0][10, 10, 0] > 150 and frames[0][10, 10, 2] < 50  # red first: RGB


def test_a_missing_camera_says_so() -> None:
    with pytest.raises(VisionError, match="cannot be opened"):
        VideoCapture("/dev/no-such-camera")


def test_a_replay_keeps_its_frame_rate_and_ends() -> None:
    frames = [np.full((4, 4, 3), n, np.uint8) for n in range(3)]
    replay = Replay(frames, fps=20)
    started = time.monotonic()
    seen = []
    while (frame := replay.read()) is not None:
        seen.append(int(frame[0, 0, 0]))
    assert seen == [0, 1, 2]
    assert time.monotonic() - started >= 2 / 20 * 0.9  # three frames span two intervals
    looping = Replay(frames, fps=1000, loop=True)
    shown = [looping.read() for _ in range(5)]
    assert [int(f[0, 0, 0]) for f in shown if f is not None] == [0, 1, 2, 0, 1]
    looping.close()
    assert looping.read() is None


def test_a_frame_that_is_no_rgb_picture_is_named() -> None:
    assert frame_problem(np.zeros((480, 640, 3), np.uint8)) is None
    assert (
        frame_problem(np.zeros((480, 640), np.uint8))
        == "shape (480, 640), not height x width x 3 (RGB)"
    )
    assert frame_problem(np.zeros((480, 640, 3), np.uint16)) == "pixels of uint16, not 8-bit"
    assert frame_problem(np.zeros((1, 640, 3), np.uint8)) == "640x1 pixels, smaller than 32x32"
    assert frame_problem(b"\x00" * 64) == "not a picture but bytes"
    assert frame_problem(np.zeros((0, 0, 3), np.uint8)) == "0x0 pixels, smaller than 32x32"
