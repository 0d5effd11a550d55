"""k-of-n agreement over the frames of a walk-up.

A single frame never opens the door: :class:`Agreement` counts, over the last ``n`` frames
that showed a face, the frames that named each resident, and decides once ``k`` of them
agree. Frames without a face for ``gap`` frames in a row end the walk-up (a new person may
come next).
"""

from __future__ import annotations

from collections import Counter, deque

__all__ = ["Agreement"]


class Agreement:
    def __init__(self, k: int = 2, n: int = 3, *, gap: int = 5) -> None:
        if not 1 <= k <= n:
            raise ValueError("need 1 <= k <= n")
        self.k, self.n, self.gap = k, n, gap
        self._window: deque[str | None] = deque(maxlen=n)
        self._empty = 0
        self.decided: str | None = None

    def add(self, resident: str | None, *, face: bool = True) -> str | None:
        """One frame's vote (``face=False``: no face in it). Returns a resident once, when
        ``k`` of the last ``n`` face frames agree on them."""
        if not face:
            self._empty += 1
            if self._empty >= self.gap:
                self.reset()
            return None
        self._empty = 0
        self._window.append(resident)
        votes = Counter(r for r in self._window if r is not None)
        if not votes:
            return None
        winner, count = votes.most_common(1)[0]
        if count >= self.k and winner != self.decided:
            self.decided = winner
            return winner
        return None

    def unknown(self) -> bool:
        """The window is full of face frames and none named a resident."""
        return len(self._window) == self.n and all(r is None for r in self._window)

    def reset(self) -> None:
        self._window.clear()
        self._empty = 0
        self.decided = None
