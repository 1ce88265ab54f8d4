"""Gradual transitions between shots: fades through black or white, and cross-dissolves.

Both work on `Frames`, the statistics shots.py keeps of each decoded frame in its window, and
return {boundary frame: kind} with frames counted from the window's start. See shots.py for
what each test looks for and where the thresholds were set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: One decoded frame: pts, end pts, luma at half the analysis size (uint8), 4x4-block means of
#: luma and chroma, histograms of luma (32 bins) and chroma (16 + 16) summing to 3, mean
#: absolute YUV change from the previous frame, luma mean and standard deviation, and the
#: luma's 10th, 50th and 90th percentiles (a corner logo or watermark moves none of them).
Row = tuple[int, int, np.ndarray, np.ndarray, np.ndarray, float, float, float, np.ndarray]

FLASH = 2  # longest flash (frames) that is taken for neither two cuts nor a fade
# Across a flash the histogram comes back at least halfway (an encoder's keyframe after a
# blast shifts a textured picture's histogram by a third of the jump into it).
FLASH_RETURN = 0.5
# Fades: a dip to low contrast (luma p90 - p10), dark or bright, lit pictures on both sides.
_DARK_LEVEL, _BRIGHT_LEVEL = 60.0, 180.0  # median luma of a dip to black, of one to white
_DIP_CONTRAST = 24.0
_FLAT = 2.0  # contrast of a held black or white frame (a corner watermark or logo is ~0)
_FLAT_DEPTH = 24.0  # and its median luma's distance from 0 or 255 (16 and 235 in video range)
_RAMP = 3  # frames of steady fading either side of a dip that is not flat
_RAMP_STEP = 0.6  # the largest share of a ramp's rise one frame may take (a flash takes all)
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


@dataclass
class Frames:
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
    def of(cls, rows: list[Row]) -> Frames:
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


def fades(frames: Frames) -> tuple[dict[int, str], np.ndarray]:
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
            # With no hold, the last frame out and the first in are about equally deep.
            bottom = _extent(low & (distance <= 1.25 * distance[deepest] + 2), deepest)
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
    if stop - start > FLASH or start == 0 or stop >= len(hists):
        return False
    across = float(np.abs(hists[stop] - hists[start - 1]).sum())
    into = float(np.abs(hists[start] - hists[start - 1]).sum())
    return across < FLASH_RETURN * into


def _ramp(contrast: np.ndarray, deepest: int, step: int) -> bool:
    """Contrast grows steadily for `_RAMP` frames away from ``deepest``, no frame taking more
    than `_RAMP_STEP` of the rise: a fade, not a jump."""
    frames = deepest + step * np.arange(_RAMP + 1)
    if not 0 <= frames[-1] < len(contrast):
        return False
    rises = np.diff(contrast[frames])
    return bool((rises > 0).all() and rises.max() <= _RAMP_STEP * rises.sum())


def dissolves(frames: Frames, blocked: np.ndarray) -> dict[int, str]:
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
    frames: Frames, thumbs: np.ndarray, blocked: np.ndarray, k: int
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
