"""The face models, loaded once per process (see :mod:`vision.worker`).

Imported first by the recognizers' fork server: every recognizer process is forked from it
and shares these models' memory copy-on-write instead of loading its own copy."""

from __future__ import annotations

from vision.faces import Dlib, SFace
from vision.liveness import Liveness

__all__ = ["DLIB", "LIVENESS", "SFACE"]

SFACE = SFace()
DLIB = Dlib()
LIVENESS = Liveness()
