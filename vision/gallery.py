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
        if not self._owners:
            return Match(None, math.inf, math.inf)
        d = self.distances(vector)
        if len(d) == 1:
            return Match(self._owners[0], float(d[0]), math.inf)
        two = np.argpartition(d, 1)[:2]
        best, second = sorted(two, key=lambda i: d[i])
        return Match(self._owners[best], float(d[best]), float(d[second] - d[best]))
