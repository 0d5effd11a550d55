"""Camera, faces, gallery and liveness: the gateway's vision, below everything else."""

from __future__ import annotations

import os

__all__ = ["MAX_PIXELS"]

#: The largest picture decoded (40 megapixels; a 12 MP phone photo is well within it). A few
#: hundred KB of PNG can declare 30,000 x 30,000 pixels: 2.7 GB once decoded.
MAX_PIXELS = 40_000_000

# OpenCV's own ceiling as well, read at its first decode (``vision.faces`` checks the header
# first); set here, before any module of the package imports OpenCV.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))
