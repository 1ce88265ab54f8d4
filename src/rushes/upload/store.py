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
import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rushes.upload.protocol import CHECKSUMS, TusError
from rushes.vault import Digest
from rushes.vault.local import fsync_dir
from rushes.vault.pump import Pump

EXPIRY = timedelta(days=7)
_ID = re.compile(r"[0-9a-f]{32}")
_NEW_GRACE_S = 60
WRITEBACK_EVERY = 8 << 20


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

    def signature(self) -> tuple[int, int, int] | None:
        """Which file `data` is and how far it got: anything else writing it changes this."""
        try:
            seen = os.stat(self.data)
        except FileNotFoundError:
            return None
        return seen.st_ino, seen.st_size, seen.st_mtime_ns

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
    """The bytes of one request, written by threads of their own while the next ones arrive:
    appended to `data` as they come or, when the request carries a checksum, staged in `chunk`
    and appended only once the checksum matches. `running`, the vault's digest of the bytes
    before, is fed the same bytes (a copy of it until a checksum matches), so a complete upload
    enters the vault without being read again."""

    def __init__(self, upload: Upload, algorithm: str | None, running: Digest | None) -> None:
        self.upload = upload
        self.check = CHECKSUMS[algorithm]() if algorithm else None
        if self.check is None:
            self.fd = os.open(upload.data, os.O_WRONLY | os.O_APPEND)
            self.running = running
        else:
            self.fd = os.open(upload.chunk, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            self.running = running.copy() if running else None
        self._before = running
        self._unflushed = 0
        self.received = 0
        updates = [self.check.update] if self.check else []
        if self.running:
            updates.extend(self.running.sinks)
        self.pump: Pump[list[bytes]] = Pump([self._write, *map(_each, updates)])

    def ready(self) -> bool:
        """`write` would not wait (every thread has room for another batch)."""
        return self.pump.room()

    def failed(self) -> bool:
        """A thread failed (a full disk): `finish` will say how; feed nothing more."""
        return bool(self.pump.failures)

    def write(self, batch: list[bytes]) -> None:
        """Queue `batch` (never changed afterwards) for the writing and hashing threads."""
        self.received += sum(map(len, batch))
        self.pump.feed(batch)

    def _write(self, batch: list[bytes]) -> None:
        try:
            written = os.writev(self.fd, batch)
            for piece in batch:  # the rest, if the kernel took less than all
                view = memoryview(piece)[written:]
                written = max(0, written - len(piece))
                while view:
                    view = view[os.write(self.fd, view) :]
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise TusError(507, "the base's disk is full; the bytes before are kept") from exc
            raise
        self._unflushed += sum(map(len, batch))
        # The disk works while the next bytes arrive; not for a staged chunk, which is copied
        # into `data` (and written to disk from there) or dropped.
        if self.check is None and self._unflushed >= WRITEBACK_EVERY:
            start_writeback(self.fd)
            self._unflushed = 0

    def finish(self, whole: bool, expected: bytes | None = None) -> bool:
        """Wait for the threads, then make the bytes durable: all that arrived for a plain
        request, whole or not (a cut link keeps what it delivered); a checksummed chunk only if
        it is `whole` and its checksum is `expected`, else it is dropped and the offset does not
        move. Returns whether the bytes were kept. Afterwards `running` is the digest of all of
        `data`, or None if a failure left it unknown."""
        kept = False
        try:
            try:
                self.pump.close()
            finally:
                if self.check is None:
                    os.fdatasync(self.fd)  # what landed is kept, even after a failure
                    kept = True
            if self.check is not None:
                kept = whole and self.check.digest() == expected
                if kept:
                    self._append_staged()
                else:
                    self.running = self._before
        except BaseException:
            self.running = self._before if self.check is not None and not kept else None
            raise
        finally:
            os.close(self.fd)
            if self.check is not None:
                self.upload.chunk.unlink(missing_ok=True)
        return kept

    def _append_staged(self) -> None:
        target = os.open(self.upload.data, os.O_WRONLY)
        try:
            at = os.fstat(target).st_size
            done = 0
            while done < self.received:
                copied = os.copy_file_range(self.fd, target, self.received - done, done, at + done)
                if copied == 0:
                    raise OSError(errno.EIO, f"staged chunk of upload {self.upload.id} ended early")
                done += copied
            os.fdatasync(target)
        finally:
            os.close(target)


def _each(update: Callable[[bytes], object]) -> Callable[[list[bytes]], None]:
    def feed(batch: list[bytes]) -> None:
        for piece in batch:
            update(piece)

    return feed


def _sync_file_range() -> Callable[[int], object]:
    """Start writing a file's dirty pages to disk without waiting (Linux's sync_file_range with
    SYNC_FILE_RANGE_WRITE), so the fdatasync before an acknowledgement finds little left to do.
    Elsewhere nothing: that fdatasync does all the work."""
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return lambda _fd: None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return lambda fd: call(fd, 0, 0, 2)  # offset 0, length 0: to the end of the file


start_writeback = _sync_file_range()


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
