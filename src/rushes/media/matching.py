"""Which seconds of one video show the same moments as which seconds of another.

Two fingerprints are aligned in time, not just compared frame by frame: a shared moment is
only believed when several frames agree on the same time offset. Anchors (a few frames per
second of each side) look for their nearest hash anywhere in the other side; the offsets of the
close ones are voted on; each well-supported offset is then followed along both videos frame by
frame, which turns it into segments with a start and an end. This finds a trimmed clip inside
a compilation as readily as a whole re-upload, and several trims of one source at once.

Distances are in PDQ bits (of 256). On the fixture clips, aligned frames of a re-encode, a
scaled, letterboxed or greyscale copy are within about 20 bits of each other; a small logo or
a 10 % crop makes that 40-60, a large logo 50-80; frames of unrelated footage are 80 or more
apart even at their closest.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

import numpy as np

from rushes.media.fingerprint import Fingerprint

K = TypeVar("K", bound=Hashable)

SEED_BITS = 64  # an anchor this close to a frame of the other side votes for their offset
MATCH_BITS = 80  # aligned frames this close show the same moment
MIN_VOTES = 2  # anchors that must agree on an offset before it is followed
# Share of a segment's aligned frames that must be as close as an anchor. A big logo on two
# different moments of one scene keeps them within MATCH_BITS; 10-20 % come within SEED_BITS,
# against over half for a true copy with that logo or cropped by 10 %.
MIN_CLOSE_SHARE = 0.35
MIN_FRAMES = 3  # matched frames a segment needs ...
MIN_SEGMENT_S = 0.5  # ... and the time it must span
ANCHOR_S = 0.25  # anchors are the frames at least this far apart
OFFSET_BIN_S = 0.1  # offsets this close are one vote
ALIGN_S = 0.05  # a frame of B stands in for A's frame at t + offset if this close in time
MAX_GAP_S = 10.0  # a segment ends after this long without a matched frame ...
MAX_MISMATCH_S = 1.0  # ... or after this long of aligned frames that differ
MAX_OFFSETS = 16  # offsets followed per orientation, best supported first
_PAIRS_PER_BLOCK = 1 << 20  # distance matrix entries computed at once


@dataclass(frozen=True)
class Segment:
    """Seconds ``a_start``-``a_end`` of A show the moments at ``b_start``-``b_end`` of B."""

    a_start: float
    a_end: float
    b_start: float
    b_end: float
    frames: int  # aligned frame pairs that matched
    distance: float  # their median distance in PDQ bits


@dataclass(frozen=True)
class Match:
    """A and B share ``segments``; ``score`` is the share of the shorter one they cover."""

    score: float
    mirrored: bool  # B is A flipped left-right
    segments: tuple[Segment, ...]


def match(a: Fingerprint, b: Fingerprint) -> Match | None:
    """Align ``a`` with ``b`` (and with ``b`` mirrored); None if they share no moment."""
    if not len(a) or not len(b):
        return None
    ta, ha = _timeline(a, a.hashes)
    tb, hb = _timeline(b, b.hashes)
    _, hm = _timeline(b, b.mirrored)
    straight = _segments(ta, ha, tb, hb)
    flipped = _segments(ta, ha, tb, hm)
    mirrored = sum(s.frames for s in flipped) > sum(s.frames for s in straight)
    segments = flipped if mirrored else straight
    if not segments:
        return None
    shorter = max(min(ta[-1] - ta[0], tb[-1] - tb[0]), 1e-3)
    covered = sum(s.a_end - s.a_start for s in segments)
    return Match(min(1.0, float(covered / shorter)), mirrored, tuple(segments))


def cluster(fingerprints: Mapping[K, Fingerprint]) -> list[set[K]]:
    """Group assets that share footage, directly or through others; largest group first."""
    edges = (
        (x, y)
        for x, y in combinations(fingerprints, 2)
        if match(fingerprints[x], fingerprints[y]) is not None
    )
    return components(edges, fingerprints)


def components(edges: Iterable[tuple[K, K]], nodes: Iterable[K] = ()) -> list[set[K]]:
    """Connected components (union-find) of accepted matches; ``nodes`` adds singletons."""
    parent: dict[K, K] = {}

    def root(x: K) -> K:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for node in nodes:
        root(node)
    for x, y in edges:
        parent[root(x)] = root(y)
    groups: dict[K, set[K]] = {}
    for node in parent:
        groups.setdefault(root(node), set()).add(node)
    return sorted(groups.values(), key=len, reverse=True)


def _timeline(fp: Fingerprint, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times in order, and the hashes as four 64-bit words each."""
    order = np.argsort(fp.seconds, kind="stable")
    words = np.ascontiguousarray(hashes[order]).view(np.uint64)
    return fp.seconds[order], words


