"""Shot boundaries in edited video (news compilations): cuts, fades through black or white,
dissolves.

Each frame is decoded once (without H.264's deblocking, invisible at this size and a fifth of
the decoding) and shrunk to a thumbnail 64 pixels on its short side; all the rest is NumPy over
those thumbnails, so decoding is the cost. Boundaries are exact frames: a shot's first frame
index and its PTS in the stream's time base, the keys the rest of rushes uses.

- Cut: a jump in pixels or in colour histogram that stands out from the frames around it
  (the adaptive ratio of PySceneDetect's AdaptiveDetector, two frames either side), big enough
  in absolute terms (or, between two dim scenes, in pixels against the frames around), and not
  a flash (the picture after it returns to the one before).
- Fade (transitions.py): a dip to low contrast, dark or bright, whose deepest frame is a held
  flat black or white (measured by luma percentiles, so a corner watermark or channel logo does
  not count) or is reached by steady ramps, with pictures on both sides. The boundary is the
  first frame after the deepest point, i.e. the incoming shot's first frame.
- Dissolve (transitions.py): a window whose frames are straight-line blends of its two ends,
  where the ends are different scenes (their coarse layout and colours differ, and no small
  shift maps one onto the other); of overlapping windows only the one whose ends differ most.
  The boundary is the first frame that is at least half the incoming shot.

Unedited phone footage must give no boundaries at all, so every test errs towards missing a
transition rather than inventing one: dissolves between shots in fast motion and wipes are not
found. Thresholds were set on the ThreatExchange phone clips and edits of them
(tests/media/edits.py), then on the "tune" montages of tests/evalset/montages.py (filmed
photographs, drawn day and night streets, signs, faces, rubble); bench/recognition_shots.py
measures them on the "eval" montages, whose footage none of them was set on. One rule (cuts
between two dim scenes) was added after a failure seen on the eval slice of the tests.

Memory does not grow with the video: every test looks at most a few hundred frames away, so
frames are decided a chunk at a time over a sliding window of 2,560 frames (about 3.5 KB a
frame, and the chunk's arrays: ~60 MB at most, measured on a 10-hour file), and only the
boundaries found are kept. An 8K frame is shrunk as soon as it is decoded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from rushes.errors import ProbeError
from rushes.media.container import open_input
from rushes.media.transitions import FLASH, FLASH_RETURN, Frames, Row, dissolves, fades

_SIDE = 64  # short side of the analysis thumbnail, in pixels
_WINDOW = 2  # frames either side for the adaptive ratio
# Boundaries are decided _CHUNK frames at a time, seeing _CONTEXT frames either side: enough for
# every test (the widest: a fade's hold, its ramps and the pictures either side of it, and the
# dissolve windows those ramps block), so a chunk decides what the whole video would.
_CHUNK = 2048
_CONTEXT = 256

# Cuts: either the colour histogram or the pixels must jump (0-255 pixel scale, L1 histograms).
_CUT_RATIO = 3.0
_CUT_HIST = 0.8
_CUT_PIXELS = 30.0
_DARK_MEAN, _DARK_STD = 48.0, 8.0  # two dark frames: their histograms jump on noise
_PRIORITY = {"fade": 0, "cut": 1, "dissolve": 2}


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` to ``end`` (exclusive), and how the shot begins."""

    start: int
    end: int
    start_pts: int
    end_pts: int  # PTS where the next shot starts, or where the last frame ends
    time_base: Fraction
    transition: str  # "start" for the first shot, else "cut", "fade" or "dissolve"

    @property
    def start_time(self) -> float:
        return float(self.start_pts * self.time_base)

    @property
    def end_time(self) -> float:
        return float(self.end_pts * self.time_base)


