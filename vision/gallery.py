"""Enrolled templates as one float32 matrix, matched with one matrix-vector product.

Each resident has one or more templates (one per enrolled photo); a resident's distance to a
face is the smallest of theirs. :meth:`Gallery.match` returns the nearest resident, the
distance and the margin to the second-nearest resident (``inf`` with a single resident).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.faces import Metric

__all__ = ["Gallery", "Match"]


@dataclass(frozen=True)
class Match:
    """The nearest resident (``None`` for an empty gallery), distance and margin."""

    resident: str | None
    distance: float
    margin: float


class Gallery:
    """Templates of one model, grouped by resident."""

    def __init__(self, metric: Metric, dim: int = 128) -> None:
        self.metric, self.dim = metric, dim
        self._templates: dict[str, npt.NDArray[np.float32]] = {}
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._norms = np.zeros(0, dtype=np.float32)
        self._owners: list[str] = []
        self._starts = np.zeros(0, dtype=np.intp)
        self._row_owner: list[str] = []
        self._most = 1

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, resident: object) -> bool:
        return resident in self._templates

    def set(self, resident: str, vectors: Iterable[npt.ArrayLike]) -> None:
        """Replace a resident's templates."""
        rows = np.asarray(list(vectors), dtype=np.float32).reshape(-1, self.dim)
        if not len(rows):
            raise ValueError(f"no templates for {resident}")
        self._templates[resident] = rows
        self._rebuild()

    def load(self, templates: Mapping[str, npt.ArrayLike]) -> None:
        """Replace the whole gallery at once."""
        self._templates = {
            r: np.asarray(v, dtype=np.float32).reshape(-1, self.dim) for r, v in templates.items()
        }
        self._rebuild()

    def remove(self, resident: str) -> None:
        if self._templates.pop(resident, None) is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        owners = sorted(self._templates)
        blocks = [self._templates[r] for r in owners]
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, self.dim), np.float32)
        if self.metric == "cosine":  # unit rows: distance = 1 - dot
            matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._norms = np.einsum("ij,ij->i", self._matrix, self._matrix)
        self._owners = owners
        sizes = [len(b) for b in blocks]
        self._starts = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
        self._row_owner = [r for r, n in zip(owners, sizes, strict=True) for _ in range(n)]
        self._most = max(sizes, default=1)

    def distances(self, vector: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Each resident's distance (in :attr:`residents` order)."""
        v = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        dots = self._matrix @ v
        if self.metric == "cosine":
            per_row = 1.0 - dots / max(float(np.linalg.norm(v)), 1e-12)
        else:
            per_row = np.sqrt(np.maximum(self._norms - 2.0 * dots + float(v @ v), 0.0))
        if len(self._starts) == len(per_row):
            return per_row.astype(np.float32)
        return np.minimum.reduceat(per_row, self._starts).astype(np.float32)

    @property
    def residents(self) -> list[str]:
        return list(self._owners)

    def match(self, vector: npt.ArrayLike) -> Match:
        """Nearest resident, distance and margin, from one matrix-vector product.

        Only the few rows that can hold the two nearest residents (one more than the most
        templates any resident has) get exact distances.
        """
        if not self._owners:
            return Match(None, math.inf, math.inf)
        v = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        dots = self._matrix @ v
        # Orders rows like the distance does: cosine on unit rows, or |r|^2 - 2 r.v.
        score = -dots if self.metric == "cosine" else self._norms - 2.0 * dots
        take = min(len(score), self._most + 1)
        rows = np.argpartition(score, take - 1)[:take] if take < len(score) else np.arange(take)
        if self.metric == "cosine":
            exact = 1.0 - dots[rows] / max(float(np.linalg.norm(v)), 1e-12)
        else:
            exact = np.sqrt(np.maximum(score[rows] + float(v @ v), 0.0))
        best: dict[str, float] = {}
        for row, distance in zip(rows.tolist(), exact.tolist(), strict=True):
            owner = self._row_owner[row]
            if distance < best.get(owner, math.inf):
                best[owner] = distance
        ranked = sorted(best.items(), key=lambda item: item[1])
        resident, distance = ranked[0]
        margin = ranked[1][1] - distance if len(ranked) > 1 else math.inf
        return Match(resident, float(distance), float(margin))