def _distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hamming distances (n, m) between the hashes in ``x`` and in ``y``, a word at a time."""
    d = np.zeros((len(x), len(y)), np.uint16)
    for word in range(x.shape[1]):
        d += np.bitwise_count(x[:, word, None] ^ y[None, :, word])
    return d


def _segments(ta: np.ndarray, ha: np.ndarray, tb: np.ndarray, hb: np.ndarray) -> list[Segment]:
    found: list[Segment] = []
    for offset in _offsets(ta, ha, tb, hb):
        found.extend(_follow(ta, ha, tb, hb, offset))
    # Offsets a few frames apart (a still shot) find the same footage: keep the best of it.
    kept: list[Segment] = []
    for seg in sorted(found, key=lambda s: s.frames, reverse=True):
        if not any(_overlaps(seg, other) for other in kept):
            kept.append(seg)
    return sorted(kept, key=lambda s: s.a_start)


def _offsets(ta: np.ndarray, ha: np.ndarray, tb: np.ndarray, hb: np.ndarray) -> list[float]:
    """Time offsets (B minus A) that enough anchors vote for, best supported first.

    Anchors come from the side with fewer frames a second: each has its own frame on the
    other side when that side is dense, whereas dense anchors would miss sparse frames.
    """
    if len(ta) / (np.ptp(ta) + 1.0) <= len(tb) / (np.ptp(tb) + 1.0):
        votes = _nearest_offsets(ta, ha, tb, hb)
    else:
        votes = -_nearest_offsets(tb, hb, ta, ha)
    if len(votes) < MIN_VOTES:
        return []
    bins = np.round(votes / OFFSET_BIN_S).astype(np.int64)
    values, counts = np.unique(bins, return_counts=True)
    support = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    windowed = {v: support.get(v - 1, 0) + c + support.get(v + 1, 0) for v, c in support.items()}
    offsets: list[float] = []
    for center in sorted(windowed, key=lambda v: (-windowed[v], v)):
        if windowed[center] < MIN_VOTES or len(offsets) == MAX_OFFSETS:
            break
        near = votes[np.abs(bins - center) <= 1]
        offset = float(np.median(near))
        if all(abs(offset - o) > OFFSET_BIN_S for o in offsets):
            offsets.append(offset)
    return offsets


def _nearest_offsets(ta: np.ndarray, ha: np.ndarray, tb: np.ndarray, hb: np.ndarray) -> np.ndarray:
    """For anchors of A, the offset to their nearest hash in B, where that is close enough."""
    anchors = _thin(ta)
    step = max(1, _PAIRS_PER_BLOCK // max(1, len(tb)))
    offsets = []
    for start in range(0, len(anchors), step):
        rows = anchors[start : start + step]
        d = _distances(ha[rows], hb)
        nearest = d.argmin(axis=1)
        close = d[np.arange(len(rows)), nearest] <= SEED_BITS
        offsets.append(tb[nearest[close]] - ta[rows[close]])
    return np.concatenate(offsets)


def _thin(times: np.ndarray) -> np.ndarray:
    """Indices of frames at least ANCHOR_S apart, from the first on."""
    slots = np.floor((times - times[0]) / ANCHOR_S).astype(np.int64)
    return np.flatnonzero(np.r_[True, slots[1:] != slots[:-1]])


def _follow(
    ta: np.ndarray, ha: np.ndarray, tb: np.ndarray, hb: np.ndarray, offset: float
) -> list[Segment]:
    """Walk A's frames against B's frame at the same moment; cut where they stop agreeing."""
    target = ta + offset
    after = np.searchsorted(tb, target)
    left, right = np.clip(after - 1, 0, len(tb) - 1), np.clip(after, 0, len(tb) - 1)
    j = np.where(np.abs(tb[left] - target) <= np.abs(tb[right] - target), left, right)
    i = np.flatnonzero(np.abs(tb[j] - target) <= ALIGN_S)
    if not len(i):
        return []
    j = j[i]
    d = np.bitwise_count(ha[i] ^ hb[j]).sum(axis=1)
    segments: list[Segment] = []
    run: list[int] = []  # positions (into i) of the current segment's matched frames
    mismatch_since: float | None = None
    for k, t in enumerate(ta[i]):
        if d[k] > MATCH_BITS:
            if run and mismatch_since is None:
                mismatch_since = t
            if run and t - mismatch_since >= MAX_MISMATCH_S:
                segments.extend(_segment(run, i, j, d, ta, tb))
                run, mismatch_since = [], None
            continue
        if run and t - ta[i[run[-1]]] > MAX_GAP_S:
            segments.extend(_segment(run, i, j, d, ta, tb))
            run = []
        run.append(k)
        mismatch_since = None
    segments.extend(_segment(run, i, j, d, ta, tb))
    return segments


def _segment(
    run: list[int], i: np.ndarray, j: np.ndarray, d: np.ndarray, ta: np.ndarray, tb: np.ndarray
) -> list[Segment]:
    """The segment spanned by matched frames ``run``, if it is long and close enough."""
    if len(run) < MIN_FRAMES:
        return []
    first, last = run[0], run[-1]
    a_start, a_end = float(ta[i[first]]), float(ta[i[last]])
    close = d[first : last + 1] <= SEED_BITS
    if a_end - a_start < MIN_SEGMENT_S or close.sum() < MIN_VOTES:
        return []
    if close.mean() < MIN_CLOSE_SHARE:
        return []
    return [
        Segment(
            a_start=a_start,
            a_end=a_end,
            b_start=float(tb[j[first]]),
            b_end=float(tb[j[last]]),
            frames=len(run),
            distance=float(np.median(d[run])),
        )
    ]


def _overlaps(x: Segment, y: Segment) -> bool:
    """Whether the segments share over half of the shorter one, on A's side or on B's."""

    def shared(s0: float, e0: float, s1: float, e1: float) -> bool:
        common = min(e0, e1) - max(s0, s1)
        return common > 0.5 * max(min(e0 - s0, e1 - s1), 1e-3)

    return shared(x.a_start, x.a_end, y.a_start, y.a_end) or shared(
        x.b_start, x.b_end, y.b_start, y.b_end
    )


def too_little(fp: Fingerprint) -> str | None:
    """Why this clip can match nothing (no segment could reach the minimum), or None."""
    if not len(fp):
        return "no frame could be fingerprinted (a flat or black picture, or unreadable)"
    span = float(np.ptp(fp.seconds))
    if len(fp) < MIN_FRAMES or span < MIN_SEGMENT_S:
        return (
            f"only {len(fp)} frames over {span:.2f} s were fingerprinted; a match needs "
            f"{MIN_FRAMES} frames over {MIN_SEGMENT_S} s"
        )
    return None
