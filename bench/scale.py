"""Recognition at the scale of a complex: thresholds chosen on ``lfw-dev``.

    uv run python -m bench.scale [--faces ../shared/faces] [--jobs 2] [--splits 10]

``lfw-dev`` (see ``../shared/faces/README.md``): 280 people with 3-5 photos and 800 strangers
with one, never given to the project. Each resident is enrolled with their first two photos
(through the door's own photo check, :func:`vision.enrollment.check_photo`); their other
photos (599) are the residents' probes, and the 800 strangers' photos the strangers'. Every
probe is decided as the door decides one frame (:func:`vision.enrollment.judge`), for every
policy of a grid (tolerances, margin, size and sharpness gates), at 280 residents and at 30
(20 random draws). Prints the table for the chosen operating point and the defaults, why
residents were refused, the curve of residents recognised against strangers accepted, what
the dominant-face rule did to enrollment, what 1, 2 or 3 enrollment photos recognise, and
the tolerances chosen on half the people and tested on the other half (held out).
The models run once per photo (cached).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import pickle
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.faces import DEFAULT, measurement_set
from vision.enrollment import Decision, Policy, check_photo, judge
from vision.faces import Face, load_image
from vision.gallery import Gallery

Vector = npt.NDArray[np.float32]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "community-gateway"


@dataclass
class Photo:
    person: str
    path: str
    faces: list[Face]  # YuNet's, scored as faces, largest first
    sface: Vector | None  # of faces[0]
    dlib: Vector | None


Embedded = tuple[list[Face], Vector | None, Vector | None]


def _embed(paths: list[str]) -> list[Embedded]:
    from vision import models  # one copy of the models per worker process

    policy = Policy()
    found: list[Embedded] = []
    for path in paths:
        image = load_image(Path(path))
        faces = [f for f in models.SFACE.detect(image) if f.score >= policy.min_score]
        if faces:
            found.append(
                (faces, models.SFACE.embed(image, faces[0]), models.DLIB.embed(image, faces[0]))
            )
        else:
            found.append((faces, None, None))
    return found


def photos(root: Path, jobs: int) -> tuple[list[Photo], list[Photo]]:
    """(residents' photos, strangers' photos), embedded once and cached."""
    listed = [
        (group, folder.name, str(path))
        for group in ("residents", "strangers")
        for folder in sorted((root / group).iterdir())
        for path in sorted(folder.glob("*.jpg"))
    ]
    key = hashlib.sha256("\n".join(p for _, _, p in listed).encode()).hexdigest()[:16]
    cache = CACHE / f"lfw-dev-{key}.pickle"
    if cache.exists():
        embedded = pickle.loads(cache.read_bytes())
    else:
        paths = [p for _, _, p in listed]
        chunks = [paths[i :: jobs * 8] for i in range(jobs * 8)]
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_embed, chunks))
        by_path = {p: r for chunk, part in zip(chunks, parts, strict=True)
                   for p, r in zip(chunk, part, strict=True)}  # fmt: skip
        embedded = [by_path[p] for p in paths]
        CACHE.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(embedded))
    found = [
        Photo(person, path, faces, sface, dlib)
        for (_, person, path), (faces, sface, dlib) in zip(listed, embedded, strict=True)
    ]
    groups = [group for group, _, _ in listed]
    return (
        [p for p, g in zip(found, groups, strict=True) if g == "residents"],
        [p for p, g in zip(found, groups, strict=True) if g == "strangers"],
    )


def enroll(
    residents: dict[str, list[Photo]], policy: Policy
) -> tuple[dict[str, Gallery], Counter[str], int]:
    """Galleries of everyone's first two photos that pass the door's photo check; why photos
    were refused, and how many residents could not be enrolled at all."""
    galleries = {"sface": Gallery("cosine"), "dlib": Gallery("euclidean")}
    refused: Counter[str] = Counter()
    missing = 0
    for person, shots in residents.items():
        good = []
        for photo in shots[:2]:
            problem = check_photo(photo.faces, policy)
            if problem is None and photo.sface is not None:
                good.append(photo)
            else:
                refused[(problem or "no face").split(" (")[0].split(":")[0]] += 1
        if not good:
            missing += 1
            continue
        galleries["sface"].set(person, [p.sface for p in good if p.sface is not None])
        galleries["dlib"].set(person, [p.dlib for p in good if p.dlib is not None])
    return galleries, refused, missing


def decide(galleries: dict[str, Gallery], policy: Policy, photo: Photo) -> Decision:
    def sface(_: Face) -> Vector:
        assert photo.sface is not None
        return photo.sface

    def dlib(_: Face) -> Vector:
        assert photo.dlib is not None
        return photo.dlib

    return judge(photo.faces, galleries, policy, sface, dlib)


def walk_up(galleries: dict[str, Gallery], policy: Policy, shots: list[Photo]) -> str | None:
    """The simulated gate's walk-up: frames cycle through the person's photos, and the door
    opens when 2 of the last 3 face frames agree (:class:`vision.tracker.Agreement`)."""
    from vision.tracker import Agreement

    agreement = Agreement(2, 3)
    decisions = [decide(galleries, policy, p) for p in shots]
    for d in itertools.islice(itertools.cycle(decisions), 3 * len(decisions) + 3):
        face = d.faces > 0 and d.reason not in ("face too small", "blurry")
        opened = agreement.add(d.resident, face=face)
        if opened is not None:
            return opened
    return None


@dataclass
class Score:
    residents: int = 0
    recognised: int = 0
    wrong: int = 0  # a resident let in as someone else
    strangers: int = 0
    accepted: int = 0
    walkups: int = 0
    walked_in: int = 0
    missing: int = 0  # residents with no usable enrollment photo
    why: Counter[str] | None = None


def score(
    residents: dict[str, list[Photo]], strangers: list[Photo], policy: Policy, walks: bool = False
) -> Score:
    galleries, _, missing = enroll(residents, policy)
    result = Score(missing=missing, why=Counter())
    assert result.why is not None
    for person, shots in residents.items():
        probes = shots[2:]
        for photo in probes:
            d = decide(galleries, policy, photo)
            result.residents += 1
            result.recognised += d.resident == person
            result.wrong += d.resident not in (None, person)
            if d.resident != person:
                result.why[d.reason] += 1
        if walks and probes:
            result.walkups += 1
            result.walked_in += walk_up(galleries, policy, probes) == person
    for photo in strangers:
        result.strangers += 1
        result.accepted += decide(galleries, policy, photo).resident is not None
    return result


def pct(a: int, b: int) -> str:
    return f"{100 * a / max(b, 1):.1f} % ({a:,} of {b:,})"


GRID: dict[str, tuple[float, ...]] = {
    "sface_tolerance": (0.45, 0.5, 0.55, 0.6),
    "dlib_tolerance": (0.45, 0.5, 0.55, 0.6),
    "margin": (0.0, 0.03, 0.05),
    "min_face_px": (50.0, 60.0, 70.0, 80.0),
    "min_sharpness": (10.0, 15.0, 30.0),
}


def dominance(residents: dict[str, list[Photo]]) -> None:
    """In photos of several faces, how much larger the largest face is than the next, and
    whether the largest is the person's (nearer than SFace's 0.5 to another photo of them)."""
    rows = []
    for shots in residents.values():
        for photo in shots:
            if len(photo.faces) > 1 and photo.sface is not None:
                others = [o.sface for o in shots if o is not photo and o.sface is not None]
                nearest = min(float(1 - photo.sface @ o) for o in others) if others else 1.0
                rows.append((photo.faces[0].size / photo.faces[1].size, nearest < 0.5))
    total = sum(len(s) for s in residents.values())
    print(f"\nphotos with more than one face: {len(rows)} of {total}")
    print("| largest face at least | photos taken | of which the largest face is not the person |")
    print("|---|---|---|")
    for limit in (1.0, 1.1, 1.25, 1.5, 2.0, 3.0):
        taken = [ok for ratio, ok in rows if ratio >= limit]
        print(f"| {limit:.2f}x the next | {len(taken)} | {sum(not ok for ok in taken)} |")
    ratios = sorted(r for r, _ in rows)
    quantiles = list(np.percentile(ratios, [5, 25, 50, 75, 95])) if ratios else []
    print("size ratio largest / next, 5-25-50-75-95th percentiles:",
          " ".join(f"{q:.2f}" for q in quantiles))  # fmt: skip


#: LFW files one man under two names (seen on the photos, and at SFace distance 0.22): as a
#: stranger he is a resident, so he is left out of the strangers.
SAME_PERSON = {"Sung_Hong_Choi": "Choi_Sung-hong"}


def enrollment_photos(
    residents: dict[str, list[Photo]], strangers: list[Photo], policy: Policy
) -> None:
    """What more enrollment photos buy: the residents with 4 photos or more, each probed
    with their 4th, enrolled with their first 1, 2 or 3."""
    group = {name: shots for name, shots in residents.items() if len(shots) >= 4}
    print(f"\nenrollment photos ({len(group)} residents with 4 photos or more, each probed "
          "with the 4th):")  # fmt: skip
    for count in (1, 2, 3):
        galleries, _, _ = enroll({name: shots[:count] for name, shots in group.items()}, policy)
        if count > 2:  # enroll() takes two photos; add the third by hand
            for name, shots in group.items():
                good = [p for p in shots[:3] if p.sface is not None
                        and check_photo(p.faces, policy) is None]  # fmt: skip
                if good:
                    galleries["sface"].set(name, [p.sface for p in good if p.sface is not None])
                    galleries["dlib"].set(name, [p.dlib for p in good if p.dlib is not None])
        hits = sum(decide(galleries, policy, shots[3]).resident == name
                   for name, shots in group.items())  # fmt: skip
        accepted = sum(decide(galleries, policy, p).resident is not None for p in strangers)
        print(f"  {count} enrolled: residents recognised {pct(hits, len(group))}, strangers "
              f"accepted {accepted} of {len(strangers)}")  # fmt: skip


def held_out(
    residents: dict[str, list[Photo]], strangers: list[Photo], chosen: Policy, splits: int
) -> None:
    """How far the figures above flatter the chosen point, being chosen on the very photos
    they are measured on: the tolerances are chosen as above (no stranger, then the most
    residents) on half the residents and half the strangers, and tested on the other half."""
    rng = random.Random(11)
    tolerances = GRID["sface_tolerance"] + (0.65,)
    total = Score()
    for _ in range(splits):
        people = sorted(residents)
        rng.shuffle(people)
        pool = strangers[:]
        rng.shuffle(pool)
        halves = [({p: residents[p] for p in part}, pool[i :: 2])
                  for i, part in enumerate((people[::2], people[1::2]))]  # fmt: skip
        (fit_residents, fit_strangers), (test_residents, test_strangers) = halves
        best: tuple[int, Policy] | None = None
        for sface, dlib in itertools.product(tolerances, tolerances):
            policy = Policy(**{**chosen.__dict__, "sface_tolerance": sface,
                               "dlib_tolerance": dlib})  # fmt: skip
            fit = score(fit_residents, fit_strangers, policy)
            if fit.accepted == 0 and fit.wrong == 0 and (best is None or fit.recognised > best[0]):
                best = (fit.recognised, policy)
        assert best is not None
        test = score(test_residents, test_strangers, best[1])
        for field in ("residents", "recognised", "strangers", "accepted"):
            setattr(total, field, getattr(total, field) + getattr(test, field))
    print(f"\nheld out ({splits} splits: SFace and dlib tolerances chosen on half the residents "
          "and half the strangers, the chosen margin and gates, tested on the other half): "
          f"residents recognised {pct(total.recognised, total.residents)}, strangers accepted "
          f"{pct(total.accepted, total.strangers)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--splits", type=int, default=10)
    options = parser.parse_args()
    root = measurement_set(options.faces, "lfw-dev/residents", "lfw-dev/strangers") / "lfw-dev"
    started = time.perf_counter()
    resident_photos, strangers = photos(root, options.jobs)
    residents: dict[str, list[Photo]] = {}
    for photo in resident_photos:
        residents.setdefault(photo.person, []).append(photo)
    strangers = [p for p in strangers if p.person not in SAME_PERSON]
    print(f"{len(resident_photos)} photos of {len(residents)} residents, {len(strangers)} "
          f"strangers' photos, embedded in {time.perf_counter() - started:.0f} s")  # fmt: skip
    dominance(residents)

    results = []
    for values in itertools.product(*GRID.values()):
        policy = Policy(**dict(zip(GRID, values, strict=True)))  # type: ignore[arg-type]
        results.append((policy, score(residents, strangers, policy)))
    # The operating point: no stranger accepted, then the most residents recognised, then
    # the strictest settings (tolerances, then margin and gates: the farthest from a stranger).
    safe = [r for r in results if r[1].accepted == 0 and r[1].wrong == 0]
    safe.sort(
        key=lambda r: (
            -r[1].recognised,
            r[0].sface_tolerance + r[0].dlib_tolerance,
            -r[0].margin,
            -r[0].min_face_px,
            -r[0].min_sharpness,
        )
    )
    print(f"\n{len(results)} policies; {len(safe)} accept no stranger; the best of those:")
    print("| SFace | dlib | margin | min face | min sharpness | residents recognised, one photo |")
    print("|---|---|---|---|---|---|")
    for policy, s in safe[:8]:
        print(f"| {policy.sface_tolerance} | {policy.dlib_tolerance} | {policy.margin} | "
              f"{policy.min_face_px:.0f} | {policy.min_sharpness:.0f} | "
              f"{pct(s.recognised, s.residents)} |")  # fmt: skip
    # ... and, of the 20 best, the one that also keeps strangers out at 30 residents (at most
    # 0.1 % over the draws), so the point holds at both scales.
    rng = random.Random(7)
    draws30 = [
        {p: residents[p] for p in rng.sample(sorted(residents), 30)} for _ in range(options.draws)
    ]
    chosen = Policy()
    for policy, _ in safe[:20]:
        scores = [score(group, strangers, policy) for group in draws30]
        if sum(s.accepted for s in scores) <= 0.001 * sum(s.strangers for s in scores):
            chosen = policy
            break
    print("\n| policy | residents | recognised, one photo | recognised, walk-up | strangers "
          "accepted | residents let in as someone else | not enrolled | why residents were "
          "refused |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for label, policy in (("defaults", Policy()), ("chosen", chosen)):
        for size in (30, len(residents)):
            draws = [residents] if size == len(residents) else draws30
            total = Score(why=Counter())
            assert total.why is not None
            for group in draws:
                s = score(group, strangers, policy, walks=True)
                for field in ("residents", "recognised", "wrong", "strangers", "accepted",
                              "walkups", "walked_in", "missing"):  # fmt: skip
                    setattr(total, field, getattr(total, field) + getattr(s, field))
                total.why.update(s.why or {})
            why = ", ".join(f"{reason} {n}" for reason, n in total.why.most_common())
            times = f" x {len(draws)} draws" if len(draws) > 1 else ""
            print(f"| {label} | {size}{times} "
                  f"| {pct(total.recognised, total.residents)} | "
                  f"{pct(total.walked_in, total.walkups)} | {pct(total.accepted, total.strangers)} "
                  f"| {total.wrong} | {total.missing} | {why} |")  # fmt: skip
    enrollment_photos(residents, strangers, chosen)
    held_out(residents, strangers, chosen, options.splits)
    print(f"\nchosen: {chosen}")
    print("(20 draws of 30 residents; strangers are the same 799 photos in every draw)")
    print("\nresidents recognised against strangers accepted (280 residents, one photo; the chosen "
          "policy with SFace's tolerance varied):")  # fmt: skip
    print("| SFace tolerance | strangers accepted (FAR) | residents recognised (TAR) |")
    print("|---|---|---|")
    for tolerance in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        policy = Policy(**{**chosen.__dict__, "sface_tolerance": tolerance,
                           "dlib_tolerance": max(chosen.dlib_tolerance, tolerance)})  # fmt: skip
        s = score(residents, strangers, policy)
        print(
            f"| {tolerance} | {pct(s.accepted, s.strangers)} | {pct(s.recognised, s.residents)} |"
        )


if __name__ == "__main__":
    main()
