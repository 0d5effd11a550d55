"""The face models, loaded once per process (see :mod:`vision.worker`).

Imported first by the recognizers' fork server: every recognizer process is forked from it
and shares these models' memory copy-on-write instead of loading its own copy."""

from __future__ import annotations

from vision.faces import Dlib, SFace

__all__ = ["DLIB", "SFACE"]

SFACE = SFace()
DLIB = Dlib()
