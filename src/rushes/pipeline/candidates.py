"""Which archived clips might share moments with a new one, before the exact alignment.

The rule. Every stored clip is represented by its *anchors*: the first frame of each
`ANCHOR_S`-second slot of its timeline (what `rushes.media.matching` calls thinning), each with
its codes (centre crops and as decoded; the others in indexes of their own, `APART`). A clip
is a candidate for a query when at least `MIN_HITS` of its anchors lie within `SEED_BITS` of some
code of `query_codes` (a clip with fewer anchors than that needs all of them). This is the old
brute-force rule ("`MIN_HITS` of its frames within `SEED_BITS` of a query frame") with the stored
side thinned to one frame a second: a clip it proposes, the old rule proposed too, and a clip the
old rule proposed is still proposed as long as the footage it shares with the query spans two
anchors, i.e. about 2-3 s; `match` itself needs 0.5 s of shared footage, so a shorter overlap than
that is the one thing thinning can lose. Every frame of the query is searched, so the dense side
finds the sparse side's anchors.

The search. Every query code is range-searched within `PREFIX_BITS` of the first 128 bits of the
anchors' codes, and what passes is checked on all 256 bits against `SEED_BITS` (a true pair is
missed there only near the threshold, about once in 6,000). Up to `IVF_MIN` codes that is a
brute-force scan of FAISS `IndexBinaryFlat` blocks of `BLOCK`, small enough to stay in the CPU
cache: it proposes exactly what the rule proposes. With one code an anchor and two a query frame
that cost about 25 ms of CPU for a 20-frame query at 1,000,000 anchors; with the five codes an
anchor and thirteen a frame that orientations and crops need, a 20-frame query at 200,000
anchors takes about 200 ms of CPU (181 with twelve; p95 103-143 ms on two cores;
bench/neardup_index.py), and each index of `APART` 4-6 ms more: over the 50 ms goal from about
100,000 anchors (30 hours of footage), a cost not yet paid back. From `IVF_MIN` codes on the
prefixes move into one `IndexBinaryIVF` of `NLIST` lists trained on a sample of them, and a
query scans the `NPROBE` lists nearest to each code, a quarter of the archive: at 1,000,000
codes that halved the CPU time (13 ms against 25) and keeps all pairs up to 32 bits apart and
99% of those up to 40, but only about 95% of those 41-64 bits apart. A clip needs just
`MIN_HITS` of its anchors hit, so a copy sharing several seconds is still proposed; but exact is
better for evidence while the archive can afford it.

Measured at 1,000,000 anchors and rejected at this radius (64 of 256 bits, a quarter of the
hash): multi-index hashing (`IndexBinaryMultiHash`, 16 tables x 16 bits) finds with no bit
flips only pairs that share one identical 16-bit chunk (70% of pairs 0-64 bits apart), and
with one flip it costs more than the scan (76 ms); an 8-byte prefix lets 100 times more
unrelated pairs through to the full check (49 ms against 29); 4-bit fast-scan PQ
(`IndexPQFastScan` with a binary codebook: exact Hamming distances) scanned no faster (23 ms);
HNSW graphs had poor recall on these codes. There is no numpy path for small archives because
there is no crossover: for 40 query hashes the blocked scan took 0.12 ms on 1,000 anchors and
1 ms on 20,000, against 2 ms and 40 ms for numpy's bitwise_count.

The index. One `CopyIndex` per database and process, built from the catalog's
`fingerprints` table on first use and then kept up to date incrementally: before each query a
cheap aggregate (row count and total frames) is compared with what the index holds, and only
when it differs are the asset ids read to add new fingerprints, drop deleted ones and re-read
those whose frame count changed. The candidates' fingerprints are always read fresh from the
catalog, so a stale anchor can at worst propose a clip that `match` then rejects.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes.catalog.models import Fingerprint
from rushes.media.fingerprint import FRAMED, UNCROPPED, UNCROPPED_CENTRE, dihedral
from rushes.media.fingerprint import Fingerprint as Hashes
from rushes.media.matching import SEED_BITS
from rushes.media.orientations import TRANSFORMS

MIN_HITS = 2  # anchors of a clip that must be close to the query
# Anchors' codes searched only with one code of the query each, in indexes of their own: (the
# anchors', the query's). Framed meets framed; the centre of a stored frame as decoded meets a
# new clip's frames as decoded (the query's centre meets the stored ones in the main index).
APART = ((FRAMED, FRAMED), (UNCROPPED_CENTRE, UNCROPPED))
ANCHOR_S = 1.0  # one anchor per this many seconds of a stored clip
# Find-by-frame's index (`frame_index_for`): a still has no neighbours in time to vote with, and
# a moving shot's frames drift 50-100 bits from the anchor a second away (81 % of frames of the
# evaluation masters were within 64 bits of one). Four frames a second reach 99 % within 40 bits
# with the whole picture's code alone; the 9 % centre crop is kept too, for a cropped screenshot.
FRAME_S = 0.25
FRAME_SLOTS = (0, 3)
BLOCK = 16_384  # anchors per FAISS block: 256 KiB of prefixes, which stay in the L2 cache
# The index holds the first 128 bits of each anchor; a pair within PREFIX_BITS there is then
# checked on all 256. Pairs within SEED_BITS (64) have about 32 of their differing bits in
# either half (standard deviation 3.5), so at 44 a true pair is missed about once in 6,000,
# only when it is near the threshold already; unrelated hashes, 64 +- 5.7 bits apart on half
# the hash, pass the prefix about 3 times in 10,000. Scanning half the bytes halves the time.
PREFIX_BYTES = 16
PREFIX_BITS = 44
# From IVF_MIN anchors, an inverted file: NLIST lists, NPROBE of them scanned per query hash
# (a quarter: see the module's docstring for what that keeps), trained on TRAIN_PER_LIST
# sample anchors a list (FAISS asks for 39 at least; 1 to 2 s for 1,024 lists).
IVF_MIN = 128 * BLOCK  # 2,097,152
NLIST = 1024
NPROBE = 256
TRAIN_PER_LIST = 40
THREADS = 2  # query hashes are split between this many threads (FAISS releases the GIL)
# Query hashes range-searched at once: at most 64 x BLOCK pairs come back from a block, ~50 MB
# with their full codes, however long the query clip is and however alike its frames (a static
# 10-hour shot is within SEED_BITS of itself everywhere: 9,000 frames at once took 5.8 GB).
QUERY_BATCH = 64
_LOAD_BATCH = 500  # fingerprints read from the catalog at once


def anchors(fp: Hashes, spacing: float = ANCHOR_S) -> np.ndarray:
    """Indices of ``fp``'s anchor frames: the first frame of each ``spacing``-second slot."""
    if not len(fp):
        return np.zeros(0, np.int64)
    seconds = fp.seconds
    order = np.argsort(seconds, kind="stable")
    slots = np.floor((seconds[order] - seconds[order[0]]) / spacing).astype(np.int64)
    return order[np.r_[True, slots[1:] != slots[:-1]]]


