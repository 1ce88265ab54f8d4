"""Which archived clips might share moments with a new one, before the exact alignment.

Brute force over every stored fingerprint: a clip is a candidate when at least `MIN_HITS`
of its frames lie within `SEED_BITS` of a frame of the query (or of the query mirrored).
This reads every fingerprint once per query, which is fine for tens of thousands of clips; an
archive beyond that needs a binary index (FAISS or usearch) behind this same function.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Fingerprint
from rushes.media.fingerprint import Fingerprint as Hashes
from rushes.media.matching import SEED_BITS

MIN_HITS = 2


def _words(hashes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hashes, np.uint8).view(np.uint64).reshape(len(hashes), 4)


def _hits(query: np.ndarray, other: np.ndarray) -> int:
    """How many frames of `other` lie within SEED_BITS of some frame of `query`."""
    distances = np.bitwise_count(other[:, None, :] ^ query[None, :, :]).sum(axis=2)
    return int((distances.min(axis=1) <= SEED_BITS).sum())


def candidates(session: Session, sha256: str, query: Hashes) -> Iterator[tuple[str, bytes]]:
    if not len(query):
        return
    both = np.concatenate([_words(query.hashes), _words(query.mirrored)])
    rows = session.execute(
        select(Fingerprint.asset_sha256, Fingerprint.data)
        .where(Fingerprint.asset_sha256 != sha256)
        .execution_options(yield_per=500)
    )
    for other_sha, data in rows:
        other = Hashes.from_bytes(data)
        if len(other) and _hits(both, _words(other.hashes)) >= MIN_HITS:
            yield other_sha, data
