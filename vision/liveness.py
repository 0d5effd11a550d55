"""Passive liveness: is the face in front of the camera a live one, or a photograph or a
screen held up to it?

Two MiniFASNet classifiers (Silent-Face-Anti-Spoofing, Apache-2.0; converted to ONNX by
:mod:`vision.minifasnet`, files in ``vision/weights/``) each look at an 80x80 crop of the
face box enlarged by their own scale (2.7 and 4.0: the face with its surroundings, where a
print's edge, a screen's bezel or moiré show) and give the probability of class 1, a live
face; the two are averaged. A frame scoring below the door's threshold is a presentation
attack. Run through OpenCV's DNN module; about 2 ms per model and frame.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.errors import VisionError
from vision.faces import Face, Image

__all__ = ["MODELS", "Liveness", "LivenessScore", "crop"]

WEIGHTS = Path(__file__).resolve().parent / "weights"
#: (file, scale of the face box, input side) of each model.
MODELS = (("minifasnet_v2_2.7.onnx", 2.7, 80), ("minifasnet_v1se_4.0.onnx", 4.0, 80))


@dataclass(frozen=True)
class LivenessScore:
    """Each model's probability that the face is live, and their mean."""

    models: tuple[float, ...]

    @property
    def score(self) -> float:
        return float(np.mean(self.models))


def crop(image: Image, box: tuple[float, float, float, float], scale: float, side: int) -> Image:
    """The face box enlarged ``scale`` times about its centre (less where the frame is too
    small), moved inside the frame rather than cut at its edge, resized to ``side``."""
    height, width = image.shape[:2]
    x, y, w, h = box
    scale = min((height - 1) / max(h, 1.0), (width - 1) / max(w, 1.0), scale)
    new_w, new_h = w * scale, h * scale
    left, top = x + w / 2 - new_w / 2, y + h / 2 - new_h / 2
    left = min(max(left, 0.0), width - 1 - new_w)
    top = min(max(top, 0.0), height - 1 - new_h)
    part = image[int(top) : int(top + new_h) + 1, int(left) : int(left + new_w) + 1]
    return np.asarray(cv2.resize(part, (side, side)), dtype=np.uint8)


class Liveness:
    """Both models, loaded once (thread-safe: one lock per network)."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        self._nets = []
        for name, scale, side in MODELS:
            try:
                net = cv2.dnn.readNetFromONNX(str(weights / name))
            except cv2.error as err:
                raise VisionError(
                    f"cannot load the liveness model {weights / name}: {err}"
                ) from err
            self._nets.append((net, scale, side, threading.Lock()))

    def check(self, image: Image, face: Face) -> LivenessScore:
        """``image`` is RGB (as every frame here); the models were trained on BGR pixels
        0-255, which is what they are given."""
        bgr: Image = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), dtype=np.uint8)
        scores = []
        for net, scale, side, lock in self._nets:
            blob = cv2.dnn.blobFromImage(crop(bgr, face.box, scale, side).astype(np.float32))
            with lock:
                net.setInput(blob)
                prob = np.asarray(net.forward(), dtype=np.float32).reshape(-1)
            scores.append(float(prob[1]))
        return LivenessScore(tuple(scores))
