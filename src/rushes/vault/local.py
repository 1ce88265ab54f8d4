"""A vault in a local folder: `originals/ab/cd/<sha256>`, read-only files, staging in `tmp/`.

Durability order: write the temp file, fsync it, hard-link it to its final name (link fails
rather than overwrites, so a second writer of the same bytes cannot replace the first), fsync
the directory, then drop the temp name. A crash at any point leaves either no original or a
complete one. A finished file on the same filesystem (an upload) is staged by hard-linking it
into `tmp/` instead of copying it, then committed the same way. Each temp file is held under
an exclusive flock by its writer, so a later process can tell an abandoned temp file (lock
free) from one being written (lock held) and clean up (removing only the temp name).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from rushes.errors import VaultError, VaultFullError
from rushes.vault.pump import pump

_HEX = frozenset("0123456789abcdef")


_INIT_GRACE_S = 60
_SYNC_EVERY = 64 << 20  # flush as we go: the disk works while the hashes run, not after
_CANNOT_LINK = frozenset({errno.EXDEV, errno.EMLINK, errno.EPERM, errno.EOPNOTSUPP})


class LocalStaging:
    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path = fd, path
        self.unsynced = 0
        self.durable = True  # False: a spool sent elsewhere before it counts, never synced
        self.taps: list[Callable[[bytes], None]] = []  # more to feed in the hashing pass

    @classmethod
    def create(cls, tmp: Path) -> LocalStaging:
        # Locked under a name the sweeper leaves to a live writer, then renamed: a `.part` file
        # is always locked while its writer lives.
        name = uuid.uuid4().hex
        fresh = tmp / f"{socket.gethostname()}@{os.getpid()}.{name}.init"
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = tmp / f"{name}.part"
        os.rename(fresh, path)
        return cls(fd, path)

    @classmethod
    def link(cls, tmp: Path, source: Path) -> LocalStaging | None:
        """Stage a finished file under a second name instead of copying it; None if it cannot
        be hard-linked from here (another filesystem). The file is locked before its `.part`
        name exists, so the sweeper only ever removes that name, never the caller's."""
        fd = os.open(source, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = tmp / f"{uuid.uuid4().hex}.part"
            os.link(source, path)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _CANNOT_LINK:
                return None
            raise
        return cls(fd, path)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
            self.unsynced += len(data)
            if self.durable and self.unsynced >= _SYNC_EVERY:
                os.fdatasync(self.fd)
                self.unsynced = 0
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
    remote = False  # originals are files here: ingest probes them at once
    store_checksums = False  # a folder keeps no checksum of its own: only re-hashing tells
    legal_holds = False  # nor deletes anything: nothing to hold
    lock_unknown = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.originals = root / "originals"
        self.tmp = root / "tmp"
        self.quarantine = root / "quarantine"
        try:
            self.originals.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VaultError(f"cannot create the vault at {root}: {exc.strerror}") from exc
        self.sweep_abandoned()

    def sweep_abandoned(self) -> list[Path]:
        return sweep_staging(self.tmp)

    def stop(self) -> None:
        return None  # a commit here is a link and an fsync: it ends as soon as let be

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not _HEX.issuperset(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.originals / sha256[:2] / sha256[2:4] / sha256

    def stage(self) -> LocalStaging:
        try:
            return LocalStaging.create(self.tmp)
        except OSError as exc:
            raise VaultError(f"cannot write in the vault at {self.tmp}: {exc.strerror}") from exc

    def stage_file(self, source: Path) -> LocalStaging | None:
        try:
            return LocalStaging.link(self.tmp, source)
        except OSError as exc:
            raise VaultError(f"cannot link {source} into the vault: {exc.strerror}") from exc

    def stage_source(self, source: Path) -> None:
        return None  # the file in the vault must be a copy: the card may be written again

    def commit(self, staging: LocalStaging, sha256: str) -> tuple[bool, str]:  # type: ignore[override]
        target = self.path(sha256)
        try:
            os.fchmod(staging.fd, 0o444)
            os.fsync(staging.fd)
            self._make_dirs(target.parent)
            try:
                os.link(staging.path, target)
                created, repair = True, ""
            except FileExistsError:
                created, repair = False, self._damage(target, sha256)
                if repair:
                    self._quarantine(target)
                    os.link(staging.path, target)
            fsync_dir(target.parent)
        except OSError as exc:
            self.discard(staging)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise VaultFullError(f"the disk under the vault ({self.root}) is full") from exc
            raise VaultError(f"cannot store {sha256} in {self.root}: {exc.strerror}") from exc
        self.discard(staging)
        return created, repair

    def _make_dirs(self, folder: Path) -> None:
        """Create the shard folders, fsyncing each new entry's parent so a power cut cannot
        lose a folder the catalog already relies on."""
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir()
            fsync_dir(path.parent)

    def _damage(self, target: Path, sha256: str) -> str:
        """What is wrong with the stored copy ("" if it still hashes to its name)."""
        digest = hashlib.sha256()
        try:
            with open(target, "rb", buffering=0) as stored:
                pump(stored.read, [digest.update])
        except OSError as exc:
            return f"stored copy unreadable: {exc.strerror}"
        return "" if digest.hexdigest() == sha256 else "stored copy no longer matched its hash"

    def _quarantine(self, target: Path) -> None:
        """Keep a damaged copy aside (never delete what may be evidence of the damage)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.quarantine.mkdir(exist_ok=True)
        os.rename(target, self.quarantine / f"{target.name}.{stamp}.{uuid.uuid4().hex[:8]}")
        fsync_dir(self.quarantine)

    def discard(self, staging: LocalStaging) -> None:  # type: ignore[override]
        staging.path.unlink(missing_ok=True)
        staging.close()

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb", buffering=0)  # noqa: SIM115 - caller closes

    def local_path(self, sha256: str) -> Path:
        return self.path(sha256)

    def contains(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def locate(self, sha256: str) -> str:
        return str(self.path(sha256))

    def earlier_copy(self, sha256: str) -> str:
        return ""  # a folder keeps one copy: a replica repairs it (`rushes verify`)

    def hashes(self) -> Iterator[str]:
        for path in self.originals.glob("??/??/*"):
            if len(path.name) == 64 and _HEX.issuperset(path.name):
                yield path.name


def fsync_dir(path: Path) -> None:
    """Make a folder's new or renamed entries durable (a file's own fsync does not)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer_gone(init: Path) -> bool:
    """Whether the process that made an `.init` file is dead: known only on its own host (a
    folder may be shared), otherwise after a minute, the longest a live writer keeps it."""
    host, _, rest = init.name.rpartition("@")
    pid = rest.split(".", 1)[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        else:
            return False
    return time.time() - init.stat().st_mtime > _INIT_GRACE_S


def sweep_staging(tmp: Path) -> list[Path]:
    """Delete staging files whose writer died: `.part` files whose flock is free, and `.init`
    files (killed before locking) whose process is gone. Returns what went."""
    removed = []
    for path in tmp.glob("*.init"):
        with contextlib.suppress(FileNotFoundError):
            if _writer_gone(path):
                path.unlink()
                removed.append(path)
    for path in tmp.glob("*.part"):
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
