"""The vault: originals stored once per SHA-256 of their raw bytes, never modified.

`put_file` reads the source once, hashing SHA-256 and SHA-512 and writing the staging copy in
the same pass, and refuses a source that changed while it was read (a card still being copied,
a file being appended to), so the stored bytes are exactly the bytes the hash names. `adopt`
does the same for a finished file the vault may take over (an upload), but links it rather
than copying it when it lies on the vault's filesystem: the bytes are read once, to hash them,
or not at all when the writer of the file hashed them as it wrote them (a `Digest`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rushes.errors import SourceChangedError, StoreUnavailable, VaultError, os_reason
from rushes.vault.backend import Backend, Staging
from rushes.vault.pump import pump


@dataclass(frozen=True)
class Stored:
    sha256: str
    sha512: str
    size: int
    created: bool  # False: these bytes were in the vault already
    repair: str = ""  # what was wrong with the stored copy these bytes replaced


class Digest:
    """SHA-256 (the original's name) and SHA-512 (its second, independent witness) of bytes
    fed in order, by `sinks` in parallel threads or by whoever writes the bytes. Each counts
    what it took, so a digest that missed bytes is never taken for the file's."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self.taken = [0, 0]  # bytes fed to each; each written by one thread only

    @property
    def sinks(self) -> list[Callable[[bytes], None]]:
        def sha256(data: bytes) -> None:
            self.sha256.update(data)
            self.taken[0] += len(data)

        def sha512(data: bytes) -> None:
            self.sha512.update(data)
            self.taken[1] += len(data)

        return [sha256, sha512]

    def covers(self, size: int) -> bool:
        """Both hashes took exactly `size` bytes."""
        return self.taken[0] == self.taken[1] == size

    def copy(self) -> Digest:
        twin = Digest()
        twin.sha256, twin.sha512 = self.sha256.copy(), self.sha512.copy()
        twin.taken = list(self.taken)
        return twin


@dataclass(frozen=True)
class Read:
    """A source file read and hashed, kept open until it is stored: `Vault.store` then checks
    that it did not change meanwhile."""

    path: Path
    source: BinaryIO
    before: os.stat_result
    staging: Staging
    size: int
    digest: Digest


@dataclass(frozen=True)
class Fixity:
    sha256: str
    ok: bool
    problem: str = ""  # "missing", "size 10 instead of 12", "content hash is …"


@dataclass(frozen=True)
class SourceStat:
    size: int
    mtime_ns: int


class Vault:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._stopping = threading.Event()

    def put_stream(
        self, stream: BinaryIO, before_commit: Callable[[int, str], None] | None = None
    ) -> Stored:
        """Store everything `stream` yields. `before_commit(size, sha256)` may veto by raising
        (a source that changed, bytes that are not what their sender declared), in which case
        nothing is kept."""
        return self._keep(stream, before_commit)

    def put_file(self, path: Path) -> tuple[Stored, SourceStat]:
        """Store one source file, refusing it if it changed or vanished while it was read."""
        return self.store(self.read_file(path))

    def read_file(self, path: Path) -> Read:
        """The first half of `put_file`: read and hash the source, then `store` it (or
        `discard` it). Apart so that a caller may read the next file while this one is being
        sent to a remote store."""
        return self._read(path, adopt=False)

    def adopt(
        self,
        path: Path,
        before_commit: Callable[[int, str], None] | None = None,
        digest: Digest | None = None,
    ) -> Stored:
        """Store a finished file by taking it over rather than copying it: hashed once, then
        hard-linked into place (copied if the backend cannot link it). Once this returns the
        file is the stored original, read-only: the caller drops its own name for it and never
        writes it again, and nobody may write it meanwhile (a change is refused all the same).
        A veto by `before_commit` keeps nothing and leaves the file as it was. `digest`, if
        given, was fed exactly the file's bytes as they were written, and spares a second read
        of them (unless the backend must copy them, or it took fewer or more bytes than the
        file holds)."""
        return self.store(self._read(path, adopt=True, digest=digest), before_commit)[0]

    def _read(self, path: Path, adopt: bool, digest: Digest | None = None) -> Read:
        fd = _open_regular(path)
        source = os.fdopen(fd, "rb", buffering=0)
        try:
            before = os.fstat(fd)
            stage = self.backend.stage_file if adopt else self.backend.stage_source
            linked = stage(path)
            whole = digest is not None and digest.covers(before.st_size)
            known = (before.st_size, digest) if linked is not None and whole else None
            staging, size, digest = self._hash(source, linked, known)
        except BaseException:
            source.close()
            raise
        return Read(path, source, before, staging, size, digest)

    def store(
        self, read: Read, before_commit: Callable[[int, str], None] | None = None
    ) -> tuple[Stored, SourceStat]:
        """Keep what `read_file` read, unless the source changed since or `before_commit`
        vetoes (then nothing is kept)."""
        with read.source:

            def unchanged(size: int, sha256: str) -> None:
                _refuse_changes(read.path, read.source.fileno(), read.before, size)
                if before_commit:
                    before_commit(size, sha256)

            stored = self._commit(read.staging, read.size, read.digest, unchanged)
        return stored, SourceStat(read.before.st_size, read.before.st_mtime_ns)

    def discard(self, read: Read) -> None:
        """Keep nothing of what `read_file` read."""
        read.source.close()
        self.backend.discard(read.staging)

    def stop(self) -> None:
        """Make a `store` under way give up soon and keep nothing, and a `check` give up at
        its next chunk: the user asked to stop, and a big original may have minutes to go."""
        self._stopping.set()
        self.backend.stop()

    def _keep(self, stream: BinaryIO, before_commit: Callable[[int, str], None] | None) -> Stored:
        staging, size, digest = self._hash(stream, None, None)
        return self._commit(staging, size, digest, before_commit)

    def _hash(
        self, stream: BinaryIO, linked: Staging | None, known: tuple[int, Digest] | None
    ) -> tuple[Staging, int, Digest]:
        """Hash `stream` (copying it into a new staging area unless `linked` already holds its
        bytes, and not at all if its size and digest are `known`)."""
        if known:
            assert linked is not None
            return linked, *known
        staging = linked or self.backend.stage()
        try:
            digest = Digest()
            sinks = [*digest.sinks, *staging.taps]
            if not linked:
                sinks.append(staging.write)
            size = pump(stream.read, sinks)
        except BaseException:
            self.backend.discard(staging)
            raise
        return staging, size, digest

    def _commit(
        self,
        staging: Staging,
        size: int,
        digest: Digest,
        before_commit: Callable[[int, str], None] | None,
    ) -> Stored:
        """Let `before_commit` veto (nothing is kept), then commit."""
        sha256 = digest.sha256.hexdigest()
        try:
            if before_commit:
                before_commit(size, sha256)
        except BaseException:
            self.backend.discard(staging)
            raise
        created, repair = self.backend.commit(staging, sha256)
        return Stored(sha256, digest.sha512.hexdigest(), size, created, repair)

    def copy_from(self, other: Vault, sha256: str, size: int) -> Stored:
        """Store the original `other` holds under `sha256`, through this vault's own write-once
        path: nothing is kept unless the bytes read hash to `sha256` and count `size` (a damaged
        source is refused, never spread), and a damaged copy here is set aside, not overwritten.
        Raises FileNotFoundError if `other` does not hold it."""

        def intact(read: int, digest: str) -> None:
            if (read, digest) != (size, sha256):
                raise VaultError(
                    f"the copy of {sha256} at {other.backend.locate(sha256)} is damaged "
                    f"({read} bytes, SHA-256 {digest}); it was not copied"
                )

        with other.open(sha256) as source:
            return self.put_stream(source, intact)

    def check(self, sha256: str, expected_size: int | None, sha512: str | None) -> Fixity:
        """Re-hash a stored original and compare it with its name and its recorded digests."""
        try:
            source = self.backend.open(sha256)
        except FileNotFoundError:
            return Fixity(sha256, False, f"missing from the vault ({self.backend.locate(sha256)})")
        except StoreUnavailable:
            raise  # says nothing of the original: the check is made again once the store answers
        except OSError as exc:
            return Fixity(sha256, False, f"unreadable: {exc.strerror or exc}")
        digest = Digest()

        def read(n: int) -> bytes:
            if self._stopping.is_set():
                raise VaultError(f"{sha256}: stopped before it was re-hashed")
            return source.read(n)

        try:
            with source:
                size = pump(read, digest.sinks)
        except StoreUnavailable:
            raise
        except OSError as exc:
            return Fixity(sha256, False, f"unreadable: {exc.strerror or exc}")
        if expected_size is not None and size != expected_size:
            return self._damaged(sha256, f"size is {size} bytes, recorded {expected_size}")
        if (now := digest.sha256.hexdigest()) != sha256:
            return self._damaged(sha256, f"content SHA-256 is now {now}")
        if sha512 and digest.sha512.hexdigest() != sha512:
            return self._damaged(sha256, "SHA-512 differs from the one recorded at arrival")
        return Fixity(sha256, True)

    def _damaged(self, sha256: str, problem: str) -> Fixity:
        return damaged(self.backend, sha256, problem)

    def quick_check(self, sha256: str, expected_size: int | None) -> Fixity:
        """Ask the store whether it still holds the original under its own SHA-256 checksum
        (and retention), without reading the bytes; only a store that keeps checksums can."""
        if not self.backend.store_checksums:
            raise VaultError("this vault keeps no checksums of its own: run a full check")
        return self.backend.quick_check(sha256, expected_size)  # type: ignore[attr-defined,no-any-return]

    def legal_hold(self, sha256: str, on: bool) -> None:
        """Put or lift the store's legal hold on an original (a store with Object Lock)."""
        if not self.backend.legal_holds:
            raise VaultError("this vault has no legal holds")
        self.backend.legal_hold(sha256, on)  # type: ignore[attr-defined]

    def held(self, sha256: str) -> bool:
        """Whether the store's legal hold is on for an original."""
        return self.backend.legal_holds and self.backend.held(sha256)  # type: ignore[attr-defined,no-any-return]

    def open(self, sha256: str) -> BinaryIO:
        return self.backend.open(sha256)

    def contains(self, sha256: str) -> bool:
        return self.backend.contains(sha256)

    def local_path(self, sha256: str) -> Path:
        return self.backend.local_path(sha256)

    def hashes(self) -> Iterator[str]:
        return self.backend.hashes()


def _open_regular(path: Path) -> int:
    """Open without blocking on FIFOs or devices, and only keep regular files."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise VaultError(f"cannot read {display_path(path)}: {os_reason(exc)}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise VaultError(f"{display_path(path)} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def _refuse_changes(path: Path, fd: int, before: os.stat_result, size: int) -> None:
    """Raise if the file open as `fd` changed while `size` bytes of it were read, or if `path`
    no longer names it, so the stored bytes are exactly the bytes the hash names."""
    after = os.fstat(fd)
    if _changed(before, after) or size != after.st_size:
        raise SourceChangedError(
            f"{display_path(path)} changed while it was read ({before.st_size} bytes "
            f"before, {after.st_size} after); run ingest again once the copy has finished"
        )
    try:
        now = os.stat(path)
    except FileNotFoundError as exc:
        raise SourceChangedError(f"{display_path(path)} vanished while it was read") from exc
    if (now.st_dev, now.st_ino) != (after.st_dev, after.st_ino):
        raise SourceChangedError(f"{display_path(path)} was replaced while it was read")


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)


def damaged(backend: Backend, sha256: str, problem: str) -> Fixity:
    """A failed check, saying where the store still keeps the original as first written."""
    earlier = backend.earlier_copy(sha256)
    return Fixity(sha256, False, f"{problem}; {earlier}" if earlier else problem)


def display_path(path: Path | str | bytes) -> str:
    """A file name safe to print: a backslash doubled, then invalid UTF-8 bytes (\\xff) and
    control characters (\\n, \\u202e) escaped, so no name can pass for another: a custody
    event names one file, and its bytes can be read back from the text."""
    raw = os.fsencode(path)
    return "".join(map(_shown, raw.decode("utf-8", "surrogateescape")))


def _shown(c: str) -> str:
    if c == "\\":
        return "\\\\"
    if "\udc80" <= c <= "\udcff":  # a byte that is not UTF-8, as surrogateescape keeps it
        return f"\\x{ord(c) - 0xDC00:02x}"
    return c if c.isprintable() else c.encode("unicode_escape").decode()
