"""How often the entry controller lets the right people in, and strangers.

    uv run python -m bench.accuracy [--faces ../shared/faces] [--splits 50]

On ``lfw10`` (10 people x 10 photos) and dlib's ``johns`` (5 x 11): in each of ``--splits``
random splits, half of the people are residents with 2 photos enrolled each; their other
photos are genuine probes, and every photo of the other half is a stranger's probe. Each probe
is decided on its own frame, and walk-ups of 3 probe photos of one person are decided by
k-of-n. Prints, per policy, the share of residents recognised (as themselves) and of
strangers accepted (as anyone), with the counts behind them.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.faces import DEFAULT, measurement_set
from vision.faces import Dlib, SFace, load_image
from vision.gallery import Gallery, Match

Vector = npt.NDArray[np.float32]


@dataclass
class Photo:
    person: str
    path: Path
    sface: Vector | None
    dlib_box: Vector | None  # dlib's encoder on SFace's face
    dlib_hog: Vector | None  # dlib on its own (HOG detector)
    size: float
    sharpness: float


def photos(faces: Path) -> list[Photo]:
    sface, dlib = SFace(), Dlib(upsample=1)
    found: list[Photo] = []
    folders = sorted((faces / "lfw10" / "images").iterdir()) + sorted(
        (faces / "dlib" / "examples" / "johns").iterdir()
    )
    for folder in folders:
        for path in sorted(folder.glob("*.jpg")):
            image = load_image(path)
            centre = np.array(image.shape[1::-1]) / 2
            detected = sface.detect(image)
            face = min(
                detected,
                key=lambda f: float(
                    np.linalg.norm(np.array(f.box[:2]) + np.array(f.box[2:]) / 2 - centre)
                ),
                default=None,
            )
            hog = dlib.detect(image)
            hog_face = min(
                hog,
                key=lambda f: float(
                    np.linalg.norm(np.array(f.box[:2]) + np.array(f.box[2:]) / 2 - centre)
                ),
                default=None,
            )
            found.append(
                Photo(
                    folder.name,
                    path,
                    None if face is None else sface.embed(image, face),
                    None if face is None else dlib.embed(image, face),
                    None if hog_face is None else dlib.embed(image, hog_face),
                    0.0 if face is None else face.size,
                    0.0 if face is None else face.sharpness,
                )
            )
    return found


@dataclass(frozen=True)
class Policy:
    name: str
    sface: float | None  # cosine distance tolerance (None: not used)
    dlib: float | None  # euclidean tolerance (None: not used)
    margin: float = 0.0
    dlib_own_detector: bool = False

    def decide(self, galleries: dict[str, Gallery], photo: Photo) -> str | None:
        found: list[Match] = []
        if self.sface is not None:
            if photo.sface is None:
                return None
            m = galleries["sface"].match(photo.sface)
            if m.distance > self.sface or m.margin < self.margin:
                return None
            found.append(m)
        if self.dlib is not None:
            vector = photo.dlib_hog if self.dlib_own_detector else photo.dlib_box
            if vector is None:
                return None
            m = galleries["dlib_hog" if self.dlib_own_detector else "dlib_box"].match(vector)
            if m.distance > self.dlib or (self.sface is None and m.margin < self.margin):
                return None
            found.append(m)
        residents = {m.resident for m in found}
        return residents.pop() if len(residents) == 1 else None


POLICIES = [
    Policy("dlib alone (own detector), 0.6 (its default)", None, 0.6, dlib_own_detector=True),
    Policy("dlib alone (own detector), 0.5", None, 0.5, dlib_own_detector=True),
    Policy("SFace alone, 0.5", 0.5, None),
    Policy("SFace alone, 0.45, margin 0.05", 0.45, None, 0.05),
    Policy("SFace ≤ 0.55 and dlib ≤ 0.55 agree", 0.55, 0.55),
    Policy("SFace ≤ 0.5 and dlib ≤ 0.55 agree, margin 0.05 (the default)", 0.5, 0.55, 0.05),
    Policy("SFace ≤ 0.5 and dlib ≤ 0.5 agree, margin 0.05", 0.5, 0.5, 0.05),
]


def closest(everyone: list[Photo], key: str, cosine: bool) -> tuple[float, float]:
    """The farthest same-person pair and the nearest different-person pair."""
    rows = [(p.person, getattr(p, key)) for p in everyone if getattr(p, key) is not None]
    vectors = np.stack([v for _, v in rows])
    if cosine:
        distances = 1.0 - vectors @ vectors.T
    else:
        distances = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)
    names = np.array([n for n, _ in rows])
    same = names[:, None] == names[None, :]
    off = ~np.eye(len(rows), dtype=bool)
    return float(distances[same & off].max()), float(distances[~same].min())


def evaluate(everyone: list[Photo], splits: int, k: int, n: int) -> dict[str, dict[str, list[int]]]:
    rng = random.Random(7)
    people = sorted({p.person for p in everyone})
    by_person = {name: [p for p in everyone if p.person == name] for name in people}
    tally = {
        policy.name: {key: [0, 0] for key in ("frame_res", "frame_str", "walk_res", "walk_str")}
        for policy in POLICIES
    }
    for _ in range(splits):
        residents = set(rng.sample(people, len(people) // 2))
        galleries = {
            "sface": Gallery("cosine"),
            "dlib_box": Gallery("euclidean"),
            "dlib_hog": Gallery("euclidean"),
        }
        genuine: dict[str, list[Photo]] = {}
        for name in residents:
            shots = list(by_person[name])
            rng.shuffle(shots)
            enrolled, probes = shots[:2], shots[2:]
            for key, gallery in galleries.items():
                vectors = [getattr(p, key) for p in enrolled if getattr(p, key) is not None]
                if vectors:
                    gallery.set(name, vectors)
            genuine[name] = probes
        strangers = {name: by_person[name] for name in people if name not in residents}
        for policy in POLICIES:
            t = tally[policy.name]

            def decide(
                photo: Photo, policy: Policy = policy, galleries: dict[str, Gallery] = galleries
            ) -> str | None:
                return policy.decide(galleries, photo)

            for name, probes in genuine.items():
                decisions = [decide(p) for p in probes]
                t["frame_res"][0] += sum(d == name for d in decisions)
                t["frame_res"][1] += len(decisions)
                for walk in _walks(probes, n, rng):
                    t["walk_res"][0] += _k_of_n([decide(p) for p in walk], k) == name
                    t["walk_res"][1] += 1
            for probes in strangers.values():
                decisions = [decide(p) for p in probes]
                t["frame_str"][0] += sum(d is not None for d in decisions)
                t["frame_str"][1] += len(decisions)
                for walk in _walks(probes, n, rng):
                    t["walk_str"][0] += _k_of_n([decide(p) for p in walk], k) is not None
                    t["walk_str"][1] += 1
    return tally


def _walks(probes: list[Photo], n: int, rng: random.Random) -> list[list[Photo]]:
    shuffled = list(probes)
    rng.shuffle(shuffled)
    return [shuffled[i : i + n] for i in range(0, len(shuffled) - n + 1, n)]


def _k_of_n(decisions: list[str | None], k: int) -> str | None:
    for resident in set(decisions) - {None}:
        if decisions.count(resident) >= k:
            return resident
    return None


def _pct(pair: list[int]) -> str:
    return f"{100 * pair[0] / max(pair[1], 1):5.1f} % ({pair[0]}/{pair[1]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT)
    parser.add_argument("--splits", type=int, default=50)
    parser.add_argument("-k", type=int, default=2)
    parser.add_argument("-n", type=int, default=3)
    options = parser.parse_args()
    options.faces = measurement_set(options.faces, "lfw10/images", "dlib/examples/johns")
    started = time.perf_counter()
    everyone = photos(options.faces)
    missing = sum(p.sface is None for p in everyone)
    sizes = sorted(p.size for p in everyone if p.sface is not None)
    print(
        f"{len(everyone)} photos of {len({p.person for p in everyone})} people embedded in "
        f"{time.perf_counter() - started:.0f} s; YuNet found no face in {missing}; face sizes "
        f"{sizes[0]:.0f} to {sizes[-1]:.0f} px"
    )
    for key, label, cosine in (
        ("sface", "SFace (cosine)", True),
        ("dlib_hog", "dlib on its own detector (euclidean)", False),
        ("dlib_box", "dlib on SFace's face (euclidean)", False),
    ):
        worst_same, nearest_other = closest(everyone, key, cosine)
        print(
            f"{label}: farthest same-person pair {worst_same:.3f}, "
            f"nearest different-person pair {nearest_other:.3f}"
        )
    tally = evaluate(everyone, options.splits, options.k, options.n)
    kn = f"{options.k} of {options.n} frames"
    print(
        f"| policy | residents recognised, one frame | strangers accepted, one frame | "
        f"residents recognised, {kn} | strangers accepted, {kn} |"
    )
    print("|---|---|---|---|---|")
    for name, t in tally.items():
        print(
            f"| {name} | {_pct(t['frame_res'])} | {_pct(t['frame_str'])} | "
            f"{_pct(t['walk_res'])} | {_pct(t['walk_str'])} |"
        )


if __name__ == "__main__":
    main()