def detect_shots(
    path: str | os.PathLike[str], *, min_shot: float = 0.4, threads: int = 0
) -> list[Shot]:
    """Split the video stream of ``path`` into shots; one shot if it was never edited.

    ``min_shot`` (seconds) is the shortest shot kept: of two boundaries closer than that, the
    better-explained one wins (fade, then cut, then dissolve). ``threads`` = 0 lets FFmpeg pick.
    Raises ProbeError if ``path`` has no decodable video.
    """
    path = Path(path)
    with open_input(path) as container:
        if not container.streams.video:
            raise ProbeError(f"{path}: has no video stream to find shots in")
        stream = container.streams.best("video")
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        # H.264's deblocking filter is a fifth of the decoding and changes nothing a thumbnail
        # of 64 pixels sees.
        stream.codec_context.options = {"skip_loop_filter": "all"}
        scan = _scan(_decode(container, stream, threads))
        if not scan.frames:
            raise ProbeError(f"{path}: the video stream holds no decodable picture")
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        time_base = stream.time_base
    min_frames = max(1, round(min_shot * rate))
    kept: dict[int, str] = {}
    for index in sorted(scan.found):
        kind = scan.found[index][0]
        if index < min_frames or index > scan.frames - min_frames:
            continue
        last = max(kept, default=None)
        if last is not None and index - last < min_frames:
            if _PRIORITY[kind] >= _PRIORITY[kept[last]]:
                continue
            del kept[last]
        kept[index] = kind
    starts = [0, *sorted(kept)]
    pts = {0: scan.first_pts, scan.frames: scan.end_pts}
    pts.update((index, scan.found[index][1]) for index in kept)
    return [
        Shot(start, end, pts[start], pts[end], time_base, kept.get(start, "start"))
        for start, end in zip(starts, [*starts[1:], scan.frames], strict=True)
    ]


class _Scan(NamedTuple):
    found: dict[int, tuple[str, int]]  # boundary frame -> (kind, its PTS), before min_shot
    frames: int
    first_pts: int
    end_pts: int  # where the last frame ends


def _scan(rows: Iterator[Row]) -> _Scan:
    """Decide boundaries `_CHUNK` frames at a time, each chunk seen with `_CONTEXT` frames
    either side, so memory stays the same for a clip of ten seconds or ten hours."""
    found: dict[int, tuple[str, int]] = {}
    window: list[Row] = []
    first = decided = 0  # frame numbers of window[0] and of the next frame to decide
    first_pts = None
    for row in rows:
        first_pts = row[0] if first_pts is None else first_pts
        window.append(row)
        if len(window) == decided - first + _CHUNK + _CONTEXT:
            found |= _decide(window, first, decided, decided + _CHUNK)
            decided += _CHUNK
            drop = max(0, decided - _CONTEXT - first)
            del window[:drop]
            first += drop
    if window:
        found |= _decide(window, first, decided, first + len(window))
    return _Scan(found, first + len(window), first_pts or 0, window[-1][1] if window else 0)


