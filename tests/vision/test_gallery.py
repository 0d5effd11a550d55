"""The gallery: nearest resident, margin, and agreement with a naive search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.gallery import Gallery


def naive(templates: dict[str, np.ndarray], v: np.ndarray, cosine: bool) -> list[tuple[float, str]]:
    best: list[tuple[float, str]] = []
    for resident, rows in templates.items():
        if cosine:
            d = [1 - float(r @ v) / float(np.linalg.norm(r) * np.linalg.norm(v)) for r in rows]
        else:
            d = [float(np.linalg.norm(r - v)) for r in rows]
        best.append((min(d), resident))
    return sorted(best)


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    seed=st.integers(0, 2**31),
    cosine=st.booleans(),
)
def test_match_agrees_with_a_naive_search(sizes: list[int], seed: int, cosine: bool) -> None:
    rng = np.random.default_rng(seed)
    templates = {f"r{i}": rng.normal(size=(n, 128)).astype(np.float32) for i, n in enumerate(sizes)}
    gallery = Gallery("cosine" if cosine else "euclidean")
    gallery.load(templates)
    probe = rng.normal(size=128).astype(np.float32)
    expected = naive(templates, probe, cosine)
    found = gallery.match(probe)
    assert found.resident == expected[0][1]
    assert found.distance == pytest.approx(expected[0][0], abs=1e-4)
    if len(expected) > 1:
        assert found.margin == pytest.approx(expected[1][0] - expected[0][0], abs=1e-4)
    else:
        assert math.isinf(found.margin)


def test_set_remove_and_an_empty_gallery() -> None:
    gallery = Gallery("euclidean", dim=2)
    assert gallery.match([0.0, 0.0]).resident is None
    gallery.set("a", [[0.0, 0.0], [10.0, 10.0]])
    gallery.set("b", [[3.0, 4.0]])
    m = gallery.match([9.0, 10.0])
    assert m.resident == "a" and m.distance == pytest.approx(1.0)
    assert m.margin == pytest.approx(float(np.hypot(6, 6)) - 1.0, abs=1e-5)
    gallery.remove("a")
    assert gallery.match([9.0, 10.0]).resident == "b" and "a" not in gallery
    with pytest.raises(ValueError, match="no templates"):
        gallery.set("c", [])
