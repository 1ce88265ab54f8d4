"""Files made from originals (proxies, thumbnails): `derivatives/ab/<sha256>/<name>`.

Unlike the vault this folder is disposable: anything here can be deleted and rebuilt by the
pipeline, and nothing in it is evidence. Each file's SHA-256 is recorded when it is made
(`details["sha256"]`) so `rushes verify` can tell a damaged one from a good one.

A step writes its files into `prepare(sha256)`, a local folder, then `publish`es them: here the
folder is the store and publishing does nothing; an S3 store (derivatives_s3.py) sends them.
Readers go through `size`, `digest`, `open` and `open_range`, which work on either.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,99}$")
MADE_BY = {"proxy": "proxy", "poster": "thumbnails", "strip": "thumbnails"}  # kind -> step


def digest(path: Path) -> str:
    """SHA-256 of a derivative file, recorded beside it when made and checked by verify."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Derivatives:
    remote = False  # the files are only here; a remote store streams them (`read`)

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def path(self, sha256: str, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a derivative name: {name!r}")
        return self.folder(sha256) / name

    def prepare(self, sha256: str) -> Path:
        folder = self.folder(sha256)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def clear(self, sha256: str, prefix: str) -> None:
        """Remove one step's earlier output before it runs again."""
        folder = self.folder(sha256)
        for path in folder.glob(f"{prefix}*"):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def publish(self, sha256: str, names: Iterable[str]) -> None:
        """Make the files a step wrote under `prepare(sha256)` the stored ones (here they are)."""

    def size(self, sha256: str, name: str) -> int | None:
        """The stored file's size; None if it is missing."""
        try:
            return self.path(sha256, name).stat().st_size
        except FileNotFoundError:
            return None

    def digest(self, sha256: str, name: str) -> str:
        return digest(self.path(sha256, name))

    def open(self, sha256: str, name: str) -> BinaryIO:
        return open(self.path(sha256, name), "rb")  # noqa: SIM115 - caller closes

    def open_range(self, sha256: str, name: str, start: int, end: int) -> BinaryIO:
        """The stored file opened at byte `start`; the caller reads up to `end` (inclusive)."""
        f = self.open(sha256, name)
        f.seek(start)
        return f