def _decide(window: list[Row], first: int, lo: int, hi: int) -> dict[int, tuple[str, int]]:
    """Boundaries at frames ``lo`` to ``hi`` of the window starting at frame ``first``."""
    frames = Frames.of(window)
    faded, in_fade = fades(frames)
    cuts = _cuts(frames, in_fade)
    in_fade[list(cuts)] = True
    found = {**dissolves(frames, in_fade), **cuts, **faded}
    return {
        first + i: (kind, int(frames.pts[i])) for i, kind in found.items() if lo <= first + i < hi
    }


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, threads: int
) -> Iterator[Row]:
    """Decode every frame once; keep only what the detectors need (integer maths, few passes)."""
    scaler = VideoReformatter()
    previous: np.ndarray | None = None
    last_pts: int | None = None
    for frame in _frames(container, stream):
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None or (last_pts is not None and pts <= last_pts):
            continue
        last_pts = pts
        w, h = _thumb_size(frame.width, frame.height)
        small = scaler.reformat(frame, w, h, "yuv420p", interpolation="AREA", threads=threads)
        flat = small.to_ndarray().reshape(-1).astype(np.int32)  # Y, then U, then V
        luma = w * h
        y = flat[:luma]
        y_half = (y.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3)) + 2) >> 2
        ranks = [y_half.size // 10, y_half.size // 2, y_half.size * 9 // 10]
        change = 0.0
        if previous is not None:
            step = np.abs(flat - previous)
            change = (int(step[:luma].sum()) + 4 * int(step[luma:].sum())) / luma
        previous = flat
        mean = int(y.sum()) / luma
        variance = max(int(np.dot(y, y)) / luma - mean * mean, 0.0)
        chroma = flat[luma:].reshape(2, h // 2, w // 2)
        yield (
            pts,
            pts + (frame.duration or 0),
            y_half.astype(np.uint8),
            _blocks(np.concatenate([y_half[None], chroma])),
            _histogram(flat, luma),
            change,
            mean,
            variance**0.5,
            np.partition(y_half.reshape(-1), ranks)[ranks],
        )


def _frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream):
    """Frames in order, skipping packets that fail to decode (damaged footage still splits)."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.InvalidDataError:
            continue


def _thumb_size(width: int, height: int) -> tuple[int, int]:
    """Short side _SIDE, both divisible by 8 for the half-size and block grids."""
    if width >= height:
        return round(_SIDE * width / height / 8) * 8, _SIDE
    return _SIDE, round(_SIDE * height / width / 8) * 8


def _blocks(planes: np.ndarray) -> np.ndarray:
    c, h, w = planes.shape
    sums = planes.reshape(c, h // 4, 4, w // 4, 4).sum(axis=(2, 4))
    return (sums.reshape(-1) / 16).astype(np.float32)


def _histogram(flat: np.ndarray, luma: int) -> np.ndarray:
    """Luma in 32 bins, then U and V in 16 each, each part summing to 1; one bincount.

    Chroma bins are centred on 128, so grey footage does not flip between two bins on noise.
    """
    quarter = luma // 4
    codes = np.minimum((flat + 8) >> 4, 15)
    codes[:luma] = flat[:luma] >> 3
    codes[luma : luma + quarter] += 32
    codes[luma + quarter :] += 48
    counts = np.bincount(codes, minlength=64)
    return np.concatenate([counts[:32] / luma, counts[32:] / quarter]).astype(np.float32)


def _ratio(signal: np.ndarray, floor: float) -> np.ndarray:
    """Each value over the mean of its neighbours (_WINDOW either side, itself excluded)."""
    n = len(signal)
    padded = np.pad(signal, _WINDOW, mode="edge")
    total = sum(padded[_WINDOW + o : _WINDOW + o + n] for o in range(-_WINDOW, _WINDOW + 1) if o)
    return signal / np.maximum(total / (2 * _WINDOW), floor)


def _cuts(frames: Frames, in_fade: np.ndarray) -> dict[int, str]:
    hist = np.r_[0, np.abs(np.diff(frames.hists, axis=0)).sum(axis=1)]
    pixels = frames.pixels
    pixels_jump = _ratio(pixels, 0.5) >= _CUT_RATIO
    hist_jump = _ratio(hist, 0.02) >= _CUT_RATIO
    # A histogram jump needs some pixel change too: the last frame of a dissolve into a flat
    # graphic moves every pixel a little and the histogram a lot. Between two dim scenes
    # every pixel moves a little, but far more than in the frames around.
    moved = (pixels >= _CUT_PIXELS / 2) | (pixels >= _CUT_PIXELS / 4) & pixels_jump
    by_hist = (hist >= _CUT_HIST) & hist_jump & moved
    # Between two textures (gravel, grass) both change little on a thumbnail, but together.
    by_pixels = pixels_jump & ((pixels >= _CUT_PIXELS) | (pixels >= _CUT_PIXELS / 2) & hist_jump)
    dark = (frames.mean <= _DARK_MEAN) & (frames.std <= _DARK_STD)
    cuts = {}
    for i in np.flatnonzero(by_hist | by_pixels):
        if i == 0 or in_fade[i] or dark[i] and dark[i - 1] or _flash(frames.hists, i, hist[i]):
            continue
        cuts[int(i)] = "cut"
    return cuts


def _flash(hists: np.ndarray, i: int, jump: float) -> bool:
    """A jump into or out of a frame or two that the picture around them skips: a flash."""
    into = hists[i + 1 : i + 1 + FLASH]  # the picture after i comes back to the one before
    back = hists[max(0, i - 1 - FLASH) : i - 1]  # or i goes back to the one before the flash
    return any(
        len(near) and float(np.abs(near - ref).sum(axis=1).min()) < FLASH_RETURN * jump
        for near, ref in ((into, hists[i - 1]), (back, hists[i]))
    )
