"""Photos → quality checks → templates, and one frame → a decision.

An enrollment photo must show one face, or one clearly larger than any other (a passer-by in
the background), big enough and sharp enough; each rejected
photo gets a reason a property manager understands. :class:`Recognizer` holds both models and
both galleries and decides a frame as the door does: SFace proposes, dlib confirms (dlib runs
only for frames SFace already matched), each within its tolerance, with a margin to the
second-nearest resident, after a quality gate.

Thresholds chosen on ``lfw-dev`` (280 residents, 800 strangers; ``bench/scale.py``, figures
in the README): no stranger accepted, then the most residents recognised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vision.faces import Dlib, Face, FaceModel, Image, SFace
from vision.gallery import Gallery
from vision.liveness import Liveness

__all__ = ["Decision", "Policy", "Recognizer", "Templates", "check_photo", "judge"]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Policy:
    """How a frame is decided (defaults chosen by measurement)."""

    sface_tolerance: float = 0.55
    dlib_tolerance: float = 0.5
    #: SFace's distance to the second-nearest resident must exceed the nearest's by this.
    margin: float = 0.05
    min_face_px: float = 70.0
    min_sharpness: float = 10.0
    #: YuNet's score below which a detection is not a face (LFW faces score 0.92 or more;
    #: a coffee cup 0.62 and a dog 0.78).
    min_score: float = 0.85
    #: ``False``: SFace alone decides (faster, no confirmation).
    confirm_with_dlib: bool = True
    #: An enrollment photo with several faces is taken when its largest face is at least
    #: this many times the size of the next (a small face in the background); else refused
    #: as ambiguous. Chosen by measurement (README, ``bench/scale.py``).
    dominance: float = 1.5
    #: A frame whose face scores below this on the liveness models is a presentation attack
    #: and never decides anything (``None``: liveness is not checked).
    liveness_threshold: float | None = None


@dataclass(frozen=True)
class Templates:
    """One photo's templates, one per model."""

    sface: Vector
    dlib: Vector


def check_photo(faces: list[Face], policy: Policy) -> str | None:
    """Why an enrollment photo is refused, or ``None`` when it is good."""
    if not faces:
        return "no face found"
    if len(faces) > 1 and faces[0].size < policy.dominance * faces[1].size:
        return (
            f"{len(faces)} faces and none clearly the resident's: use a photo of the resident "
            "alone (or with other faces much smaller, in the background)"
        )
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
    #: The liveness models' mean score for the face (``None``: not checked).
    liveness: float | None = None


def judge(
    faces: list[Face],
    galleries: Mapping[str, Gallery],
    policy: Policy,
    sface: Callable[[Face], Vector],
    dlib: Callable[[Face], Vector],
    live: Callable[[Face], float] | None = None,
) -> Decision:
    """One frame's faces (largest first) decided against the galleries: the quality gate,
    liveness (with ``live`` and a threshold: a face that is not live decides nothing), SFace
    proposes within its tolerance and margin, dlib confirms. ``sface``/``dlib`` embed the
    face (called only when needed: dlib's 65 ms only for frames SFace matched)."""
    if not faces:
        return Decision(0, None, None, None, "no face")
    face, p, n = faces[0], policy, len(faces)
    if face.size < p.min_face_px:
        return Decision(n, None, None, None, "face too small", face=face)
    if face.sharpness < p.min_sharpness:
        return Decision(n, None, None, None, "blurry", face=face)
    score = None
    if p.liveness_threshold is not None and live is not None:
        score = live(face)
        if score < p.liveness_threshold:
            return Decision(n, None, None, None, "not live", face=face, liveness=score)
    proposed = galleries["sface"].match(sface(face))
    if proposed.resident is None:
        return Decision(n, None, None, None, "nobody enrolled", face=face, liveness=score)
    distance, margin = proposed.distance, proposed.margin
    if distance > p.sface_tolerance:
        return Decision(n, None, distance, margin, "unknown face", face=face, liveness=score)
    if margin < p.margin:
        return Decision(n, None, distance, margin, "ambiguous", face=face, liveness=score)
    if not p.confirm_with_dlib:
        return Decision(n, proposed.resident, distance, margin, "match", face=face, liveness=score)
    confirmed = galleries["dlib"].match(dlib(face))
    if confirmed.resident != proposed.resident or confirmed.distance > p.dlib_tolerance:
        return Decision(n, None, distance, margin, "not confirmed", confirmed.distance, face, score)
    return Decision(
        n, proposed.resident, distance, margin, "match", confirmed.distance, face, score
    )


class Recognizer:
    """Both models, both galleries, one policy."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        sface: FaceModel | None = None,
        dlib: FaceModel | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.sface = sface or SFace()
        self.dlib = dlib or Dlib()
        #: Loaded only when the policy checks liveness.
        self.liveness = None if self.policy.liveness_threshold is None else liveness or Liveness()
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
        liveness = self.liveness
        return judge(
            self._faces(image),
            self.galleries,
            self.policy,
            lambda face: self.sface.embed(image, face),
            lambda face: self.dlib.embed(image, face),
            None if liveness is None else lambda face: liveness.check(image, face).score,
        )
