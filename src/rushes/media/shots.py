"""Shot boundaries in edited video (news compilations): hard cuts, fades through black, dissolves.

Each frame is decoded once and shrunk to a thumbnail 64 pixels on its short side; all the rest
is NumPy over those thumbnails, so decoding is the cost. Boundaries are exact frames: a
shot's first frame index and its PTS in the stream's time base, the keys the rest of rushes uses.

- Cut: a jump in pixels or in colour histogram that stands out from the frames around it
  (the adaptive ratio of PySceneDetect's AdaptiveDetector, two frames either side), big enough
  in absolute terms, and not a flash (the picture after it does not return to the one before).
- Fade: a dip to a flat, near-black frame between two lit pictures, dark for at most
  `_FADE_LONGEST` frames. The boundary is the first frame after the darkest point, i.e. the
  incoming shot's first frame.
- Dissolve: a window whose frames are straight-line blends of its two ends, where the ends are
  different scenes (their coarse layout and colours differ, and no small shift maps one onto the
  other). The boundary is the first frame that is at least half the incoming shot.

Unedited phone footage must give no boundaries at all, so every test errs towards missing a
transition rather than inventing one: dissolves between shots in fast motion, fades to white
and wipes are not found. Thresholds were set on the ThreatExchange phone clips and edits of
them (tests/media/edits.py).

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

_SIDE = 64  # short side of the analysis thumbnail, in pixels
_WINDOW = 2  # frames either side for the adaptive ratio
# Boundaries are decided _CHUNK frames at a time, seeing _CONTEXT frames either side: enough for
# every test below (the widest: a fade's dark run, lit pictures and ramps either side of it, and
# the dissolve windows those ramps block), so a chunk decides what the whole video would.
_CHUNK = 2048
_CONTEXT = 256

# Cuts: either the colour histogram or the pixels must jump (0-255 pixel scale, L1 histograms).
_CUT_RATIO = 3.0
_CUT_HIST = 0.8
_CUT_PIXELS = 30.0
_FLASH = 2  # longest flash (frames) that is not taken for two cuts
# Across a flash the histogram comes back at least halfway (an encoder's keyframe after a
# blast shifts a textured picture's histogram by a third of the jump into it).
_FLASH_RETURN = 0.5
# Fades: a dip to low contrast (luma p90 - p10), dark or bright, lit pictures on both sides.
_DARK_MEAN, _DARK_STD = 48.0, 8.0  # a dark frame, for cuts: histograms of two jump on noise
_DARK_LEVEL, _BRIGHT_LEVEL = 60.0, 180.0  # median luma of a dip to black, of one to white
_DIP_CONTRAST = 24.0
_FLAT = 2.0  # contrast of a held black or white frame (a corner watermark or logo is ~0)
_FLAT_DEPTH = 24.0  # and its median luma's distance from 0 or 255 (16 and 235 in video range)
_RAMP = 3  # frames of steady fading either side of a dip that is not flat
_LIT_STD = 15.0
_FADE_REACH = 60  # frames either side of a fade to look for pictures
_FADE_LONGEST = 90  # a longer flat hold or dip is footage (lens covered, night), not a fade
# Dissolves: half-widths tried, and what a blend between two different scenes looks like.
_DISSOLVE_HALF_WIDTHS = (5, 8, 12, 16)
_DISSOLVE_CHANGE = 0.45  # mean change between the ends, in standard deviations
_DISSOLVE_RESIDUAL = 0.6  # off-blend residual, as a fraction of that change
_DISSOLVE_HIST = 0.6
_DISSOLVE_COARSE = 7.0  # mean change of the 4x4-block layout (luma and chroma), 0-255 scale
_DISSOLVE_COARSE_RESIDUAL = 0.2  # the layout must blend almost exactly in a straight line
_DISSOLVE_SHIFTED = 0.35  # change left after the best shift of up to 10% of the width

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


def _scan(rows: Iterator[_Row]) -> _Scan:
    """Decide boundaries `_CHUNK` frames at a time, each chunk seen with `_CONTEXT` frames
    either side, so memory stays the same for a clip of ten seconds or ten hours."""
    found: dict[int, tuple[str, int]] = {}
    window: list[_Row] = []
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


def _decide(window: list[_Row], first: int, lo: int, hi: int) -> dict[int, tuple[str, int]]:
    """Boundaries at frames ``lo`` to ``hi`` of the window starting at frame ``first``."""
    frames = _Frames.of(window)
    fades, in_fade = _fades(frames)
    cuts = _cuts(frames, in_fade)
    in_fade[list(cuts)] = True
    found = {**_dissolves(frames, in_fade), **cuts, **fades}
    return {
        first + i: (kind, int(frames.pts[i])) for i, kind in found.items() if lo <= first + i < hi
    }


#: One decoded frame: pts, end pts, luma at half the analysis size (uint8), 4x4-block means of
#: luma and chroma, histograms of luma (32 bins) and chroma (16 + 16) summing to 3, mean
#: absolute YUV change from the previous frame, luma mean and standard deviation, and the
#: luma's 10th, 50th and 90th percentiles (a corner logo or watermark moves none of them).
_Row = tuple[int, int, np.ndarray, np.ndarray, np.ndarray, float, float, float, np.ndarray]


@dataclass
class _Frames:
    """The per-frame statistics of a window of frames, as arrays."""

    pts: np.ndarray  # int64
    thumbs: np.ndarray  # (n, h, w) uint8
    coarse: np.ndarray  # (n, k) float32
    hists: np.ndarray  # (n, 64) float32
    pixels: np.ndarray  # (n,)
    mean: np.ndarray  # (n,)
    std: np.ndarray  # (n,)
    level: np.ndarray  # (n,) median luma
    contrast: np.ndarray  # (n,) 90th less 10th percentile of luma

    @classmethod
    def of(cls, rows: list[_Row]) -> _Frames:
        pts, _, thumbs, coarse, hists, pixels, mean, std, spread = zip(*rows, strict=True)
        low, level, high = np.array(spread, np.float32).T
        return cls(
            np.array(pts, np.int64),
            np.stack(thumbs),
            np.stack(coarse),
            np.stack(hists),
            np.array(pixels, np.float32),
            np.array(mean, np.float32),
            np.array(std, np.float32),
            level,
            high - low,
        )

    def dark(self) -> np.ndarray:
        return (self.mean <= _DARK_MEAN) & (self.std <= _DARK_STD)


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, threads: int
) -> Iterator[_Row]:
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


def _cuts(frames: _Frames, in_fade: np.ndarray) -> dict[int, str]:
    hist = np.r_[0, np.abs(np.diff(frames.hists, axis=0)).sum(axis=1)]
    pixels = frames.pixels
    # A histogram jump needs some pixel change too: the last frame of a dissolve into a flat
    # graphic moves every pixel a little and the histogram a lot. Between two dim scenes
    # every pixel moves a little, but far more than in the frames around.
    pixels_ratio = _ratio(pixels, 0.5)
    moved = (pixels >= _CUT_PIXELS / 2) | (pixels >= _CUT_PIXELS / 4) & (pixels_ratio >= _CUT_RATIO)
    by_hist = (hist >= _CUT_HIST) & (_ratio(hist, 0.02) >= _CUT_RATIO) & moved
    by_pixels = (pixels >= _CUT_PIXELS) & (pixels_ratio >= _CUT_RATIO)
    dark = frames.dark()
    cuts = {}
    for i in np.flatnonzero(by_hist | by_pixels):
        if i == 0 or in_fade[i] or dark[i] and dark[i - 1] or _flash(frames.hists, i, hist[i]):
            continue
        cuts[int(i)] = "cut"
    return cuts


def _flash(hists: np.ndarray, i: int, jump: float) -> bool:
    """A jump into or out of a frame or two that the picture around them skips: a flash."""
    into = hists[i + 1 : i + 1 + _FLASH]  # the picture after i comes back to the one before
    back = hists[max(0, i - 1 - _FLASH) : i - 1]  # or i goes back to the one before the flash
    return any(
        len(near) and float(np.abs(near - ref).sum(axis=1).min()) < _FLASH_RETURN * jump
        for near, ref in ((into, hists[i - 1]), (back, hists[i]))
    )


def _fades(frames: _Frames) -> tuple[dict[int, str], np.ndarray]:
    """Fade boundaries, and a mask of every frame in a fade (its hold and its ramps).

    A dip is a run of low-contrast frames, all dark or all bright. Its deepest frame must be
    flat black or white (a corner watermark or logo aside) held at most `_FADE_LONGEST` frames,
    or, for a fade with no hold, be reached by steady ramps; and there must be pictures on both
    sides. A flash, or a cut into a dim night scene (low contrast, but not flat), is neither.
    """
    contrast, level = frames.contrast, frames.level
    picture = (frames.std >= _LIT_STD) | (contrast > 2 * _FLAT)
    fades, mask = {}, np.zeros(len(level), bool)
    for dim, depth in ((level <= _DARK_LEVEL, level), (level >= _BRIGHT_LEVEL, 255 - level)):
        low = dim & (contrast <= _DIP_CONTRAST)
        flat = low & (contrast <= _FLAT) & (depth <= _FLAT_DEPTH)
        distance = contrast + depth  # from flat black (or white): falls steadily in a fade
        edges = np.flatnonzero(np.diff(np.r_[0, low.astype(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            run = distance[start:stop]
            deepest = start + int(np.flatnonzero(run <= run.min() + 0.5)[-1])
            first, last = _extent(flat, deepest)  # the hold, or the deepest frame alone
            if last - first >= _FADE_LONGEST or not flat[deepest] and stop - start > _FADE_LONGEST:
                continue
            # With no hold, the last frame out and the first in can be equally deep.
            bottom = _extent(low & (distance <= distance[deepest] + 2), deepest)
            steady = _ramp(contrast, bottom[0], -1) and _ramp(contrast, bottom[1], 1)
            if not steady and (not flat[deepest] or _same_picture(frames.hists, first, last + 1)):
                continue
            while first > 0 and distance[first - 1] > distance[first]:
                first -= 1
            while last < len(level) - 1 and distance[last + 1] > distance[last]:
                last += 1
            if picture[max(0, first - _FADE_REACH) : first + 1].any() and (
                picture[last : last + _FADE_REACH].any()
            ):
                fades[int(deepest) + 1] = "fade"
                mask[first : last + 1] = True
    return fades, mask


def _extent(flags: np.ndarray, i: int) -> tuple[int, int]:
    """First and last index of the run of true ``flags`` around ``i`` (``i`` alone if false)."""
    first = last = i
    while first > 0 and flags[first - 1] and flags[i]:
        first -= 1
    while last < len(flags) - 1 and flags[last + 1] and flags[i]:
        last += 1
    return first, last


def _same_picture(hists: np.ndarray, start: int, stop: int) -> bool:
    """A dip of a frame or two between the same picture: a flash (of a dark scene, near white)."""
    if stop - start > _FLASH or start == 0 or stop >= len(hists):
        return False
    across = float(np.abs(hists[stop] - hists[start - 1]).sum())
    into = float(np.abs(hists[start] - hists[start - 1]).sum())
    return across < _FLASH_RETURN * into


def _ramp(contrast: np.ndarray, deepest: int, step: int) -> bool:
    """Contrast grows steadily for `_RAMP` frames away from ``deepest``, no frame taking more
    than half the rise: a fade, not a jump."""
    end = deepest + step * _RAMP
    if not 0 <= end < len(contrast):
        return False
    rises = np.diff(contrast[deepest : end + step : step])
    return bool((rises > 0).all() and rises.max() <= 0.5 * rises.sum())


def _dissolves(frames: _Frames, blocked: np.ndarray) -> dict[int, str]:
    """Windows that are straight-line blends between two different scenes.

    Of overlapping windows, the one whose ends differ most gives the boundary: its ends are
    the pure shots either side, so its blend factor crosses one half where the dissolve does.
    """
    thumbs = frames.thumbs.reshape(len(frames.thumbs), -1).astype(np.float32)
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    thumbs /= thumbs.std(axis=1, keepdims=True) + 4  # flat frames stay near zero
    windows = sorted(
        (w for k in _DISSOLVE_HALF_WIDTHS for w in _blend_windows(frames, thumbs, blocked, k)),
        reverse=True,
    )
    shape = frames.thumbs.shape[1:]
    found: list[tuple[int, int, int]] = []
    for _, boundary, first, last in windows:
        # A part of a dissolve is a blend too: a window overlapping a kept one is the same one.
        if any(first < b_last - 1 and last > b_first + 1 for _, b_first, b_last in found):
            continue
        # Last and dearest test, so run only for windows that would be kept.
        if _shifted_change(thumbs[first], thumbs[last], shape) >= _DISSOLVE_SHIFTED:
            found.append((boundary, first, last))
    return {boundary: "dissolve" for boundary, _, _ in found}


def _blend_windows(
    frames: _Frames, thumbs: np.ndarray, blocked: np.ndarray, k: int
) -> list[tuple[float, int, int, int]]:
    """(layout change, boundary, first, last frame) of each half-width-k window like a dissolve.

    The layout (block means, raw) blends exactly linearly, so its blend factor says where the
    midpoint is; the pictures are compared normalised, so lighting alone is no change. Cheap
    tests run first, on every window; the dearer ones only on the windows still in the running.
    """
    n = len(thumbs)
    if n < 2 * k + 1:
        return []
    centres = np.arange(k, n - k)
    hist = np.abs(frames.hists[centres + k] - frames.hists[centres - k]).sum(axis=1)
    layout_ends = np.abs(frames.coarse[centres + k] - frames.coarse[centres - k]).mean(axis=1)
    spans = np.lib.stride_tricks.sliding_window_view(blocked, 2 * k + 1)
    centres = centres[
        (hist >= _DISSOLVE_HIST) & (layout_ends >= _DISSOLVE_COARSE) & ~spans.any(axis=1)
    ]
    layout_change, layout_alphas, layout_residual = _blend_fit(frames.coarse, centres, k)
    keep = (layout_residual <= _DISSOLVE_COARSE_RESIDUAL) & (
        np.abs(layout_alphas[:, k] - 0.5) <= 0.25
    )
    centres, layout_change, layout_alphas = centres[keep], layout_change[keep], layout_alphas[keep]
    change, alphas, residual = _blend_fit(thumbs, centres, k)
    keep = (
        (change >= _DISSOLVE_CHANGE)
        & (residual <= _DISSOLVE_RESIDUAL)
        & (np.diff(alphas, axis=1).max(axis=1, initial=0) <= 0.5)
    )
    found = []
    for c in np.flatnonzero(keep):
        i = int(centres[c])
        half = int(np.flatnonzero(layout_alphas[c] >= 0.5)[0])
        found.append((float(layout_change[c]), i - k + half, i - k, i + k))
    return found


def _blend_fit(
    series: np.ndarray, centres: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit each window centre±k as a straight blend of its two ends.

    Returns the mean change between the ends, each frame's blend factor (n, 2k+1), and the
    mean distance off the blend relative to the change.
    """
    first, last = series[centres - k], series[centres + k]
    span = last - first
    change = np.abs(span).mean(axis=1)
    energy = np.maximum((span * span).sum(axis=1), 1e-6)
    alphas = np.empty((len(centres), 2 * k + 1), np.float32)
    residual = np.zeros(len(centres), np.float32)
    for o in range(-k, k + 1):
        offset = series[centres + o] - first
        alphas[:, o + k] = (offset * span).sum(axis=1) / energy
        residual += np.abs(offset - alphas[:, o + k, None] * span).mean(axis=1)
    return change, alphas, residual / (2 * k + 1) / np.maximum(change, 1e-6)


def _shifted_change(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    """Mean change between two thumbnails after the best shift of up to a tenth of the width."""
    h, w = shape
    a, b = a.reshape(h, w), b.reshape(h, w)
    reach = max(1, round(max(h, w) / 10))
    best = np.inf
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            pa = a[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
            pb = b[max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)]
            best = min(best, float(np.abs(pa - pb).mean()))
    return best
