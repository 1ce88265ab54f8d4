"""Walking a card: every file under the paths given, and why any cannot be taken.

Shared by the base's ingest and the field kit's import, without either's machinery.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rushes.errors import os_reason


@dataclass(frozen=True)
class Candidate:
    """A file found under the given paths, or a reason it cannot be taken."""

    path: Path
    size: int = 0
    problem: str = ""
    skipped: bool = False  # not a failure: a FIFO, a folder symlink


def walk(paths: Iterable[Path]) -> Iterator[Candidate]:
    """Every regular file under `paths`, depth-first in byte order of names.

    Folder symlinks are not followed (no loops), and file symlinks only when they point to a
    file inside one of `paths`: a hostile card cannot pull the host's files into the vault.
    A file named twice (the same card given twice, or a folder and a folder inside it) is
    listed once.
    """
    paths = list(paths)
    roots = [Path(os.path.realpath(p)) for p in paths]
    seen: set[str] = set()
    for candidate in _walk(paths, roots):
        where = os.path.abspath(candidate.path)
        if where not in seen:
            seen.add(where)
            yield candidate


def _walk(paths: list[Path], roots: list[Path]) -> Iterator[Candidate]:
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            yield Candidate(path, problem=os_reason(exc))
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield _candidate(path, st)
            continue
        stack = [path]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
            except OSError as exc:
                yield Candidate(folder, problem=f"cannot list folder: {os_reason(exc)}")
                continue
            subfolders = []
            for entry in entries:
                found = _entry(Path(entry.path), entry, roots)
                if found is None:
                    subfolders.append(Path(entry.path))
                else:
                    yield found
            stack.extend(reversed(subfolders))


def _entry(path: Path, entry: os.DirEntry[str], roots: list[Path]) -> Candidate | None:
    """The candidate for one folder entry; None for a real subfolder to descend into."""
    try:
        if entry.is_dir(follow_symlinks=False):
            return None
        st = os.stat(path)  # follows a file symlink to what it names
    except OSError as exc:
        return Candidate(path, problem=os_reason(exc))
    if entry.is_symlink():
        target = Path(os.path.realpath(path))
        if stat.S_ISDIR(st.st_mode):
            return Candidate(path, skipped=True, problem="symlink to a folder, not followed")
        if not any(target.is_relative_to(root) for root in roots):
            return Candidate(
                path, skipped=True, problem="symlink to a file outside the card, not followed"
            )
    return _candidate(path, st)


def _candidate(path: Path, st: os.stat_result) -> Candidate:
    if not stat.S_ISREG(st.st_mode):
        return Candidate(path, skipped=True, problem="not a regular file (device, FIFO, socket)")
    return Candidate(path, size=st.st_size)
