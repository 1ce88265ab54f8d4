"""How a box is hidden in a picture: grown by `MARGIN` of its size each side and replaced by a
mosaic of at most `MOSAIC_CELLS` cells across, then blurred, so what was inside is averaged
away, not hidden behind a filter that could be undone.

It works on the I420 picture the encoder takes, in place: no round trip through RGB at full size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MARGIN = 0.4  # a box grows by this share of its width and height on every side (hair, ears)
MOSAIC_CELLS = 6  # cells across a hidden box, at most
_BLUR_CELL = 8  # pixels a cell is drawn and blurred at before it is stretched to its size


def hide(
    yuv: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None = None
) -> int:
    """Replace the box (grown by MARGIN) in ``yuv`` (an I420 picture as PyAV gives it: the
    planes one after another, ``height * 3 / 2`` rows) with a blurred mosaic, in place,
    marking it in ``mask`` if given; the pixels it covered."""
    h, w = yuv.shape[0] * 2 // 3, yuv.shape[1]
    x0, y0, x1, y1 = box
    grow_x, grow_y = (x1 - x0) * MARGIN, (y1 - y0) * MARGIN
    # On even pixels, so the colour planes (half the size) cover exactly the same place.
    left, top = max(0, math.floor((x0 - grow_x) / 2) * 2), max(0, math.floor((y0 - grow_y) / 2) * 2)
    right = min(w, math.ceil((x1 + grow_x) / 2) * 2)
    bottom = min(h, math.ceil((y1 + grow_y) / 2) * 2)
    if right - left < 2 or bottom - top < 2:
        return 0
    flat = yuv.reshape(-1)
    quarter = (h // 2) * (w // 2)
    luma = flat[: h * w].reshape(h, w)
    blue = flat[h * w : h * w + quarter].reshape(h // 2, w // 2)
    red = flat[h * w + quarter :].reshape(h // 2, w // 2)
    _mosaic(luma[top:bottom, left:right])
    for plane in (blue, red):
        _mosaic(plane[top // 2 : bottom // 2, left // 2 : right // 2])
    if mask is not None:
        mask[top:bottom, left:right] = True
    return (bottom - top) * (right - left)


def _mosaic(patch: np.ndarray) -> None:
    """A mosaic of at most MOSAIC_CELLS cells across, blurred, in place of ``patch``."""
    cell = max(2, math.ceil(max(patch.shape[:2]) / MOSAIC_CELLS))
    small = cv2.resize(
        patch,
        (max(1, patch.shape[1] // cell), max(1, patch.shape[0] // cell)),
        interpolation=cv2.INTER_AREA,
    )
    # Blurred across about a cell: what is left is a few soft patches of colour, and the
    # cells' edges no longer draw a grid that outlines a head. Drawn and blurred with cells
    # of at most _BLUR_CELL pixels, then stretched: the same picture (within a few levels) as
    # blurring at full size, whose cost grew with the square of the face (a 400 px face took
    # 0.2 s a frame on one core).
    step = min(_BLUR_CELL, cell)
    drawn = (max(1, patch.shape[1] * step // cell), max(1, patch.shape[0] * step // cell))
    mosaic = cv2.resize(small, drawn, interpolation=cv2.INTER_NEAREST)
    soft = cv2.GaussianBlur(mosaic, (0, 0), sigmaX=step / 2)
    patch[:] = cv2.resize(soft, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_LINEAR)
