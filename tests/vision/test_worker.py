"""The recognizer in a child process: started without holding a thread, stopped at once."""

from __future__ import annotations

import time
from pathlib import Path

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
    finally:
        recognizer.close()
    recognizer.close()  # a second close is harmless


def test_a_recognizer_stopped_while_it_starts_is_gone() -> None:
    recognizer = RecognizerProcess(wait=False)
    recognizer.close()  # stopped, or killed after its grace: never left loading its models
    assert not recognizer._process.is_alive()
