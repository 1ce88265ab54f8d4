"""Which archived clips might share moments with a new one, before the exact alignment.

The rule. Every stored clip is represented by its *anchors*: the first frame of each
`ANCHOR_S`-second slot of its timeline (what `rushes.media.matching` calls thinning). A clip is
a candidate for a query when at least `MIN_HITS` of its anchors lie within `SEED_BITS` of some
frame of the query or of the query mirrored (a clip with fewer anchors than that needs all of
them). This is the old brute-force rule ("`MIN_HITS` of its frames within `SEED_BITS` of a query
frame") with the stored side thinned to one frame a second: a clip it proposes, the old rule
proposed too, and a clip the old rule proposed is still proposed as long as the footage it
shares with the query spans two anchors, i.e. about 2-3 s; `match` itself needs 0.5 s of
shared footage, so a shorter overlap than that is the one thing thinning can lose. Every frame
of the query is searched, so the dense side finds the sparse side's anchors.

The search. The anchors are held in blocks of `BLOCK`, each a FAISS `IndexBinaryFlat` over the
first 128 bits of every anchor; every query hash is range-searched within `PREFIX_BITS` of
those in every block, and what passes is checked on all 256 bits against `SEED_BITS`. That is a
brute-force scan (no hit is ever proposed that the rule would not propose, and a true one is
missed only near the threshold, about once in 6,000 pairs), over half the bytes, in blocks
small enough to stay in the CPU cache, searched by two threads. Sub-linear binary indexes were
measured and rejected at this radius (64 of 256 bits, a quarter of the hash): multi-index
hashing (`IndexBinaryMultiHash`, 16 tables x 16 bits) is fast with no bit flips but then only
finds pairs that share one identical 16-bit chunk (by that arithmetic about 2 in 3 pairs at 40
bits, 1 in 7 at 64), and with one flip it cost as much as the scan; HNSW graphs had poor recall
on these codes. See bench/neardup_index.py for the figures at 1,000,000 clips. There is no
numpy path for small archives because there is no crossover: for 40 query hashes the blocked
scan took 0.12 ms on 1,000 anchors and 1 ms on 20,000, against 2 ms and 40 ms for numpy's
bitwise_count.

The index. One `AnchorIndex` per database and process, built from the catalog's
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

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes.catalog.models import Fingerprint
from rushes.media.fingerprint import Fingerprint as Hashes
from rushes.media.matching import SEED_BITS

MIN_HITS = 2  # anchors of a clip that must be close to the query
ANCHOR_S = 1.0  # one anchor per this many seconds of a stored clip
BLOCK = 16_384  # anchors per FAISS block: 256 KiB of prefixes, which stay in the L2 cache
# The blocks hold the first 128 bits of each anchor; a pair within PREFIX_BITS there is then
# checked on all 256. Pairs within SEED_BITS (64) have about 32 of their differing bits in
# either half (standard deviation 3.5), so at 44 a true pair is missed about once in 6,000,
# only when it is near the threshold already; unrelated hashes, 64 +- 5.7 bits apart on half
# the hash, pass the prefix about 3 times in 10,000. Scanning half the bytes halves the time.
PREFIX_BYTES = 16
PREFIX_BITS = 44
THREADS = 2  # blocks are searched by this many threads (FAISS releases the GIL)
_LOAD_BATCH = 500  # fingerprints read from the catalog at once


def anchors(fp: Hashes) -> np.ndarray:
    """Indices of ``fp``'s anchor frames: the first frame of each `ANCHOR_S` slot."""
    if not len(fp):
        return np.zeros(0, np.int64)
    seconds = fp.seconds
    order = np.argsort(seconds, kind="stable")
    slots = np.floor((seconds[order] - seconds[order[0]]) / ANCHOR_S).astype(np.int64)
    return order[np.r_[True, slots[1:] != slots[:-1]]]


