"""The face stack is installed and works (dlib without compiling, models from -ng)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_face_recognition_encodes_real_photographs(faces: Path) -> None:
    import face_recognition

    def encode(name: str) -> np.ndarray:
        image = face_recognition.load_image_file(faces / "people" / name)
        found = face_recognition.face_encodings(image)
        assert len(found) == 1, name
        return np.asarray(found[0])

    one, again = encode("John_Salley/01.jpg"), encode("John_Salley/05.jpg")
    other = encode("John_Simm/01.jpg")
    assert one.shape == (128,)
    assert np.linalg.norm(one - again) < 0.6 < np.linalg.norm(one - other)
