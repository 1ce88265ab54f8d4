"""The seam between the vault and where bytes live: a local folder (local.py) or an
S3-compatible bucket (s3.py).

A backend never sees source names, only content hashes, so a hostile file name cannot reach
the storage layer. Writes go to a staging area first; `commit` publishes atomically and never
overwrites, which is what makes the store write-once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class Staging(Protocol):
    """A partly written original that is not yet in the store; `taps` are fed the same bytes
    in the hashing pass (what the backend wants to know of them before it sends them)."""

    taps: list[Callable[[bytes], None]]

    def write(self, data: bytes) -> None: ...


class Backend(Protocol):
    remote: bool  # originals live elsewhere: a decoder's copy must be fetched (`local_path`)
    store_checksums: bool  # the store keeps each original's SHA-256 itself (`quick_check`)
    legal_holds: bool  # the store can hold an original past its retention (`legal_hold`)
    lock_unknown: bool  # the store has not yet said whether it can hold (it did not answer)

    def stage(self) -> Staging:
        """Open a new staging area for one incoming original."""

    def stage_file(self, source: Path) -> Staging | None:
        """Stage a finished file without copying it (a hard link on the same filesystem), or
        None when this backend cannot, and the caller copies the file into `stage()` instead.
        Once committed, the file is the stored original: read-only, never to be written again.
        """

    def stage_source(self, source: Path) -> Staging | None:
        """Stage a source file where it is, without copying or taking it over, for a backend
        that reads it again as it stores it and has the store check those bytes against the
        hash (so a source changed since it was hashed is refused); None: copy it instead."""

    def commit(self, staging: Staging, sha256: str) -> tuple[bool, str]:
        """Make the staged bytes durable under `sha256`. Returns (created, repair): created is
        False if that hash was stored already; repair says what was wrong with a stored copy
        that no longer matched its hash and was replaced (kept aside, never deleted).

        Either way the staging area is gone afterwards.
        """

    def discard(self, staging: Staging) -> None:
        """Throw away a staging area (failed or abandoned write)."""

    def stop(self) -> None:
        """Make commits under way give up soon, storing nothing (the user pressed Ctrl-C)."""

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored original for reading; raises FileNotFoundError if it is missing."""

    def local_path(self, sha256: str) -> Path:
        """A file on this machine holding the original, for decoders that need a path
        (a remote backend fetches a cached copy)."""

    def contains(self, sha256: str) -> bool:
        """Whether the original is stored (without reading or fetching it)."""

    def locate(self, sha256: str) -> str:
        """Where the original lives, for messages and operators."""

    def earlier_copy(self, sha256: str) -> str:
        """For an original found damaged: where the store still keeps it as first written, and
        how to bring it back ("" if it keeps no such copy)."""

    def hashes(self) -> Iterator[str]:
        """Every hash stored, in no particular order."""
