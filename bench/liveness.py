"""How often the liveness check lets a photograph through, and refuses a live face.

    uv run python -m bench.liveness [--liveness ../shared/liveness]

On ``nuaa`` (958 face crops of 8 subjects: live captures and recaptured printed photos; see
``../shared/liveness/README.md``) and the models' three samples (a live face, a print, a
screen): each crop's face found by YuNet, scored by each MiniFASNet model and by their mean
(:class:`vision.liveness.Liveness`), as the door does. Prints, per threshold, the attacks
accepted (APCER: prints scored live) and the live faces refused (BPCER), per model and fused,
and the time per frame against YuNet's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vision.faces import Face, Image, SFace, load_image
from vision.liveness import Liveness

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "liveness"
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def face_of(detector: SFace, image: Image) -> Face:
    """The largest face YuNet finds; the whole crop when it finds none (a tight crop)."""
    faces = detector.detect(image)
    if faces:
        return faces[0]
    height, width = image.shape[:2]
    return Face((0.0, 0.0, float(width), float(height)), None, 0.0, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--liveness", type=Path, default=DEFAULT)
    options = parser.parse_args()
    root = options.liveness
    if not (root / "nuaa" / "live").is_dir():
        raise SystemExit(f"the NUAA crops are not at {root / 'nuaa'}: pass --liveness DIR")
    detector, liveness = SFace(), Liveness()
    scores: dict[str, list[tuple[float, ...]]] = {"live": [], "print": []}
    missed = 0
    spent = [0.0, 0.0]
    for kind in scores:
        for path in sorted((root / "nuaa" / kind).rglob("*.jpg")):
            image = load_image(path)
            started = time.perf_counter()
            face = face_of(detector, image)
            spent[0] += time.perf_counter() - started
            missed += face.score == 0.0
            started = time.perf_counter()
            result = liveness.check(image, face)
            spent[1] += time.perf_counter() - started
            scores[kind].append((*result.models, result.score))
    count = len(scores["live"]) + len(scores["print"])
    print(f"NUAA: {len(scores['live'])} live and {len(scores['print'])} print crops; YuNet found "
          f"no face in {missed} (the whole crop taken); per frame: YuNet "
          f"{spent[0] / count * 1000:.1f} ms, both liveness models "
          f"{spent[1] / count * 1000:.1f} ms")  # fmt: skip
    live, spoof = np.array(scores["live"]), np.array(scores["print"])
    print("\n| threshold | " + " | ".join(
        f"{m}: attacks accepted / live refused" for m in ("MiniFASNetV2 x2.7",
                                                         "MiniFASNetV1SE x4.0", "fused (mean)")
    ) + " |")  # fmt: skip
    print("|---|---|---|---|")
    for threshold in THRESHOLDS:
        cells = []
        for column in range(3):
            apcer = float(np.mean(spoof[:, column] >= threshold)) * 100
            bpcer = float(np.mean(live[:, column] < threshold)) * 100
            cells.append(f"{apcer:.1f} % / {bpcer:.1f} %")
        print(f"| {threshold} | " + " | ".join(cells) + " |")
    print("\nthe models' samples (fused score; live at or above the threshold):")
    for name in ("image_T1", "image_F1", "image_F2"):
        image = load_image(root / "minifasnet" / f"{name}.jpg")
        result = liveness.check(image, face_of(detector, image))
        models = " / ".join(f"{s:.3f}" for s in result.models)
        print(f"  {name}: {result.score:.3f} ({models})")


if __name__ == "__main__":
    main()
