"""The local cache of a remote vault's originals: bounded, also when several processes fill it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rushes.vault import cache
from rushes.vault.cache import LocalCache

KIB = 1024


def _kept(into: LocalCache, tmp_path: Path, n: int) -> str:
    """A file of 1 KiB stored elsewhere, kept by `into`; returns its name."""
    data = b"%d" % n * KIB
    data = data[:KIB]
    source = tmp_path / f"stored-{n}"
    source.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    into.keep(sha, source)
    return sha


def _held(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if len(p.name) == 64}


def test_copies_kept_by_another_process_count_once_this_one_lists_the_folder_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    here, there = LocalCache(root, 4 * KIB), LocalCache(root, 4 * KIB)
    mine = [_kept(here, tmp_path, n) for n in range(2)]
    theirs = [_kept(there, tmp_path, n) for n in range(2, 4)]  # another process, its own count
    assert _held(root) == {*mine, *theirs}  # at the limit, nothing evicted
    os.utime(root / mine[0], ns=(1, 1))  # the least recently used
    # This process counts 3 KiB (what it listed, 1, and added since, 2): the other's copies
    # count once it lists the folder again, at the latest a minute on (here: at once). Over
    # its limit, the folder is taken down to 90 % of it: the two least recently used go.
    monkeypatch.setattr(cache, "RESCAN_S", 0.0)
    fifth = _kept(here, tmp_path, 4)
    assert _held(root) == {*theirs, fifth}


def test_a_process_keeping_many_copies_lists_the_folder_only_when_it_may_be_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = LocalCache(tmp_path / "cache", 40 * KIB)
    listings = []
    evict = kept.evict
    monkeypatch.setattr(kept, "evict", lambda keep="": (listings.append(keep), evict(keep)))
    names = [_kept(kept, tmp_path, n) for n in range(100)]
    # Listed on the first copy, then each time it was full: taken down to 36 of 40 KiB.
    assert len(listings) <= 1 + 60 // 4, len(listings)  # not once a copy (quadratic)
    assert set(names[-36:]) <= _held(tmp_path / "cache") <= set(names[-40:])
