"""Which seconds of one video show the same moments as which seconds of another.

Two fingerprints are aligned in time, not just compared frame by frame: a shared moment is
only believed when several frames agree on the same timing. Anchors (a few frames per second of
the sparser side) look for every hash of the other side within `SEED_BITS`; each such pair
votes for a line ``t_b = rate * t_a + offset``, counted once per anchor, over rates from half to
double speed (a sped-up copy); the best-supported lines are then followed along both videos
frame by frame, which turns them into segments with a start and an end. This finds a trimmed
clip inside a compilation as readily as a whole re-upload, and several trims of one source at
once. Every anchor votes for all its close frames, not only the nearest, because in a still
shot the nearest is anywhere in the shot and the nearest-only votes scatter.

The comparison is made in every way one picture can be turned or flipped (the eight dihedral
transforms of `rushes.media.fingerprint.dihedral`: mirrored copies, and phone video whose copy
lost its rotation flag) and between the whole picture of one side and the centre crops of the
other (`SCALES`): a cropped copy matches the source's centre; and between one side's frames as
they are, bars and all, and the other's with its bars cut, or both as they are (a clip's bars
are decided over the clip, and a dark edge of a night scene may be taken for bars in one copy
but not in another), and one side's frames as they are against the other's centre as it is (a
barred clip cropped); and between both sides' frames with the middle filled flat (`FRAMED`),
which a big watermark over the middle leaves as they were. The configuration whose segments
cover the most frames wins.

`match(a, b)` and `match(b, a)` give the same answer seen from either side: the pair is put in
a fixed order before anything is compared.

Distances are in bits (of 256). Aligned frames of a re-encode, a scaled, letterboxed or
greyscale copy are within about 20 bits of each other, a crop matched at the nearest centre
scale or a small logo 25-50, a large logo 50-80 (its framed codes 1-2); frames of unrelated
footage are 80 or more apart even at their closest, and are rarely as close as an anchor needs
for half a second.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import combinations
from typing import TypeVar

import faiss
import numpy as np

from rushes.media.fingerprint import (
    FRAMED,
    SCALES,
    UNCROPPED,
    UNCROPPED_CENTRE,
    Fingerprint,
    dihedral,
)
from rushes.media.orientations import INVERSE, TRANSFORMS

K = TypeVar("K", bound=Hashable)

SEED_BITS = 64  # an anchor this close to a frame of the other side votes for their timing
MATCH_BITS = 80  # aligned frames this close show the same moment
MIN_VOTES = 2  # anchors that must agree on a timing before it is followed
# Share of a segment's aligned frames that must be as close as an anchor. A big logo on two
# different moments of one scene keeps them within MATCH_BITS; 10-20 % come within SEED_BITS,
# against a quarter to all for a true copy with that logo (a quarter on low-detail pictures).
MIN_CLOSE_SHARE = 0.25
MIN_FRAMES = 3  # matched frames a segment needs ...
MIN_SEGMENT_S = 0.5  # ... and the time it must span
ANCHOR_S = 0.25  # anchors are the frames at least this far apart
OFFSET_BIN_S = 0.1  # offsets this close are one vote
ALIGN_S = 0.05  # a frame of B stands in for A's frame at its aligned time if this close
MAX_GAP_S = 10.0  # a segment ends after this long without a matched frame ...
MAX_MISMATCH_S = 1.0  # ... or after this long of aligned frames that differ
MAX_OFFSETS = 16  # timings followed per configuration, best supported first
MAX_CONFIGS = 3  # configurations followed, those with the most anchors close first
VOTES_PER_ANCHOR = 64  # the closest frames an anchor votes for ...
VOTE_SLACK = 10  # ... as long as they are within this many bits of its closest
# Playback rates tried: 0.5x to 2x in steps of about 3.5 %, refined on the votes that agree.
RATES = np.exp(np.linspace(np.log(0.5), np.log(2.0), 41))
NORMAL_RATE_SHARE = 0.8  # real time wins unless another rate has 1/0.8 of its support


@dataclass(frozen=True)
class Segment:
    """Seconds ``a_start``-``a_end`` of A show the moments at ``b_start``-``b_end`` of B."""

    a_start: float
    a_end: float
    b_start: float
    b_end: float
    frames: int  # aligned frame pairs that matched
    distance: float  # their median distance in bits
    closeness: float  # bits to spare under MATCH_BITS, summed over them: the better alignment

    def swapped(self) -> Segment:
        return replace(
            self, a_start=self.b_start, a_end=self.b_end, b_start=self.a_start, b_end=self.a_end
        )


@dataclass(frozen=True)
class Match:
    """A and B share ``segments``; ``score`` is the share of the shorter one they cover.

    ``transform`` says how B's pictures are turned from A's (one of `TRANSFORMS`), ``crop`` what
    share of every side B lacks (negative: A lacks it), to the nearest of `SCALES`.
    """

    score: float
    transform: str
    crop: float
    segments: tuple[Segment, ...]

    @property
    def mirrored(self) -> bool:
        """B is A turned or flipped."""
        return self.transform != TRANSFORMS[0]

    def swapped(self) -> Match:
        inverse = TRANSFORMS[INVERSE[TRANSFORMS.index(self.transform)]]
        segments = tuple(sorted((s.swapped() for s in self.segments), key=lambda s: s.a_start))
        return replace(self, transform=inverse, crop=-self.crop, segments=segments)


def match(a: Fingerprint, b: Fingerprint) -> Match | None:
    """Align ``a`` with ``b`` in every orientation and crop; None if they share no moment."""
    if not len(a) or not len(b):
        return None
    if _order(b) < _order(a):
        found = _match(b, a)
        return None if found is None else found.swapped()
    return _match(a, b)


def _order(fp: Fingerprint) -> tuple[int, float, bytes]:
    """A total order on fingerprints, so the pair is always compared the same way round."""
    return len(fp), fp.duration_s, fp.codes[:, 0].tobytes()


def _match(a: Fingerprint, b: Fingerprint) -> Match | None:
    ta, ca = _timeline(a)
    tb, cb = _timeline(b)
    # Anchors come from the side with fewer frames a second: each has its own frame on the
    # other side when that side is dense, whereas dense anchors would miss sparse frames.
    sparse_a = len(ta) / (np.ptp(ta) + 1.0) <= len(tb) / (np.ptp(tb) + 1.0)
    best: tuple[float, int, float, list[Segment]] | None = None
    for _, transform, scale_a, scale_b, timings in _configurations(ta, ca, tb, cb, sparse_a):
        ha, hb = _words(ca[:, scale_a]), _words(dihedral(cb[:, scale_b], transform))
        segments = _segments(ta, ha, tb, hb, timings)
        closeness = sum(s.closeness for s in segments)
        if segments and (best is None or closeness > best[0]):
            best = (closeness, transform, _crop(scale_a) - _crop(scale_b), segments)
    if best is None:
        return None
    _, transform, crop, segments = best
    shorter = max(min(ta[-1] - ta[0], tb[-1] - tb[0]), 1e-3)
    covered = sum(s.a_end - s.a_start for s in segments)
    return Match(
        score=min(1.0, float(covered / shorter)),
        transform=TRANSFORMS[INVERSE[transform]],  # B turned so is A: A turned back is B
        crop=round(crop, 3),
        segments=tuple(segments),
    )


def _crop(slot: int) -> float:
    if slot == UNCROPPED_CENTRE:
        return SCALES[-1]
    return SCALES[slot] if slot < len(SCALES) else 0.0


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


def _timeline(fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
    """Times in order, and the codes (n, scales, 32) in that order."""
    order = np.argsort(fp.seconds, kind="stable")
    return fp.seconds[order], fp.codes[order]


def _words(codes: np.ndarray) -> np.ndarray:
    """(n, 32) bytes as (n, 4) 64-bit words, for counting differing bits a word at a time."""
    return np.ascontiguousarray(codes).view(np.uint64)


def _configurations(
    ta: np.ndarray, ca: np.ndarray, tb: np.ndarray, cb: np.ndarray, sparse_a: bool
) -> list[tuple[int, int, int, int, list[tuple[float, float]]]]:
    """(support, transform, scale of A, scale of B, timings) of the ways of comparing A and B
    in which the most anchors find a close frame, at most `MAX_CONFIGS`, best first.

    One side is compared whole against the other's centre crops or uncropped frames, or both
    at the same crop (which leaves out a logo in a corner) or both uncropped. The anchors are
    turned, not the other side, so each of its slots is indexed once.
    """
    others = [*range(1, len(SCALES)), UNCROPPED]
    scale_pairs = [(0, 0), *((s, 0) for s in others), *((0, s) for s in others)]
    scale_pairs += [(s, s) for s in (*range(1, len(SCALES)), UNCROPPED, FRAMED)]
    scale_pairs += [(UNCROPPED_CENTRE, UNCROPPED), (UNCROPPED, UNCROPPED_CENTRE)]
    anchor_t, anchor_c, other_t, other_c = (ta, ca, tb, cb) if sparse_a else (tb, cb, ta, ca)
    rows = _thin(anchor_t)
    faiss.omp_set_num_threads(1)  # per calling thread; an OpenMP team crawls on a busy machine
    indexes: dict[int, faiss.IndexBinaryFlat] = {}
    voted = []
    for transform in range(len(TRANSFORMS)):
        # A ~ B turned by `transform`: B ~ A turned back, or B's anchors turned against A.
        turned = dihedral(anchor_c[rows], INVERSE[transform] if sparse_a else transform)
        for scale_a, scale_b in scale_pairs:
            anchor_s, other_s = (scale_a, scale_b) if sparse_a else (scale_b, scale_a)
            if other_s not in indexes:
                indexes[other_s] = faiss.IndexBinaryFlat(256)
                indexes[other_s].add(np.ascontiguousarray(other_c[:, other_s]))
            votes = _votes(anchor_t[rows], turned[:, anchor_s], other_t, indexes[other_s])
            if votes is not None:
                voted.append((votes, transform, scale_a, scale_b))
    voted.sort(key=lambda v: (-v[0][0], v[1], v[2] + v[3]))
    found = []
    for (support, *votes), transform, scale_a, scale_b in voted[:MAX_CONFIGS]:
        timings = _timings(*votes)
        if not sparse_a:  # votes were for A's time given B's: invert each line
            timings = [(1 / rate, -offset / rate) for rate, offset in timings]
        if timings:
            found.append((support, transform, scale_a, scale_b, timings))
    return found


def _votes(
    t_anchor: np.ndarray, anchors: np.ndarray, t_other: np.ndarray, other: faiss.IndexBinaryFlat
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """(anchors with a close frame; anchor number, anchor time, other time of the pairs within
    SEED_BITS that are nearly as close as each anchor's closest (a slow pan's neighbouring
    frames are not, a still shot's are), at most `VOTES_PER_ANCHOR` an anchor); None if fewer
    than MIN_VOTES anchors have any."""
    lims, distances, labels = other.range_search(np.ascontiguousarray(anchors), SEED_BITS + 1)
    counts = np.diff(lims).astype(np.int64)
    support = int(np.count_nonzero(counts))
    if support < MIN_VOTES:
        return None
    which = np.repeat(np.arange(len(anchors)), counts)
    order = np.lexsort((distances, which))  # by anchor, closest first
    which, distances, labels = which[order], distances[order], labels[order]
    first = lims[:-1].astype(np.int64)
    rank = np.arange(len(order)) - np.repeat(first, counts)
    closest = np.repeat(distances[np.minimum(first, len(order) - 1)], counts)
    keep = (rank < VOTES_PER_ANCHOR) & (distances <= closest + VOTE_SLACK)
    return support, which[keep], t_anchor[which[keep]], t_other[labels[keep]]


def _timings(
    which: np.ndarray, t_anchor: np.ndarray, t_other: np.ndarray
) -> list[tuple[float, float]]:
    """Lines (rate, offset) with t_other = rate * t_anchor + offset that at least MIN_VOTES
    anchors vote for, best supported first (real time preferred, see NORMAL_RATE_SHARE)."""
    normal = int(np.argmin(np.abs(np.log(RATES))))
    offsets = t_other[None, :] - RATES[:, None] * t_anchor[None, :]  # (rates, votes)
    bins = np.round(offsets / OFFSET_BIN_S).astype(np.int64)
    low, span = int(bins.min()), int(bins.max() - bins.min()) + 3
    # One cell per (rate, offset bin), a free bin between rates so no two rates are neighbours.
    cells = np.arange(len(RATES))[:, None] * span + (bins - low + 1)
    anchors = int(which.max()) + 1
    voters = np.unique((cells * anchors + which[None, :]).ravel())  # each anchor once a cell
    cell, counts = np.unique(voters // anchors, return_counts=True)
    support = counts.copy()  # a bin and its neighbours together
    adjacent = np.diff(cell) == 1
    support[1:] += counts[:-1] * adjacent
    support[:-1] += counts[1:] * adjacent
    rate = cell // span
    score = support * np.where(rate == normal, 1.0, NORMAL_RATE_SHARE)
    ranked = np.lexsort((np.abs(rate - normal), -score))
    chosen: list[tuple[float, float]] = []
    for k in ranked[support[ranked] >= MIN_VOTES][: 4 * MAX_OFFSETS]:
        r, centre = int(rate[k]), int(cell[k] - rate[k] * span - 1 + low)
        offset = float(np.median(offsets[r][np.abs(bins[r] - centre) <= 1]))
        if all(not _same_line(RATES[r], offset, q, o) for q, o in chosen):
            chosen.append(_refine(RATES[r], offset, t_anchor, t_other))
            if len(chosen) == MAX_OFFSETS:
                break
    return chosen


def _same_line(rate: float, offset: float, r: float, o: float) -> bool:
    return abs(np.log(rate / r)) < 0.05 and abs(offset - o) <= OFFSET_BIN_S


def _refine(
    rate: float, offset: float, t_anchor: np.ndarray, t_other: np.ndarray
) -> tuple[float, float]:
    """The line fitted to the votes near (rate, offset); real time stays exactly real time."""
    near = np.abs(t_other - (rate * t_anchor + offset)) <= 2 * OFFSET_BIN_S
    if abs(np.log(rate)) < 1e-9 or near.sum() < 2 or np.ptp(t_anchor[near]) < 1.0:
        return rate, float(np.median((t_other - rate * t_anchor)[near])) if near.any() else offset
    fitted_rate, fitted_offset = np.polyfit(t_anchor[near], t_other[near], 1)
    return float(fitted_rate), float(fitted_offset)


def _segments(
    ta: np.ndarray,
    ha: np.ndarray,
    tb: np.ndarray,
    hb: np.ndarray,
    timings: list[tuple[float, float]],
) -> list[Segment]:
    found: list[Segment] = []
    for rate, offset in timings:
        found.extend(_follow(ta, ha, tb, hb, rate, offset))
    # Offsets a few frames apart (a still shot) find the same footage: keep the best of it.
    kept: list[Segment] = []
    for seg in sorted(found, key=lambda s: s.closeness, reverse=True):
        if not any(_overlaps(seg, other) for other in kept):
            kept.append(seg)
    return sorted(kept, key=lambda s: s.a_start)


def _thin(times: np.ndarray) -> np.ndarray:
    """Indices of frames at least ANCHOR_S apart, from the first on."""
    slots = np.floor((times - times[0]) / ANCHOR_S).astype(np.int64)
    return np.flatnonzero(np.r_[True, slots[1:] != slots[:-1]])


def _follow(
    ta: np.ndarray, ha: np.ndarray, tb: np.ndarray, hb: np.ndarray, rate: float, offset: float
) -> list[Segment]:
    """Walk A's frames against B's frame at the aligned moment; cut where they stop agreeing."""
    target = rate * ta + offset
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
            closeness=float((MATCH_BITS + 1 - d[run]).sum()),
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
