"""Costly fixtures made once for all of the suite's workers, not once in each.

pytest-xdist runs a module's tests on both workers, and a module-scoped fixture is made in
each. `once` follows xdist's own recipe for that: the first worker to ask makes the thing in
a folder both share, under a lock, and keeps it pickled there; the other waits and reads it.
What is made must only be read afterwards.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pickle
import shutil
import subprocess
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

A = TypeVar("A")
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def once(request: pytest.FixtureRequest, name: str, make: Callable[[Path], T]) -> T:
    """``make(folder)`` for the whole run: made by one worker, read by the others."""
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    if not hasattr(request.config, "workerinput"):  # not under xdist: one process
        return make(factory.mktemp(name))
    root = factory.getbasetemp().parent  # the run's folder, above each worker's own
    folder, kept = root / name, root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if kept.exists():
            return pickle.loads(kept.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed left behind
        folder.mkdir()
        made = make(folder)
        kept.write_bytes(pickle.dumps(made))
        return made


def on_every_core(function: Callable[[A], T], items: Mapping[K, A]) -> dict[K, T]:
    """``function`` of each of ``items``' values in a process a core: a worker waiting in
    `once` for what another makes leaves its core to the making. ``function`` must be
    importable."""
    context = multiprocessing.get_context("spawn")  # a fork would copy xdist's threads
    with ProcessPoolExecutor(os.cpu_count(), mp_context=context) as pool:
        return dict(zip(items, pool.map(function, items.values()), strict=True))


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real disk of `size` (a tmpfs, "2m") mounted on a new `folder`, for as long as the
    block runs: the suite runs as root in CI, which mounting needs."""
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root (as CI does)")
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
