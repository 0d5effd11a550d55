"""k-of-n agreement over a walk-up."""

from __future__ import annotations

import pytest

from vision.tracker import Agreement


def test_k_of_n_frames_must_agree_and_decide_once() -> None:
    a = Agreement(k=2, n=3)
    assert a.add("R1") is None
    assert a.add(None) is None  # a frame that matched nobody
    assert a.add("R1") == "R1"  # two of the last three
    assert a.add("R1") is None  # decided once per walk-up
    for _ in range(5):
        a.add(None, face=False)  # the person has gone
    assert a.add("R1") is None and a.add("R1") == "R1"  # a new walk-up


def test_disagreeing_frames_and_an_unknown_face() -> None:
    a = Agreement(k=2, n=3)
    assert [a.add(r) for r in ("R1", "R2", None)] == [None, None, None]
    assert not a.unknown()
    a.reset()
    for _ in range(3):
        a.add(None)
    assert a.unknown()
    with pytest.raises(ValueError, match="k <= n"):
        Agreement(k=4, n=3)
