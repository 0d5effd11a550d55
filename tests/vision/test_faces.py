"""The face models on real photographs."""

from __future__ import annotations

import resource
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import TEST_PHOTOS, png_bomb
from vision.enrollment import Policy, Recognizer, check_photo
from vision.errors import VisionError
from vision.faces import ARCFACE_112, Dlib, SFace, decode_image, load_image, similarity_transform


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


def test_the_similarity_transform_recovers_a_known_one() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_112 @ (scale * rotation).T + shift
    back = similarity_transform(moved, ARCFACE_112)
    restored = moved @ back[:, :2].T + back[:, 2]
    assert np.allclose(restored, ARCFACE_112, atol=1e-9)


def test_sface_and_dlib_separate_the_same_person_from_another(faces: Path) -> None:
    s, d = SFace(), Dlib()
    folder = faces / "people"
    vectors = {}
    for name in ("John_Salley/01.jpg", "John_Salley/06.jpg", "John_Simm/01.jpg"):
        image = load_image(folder / name)
        face = s.detect(image)[0]
        vectors[name] = (s.embed(image, face), d.embed(image, face))
    one, again, other = vectors.values()
    same_s = 1 - float(one[0] @ again[0])
    other_s = 1 - float(one[0] @ other[0])
    assert same_s < 0.5 < other_s
    same_d = float(np.linalg.norm(one[1] - again[1]))
    other_d = float(np.linalg.norm(one[1] - other[1]))
    assert same_d < 0.55 < other_d


def test_enrollment_photos_are_checked_with_reasons(faces: Path, recognizer: Recognizer) -> None:
    def problem(path: Path) -> str | None:
        return recognizer.templates(load_image(path))[1]

    assert problem(faces / "people/John_Salley/02.jpg") is None
    assert problem(faces / "objects/moon.png") == "no face found"
    assert "faces and none clearly the resident's" in str(problem(TEST_PHOTOS / "two_people.jpg"))
    image = load_image(faces / "people/John_Salley/02.jpg")
    blurred = np.asarray(cv2.GaussianBlur(image, (0, 0), 3), dtype=np.uint8)
    assert str(recognizer.templates(blurred)[1]).startswith("blurry")
    small = np.asarray(cv2.resize(image, (80, 80)), dtype=np.uint8)
    assert str(recognizer.templates(small)[1]).startswith("the face is too small")
    assert check_photo([], Policy()) == "no face found"


def test_a_frame_is_decided_as_the_door_decides(faces: Path, recognizer: Recognizer) -> None:
    people = faces / "people"
    enrolled = {}
    for person in ("John_Salley", "John_Savage"):
        shots = []
        for n in (2, 3, 4):
            templates, _ = recognizer.templates(load_image(people / person / f"0{n}.jpg"))
            if templates is not None:
                shots.append(templates)
        enrolled[person] = shots
    recognizer.load(enrolled)
    salley = recognizer.decide(load_image(people / "John_Salley" / "07.jpg"))
    assert (salley.resident, salley.reason) == ("John_Salley", "match")
    assert salley.distance is not None and salley.distance < 0.5
    stranger = recognizer.decide(load_image(people / "John_Simm" / "01.jpg"))
    assert stranger.resident is None and stranger.reason in ("unknown face", "not confirmed")
    scene = recognizer.decide(load_image(faces / "objects" / "rocket.jpg"))
    assert (scene.faces, scene.resident, scene.reason) == (0, None, "no face")


def test_unreadable_images_are_vision_errors(tmp_path: Path) -> None:
    with pytest.raises(VisionError, match="not a JPEG or PNG"):
        decode_image(b"not a jpeg", "upload")
    with pytest.raises(VisionError, match="upload: empty"):
        decode_image(b"", "upload")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(VisionError, match="empty file"):
        load_image(tmp_path / "empty.jpg")


def test_an_image_bomb_is_refused_from_its_header_before_any_pixel_is_decoded() -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    with pytest.raises(VisionError, match="PNG of 30000 x 30000 pixels; at most 40 megapixels"):
        decode_image(bomb, "bomb.png")
    assert time.process_time() - started < 1.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, f"the peak grew by {grown_mb:.0f} MB"
    # A JPEG whose frame header claims 60,000 x 60,000 pixels.
    sof = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 60_000, 60_000) + b"\x03" + b"\0" * 9
    with pytest.raises(VisionError, match="JPEG of 60000 x 60000"):
        decode_image(b"\xff\xd8\xff\xe0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0" + sof, "x.jpg")
    # A PNG just within the limit is decoded.
    assert decode_image(png_bomb(4_000, 2_000)).shape == (2_000, 4_000, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a\x01\x00\x01\x00", "not a JPEG or PNG"),
        (b"BM" + b"\0" * 60, "not a JPEG or PNG"),
        (b"\xff\xd8\xff", "not a JPEG or PNG"),  # cut short
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 8, "0 x 0 pixels"),
    ],
)
def test_only_jpeg_and_png_are_read(data: bytes, message: str) -> None:
    with pytest.raises(VisionError, match=message):
        decode_image(data, "upload")
