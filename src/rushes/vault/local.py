"""A vault in a local folder: `originals/ab/cd/<sha256>`, read-only files, staging in `tmp/`.

Durability order: write the temp file, fsync it, hard-link it to its final name (link fails
rather than overwrites, so a second writer of the same bytes cannot replace the first), fsync
the directory, then drop the temp name. A crash at any point leaves either no original or a
complete one. Each temp file is held under an exclusive flock by its writer, so a later process
can tell an abandoned temp file (lock free) from one being written (lock held) and clean up.
"""

from __future__ import annotations

import errno
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rushes.errors import VaultError, VaultFullError

_HEX = frozenset("0123456789abcdef")


class LocalStaging:
    def __init__(self, tmp: Path) -> None:
        # Locked under a name the sweeper ignores, then renamed: a `.part` file is always locked
        # while its writer lives.
        name = uuid.uuid4().hex
        fresh = tmp / f"{name}.init"
        self.fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.path = tmp / f"{name}.part"
        os.rename(fresh, self.path)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise VaultFullError(
                    f"the disk under the vault ({self.path.parent.parent}) is full; "
                    "free space or move the vault, then run the same command again"
                ) from exc
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.originals = root / "originals"
        self.tmp = root / "tmp"
        try:
            self.originals.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VaultError(f"cannot create the vault at {root}: {exc.strerror}") from exc
        self.sweep_abandoned()

    def sweep_abandoned(self) -> list[Path]:
        """Delete `.part` files whose writer died (their flock is free). Returns what went."""
        removed = []
        for path in self.tmp.glob("*.part"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink(missing_ok=True)
                removed.append(path)
            except BlockingIOError:
                pass  # a live writer holds it
            finally:
                os.close(fd)
        return removed

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not _HEX.issuperset(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.originals / sha256[:2] / sha256[2:4] / sha256

    def stage(self) -> LocalStaging:
        try:
            return LocalStaging(self.tmp)
        except OSError as exc:
            raise VaultError(f"cannot write in the vault at {self.tmp}: {exc.strerror}") from exc

    def commit(self, staging: LocalStaging, sha256: str) -> bool:  # type: ignore[override]
        target = self.path(sha256)
        try:
            os.fsync(staging.fd)
            os.fchmod(staging.fd, 0o444)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(staging.path, target)
                created = True
            except FileExistsError:
                created = False
            _fsync_dir(target.parent)
        except OSError as exc:
            self.discard(staging)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise VaultFullError(f"the disk under the vault ({self.root}) is full") from exc
            raise VaultError(f"cannot store {sha256} in {self.root}: {exc.strerror}") from exc
        self.discard(staging)
        return created

    def discard(self, staging: LocalStaging) -> None:  # type: ignore[override]
        staging.path.unlink(missing_ok=True)
        staging.close()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb", buffering=0)  # noqa: SIM115 - caller closes

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def local_path(self, sha256: str) -> Path:
        return self.path(sha256)

    def locate(self, sha256: str) -> str:
        return str(self.path(sha256))

    def hashes(self) -> Iterator[str]:
        for path in self.originals.glob("??/??/*"):
            if len(path.name) == 64 and _HEX.issuperset(path.name):
                yield path.name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
