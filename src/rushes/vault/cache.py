"""A bounded local copy of originals kept elsewhere, for decoders that need a file path.

FFmpeg seeks all over a file; reading an original from an object store for each seek would be
slow, so `local_path` of a remote vault fetches the whole original once into this folder and
serves it from there. Files are named by their SHA-256, read-only, and checked against it as
they arrive (a copy that does not hash to its name is never kept). The least recently used go
first once the folder holds more than its limit. Eviction only unlinks names: a decoder that
already opened a file keeps reading it.

The folder is listed (every file's size and age) only when what this process added since its
last listing may have taken it over the limit, or that listing is `RESCAN_S` old (other
processes fill the folder too), and a full one is taken down to `ROOM` of its limit: listing
it after each file made storing a card of 10,000 photos quadratic (each arrival stat-ing every
copy before it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from rushes.errors import VaultError
from rushes.vault.local import fsync_dir

_CHUNK = 8 << 20
RESCAN_S = 60.0
ROOM = 0.9  # a full folder is taken down to this share of its limit, so it is not full again


class LocalCache:
    def __init__(self, root: Path, limit_bytes: int) -> None:
        self.root = root
        self.limit = limit_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._total: int | None = None  # the folder's size at the last listing, plus our adds
        self._listed = 0.0

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def get(self, sha256: str) -> Path | None:
        """The cached copy, marked as just used; None if there is none."""
        path = self.path(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def fill(self, sha256: str, source: Callable[[], BinaryIO]) -> Path:
        """Copy the original from `source()` into the cache, checked against its name."""
        if cached := self.get(sha256):
            return cached
        temp = self.root / f".{uuid.uuid4().hex}.fetch"
        digest = hashlib.sha256()
        try:
            with source() as stream, open(temp, "xb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise VaultError(
                    f"the stored copy of {sha256} no longer matches its hash: run `rushes verify`"
                )
            os.chmod(temp, 0o444)
            os.replace(temp, self.path(sha256))
        finally:
            temp.unlink(missing_ok=True)
        self._added(sha256)
        return self.path(sha256)

    def keep(self, sha256: str, source: Path) -> None:
        """Keep a file just stored elsewhere (hard-linked, not copied); nothing if it cannot
        be linked from here. The caller has checked its bytes against `sha256`."""
        with contextlib.suppress(FileExistsError, OSError):
            os.link(source, self.path(sha256))
            fsync_dir(self.root)
            self._added(sha256)

    def _added(self, sha256: str) -> None:
        """Count a copy just kept, and make room if the folder may be over its limit."""
        if self._total is not None:
            with contextlib.suppress(FileNotFoundError):
                self._total += os.stat(self.path(sha256)).st_size
            if self._total <= self.limit and time.monotonic() - self._listed < RESCAN_S:
                return
        self.evict(keep=sha256)

    def evict(self, keep: str = "") -> None:
        """Unlink the least recently used copies until the folder is within its limit (if it
        was over it, down to `ROOM` of it)."""
        entries = []
        for entry in os.scandir(self.root):
            if len(entry.name) == 64 and entry.is_file():
                with contextlib.suppress(FileNotFoundError):
                    info = entry.stat()
                    entries.append((info.st_mtime_ns, info.st_size, entry.name))
        total = sum(size for _, size, _ in entries)
        bound = self.limit if total <= self.limit else int(self.limit * ROOM)
        for _, size, name in sorted(entries):
            if total <= bound:
                break
            if name != keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / name)
                total -= size
        self._total, self._listed = total, time.monotonic()
