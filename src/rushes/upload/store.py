"""Unfinished uploads on disk, one folder each: `uploads/<id>/`.

    info.json     who sent it, for which project, its declared length and metadata
    data          the bytes received so far; its size *is* the upload's offset
    lock          flock'd by whoever writes to `data` (one writer, across processes)
    claim         replaced by each HEAD; a writer stops when its inode changes
    chunk         a checksummed chunk waiting to be verified before it joins `data`
    outcome.json  written once the finished upload went into the vault (or was rejected); an
                  original's `data` is then the vault's own file (hard-linked), so its name
                  here is dropped at once and never written through

The offset is never stored anywhere else, so it cannot disagree with the bytes. `data` is
fsynced before any offset is acknowledged; a writer killed mid-request leaves its bytes in
`data` and the next HEAD fsyncs them and counts them. Folders are born complete: written as
`<id>.new`, then renamed. Unfinished uploads expire a week after their last byte, finished
ones a week after they finished.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rushes.upload.protocol import CHECKSUMS, TusError

EXPIRY = timedelta(days=7)
_ID = re.compile(r"[0-9a-f]{32}")
_NEW_GRACE_S = 60


@dataclass(frozen=True)
class Info:
    id: str
    project_id: int
    crew: str  # username of the token's owner
    length: int | None  # None while deferred
    kind: str
    sha256: str
    filename: str
    original: str
    source: str
    metadata: str  # the Upload-Metadata header as sent
    created_at: str


@dataclass(frozen=True)
class Outcome:
    status: str  # stored | rejected
    size: int
    reason: str = ""  # why it was rejected, or what happened ("the base's own proxy kept")


class Upload:
    def __init__(self, folder: Path, info: Info) -> None:
        self.folder, self.info = folder, info
        self.data = folder / "data"
        self.chunk = folder / "chunk"

    @property
    def id(self) -> str:
        return self.info.id

    def offset(self) -> int:
        """Bytes received and kept, read from the data file itself (or the outcome once the
        bytes have moved into the vault)."""
        outcome = self.outcome()
        if outcome:
            return outcome.size
        try:
            return os.stat(self.data).st_size
        except FileNotFoundError:
            return 0

    def complete(self) -> bool:
        return self.info.length is not None and self.offset() == self.info.length

    def outcome(self) -> Outcome | None:
        try:
            raw = json.loads((self.folder / "outcome.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Outcome(**raw)

    def expires_at(self) -> datetime:
        """A week after the last byte arrived (links can be down for days)."""
        try:
            last = os.stat(self.data).st_mtime
        except FileNotFoundError:
            last = os.stat(self.folder / "info.json").st_mtime
        return datetime.fromtimestamp(last, UTC) + EXPIRY

    def expired(self, now: datetime | None = None) -> bool:
        return self.outcome() is None and self.expires_at() < (now or datetime.now(UTC))

    def claim(self) -> int:
        """The current claim: a writer that sees it change has been superseded."""
        try:
            return os.stat(self.folder / "claim").st_ino
        except FileNotFoundError:
            return 0

    def take(self) -> None:
        """Supersede whoever writes now (a HEAD takes the upload back from a hung PATCH)."""
        fresh = self.folder / f"claim.{uuid.uuid4().hex}"
        fresh.touch()
        os.replace(fresh, self.folder / "claim")

    def try_lock(self) -> Lease | None:
        fd = os.open(self.folder / "lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return Lease(fd)

    def lock(self) -> Lease:
        fd = os.open(self.folder / "lock", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return Lease(fd)

    def set_length(self, length: int) -> None:
        """Fix a deferred length (under the lease)."""
        self.info = replace(self.info, length=length)
        _write_json(self.folder / "info.json", asdict(self.info))

    def sync(self) -> int:
        """Make every byte in `data` durable and return how many there are."""
        try:
            fd = os.open(self.data, os.O_RDONLY)
        except FileNotFoundError:
            return self.offset()  # concluded meanwhile: the bytes are in the vault
        try:
            size = os.fstat(fd).st_size
            os.fdatasync(fd)
        finally:
            os.close(fd)
        return size

    def conclude(self, outcome: Outcome) -> None:
        """Record the outcome (under the lease); the bytes are in the vault (perhaps as this
        very `data` file, adopted) or unwanted now, so the upload lets go of them."""
        _write_json(self.folder / "outcome.json", asdict(outcome))
        self.data.unlink(missing_ok=True)
        self.chunk.unlink(missing_ok=True)


class Writer:
    """The bytes of one request: appended to `data` as they come, or, when the request carries
    a checksum, staged in `chunk` and appended only once the checksum matches."""

    def __init__(self, upload: Upload, algorithm: str | None) -> None:
        self.upload = upload
        self.digest = CHECKSUMS[algorithm]() if algorithm else None
        if self.digest is None:
            self.fd = os.open(upload.data, os.O_WRONLY | os.O_APPEND)
        else:
            self.fd = os.open(upload.chunk, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.written = 0

    def write(self, data: bytes | bytearray) -> None:
        """Runs in a worker thread: hashlib and os.write release the GIL on large buffers."""
        if self.digest:
            self.digest.update(data)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise TusError(507, "the base's disk is full; the bytes before are kept") from exc
            raise
        self.written += len(data)

    def finish(self, keep: bool) -> None:
        """Make what was written durable. A staged chunk joins `data` only if `keep` (its
        checksum matched); otherwise it is dropped and the offset does not move."""
        try:
            if self.digest is None:
                os.fdatasync(self.fd)
            elif keep:
                self._append_staged()
        finally:
            os.close(self.fd)
            if self.digest is not None:
                self.upload.chunk.unlink(missing_ok=True)

    def _append_staged(self) -> None:
        target = os.open(self.upload.data, os.O_WRONLY)
        try:
            at = os.fstat(target).st_size
            done = 0
            while done < self.written:
                copied = os.copy_file_range(self.fd, target, self.written - done, done, at + done)
                if copied == 0:
                    raise OSError(errno.EIO, f"staged chunk of upload {self.upload.id} ended early")
                done += copied
            os.fdatasync(target)
        finally:
            os.close(target)


class Lease:
    """The exclusive right to write one upload, held as an flock until released."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class UploadStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def create(self, info: Info) -> Upload:
        staging = self.root / f"{info.id}.new"
        staging.mkdir(mode=0o700)
        try:
            for name in ("data", "lock", "claim"):
                (staging / name).touch()
            _write_json(staging / "info.json", asdict(info))
            fsync_dir(staging)
            os.rename(staging, self.root / info.id)
            fsync_dir(self.root)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise TusError(507, "the base's disk is full; try again later") from exc
            raise
        return Upload(self.root / info.id, info)

    def get(self, upload_id: str) -> Upload | None:
        if not _ID.fullmatch(upload_id):
            return None
        folder = self.root / upload_id
        try:
            raw = json.loads((folder / "info.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return Upload(folder, Info(**raw))

    def remove(self, upload: Upload) -> None:
        """Delete an upload (under its lease): renamed away first, so it vanishes at once."""
        gone = self.root / f"{upload.id}.gone"
        os.rename(upload.folder, gone)
        fsync_dir(self.root)
        shutil.rmtree(gone, ignore_errors=True)

    def uploads(self) -> Iterator[Upload]:
        for folder in self.root.iterdir():
            found = self.get(folder.name)
            if found:
                yield found

    def sweep(self, now: datetime | None = None) -> list[Upload]:
        """Remove expired uploads and leftovers of dead writers; return the finished uploads
        whose intake a crash interrupted (their bytes are complete but not yet concluded)."""
        now = now or datetime.now(UTC)
        for folder in self.root.glob("*.new"):
            with contextlib.suppress(FileNotFoundError):
                if time.time() - folder.stat().st_mtime > _NEW_GRACE_S:
                    shutil.rmtree(folder, ignore_errors=True)
        for folder in self.root.glob("*.gone"):
            shutil.rmtree(folder, ignore_errors=True)
        pending = []
        for upload in self.uploads():
            lease = upload.try_lock()
            if lease is None:
                continue  # a live writer holds it
            try:
                outcome = upload.outcome()
                finished_long_ago = (
                    outcome is not None and _mtime(upload.folder / "outcome.json") + EXPIRY < now
                )
                if upload.expired(now) or finished_long_ago:
                    self.remove(upload)
                    continue
                upload.chunk.unlink(missing_ok=True)  # unverified: its writer died
                if outcome:
                    upload.data.unlink(missing_ok=True)
                elif upload.complete():
                    pending.append(upload)
            finally:
                lease.release()
        return pending


def new_id() -> str:
    return uuid.uuid4().hex


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace a small file atomically and durably."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(value, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