class AnchorIndex:
    """The anchors of many clips, searchable within `SEED_BITS` of a set of query hashes."""

    def __init__(self, block: int = BLOCK, threads: int = THREADS) -> None:
        self._block = block
        self._threads = threads
        self._blocks: list[faiss.IndexBinaryFlat] = []
        # Per block: its anchors' full codes and clip numbers, in parts as they were added.
        self._parts: list[list[tuple[np.ndarray, np.ndarray]]] = []
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
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
        return sum(b.ntotal for b in self._blocks)

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._live

    def frames_of(self, sha256: str) -> int | None:
        entry = self._live.get(sha256)
        return None if entry is None else entry[1]

    @property
    def signature(self) -> tuple[int, int]:
        """(clips, total frames): what the catalog's aggregate is compared with."""
        return len(self._live), self._frames

    def add(self, sha256: str, fp: Hashes, frames: int | None = None) -> None:
        """Index ``fp``'s anchors under ``sha256``, replacing what was indexed for it before.

        ``frames`` is the catalog's count for it (``len(fp)`` unless given).
        """
        rows = anchors(fp)
        self.add_codes(sha256, fp.hashes[rows], frames=len(fp) if frames is None else frames)

    def add_codes(self, sha256: str, codes: np.ndarray, frames: int | None = None) -> None:
        """Index these 32-byte anchor hashes as one clip (the benchmark's entry point)."""
        self.discard(sha256)
        number = len(self._ids)
        self._ids.append(sha256)
        self._counts.append(len(codes))
        self._live[sha256] = (number, len(codes) if frames is None else frames)
        self._frames += self._live[sha256][1]
        codes = np.ascontiguousarray(codes, np.uint8).reshape(-1, 32)
        self._append(codes, np.full(len(codes), number, np.int64))

    def add_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Index many clips' anchor hashes at once, filling whole blocks (for bulk builds)."""
        batch: list[np.ndarray] = []
        numbers: list[int] = []
        for sha256, codes in items:
            codes = np.asarray(codes, np.uint8).reshape(-1, 32)
            self.discard(sha256)
            numbers.append(len(self._ids))
            self._ids.append(sha256)
            self._counts.append(len(codes))
            self._live[sha256] = (numbers[-1], len(codes))
            self._frames += len(codes)
            batch.append(codes)
        if not batch:
            return
        codes = np.concatenate(batch)
        owner = np.repeat(np.asarray(numbers, np.int64), [len(c) for c in batch])
        del batch
        self._append(codes, owner)

    def _append(self, codes: np.ndarray, owner: np.ndarray) -> None:
        """Add anchors to the last block, opening new ones as blocks fill up."""
        at = 0
        while at < len(codes):
            if not self._blocks or self._blocks[-1].ntotal >= self._block:
                self._blocks.append(faiss.IndexBinaryFlat(8 * PREFIX_BYTES))
                self._parts.append([])
            last = len(self._blocks) - 1
            room = self._block - self._blocks[last].ntotal
            part = np.ascontiguousarray(codes[at : at + room])
            self._blocks[last].add(np.ascontiguousarray(part[:, :PREFIX_BYTES]))
            self._parts[last].append((part.view(np.uint64), owner[at : at + room]))
            self._cache.pop(last, None)
            at += len(part)

    def discard(self, sha256: str) -> None:
        """Forget a clip: its anchors stay in their block but no longer count."""
        entry = self._live.pop(sha256, None)
        if entry is not None:
            self._frames -= entry[1]

    def search(self, codes: np.ndarray, exclude: str | None = None) -> list[str]:
        """Clips with at least `MIN_HITS` anchors (all, if fewer) within SEED_BITS of ``codes``."""
        codes = np.ascontiguousarray(codes, np.uint8).reshape(-1, 32)
        if not len(codes) or not self._blocks:
            return []
        if self._threads > 1 and len(self._blocks) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, initializer=_one_omp_thread)
            parts = [range(k, len(self._blocks), self._threads) for k in range(self._threads)]
            found = [
                clip
                for part in self._pool.map(lambda p: self._hit_clips(codes, p), parts)
                for clip in part
            ]
        else:
            _one_omp_thread()
            found = self._hit_clips(codes, range(len(self._blocks)))
        if not found:
            return []
        # Each element of found is one anchor that some query hash came close to.
        numbers, hits = np.unique(np.concatenate(found), return_counts=True)
        counts = np.asarray(self._counts, np.int64)[numbers]
        keep = numbers[hits >= np.minimum(MIN_HITS, counts)]
        result = []
        for number in keep.tolist():
            sha = self._ids[number]
            if sha != exclude and self._live.get(sha, (None,))[0] == number:
                result.append(sha)
        return result

    def _hit_clips(self, codes: np.ndarray, blocks: Iterable[int]) -> list[np.ndarray]:
        """Clip numbers of the anchors hit, one entry per anchor, over ``blocks``."""
        prefix = np.ascontiguousarray(codes[:, :PREFIX_BYTES])
        words = codes.view(np.uint64)
        out = []
        for b in blocks:
            # Binary range search keeps distances strictly below the radius.
            lims, _, labels = self._blocks[b].range_search(prefix, PREFIX_BITS + 1)
            if not lims[-1]:
                continue
            full, owner = self._block_arrays(b)
            asked = np.repeat(np.arange(len(codes)), np.diff(lims).astype(np.int64))
            close = np.bitwise_count(full[labels] ^ words[asked]).sum(axis=1) <= SEED_BITS
            if close.any():
                out.append(owner[np.unique(labels[close])])
        return out

    def _block_arrays(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``b``'s full codes (as four 64-bit words) and clip numbers."""
        cached = self._cache.get(b)
        if cached is None:
            parts = self._parts[b]
            cached = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            self._parts[b] = [cached]
            self._cache[b] = cached
        return cached

    def refresh(self, session: Session) -> None:
        """Bring the index up to date with the catalog's fingerprints table."""
        count, frames = session.execute(
            select(func.count(), func.coalesce(func.sum(Fingerprint.frames), 0))
        ).one()
        if (int(count), int(frames)) == self.signature:
            return
        present = dict(session.execute(select(Fingerprint.asset_sha256, Fingerprint.frames)).all())
        for sha in [s for s in self._live if s not in present]:
            self.discard(sha)
        todo = [sha for sha, n in present.items() if self.frames_of(sha) != n]
        for start in range(0, len(todo), _LOAD_BATCH):
            batch = todo[start : start + _LOAD_BATCH]
            rows = session.execute(
                select(Fingerprint.asset_sha256, Fingerprint.data).where(
                    Fingerprint.asset_sha256.in_(batch)
                )
            )
            for sha, data in rows:
                self.add(sha, Hashes.from_bytes(data), frames=present[sha])


def _one_omp_thread() -> None:
    # OpenMP's thread count is per calling thread; nested teams on 2 cores only contend.
    faiss.omp_set_num_threads(1)


_indexes: dict[str, AnchorIndex] = {}
_indexes_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked worker starts afresh: its parent's search threads and locks do not survive."""
    global _indexes_lock
    _indexes.clear()
    _indexes_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def index_for(session: Session) -> AnchorIndex:
    """This process's index of the session's database (built and refreshed by the caller)."""
    key = session.get_bind().url.render_as_string(hide_password=True)
    with _indexes_lock:
        return _indexes.setdefault(key, AnchorIndex())


def candidates(session: Session, sha256: str, query: Hashes) -> Iterator[tuple[str, bytes]]:
    """Stored clips (sha256, fingerprint bytes) that may share moments with ``query``."""
    if not len(query):
        return
    index = index_for(session)
    with index.lock:
        index.refresh(session)
        found = index.search(np.concatenate([query.hashes, query.mirrored]), exclude=sha256)
    for start in range(0, len(found), _LOAD_BATCH):
        rows = session.execute(
            select(Fingerprint.asset_sha256, Fingerprint.data).where(
                Fingerprint.asset_sha256.in_(found[start : start + _LOAD_BATCH])
            )
        )
        yield from ((sha, data) for sha, data in rows)
