"""Footage with faces whose place is known in every frame, for the redaction tests and bench.

The face is the astronaut's from scikit-image's sample photographs (an installed package),
scaled over the clip from one height to another, drifting across a rubble-like texture, upright
or turned; optionally faster, at lower contrast, or with its lower part covered (a scarf).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from tests.clips import _add_audio, _encode_audio, _video_tags

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


@dataclass(frozen=True)
class FaceClip:
    path: Path
    boxes: list[list[Box]]  # per frame, where the faces are (what a face box should cover)
    fps: int


def _face() -> np.ndarray:
    """The astronaut's face, tight (brow to chin, ear to ear)."""
    return skimage.data.astronaut()[45:215, 160:300]


def background(size: tuple[int, int], seed: int) -> np.ndarray:
    """Rubble-like texture: no faces in it."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(40, 200, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def face_clip(
    path: Path,
    *,
    seconds: float = 3.0,
    fps: int = 30,
    size: tuple[int, int] = (640, 360),
    heights: tuple[int, int] = (20, 200),
    faces: int = 1,
    rotate: float = 0.0,
    speed: float = 1.0,
    contrast: float = 1.0,
    cover: float = 0.0,
    gps: tuple[float, float] | None = None,
    creation_time: datetime | None = None,
    make: str | None = None,
    model: str | None = None,
    seed: int = 0,
) -> FaceClip:
    """Write ``path`` (MP4, H.264 + AAC) with ``faces`` faces growing from ``heights[0]`` to
    ``heights[1]`` pixels tall and drifting across (``speed`` times the usual pace and sweep);
    ``contrast`` < 1 pulls the face towards grey, ``cover`` hides that share of its height from
    the chin up under a dark cloth; tags as a phone would write them."""
    face = _face()
    w, h = size
    count = round(seconds * fps)
    ground = background(size, seed)
    rng = np.random.default_rng(seed)
    starts = [(rng.uniform(0.05, 0.6) * w, rng.uniform(0.05, 0.4) * h) for _ in range(faces)]
    out = av.open(str(path), "w", options={"movflags": "use_metadata_tags"})
    truth: list[list[Box]] = []
    try:
        out.metadata.update(_video_tags(".mp4", gps, creation_time, make, model))
        video = out.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        sound = _add_audio(out, "aac")
        for i in range(count):
            share = i / max(1, count - 1)
            tall = round(heights[0] + (heights[1] - heights[0]) * share)
            wide = round(tall * face.shape[1] / face.shape[0])
            picture = ground.copy()
            boxes = []
            for n, (x, y) in enumerate(starts):
                x0 = int(x + 60 * speed * math.sin(i * speed / 15 + n)) % max(1, w - wide)
                y0 = int(y + 20 * speed * math.cos(i * speed / 20 + n)) % max(1, h - tall)
                scaled = cv2.resize(face, (wide, tall), interpolation=cv2.INTER_AREA)
                if contrast != 1.0:
                    grey = scaled.astype(np.float32) * contrast + 128 * (1 - contrast)
                    scaled = grey.clip(0, 255).astype(np.uint8)
                if cover:
                    scaled[round(tall * (1 - cover)) :] = (40, 45, 50)
                if rotate:
                    turn = cv2.getRotationMatrix2D((wide / 2, tall / 2), rotate, 1.0)
                    scaled = cv2.warpAffine(
                        scaled, turn, (wide, tall), borderMode=cv2.BORDER_REFLECT
                    )
                picture[y0 : y0 + tall, x0 : x0 + wide] = scaled
                boxes.append((x0, y0, x0 + wide, y0 + tall))
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
            truth.append(boxes)
        out.mux(video.encode())
        _encode_audio(out, sound, seconds, seed)
    finally:
        out.close()
    return FaceClip(path, truth, fps)


def hidden_share(original: np.ndarray, copy: np.ndarray, box: Box) -> float:
    """How much of the detail inside ``box`` is gone in ``copy`` (1: all of it; a mosaic of six
    cells leaves well under a tenth of a face's fine detail)."""
    x0, y0, x1, y1 = box
    # Its inner part: the background's texture at the very edge would count as the face's.
    dx, dy = (x1 - x0) // 12, (y1 - y0) // 12
    x0, y0, x1, y1 = x0 + dx, y0 + dy, x1 - dx, y1 - dy
    detail = [
        cv2.Laplacian(cv2.cvtColor(p[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
        for p in (original, copy)
    ]
    return 1.0 - detail[1] / max(detail[0], 1e-6)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