class AnchorIndex:
    """The anchors of many clips, searchable within `SEED_BITS` of a set of query hashes."""

    def __init__(
        self,
        block: int = BLOCK,
        threads: int = THREADS,
        ivf_min: int = IVF_MIN,
        spacing: float = ANCHOR_S,
        slots: tuple[int, ...] = tuple(range(UNCROPPED + 1)),
    ) -> None:
        """``spacing``: seconds between anchors; ``slots``: which of each anchor's codes."""
        self._spacing = spacing
        self._slots = list(slots)
        self._block = block
        self._threads = threads
        self._ivf_min = ivf_min
        self._blocks: list[faiss.IndexBinaryFlat] = []  # until the inverted file is trained
        self._ivf: faiss.IndexBinaryIVF | None = None
        self._full = np.zeros((0, 4), np.uint64)  # code number -> its 256 bits, as 4 words
        self._owner = np.zeros(0, np.int64)  # code number -> its clip number
        self._frame = np.zeros(0, np.int64)  # code number -> its anchor (one per scale)
        self._size = 0  # codes held (the arrays above grow by doubling)
        self._anchors = 0  # anchor frames held
        self._ids: list[str] = []  # clip number -> asset sha256
        self._counts: list[int] = []  # clip number -> its anchors
        self._live: dict[str, tuple[int, int]] = {}  # sha256 -> (clip number, frames)
        self._frames = 0  # total frames of the live clips
        self._pool: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def __len__(self) -> int:
        """Clips indexed (deleted ones excluded)."""
        return len(self._live)

    @property
    def anchors(self) -> int:
        """Anchor frames held (each with a code per scale)."""
        return self._anchors

    @property
    def kind(self) -> str:
        """How a query is searched: "flat" (exact) or "ivf" (the inverted file)."""
        return "flat" if self._ivf is None else "ivf"

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._live

    def frames_of(self, sha256: str) -> int | None:
        entry = self._live.get(sha256)
        return None if entry is None else entry[1]

    def clips(self) -> list[str]:
        return list(self._live)

    @property
    def signature(self) -> tuple[int, int]:
        """(clips, total frames): what the catalog's aggregate is compared with."""
        return len(self._live), self._frames

    def add(self, sha256: str, fp: Hashes, frames: int | None = None) -> None:
        """Index ``fp``'s anchors under ``sha256``, replacing what was indexed for it before.

        ``frames`` is the catalog's count for it (``len(fp)`` unless given).
        """
        rows = anchors(fp, self._spacing)
        codes = fp.codes[rows][:, self._slots]
        self.add_codes(sha256, codes, frames=len(fp) if frames is None else frames)

    def add_codes(self, sha256: str, codes: np.ndarray, frames: int | None = None) -> None:
        """Index anchors as one clip: codes (anchors, 32), or (anchors, scales, 32)."""
        self.add_many([(sha256, codes)], frames)

    def add_many(self, items: Iterable[tuple[str, np.ndarray]], frames: int | None = None) -> None:
        """Index many clips' anchor codes at once, filling whole blocks (for bulk builds)."""
        batch: list[np.ndarray] = []
        numbers: list[int] = []
        for sha256, codes in items:
            codes = np.asarray(codes, np.uint8)
            batch.append(
                codes.reshape(len(codes), -1, 32) if codes.size else codes.reshape(0, 1, 32)
            )
            numbers.append(self._register(sha256, len(codes), frames))
        if batch:
            per_clip = [c.shape[0] * c.shape[1] for c in batch]
            owner = np.repeat(np.asarray(numbers, np.int64), per_clip)
            frame = np.concatenate(
                [np.repeat(np.arange(len(c)), c.shape[1]) for c in batch]
            ) + np.repeat(np.cumsum([0] + [len(c) for c in batch[:-1]]), per_clip)
            self._append(
                np.concatenate([c.reshape(-1, 32) for c in batch]), owner, frame + self._anchors
            )
            self._anchors += sum(len(c) for c in batch)

    def _register(self, sha256: str, count: int, frames: int | None) -> int:
        """A new clip number for ``sha256`` (its earlier anchors, if any, no longer count)."""
        self.discard(sha256)
        number = len(self._ids)
        self._ids.append(sha256)
        self._counts.append(count)
        self._live[sha256] = (number, count if frames is None else frames)
        self._frames += self._live[sha256][1]
        return number

    def _append(self, codes: np.ndarray, owner: np.ndarray, frame: np.ndarray) -> None:
        """Store codes under the next code numbers and index their prefixes."""
        _one_omp_thread()  # training and IVF assignment; OpenMP teams crawl on a busy machine
        start, end = self._size, self._size + len(codes)
        if end > len(self._full):
            grown = max(end, 2 * len(self._full))
            self._full = np.resize(self._full, (grown, 4))
            self._owner = np.resize(self._owner, grown)
            self._frame = np.resize(self._frame, grown)
        self._full[start:end] = np.ascontiguousarray(codes).view(np.uint64)
        self._owner[start:end] = owner
        self._frame[start:end] = frame
        self._size = end
        if self._ivf is not None:
            self._ivf.add(self._prefixes(start, end))
        elif end >= self._ivf_min:
            self._train()
        else:
            self._fill_blocks(start, end)

    def _prefixes(self, start: int, end: int) -> np.ndarray:
        return np.ascontiguousarray(self._full[start:end].view(np.uint8)[:, :PREFIX_BYTES])

    def _fill_blocks(self, start: int, end: int) -> None:
        """Add anchors to the last block, opening new ones as blocks fill up."""
        while start < end:
            if not self._blocks or self._blocks[-1].ntotal >= self._block:
                self._blocks.append(faiss.IndexBinaryFlat(8 * PREFIX_BYTES))
            stop = min(end, start + self._block - self._blocks[-1].ntotal)
            self._blocks[-1].add(self._prefixes(start, stop))
            start = stop

    def _train(self) -> None:
        """Move every anchor into an inverted file trained on a sample of them."""
        ivf = faiss.index_binary_factory(8 * PREFIX_BYTES, f"BIVF{NLIST}")
        sample = np.random.default_rng(0).choice(
            self._size, min(self._size, TRAIN_PER_LIST * NLIST), replace=False
        )
        ivf.train(self._prefixes(0, self._size)[np.sort(sample)])
        ivf.nprobe = NPROBE
        for start in range(0, self._size, self._block):
            ivf.add(self._prefixes(start, min(self._size, start + self._block)))
        self._ivf, self._blocks = ivf, []

    def discard(self, sha256: str) -> None:
        """Forget a clip: its anchors stay in the index but no longer count."""
        entry = self._live.pop(sha256, None)
        if entry is not None:
            self._frames -= entry[1]

    def search(
        self, codes: np.ndarray, exclude: str | None = None, min_hits: int = MIN_HITS
    ) -> list[str]:
        """Clips with at least ``min_hits`` anchors (all, if fewer) within SEED_BITS of
        ``codes``."""
        codes = np.ascontiguousarray(codes, np.uint8).reshape(-1, 32)
        if not len(codes) or len(self._live) == (exclude in self._live):
            return []  # no other clip: a clip's own anchors would only hit themselves
        skip = self._live[exclude][0] if exclude in self._live else -1
        step = min(QUERY_BATCH, -(-len(codes) // self._threads))
        parts = [codes[at : at + step] for at in range(0, len(codes), step)]
        if len(parts) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, initializer=_one_omp_thread)
            hit = list(self._pool.map(lambda part: self._hit_anchors(part, skip), parts))
        else:
            _one_omp_thread()
            hit = [self._hit_anchors(parts[0], skip)]
        # Each anchor some query hash came close to, once (at whichever of its scales).
        codes_hit = np.unique(np.concatenate(hit))
        _, first = np.unique(self._frame[codes_hit], return_index=True)
        numbers, hits = np.unique(self._owner[codes_hit[first]], return_counts=True)
        counts = np.array([self._counts[n] for n in numbers.tolist()], np.int64)  # few clips
        result = []
        for number in numbers[hits >= np.minimum(min_hits, counts)].tolist():
            sha = self._ids[number]
            if self._live.get(sha, (None,))[0] == number:
                result.append(sha)
        return result

    def _hit_anchors(self, codes: np.ndarray, skip: int) -> np.ndarray:
        """Numbers of the anchors within SEED_BITS of ``codes`` (at most `QUERY_BATCH` of
        them), leaving out clip number ``skip`` (the query's own) before the full check."""
        prefix = np.ascontiguousarray(codes[:, :PREFIX_BYTES])
        words = codes.view(np.uint64)
        searched = [(0, self._ivf)] if self._ivf is not None else enumerate(self._blocks)
        found = [np.zeros(0, np.int64)]
        for b, index in searched:
            # Binary range search keeps distances strictly below the radius.
            lims, _, labels = index.range_search(prefix, PREFIX_BITS + 1)
            if not lims[-1]:
                continue
            labels += b * self._block  # a block's labels count from its first anchor
            asked = np.repeat(np.arange(len(codes)), np.diff(lims).astype(np.int64))
            todo = self._owner[labels] != skip
            labels, asked = labels[todo], asked[todo]
            close = np.bitwise_count(self._full[labels] ^ words[asked]).sum(axis=1) <= SEED_BITS
            found.append(np.unique(labels[close]))
        return np.unique(np.concatenate(found))

    def refresh(self, session: Session) -> None:
        """Bring the index up to date with the catalog's fingerprints table."""
        _refresh(self, session)


class CopyIndex:
    """What a new clip is searched against for copies: its anchors' codes, and apart from them
    the codes that need to meet only one of the query's (`APART`). In one index they would be
    compared with every code of the query too: the framed codes alone cost 40 % more CPU a
    query that way, for nothing (bench/neardup_index.py)."""

    def __init__(self, **options: Any) -> None:
        self.codes = AnchorIndex(**options)
        self.apart = [(AnchorIndex(**options, slots=(kept,)), asked) for kept, asked in APART]
        self.lock = self.codes.lock

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def anchors(self) -> int:
        return self.codes.anchors

    @property
    def signature(self) -> tuple[int, int]:
        return self.codes.signature

    def frames_of(self, sha256: str) -> int | None:
        return self.codes.frames_of(sha256)

    def clips(self) -> list[str]:
        return self.codes.clips()

    def add(self, sha256: str, fp: Hashes, frames: int | None = None) -> None:
        for index in (self.codes, *(index for index, _ in self.apart)):
            index.add(sha256, fp, frames)

    def discard(self, sha256: str) -> None:
        for index in (self.codes, *(index for index, _ in self.apart)):
            index.discard(sha256)

    def search(
        self, query: Hashes, exclude: str | None = None, min_hits: int = MIN_HITS
    ) -> list[str]:
        """Clips with ``min_hits`` anchors near the query's codes, in any of the indexes."""
        found = self.codes.search(query_codes(query), exclude, min_hits)
        for index, asked in self.apart:
            more = index.search(query.codes[:, asked], exclude, min_hits)
            found += [sha for sha in more if sha not in found]
        return found

    def refresh(self, session: Session) -> None:
        """Bring the index up to date with the catalog's fingerprints table."""
        _refresh(self, session)


def _refresh(index: AnchorIndex | CopyIndex, session: Session) -> None:
    count, frames = session.execute(
        select(func.count(), func.coalesce(func.sum(Fingerprint.frames), 0))
    ).one()
    if (int(count), int(frames)) == index.signature:
        return
    present = dict(session.execute(select(Fingerprint.asset_sha256, Fingerprint.frames)).all())
    for sha in [s for s in index.clips() if s not in present]:
        index.discard(sha)
    todo = [sha for sha, n in present.items() if index.frames_of(sha) != n]
    for start in range(0, len(todo), _LOAD_BATCH):
        batch = todo[start : start + _LOAD_BATCH]
        rows = session.execute(
            select(Fingerprint.asset_sha256, Fingerprint.data).where(
                Fingerprint.asset_sha256.in_(batch)
            )
        )
        for sha, data in rows:
            fp = _readable(data)
            if fp is not None:  # one of an older format waits for `process --outdated`
                index.add(sha, fp, frames=present[sha])


def _one_omp_thread() -> None:
    # OpenMP's thread count is per calling thread; nested teams on 2 cores only contend.
    faiss.omp_set_num_threads(1)


_indexes: dict[str, CopyIndex] = {}
_frame_indexes: dict[str, AnchorIndex] = {}
_indexes_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked worker starts afresh: its parent's search threads and locks do not survive."""
    global _indexes_lock
    _indexes.clear()
    _frame_indexes.clear()
    _indexes_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def query_codes(query: Hashes) -> np.ndarray:
    """What a clip is searched with: its whole pictures in all eight orientations, and its centre
    crops and frames as decoded as they are (the rest: `APART`). The index holds every such
    code of the anchors, so a query finds a stored clip that is its crop (its centre against
    their whole) and one it is a crop of (its whole against their centre). One gap: a copy
    both cropped and turned is found when it arrives after its source, not before (the
    source's centre crops are not searched turned, which would double the query)."""
    turned = [dihedral(query.hashes, t) for t in range(len(TRANSFORMS))]
    others = (*range(1, UNCROPPED + 1), UNCROPPED_CENTRE)
    return np.concatenate([*turned, *(query.codes[:, s] for s in others)])


def index_for(session: Session) -> CopyIndex:
    """This process's index of the session's database (built and refreshed by the caller)."""
    key = session.get_bind().url.render_as_string(hide_password=True)
    with _indexes_lock:
        return _indexes.setdefault(key, CopyIndex())


def frame_index_for(session: Session) -> AnchorIndex:
    """This process's find-by-frame index of the database: `FRAME_S` apart, `FRAME_SLOTS`.
    Made on the first search by a picture, so a base nobody searches that way never holds it."""
    key = session.get_bind().url.render_as_string(hide_password=True)
    with _indexes_lock:
        return _frame_indexes.setdefault(key, AnchorIndex(spacing=FRAME_S, slots=FRAME_SLOTS))


def _readable(data: bytes) -> Hashes | None:
    try:
        return Hashes.from_bytes(data)
    except ValueError:
        return None


def candidates(session: Session, sha256: str, query: Hashes) -> Iterator[tuple[str, Hashes]]:
    """Stored clips (sha256, fingerprint) that may share moments with ``query``."""
    yield from fingerprints(session, proposed(session, query, exclude=sha256))


def proposed(
    session: Session,
    query: Hashes,
    exclude: str | None = None,
    min_hits: int = MIN_HITS,
    still: bool = False,
) -> list[str]:
    """SHA-256s of the stored clips the index proposes for ``query``, leaving out ``exclude``
    (the query's own); a ``still`` is looked up in the denser `frame_index_for`."""
    if not len(query):
        return []
    if still:
        frames = frame_index_for(session)
        with frames.lock:
            frames.refresh(session)
            return frames.search(query_codes(query), exclude=exclude, min_hits=min_hits)
    copies = index_for(session)
    with copies.lock:
        copies.refresh(session)
        return copies.search(query, exclude=exclude, min_hits=min_hits)


def fingerprints(session: Session, shas: list[str]) -> Iterator[tuple[str, Hashes]]:
    """The stored fingerprints of ``shas`` (those of a current format), in batches."""
    for start in range(0, len(shas), _LOAD_BATCH):
        rows = session.execute(
            select(Fingerprint.asset_sha256, Fingerprint.data).where(
                Fingerprint.asset_sha256.in_(shas[start : start + _LOAD_BATCH])
            )
        )
        for sha, data in rows:
            fp = _readable(data)
            if fp is not None:
                yield sha, fp
