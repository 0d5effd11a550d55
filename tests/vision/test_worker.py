"""The recognizer in a child process: started without holding a thread, stopped at once."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vision.errors import RecognizerDied, VisionError
from vision.faces import load_image
from vision.worker import RecognizerProcess


def test_a_recognizer_started_without_waiting_becomes_ready_and_decides(faces: Path) -> None:
    recognizer = RecognizerProcess(wait=False)
    try:
        deadline = time.monotonic() + 120
        while not recognizer.ready():
            assert time.monotonic() < deadline, "the recognizer never became ready"
            time.sleep(0.05)
        scene = recognizer.decide(load_image(faces / "objects" / "rocket.jpg"))
        assert (scene.faces, scene.resident) == (0, None)
        # A frame the models cannot take fails that request only; the child serves on.
        with pytest.raises(VisionError) as failed:
            recognizer.decide(np.zeros((4, 4), np.float64))
        assert not isinstance(failed.value, RecognizerDied)
        assert recognizer.decide(load_image(faces / "objects" / "rocket.jpg")).faces == 0
        recognizer._process.kill()  # the kernel's OOM killer
        recognizer._process.join(5)
        with pytest.raises(RecognizerDied):
            recognizer.decide(load_image(faces / "objects" / "rocket.jpg"))
    finally:
        recognizer.close()
    recognizer.close()  # a second close is harmless


def test_a_recognizer_stopped_while_it_starts_is_gone() -> None:
    recognizer = RecognizerProcess(wait=False)
    recognizer.close()  # stopped, or killed after its grace: never left loading its models
    assert not recognizer._process.is_alive()
