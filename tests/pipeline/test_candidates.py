"""The candidate search: anchors in a FAISS index against the brute-force rule it stands for."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import faiss
import numpy as np
import pytest
from sqlalchemy import delete

from rushes.base import Base
from rushes.catalog.models import Asset
from rushes.catalog.models import Fingerprint as FingerprintRow
from rushes.media.fingerprint import Fingerprint, dihedral, fingerprint
from rushes.media.matching import SEED_BITS
from rushes.media.orientations import TRANSFORMS
from rushes.pipeline.candidates import (
    MIN_HITS,
    AnchorIndex,
    anchors,
    candidates,
    index_for,
    query_codes,
)

CLIPS = (
    "chair-orig-22-sd-bar",
    "chair-19-sd-bar",
    "chair-22-sd-grey-bar",
    "chair-22-with-small-logo-bar",
    "doorknob-hd-no-bar",
)
CHAIRS = {name for name in CLIPS if name.startswith("chair")}


@pytest.fixture(scope="module")
def prints(fixtures_dir: Path) -> dict[str, Fingerprint]:
    return {name: fingerprint(fixtures_dir / f"{name}.mp4") for name in CLIPS}


def mirror(fp: Fingerprint) -> Fingerprint:
    """The fingerprint of the same video flipped left-right."""
    return dataclasses.replace(fp, codes=dihedral(fp.codes, TRANSFORMS.index("mirrored")))


def distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.unpackbits(x[:, None, :] ^ y[None, :, :], axis=2).sum(axis=2)


def brute_force(query: Fingerprint, stored: dict[str, Fingerprint], *, thin: bool) -> set[str]:
    """The rule, by brute force: MIN_HITS frames (or anchors), at any of their scales, close to
    a query frame in any orientation or to its centre crops."""
    asked = faiss.IndexBinaryFlat(256)
    asked.add(query_codes(query))
    found = set()
    for name, fp in stored.items():
        frames = fp.codes[anchors(fp)] if thin else fp.codes
        nearest = asked.search(np.ascontiguousarray(frames.reshape(-1, 32)), 1)[0]
        close = int((nearest.reshape(len(frames), -1).min(axis=1) <= SEED_BITS).sum())
        if close >= min(MIN_HITS, len(frames)):
            found.add(name)
    return found


def test_anchors_find_what_brute_force_finds_on_real_clips(
    prints: dict[str, Fingerprint],
) -> None:
    index = AnchorIndex(block=64)  # several blocks, searched by two threads
    for name, fp in prints.items():
        index.add(name, fp)
    for name, fp in prints.items():
        found = set(index.search(query_codes(fp), exclude=name))
        others = {n: f for n, f in prints.items() if n != name}
        assert found == brute_force(fp, others, thin=False), name  # recall 1.0 of the old rule
        if name in CHAIRS:
            assert found == CHAIRS - {name}
        else:
            assert not found


def test_a_mirrored_copy_is_found(prints: dict[str, Fingerprint]) -> None:
    index = AnchorIndex()
    index.add("flipped", mirror(prints["chair-orig-22-sd-bar"]))
    index.add("doorknob", prints["doorknob-hd-no-bar"])
    for name in CHAIRS:
        fp = prints[name]
        assert index.search(query_codes(fp)) == ["flipped"], name


def test_synthetic_anchors_at_the_threshold() -> None:
    rng = np.random.default_rng(7)
    query = rng.integers(0, 256, (30, 32), dtype=np.uint8)
    index = AnchorIndex(block=100)
    expected = set()
    for clip in range(400):
        codes = rng.integers(0, 256, (rng.integers(1, 6), 32), dtype=np.uint8)
        close = rng.integers(0, len(codes) + 1)  # anchors planted near a query hash
        for row in range(close):
            bits = np.unpackbits(query[rng.integers(len(query))])
            flip = rng.choice(256, size=int(rng.choice([0, 20, 40, 63, 64, 65, 70])), replace=False)
            bits[flip] ^= 1
            codes[row] = np.packbits(bits)
        hits = int((distances(codes, query).min(axis=1) <= SEED_BITS).sum())
        if hits >= min(MIN_HITS, len(codes)):
            expected.add(f"c{clip}")
        index.add_codes(f"c{clip}", codes)
    assert len(expected) > 50
    assert set(index.search(query)) == expected
    assert set(AnchorIndex(block=100, threads=1).search(query)) == set()
    index.discard("c0")
    assert set(index.search(query)) == expected - {"c0"}


def test_a_large_index_moves_to_an_inverted_file_that_keeps_near_pairs() -> None:
    """Past `ivf_min` anchors the index trains an inverted file and keeps adding to it: what it
    proposes is always right, and it misses few copies (none, mostly) up to 40 bits away."""
    rng = np.random.default_rng(11)
    index = AnchorIndex(ivf_min=50_000)
    noise = rng.integers(0, 256, (60_000, 1, 32), dtype=np.uint8)
    index.add_many((f"r{i}", codes) for i, codes in enumerate(noise))
    assert index.kind == "ivf" and index.anchors == 60_000
    query = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    for clip in range(200):  # added one by one, after training
        bits = np.unpackbits(query[rng.integers(len(query))])
        bits[rng.choice(256, size=int(rng.integers(0, 41)), replace=False)] ^= 1
        index.add_codes(f"c{clip}", np.packbits(bits)[None])
    found = set(index.search(query))
    assert found <= {f"c{clip}" for clip in range(200)}  # no random anchor is within 64 bits
    assert len(found) >= 196, 200 - len(found)
    index.discard("c0")
    assert "c0" not in index.search(query)


def test_a_long_static_shot_is_searched_in_bounded_memory() -> None:
    """Hours of one still picture are within SEED_BITS of themselves everywhere: the search
    must not hold every (query hash, anchor) pair at once (9,000 frames once took 5.8 GB)."""
    rng = np.random.default_rng(3)
    bits = np.unpackbits(rng.integers(0, 256, 32, dtype=np.uint8))
    frames = np.repeat(bits[None], 6_000, axis=0)
    frames[np.arange(6_000), rng.integers(0, 256, 6_000)] ^= 1  # a bit of sensor noise
    frames = np.packbits(frames, axis=1)
    index = AnchorIndex()
    index.add_codes("itself", frames)
    index.add_codes("copy", frames[::2])
    tracemalloc.start()
    try:
        assert index.search(frames, exclude="itself") == ["copy"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MB"  # all pairs at once: ~3 GB


def store(base: Base, sha: str, fp: Fingerprint) -> None:
    with base.catalog.write() as session:
        if session.get(Asset, sha) is None:
            session.add(Asset(sha256=sha, sha512="0" * 128, size=1, kind="video"))
            session.flush()
        session.merge(
            FingerprintRow(
                asset_sha256=sha, data=fp.to_bytes(), frames=len(fp), tool_version="test"
            )
        )


def found(base: Base, sha: str, fp: Fingerprint) -> set[str]:
    with base.catalog.read() as session:
        return {other for other, _ in candidates(session, sha, fp)}


def test_candidates_follow_the_catalog_incrementally(
    base: Base, prints: dict[str, Fingerprint]
) -> None:
    sha = {name: f"{i:064x}" for i, name in enumerate(CLIPS)}
    orig, trim, logo = prints["chair-orig-22-sd-bar"], prints["chair-19-sd-bar"], None
    store(base, sha["chair-orig-22-sd-bar"], orig)
    store(base, sha["doorknob-hd-no-bar"], prints["doorknob-hd-no-bar"])
    assert found(base, sha["chair-orig-22-sd-bar"], orig) == set()
    with base.catalog.read() as session:
        index = index_for(session)
    built = index.anchors

    store(base, sha["chair-19-sd-bar"], trim)
    assert found(base, sha["chair-orig-22-sd-bar"], orig) == {sha["chair-19-sd-bar"]}
    assert index.anchors == built + len(anchors(trim))  # added, not rebuilt
    logo = prints["chair-22-with-small-logo-bar"]
    store(base, sha["chair-22-with-small-logo-bar"], logo)
    assert found(base, sha["chair-19-sd-bar"], trim) == {
        sha["chair-orig-22-sd-bar"],
        sha["chair-22-with-small-logo-bar"],
    }
    with base.catalog.read() as session:
        rows = dict(candidates(session, sha["chair-19-sd-bar"], trim))
    assert rows[sha["chair-orig-22-sd-bar"]].to_bytes() == orig.to_bytes()

    # A deleted fingerprint is no longer proposed; a replaced one is re-read.
    with base.catalog.write() as session:
        session.execute(
            delete(FingerprintRow).where(FingerprintRow.asset_sha256 == sha["chair-19-sd-bar"])
        )
    assert found(base, sha["chair-orig-22-sd-bar"], orig) == {sha["chair-22-with-small-logo-bar"]}
    store(base, sha["doorknob-hd-no-bar"], mirror(orig))
    assert found(base, sha["chair-orig-22-sd-bar"], orig) == {
        sha["chair-22-with-small-logo-bar"],
        sha["doorknob-hd-no-bar"],
    }


def test_a_clip_with_no_fingerprinted_frame_is_indexed_as_nothing(
    prints: dict[str, Fingerprint],
) -> None:
    index = AnchorIndex()
    flat = prints["doorknob-hd-no-bar"]
    index.add("black", dataclasses.replace(flat, pts=flat.pts[:0], codes=flat.codes[:0]))
    index.add("chair", prints["chair-orig-22-sd-bar"])
    assert index.search(query_codes(prints["chair-19-sd-bar"])) == ["chair"]
