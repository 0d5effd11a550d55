"""The face stack is installed and works (dlib without compiling, models from -ng)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_face_recognition_encodes_real_photographs(faces: Path) -> None:
    import face_recognition

    def encode(name: str) -> np.ndarray:
        image = face_recognition.load_image_file(faces / "face_recognition" / "examples" / name)
        found = face_recognition.face_encodings(image)
        assert len(found) == 1, name
        return np.asarray(found[0])

    obama, obama2, biden = encode("obama.jpg"), encode("obama2.jpg"), encode("biden.jpg")
    assert obama.shape == (128,)
    assert np.linalg.norm(obama - obama2) < 0.6 < np.linalg.norm(obama - biden)
