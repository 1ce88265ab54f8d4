"""Edited videos with known shot boundaries, cut together from the real phone clips.

Like a news compilation: shots from different phones joined on a 320x180 canvas at 30 fps
(portrait clips cropped to fill or pillarboxed), by hard cuts, fades through black and
cross-dissolves, then encoded once with libx264 the way an editor exports. Every shot keeps
playing through its transitions, as in a real edit.

Where a boundary is: a cut at the first frame of the new shot; a fade at the first frame after
the black (the incoming shot's first frame); a dissolve at its first frame that is at least
half the incoming shot. Frame indices count from 0 in presentation order.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "threatexchange"
SIZE = (320, 180)
FPS = 30
_SCALER = VideoReformatter()  # one scaler for all frames: a new one per frame costs ~3 ms


@dataclass(frozen=True)
class Piece:
    """``frames`` frames of a fixture clip from ``start`` seconds on."""

    clip: str
    start: float
    frames: int
    fit: Literal["fill", "pad"] = "fill"


@dataclass(frozen=True)
class Join:
    """How a piece follows the one before: ``frames`` is the dissolve or each fade's length."""

    kind: Literal["cut", "fade", "dissolve"] = "cut"
    frames: int = 0
    black: int = 0  # fully black frames between a fade out and the fade in


@dataclass(frozen=True)
class Edit:
    path: Path
    boundaries: tuple[int, ...]  # first frame of every shot but the first
    kinds: tuple[str, ...]
    frames: int


CUT = Join()

#: Shots alternate between the four scenes (chair, fabric, doorknob, test card) and revisit
#: scenes later, as compilations do.
CUTS = (
    Piece("chair-orig-22-sd-bar", 1.0, 45),
    CUT,
    Piece("pattern-sd-grey-bar", 0.5, 40),
    CUT,
    Piece("doorknob-hd-no-bar", 0.2, 50),
    CUT,
    Piece("chair-22-with-small-logo-bar", 12.0, 35, fit="pad"),
    CUT,
    Piece("test-padded-dimensions", 1.0, 30),
    CUT,
    Piece("pattern-hd-no-bar", 3.0, 45),
    CUT,
    Piece("chair-orig-22-sd-bar", 17.0, 40),
    CUT,
    Piece("doorknob-hd-no-bar", 2.3, 40, fit="pad"),
)
FADES = (
    Piece("pattern-longer-no-bar", 0.0, 50),
    Join("fade", 10, black=4),
    Piece("chair-orig-22-sd-bar", 5.0, 50),
    Join("fade", 8),
    Piece("doorknob-hd-no-bar", 0.5, 50),
    Join("fade", 12, black=8),
    Piece("test-padded-dimensions", 2.0, 40),
    Join("fade", 6, black=2),
    Piece("chair-22-sd-sepia-bar", 14.0, 50),
)
DISSOLVES = (
    Piece("doorknob-hd-no-bar", 0.0, 50),
    Join("dissolve", 15),
    Piece("chair-orig-22-sd-bar", 8.0, 60),
    Join("dissolve", 10),
    Piece("pattern-sd-with-large-logo-bar", 1.0, 55),
    Join("dissolve", 20),
    Piece("chair-22-sd-grey-bar", 15.0, 60),
    Join("dissolve", 12),
    Piece("test-padded-dimensions", 0.5, 50),
)
MIXED = (
    Piece("chair-22-with-large-logo-bar", 3.0, 40),
    CUT,
    Piece("pattern-hd-no-bar", 1.0, 45),
    Join("dissolve", 14),
    Piece("doorknob-hd-no-bar", 1.0, 50, fit="pad"),
    Join("fade", 8, black=3),
    Piece("chair-orig-22-sd-bar", 19.0, 40),
    CUT,
    Piece("pattern-sd-with-small-logo-bar", 4.0, 40),
    Join("dissolve", 8),
    Piece("chair-20-sd-bar", 10.0, 45),
)
#: Written after the detector's thresholds were set, to check they carry over.
HOLDOUT_1 = (
    Piece("pattern-sd-grey-bar", 3.0, 40),
    Join("dissolve", 18),
    Piece("chair-orig-22-sd-bar", 12.0, 50),
    CUT,
    Piece("test-padded-dimensions", 3.0, 35),
    Join("dissolve", 10),
    Piece("doorknob-hd-no-bar", 1.5, 45),
    Join("fade", 15, black=10),
    Piece("chair-22-with-small-logo-bar", 6.0, 40, fit="pad"),
    Join("dissolve", 16),
    Piece("pattern-longer-no-bar", 5.0, 45),
    CUT,
    Piece("chair-20-sd-bar", 2.0, 40),
)
HOLDOUT_2 = (
    Piece("chair-22-sd-grey-bar", 9.0, 40),
    Join("dissolve", 12),
    Piece("doorknob-hd-no-bar", 2.0, 40, fit="pad"),
    Join("fade", 5),
    Piece("pattern-hd-no-bar", 4.5, 40),
    Join("dissolve", 20),
    Piece("chair-orig-22-sd-bar", 0.5, 50),
    CUT,
    Piece("chair-22-sd-sepia-bar", 18.0, 40),
    Join("dissolve", 14),
    Piece("test-padded-dimensions", 1.0, 40),
)
EDITS = {
    "cuts": CUTS,
    "fades": FADES,
    "dissolves": DISSOLVES,
    "mixed": MIXED,
    "holdout-1": HOLDOUT_1,
    "holdout-2": HOLDOUT_2,
}


