"""Photos → quality checks → templates, and one frame → a decision.

An enrollment photo must show exactly one face, big enough and sharp enough; each rejected
photo gets a reason a property manager understands. :class:`Recognizer` holds both models and
both galleries and decides a frame as the door does: SFace proposes, dlib confirms (dlib runs
only for frames SFace already matched), each within its tolerance, with a margin to the
second-nearest resident, after a quality gate.

Thresholds (measured on ``lfw10``, ``johns`` and ``non_face``, see the README and
``bench/accuracy.py``):
real photos' faces are 80 px or more and their sharpness 38 or more; the same photos blurred
(sigma 3 px) score 22 or less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vision.faces import Dlib, Face, FaceModel, Image, SFace
from vision.gallery import Gallery

__all__ = ["Decision", "Policy", "Recognizer", "Templates", "check_photo"]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Policy:
    """How a frame is decided (defaults chosen by measurement)."""

    sface_tolerance: float = 0.5
    dlib_tolerance: float = 0.55
    #: SFace's distance to the second-nearest resident must exceed the nearest's by this.
    margin: float = 0.05
    min_face_px: float = 80.0
    min_sharpness: float = 30.0
    #: YuNet's score below which a detection is not a face (LFW faces score 0.92 or more;
    #: a coffee cup 0.62 and a dog 0.78).
    min_score: float = 0.85
    #: ``False``: SFace alone decides (faster, no confirmation).
    confirm_with_dlib: bool = True


@dataclass(frozen=True)
class Templates:
    """One photo's templates, one per model."""

    sface: Vector
    dlib: Vector


def check_photo(faces: list[Face], policy: Policy) -> str | None:
    """Why an enrollment photo is refused, or ``None`` when it is good."""
    if not faces:
        return "no face found"
    if len(faces) > 1:
        return f"{len(faces)} faces: a photo must show only the resident"
    face = faces[0]
    if face.size < policy.min_face_px:
        return f"the face is too small ({face.size:.0f} px; at least {policy.min_face_px:.0f})"
    if face.sharpness < policy.min_sharpness:
        return f"blurry (sharpness {face.sharpness:.0f}; at least {policy.min_sharpness:.0f})"
    return None


@dataclass(frozen=True)
class Decision:
    """What the door would decide on one frame."""

    faces: int
    resident: str | None
    distance: float | None  # SFace's, to the nearest resident
    margin: float | None
    reason: str  # "match", or why not
    dlib_distance: float | None = None
    face: Face | None = field(default=None, compare=False)


class Recognizer:
    """Both models, both galleries, one policy."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        sface: FaceModel | None = None,
        dlib: FaceModel | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.sface = sface or SFace()
        self.dlib = dlib or Dlib()
        self.galleries = {"sface": Gallery("cosine"), "dlib": Gallery("euclidean")}

    def templates(self, image: Image) -> tuple[Templates | None, str | None]:
        """An enrollment photo's templates, or why it is refused."""
        faces = self._faces(image)
        problem = check_photo(faces, self.policy)
        if problem is not None:
            return None, problem
        face = faces[0]
        return Templates(self.sface.embed(image, face), self.dlib.embed(image, face)), None

    def _faces(self, image: Image) -> list[Face]:
        return [f for f in self.sface.detect(image) if f.score >= self.policy.min_score]

    def load(self, templates: Mapping[str, list[Templates]]) -> None:
        """Every resident allowed in now, with their templates."""
        self.galleries["sface"].load({r: [t.sface for t in ts] for r, ts in templates.items()})
        self.galleries["dlib"].load({r: [t.dlib for t in ts] for r, ts in templates.items()})

    def decide(self, image: Image) -> Decision:
        """One frame, decided as the door decides it (the largest face counts)."""
        faces = self._faces(image)
        if not faces:
            return Decision(0, None, None, None, "no face")
        face = faces[0]
        p = self.policy
        if face.size < p.min_face_px:
            return Decision(len(faces), None, None, None, "face too small", face=face)
        if face.sharpness < p.min_sharpness:
            return Decision(len(faces), None, None, None, "blurry", face=face)
        proposed = self.galleries["sface"].match(self.sface.embed(image, face))
        if proposed.resident is None:
            return Decision(len(faces), None, None, None, "nobody enrolled", face=face)
        distance, margin = proposed.distance, proposed.margin
        if distance > p.sface_tolerance:
            return Decision(len(faces), None, distance, margin, "unknown face", face=face)
        if margin < p.margin:
            return Decision(len(faces), None, distance, margin, "ambiguous", face=face)
        if not p.confirm_with_dlib:
            return Decision(len(faces), proposed.resident, distance, margin, "match", face=face)
        confirmed = self.galleries["dlib"].match(self.dlib.embed(image, face))
        if confirmed.resident != proposed.resident or confirmed.distance > p.dlib_tolerance:
            return Decision(
                len(faces),
                None,
                distance,
                margin,
                "not confirmed",
                confirmed.distance,
                face=face,
            )
        return Decision(
            len(faces), proposed.resident, distance, margin, "match", confirmed.distance, face
        )
