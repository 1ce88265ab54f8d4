"""Edited montages of the evaluation sources, with every shot boundary known to the frame.

Like an editor's export: shots of varied length from unrelated sources (night scenes among
them), joined by hard cuts, fades through black, through black carrying a small copyright
line (full-frame luma standard deviation 4.5, as users reported), through white, and
cross-dissolves of 10-30 frames; camera flashes and blasts of 1-2 frames inside shots, which
are not boundaries; on some montages a channel logo over everything. Encoded with libx264.

Boundaries follow tests/media/edits.py: a cut at the first frame of the new shot, a fade at
the first frame after its darkest (or brightest) point, a dissolve at its first frame that is at
least half the incoming shot. Everything follows from ``seed`` and ``split``: `sources(split)`
gives the footage, so tuning on "tune" and measuring on "eval" never share a picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from tests.evalset.sources import Source, Split, sources

KINDS = ("cut", "fade-black", "fade-watermarked-black", "fade-white", "dissolve")
#: (width, height), frame rate: a landscape export at both rates and a portrait phone edit.
FORMATS = (((640, 360), 25), ((640, 360), 30), ((360, 640), 30))
_WATERMARK_STD = 4.5
_LOGO = Path(skimage.data.__file__).parent / "logo.png"


@dataclass(frozen=True)
class Montage:
    """A rendered montage and its truth, frames counted from 0 in presentation order."""

    path: Path
    size: tuple[int, int]
    fps: int
    frames: int
    boundaries: tuple[int, ...]  # first frame of every shot but the first
    kinds: tuple[str, ...]  # one of KINDS per boundary
    lengths: tuple[int, ...]  # frames each transition takes (0 for a cut)
    flashes: tuple[int, ...]  # first frame of each flash or blast
    logo: bool
    sources: tuple[str, ...]


@dataclass
class Score:
    """Per kind: true boundaries found (hits), missed, and found boundaries that are none."""

    hits: dict[str, int]
    missed: dict[str, list[int]]
    spurious: dict[str, list[int]]  # charged to the kind of the nearest true boundary, or flash


def tolerance(kind: str, length: int) -> int:
    """±2 frames for a cut; half the transition's length (at least 2) for a fade or dissolve."""
    return 2 if kind == "cut" else max(2, length // 2)


def score(found: list[int], montage: Montage) -> Score:
    """Match found boundaries to true ones, nearest first, each true one at most once.

    A found boundary left over is charged to "flash" if from 2 frames before a flash to 4 after
    its start (a flash of two frames and the return from it), else to the kind of the nearest
    true boundary (a dissolve found twice counts against dissolves).
    """
    truth = list(zip(montage.boundaries, montage.kinds, montage.lengths, strict=True))
    pairs = sorted(
        (abs(f - b), f, t)
        for f in found
        for t, (b, kind, length) in enumerate(truth)
        if abs(f - b) <= tolerance(kind, length)
    )
    used_found: set[int] = set()
    used_truth: set[int] = set()
    hits = dict.fromkeys(KINDS, 0)
    for _, f, t in pairs:
        if f not in used_found and t not in used_truth:
            used_found.add(f)
            used_truth.add(t)
            hits[truth[t][1]] += 1
    missed: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for t, (b, kind, _) in enumerate(truth):
        if t not in used_truth:
            missed[kind].append(b)
    spurious: dict[str, list[int]] = {kind: [] for kind in (*KINDS, "flash")}
    for f in found:
        if f in used_found:
            continue
        if any(-2 <= f - x <= 4 for x in montage.flashes):
            spurious["flash"].append(f)
        elif truth:
            spurious[min(truth, key=lambda t: abs(t[0] - f))[1]].append(f)
    return Score(hits, missed, spurious)


def make_montages(
    folder: Path,
    split: Split = "eval",
    *,
    count: int = 9,
    seed: int = 0,
    shots: int = 10,
    size: tuple[int, int] | None = None,
) -> list[Montage]:
    """``count`` montages of ``shots`` shots each, cycling through `FORMATS` (or all ``size``),
    every third one under a logo."""
    made = []
    for n in range(count):
        frame_size, fps = FORMATS[n % len(FORMATS)]
        path = folder / f"montage-{split}-{seed}-{n}.mp4"
        made.append(
            make_montage(path, split, seed * 1000 + n, size or frame_size, fps, shots, n % 3 == 2)
        )
    return made


def make_montage(
    path: Path, split: Split, seed: int, size: tuple[int, int], fps: int, shots: int, logo: bool
) -> Montage:
    """Render one montage to ``path`` and say where its shots begin."""
    rng = np.random.default_rng(seed)
    picked = _pick(sources(split), shots, rng)
    joins = _joins(picked, rng)
    used = [0, *(n for _, n, _ in joins), 0]  # frames a transition takes from each shot
    pieces = [
        max(int(rng.uniform(1.5, 5.0) * fps), used[i] + used[i + 1] + 20)
        for i in range(len(picked))
    ]
    overlay = _logo(size) if logo else None
    boundaries, lengths, flashes = [], [], []
    with _Writer(path, size, fps, overlay) as out:
        pending = _footage(picked[0], size, pieces[0], fps, rng)
        flashes += _flash(pending, 0, used[1], rng)
        for i, (kind, n, black) in enumerate(joins, 1):
            incoming = _footage(picked[i], size, pieces[i], fps, rng)
            if kind == "dissolve":
                boundary = out.count + _dissolve(pending, incoming, n)
                out.write(pending)
            elif kind == "cut":
                out.write(pending)
                boundary = out.count
            else:
                out.write(pending[:-n])
                boundary = _fade(out, pending[-n:], incoming, n, black, kind, size)
            boundaries.append(boundary)
            lengths.append(n if kind == "dissolve" else 2 * n + black)
            start = out.count
            flashes += [start + f for f in _flash(incoming, n, used[i + 1], rng)]
            pending = incoming
        out.write(pending)
        frames = out.count
    return Montage(
        path,
        size,
        fps,
        frames,
        tuple(boundaries),
        tuple(k for k, _, _ in joins),
        tuple(lengths),
        tuple(flashes),
        logo,
        tuple(s.name for s in picked),
    )


def _pick(pool: list[Source], shots: int, rng: np.random.Generator) -> list[Source]:
    """Distinct sources in random order, a night scene second so a cut goes into it."""
    night = [s for s in pool if s.name.startswith("night")]
    others = [s for s in pool if not s.name.startswith("night")]
    chosen = [others[i] for i in rng.permutation(len(others))[: shots - 1]]
    chosen.insert(1, night[int(rng.integers(len(night)))])
    return chosen


def _footage(
    source: Source, size: tuple[int, int], count: int, fps: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """The source's frames; a night scene as a phone films it, underexposed to a third or so
    of its light (luma std under 8, where cuts into it used to be lost)."""
    frames = list(source.frames(size, count, fps))
    if source.name.startswith("night"):
        gain = rng.uniform(0.3, 0.4)
        frames = [_mix(0, f, gain) for f in frames]
    return frames


def _joins(picked: list[Source], rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """(kind, frames of each ramp or of the dissolve, flat frames held) per join: a cut into
    the night scene (second), then every kind at least once and cuts most often, shuffled."""
    rest = len(picked) - 2
    order = [*KINDS, *(["cut"] * rest)][:rest]
    order = ["cut", *(order[i] for i in rng.permutation(rest))]
    joins = []
    for kind in order:
        if kind == "dissolve":
            joins.append((kind, int(rng.integers(10, 31)), 0))
        elif kind == "cut":
            joins.append((kind, 0, 0))
        else:
            joins.append((kind, int(rng.integers(5, 16)), int(rng.integers(0, 9))))
    return joins


def _dissolve(pending: list[np.ndarray], incoming: list[np.ndarray], n: int) -> int:
    """Blend the last ``n`` pending frames into the first ``n`` incoming ones, in place; the
    boundary, counted from pending's start: the first frame at least half incoming."""
    start = len(pending) - n
    for j in range(n):
        a = (j + 1) / (n + 1)
        pending[start + j] = _mix(pending[start + j], incoming[j], a)
    del incoming[:n]
    return start + next(j for j in range(n) if (j + 1) / (n + 1) >= 0.5)


def _fade(
    out: _Writer,
    tail: list[np.ndarray],
    incoming: list[np.ndarray],
    n: int,
    black: int,
    kind: str,
    size: tuple[int, int],
) -> int:
    """Fade ``tail`` out to the flat frame of ``kind``, hold it ``black`` frames, fade the
    first ``n`` incoming frames in (in place); return the boundary: the first fade-in frame."""
    flat = _flat(kind, size)
    out.write([_mix(f, flat, (j + 1) / (n + 1)) for j, f in enumerate(tail)])
    out.write([flat] * black)
    for j in range(n):
        incoming[j] = _mix(flat, incoming[j], (j + 1) / (n + 1))
    return out.count


def _flat(kind: str, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if kind == "fade-white":
        return np.full((h, w, 3), 255, np.uint8)
    frame = np.zeros((h, w, 3), np.uint8)
    if kind == "fade-watermarked-black":
        frame[:] = _watermark(size)[:, :, None]
    return frame


def _watermark(size: tuple[int, int]) -> np.ndarray:
    """A copyright line in the bottom-right corner of black, grey enough for std 4.5."""
    w, h = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    font = ImageFont.load_default(size=max(10, min(w, h) // 24))
    text = "© 2024 Rushes Media"
    box = draw.textbbox((0, 0), text, font=font)
    draw.text((w - box[2] - w // 40, h - box[3] - h // 30), text, fill=255, font=font)
    alpha = np.asarray(mask, np.float64) / 255
    level = min(255.0, _WATERMARK_STD / alpha.std())
    return np.clip(alpha * level + 0.5, 0, 255).astype(np.uint8)


def _flash(frames: list[np.ndarray], lead: int, tail: int, rng: np.random.Generator) -> list[int]:
    """Half the shots get a camera flash or a blast of 1-2 frames, 10 frames or more from
    their transitions (``lead`` and ``tail`` frames); return where, from the shot's start."""
    if rng.random() < 0.5 or len(frames) < lead + tail + 24:
        return []
    at = int(rng.integers(lead + 10, len(frames) - tail - 12))
    length = int(rng.integers(1, 3))
    h, w = frames[at].shape[:2]
    if rng.random() < 0.5:  # a flash: the whole picture near white
        glow: np.ndarray | int = 255
        strength = 0.8
    else:  # a blast: an orange fireball over most of the frame
        y, x = np.ogrid[:h, :w]
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        r = np.hypot((y - cy) / h, (x - cx) / w)
        glow = np.array([255, 190, 90], np.float32) * np.clip(1.4 - 2.2 * r, 0, 1)[..., None]
        strength = 0.9
    for i in range(at, at + length):
        frames[i] = _mix(frames[i], glow, strength)
    return [at]


def _mix(a: np.ndarray | int, b: np.ndarray | int, alpha: float) -> np.ndarray:
    blend = (1 - alpha) * np.asarray(a, np.float32) + alpha * np.asarray(b, np.float32)
    return np.clip(blend + 0.5, 0, 255).astype(np.uint8)


def _logo(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """scikit-image's logo, a seventh of the width, for the top-right corner: RGB, alpha, place."""
    w, h = size
    image = Image.open(_LOGO).convert("RGBA")
    width = w // 7
    image = image.resize((width, max(1, round(image.height * width / image.width))))
    rgba = np.asarray(image, np.float32)
    return rgba[..., :3], rgba[..., 3:] / 255 * 0.85, (h // 20, w - width - w // 30)


class _Writer:
    """An H.264 export (libx264, veryfast, CRF 20) that counts the frames written."""

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: int,
        logo: tuple[np.ndarray, np.ndarray, tuple[int, int]] | None,
    ) -> None:
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream(
            "libx264", rate=fps, options={"preset": "veryfast", "crf": "20"}
        )
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        self.fps, self.logo, self.count = fps, logo, 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.mux(self.stream.encode())
        self.container.close()

    def write(self, frames: Iterator[np.ndarray] | list[np.ndarray]) -> None:
        for rgb in frames:
            if self.logo is not None:
                picture, alpha, (y, x) = self.logo
                h, w = alpha.shape[:2]
                rgb = rgb.copy()
                area = rgb[y : y + h, x : x + w].astype(np.float32)
                rgb[y : y + h, x : x + w] = (area * (1 - alpha) + picture * alpha + 0.5).astype(
                    np.uint8
                )
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb))
            frame.pts, frame.time_base = self.count, Fraction(1, self.fps)
            self.container.mux(self.stream.encode(frame))
            self.count += 1