def make_edit(path: Path, timeline: tuple[Piece | Join, ...]) -> Edit:
    """Render a timeline of pieces and joins to an H.264 MP4 and say where its shots begin."""
    pieces = [p for p in timeline if isinstance(p, Piece)]
    joins = [j for j in timeline if isinstance(j, Join)]
    frames = list(_shot(pieces[0]))
    boundaries, kinds = [], []
    for join, piece in zip(joins, pieces[1:], strict=True):
        incoming = _shot(piece)
        boundaries.append(_join(frames, incoming, join))
        kinds.append(join.kind)
    _encode(path, frames)
    return Edit(path, tuple(boundaries), tuple(kinds), len(frames))


def make_flash(path: Path, piece: Piece, at: int, frames: int = 2) -> Path:
    """One shot with ``frames`` frames near white from ``at`` on: a camera flash, a blast."""
    shot = _shot(piece)
    for i in range(at, at + frames):
        shot[i] = _mix(shot[i], 255, 0.8)
    _encode(path, shot)
    return path


def f1(found: list[int], truth: tuple[int, ...], tolerance: int = 1) -> float:
    """F1 of found boundaries against the truth, each matched at most once within tolerance."""
    unmatched = list(truth)
    hits = 0
    for frame in found:
        near = [t for t in unmatched if abs(t - frame) <= tolerance]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - frame)))
            hits += 1
    if not found or not truth:
        return float(found == [] and truth == ())
    precision, recall = hits / len(found), hits / len(truth)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def _join(frames: list[np.ndarray], incoming: list[np.ndarray], join: Join) -> int:
    """Append ``incoming`` to ``frames`` through ``join``; return the boundary frame."""
    n = join.frames
    if join.kind == "dissolve":
        start = len(frames) - n
        for j in range(n):
            a = (j + 1) / (n + 1)
            frames[start + j] = _mix(frames[start + j], incoming[j], a)
        frames.extend(incoming[n:])
        return start + next(j for j in range(n) if (j + 1) / (n + 1) >= 0.5)
    if join.kind == "fade":
        for j in range(n):
            frames[len(frames) - n + j] = _mix(frames[len(frames) - n + j], 0, (j + 1) / (n + 1))
        frames.extend(np.zeros_like(incoming[0]) for _ in range(join.black))
        boundary = len(frames)
        frames.extend(_mix(0, f, (j + 1) / (n + 1)) if j < n else f for j, f in enumerate(incoming))
        return boundary
    boundary = len(frames)
    frames.extend(incoming)
    return boundary


def _mix(a: np.ndarray | int, b: np.ndarray | int, alpha: float) -> np.ndarray:
    return np.asarray((1 - alpha) * np.asarray(a, np.float32) + alpha * np.asarray(b, np.float32))


def _shot(piece: Piece) -> list[np.ndarray]:
    """The piece's frames as 320x180 RGB float arrays, cropped to fill or pillarboxed."""
    out: list[np.ndarray] = []
    with av.open(str(FIXTURES / f"{piece.clip}.mp4")) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        c.seek(int(piece.start / stream.time_base), stream=stream)
        for frame in c.decode(stream):
            if frame.time + 1e-6 < piece.start:
                continue
            out.append(_fit(frame, piece.fit).astype(np.float32))
            if len(out) == piece.frames:
                return out
    raise ValueError(f"{piece.clip} has fewer than {piece.frames} frames after {piece.start} s")


def _fit(frame: av.VideoFrame, fit: str) -> np.ndarray:
    w, h = SIZE
    scale = (max if fit == "fill" else min)(w / frame.width, h / frame.height)
    sw, sh = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    rgb = _SCALER.reformat(frame, sw, sh, "rgb24", interpolation="AREA").to_ndarray()
    canvas = np.zeros((h, w, 3), np.uint8)
    if fit == "fill":
        y, x = (sh - h) // 2, (sw - w) // 2
        canvas[:] = rgb[y : y + h, x : x + w]
    else:
        y, x = (h - sh) // 2, (w - sw) // 2
        canvas[y : y + sh, x : x + sw] = rgb
    return canvas


def _encode(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
