"""A vault in an S3-compatible bucket (`RUSHES_VAULT_URL=s3://bucket/prefix`), write-once for real.

Originals live at `<prefix>/originals/<sha256>`. The vault hashes the bytes before it commits
them (the key is their hash), so they are spooled to a local staging file as they are hashed
(an upload already on this disk is hard-linked instead, and a source file such as a card's is
sent from where it is: no copy on this disk, the pipeline fetches what it decodes), then sent:

- with `If-None-Match: *`, so the store itself refuses to overwrite an original (a second
  writer of the same bytes learns they are stored already);
- with the SHA-256 as the store's own checksum, so the store refuses bytes that do not hash to
  the name (a staging file changed since it was hashed). A file over `single_max` goes as a
  multipart upload in parallel parts, each with the SHA-256 the vault's hashing pass took of
  it, so the store refuses any part changed since; where that pass did not see the parts,
  each is hashed as it is sent and the whole again, and the upload is completed only if it
  hashes to the name, else aborted (rushes.vault.s3_parts). The store then keeps a checksum
  over the parts ("<base64>-<parts>"), which is recorded beside the original at
  `<prefix>/parts/<sha256>` so `quick_check` can compare it without reading the bytes
  (rushes.vault.s3_fixity);
- on a bucket with Object Lock, under a COMPLIANCE retention of `retention_days`, which not even
  the bucket's owner can shorten or delete through (rushes.vault.s3_lock).

An interrupted multipart upload is aborted by its writer; one whose writer was killed is
aborted by `sweep_abandoned` once older than `abandon_after_s` (a bucket lifecycle rule
`AbortIncompleteMultipartUpload` is the store-side safety net, docs/operations.md).
Decoders need a file path: `local_path` fetches the original into a bounded local cache
(rushes.vault.cache), and a file just stored stays there, so the pipeline after an upload
reads it from the local disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from rushes.errors import SourceChangedError, StoreUnavailable, VaultError
from rushes.vault import s3_fixity
from rushes.vault.cache import LocalCache
from rushes.vault.local import LocalStaging, sweep_staging
from rushes.vault.s3_client import (
    MISSING,
    PRESENT,
    PROBE_S,
    S3Location,
    answering,
    b64,
    error_code,
    make_client,
)
from rushes.vault.s3_lock import object_lock, retention
from rushes.vault.s3_parts import PART, PartDigests, PartSender, combined_checksum
from rushes.vault.store import Fixity, display_path

# Above this, parallel parts (a single PUT may hold 5 GiB, but one stream is slower): see
# bench/s3.py, where 8 MiB parts eight at a time went faster than one PUT of 256 MiB.
SINGLE_MAX = 64 << 20
ABANDON_AFTER_S = 24 * 3600
# The store's refusals of bytes that do not match the checksum sent with them.
_DIGEST = (
    "BadDigest",
    "InvalidDigest",
    "XAmzContentChecksumMismatch",
    "XAmzContentSHA256Mismatch",
    "InvalidChecksum",
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceStaging:
    """A source file sent from where it is (a card being ingested): the store checks the bytes
    sent against the hash taken before, so a card written meanwhile is refused, not stored."""

    path: Path
    taps: list[Callable[[bytes], None]] = field(default_factory=list)

    def write(self, data: bytes) -> None:
        raise TypeError("a source is staged where it is: nothing is written to it")


def open_s3(
    url: str, *, endpoint: str, region: str, retention_days: int, cache: LocalCache
) -> S3Backend:
    return S3Backend(
        S3Location.parse(url),
        make_client(endpoint, region),
        cache,
        retention_days=retention_days,
        sender=make_client(endpoint, region, sign_bodies=False),
        probe=make_client(endpoint, region, seconds=PROBE_S),
    )


def _changed(staging: LocalStaging | SourceStaging, sha256: str, how: str) -> SourceChangedError:
    """The bytes sent are not the bytes hashed: their source was written meanwhile (a card
    still being copied to), as the local vault says of a source that changed."""
    if isinstance(staging, SourceStaging):
        what, then = display_path(staging.path), "run ingest again once the copy has finished"
    else:
        what, then = sha256, "send it again"
    return SourceChangedError(
        f"{what}: the bytes sent differ from the bytes hashed ({how}): the source changed "
        f"while it was read; nothing stored, {then}"
    )


class S3Backend:
    remote = True  # decoders read a fetched copy; ingest leaves probing to the pipeline
    store_checksums = True  # `quick_check` compares the store's own SHA-256 without reading

    def __init__(
        self,
        location: S3Location,
        client: Any,
        cache: LocalCache,
        *,
        retention_days: int,
        single_max: int = SINGLE_MAX,
        part_size: int = PART,
        abandon_after_s: float = ABANDON_AFTER_S,
        sender: Any = None,
        probe: Any = None,
    ) -> None:
        self.location, self.client, self.cache = location, client, cache
        # The originals' bytes go with their SHA-256 in a checksum header (`make_client`).
        self.sender = sender or client
        self.bucket = location.bucket
        self.single_max, self.part_size = single_max, part_size
        self.abandon_after_s = abandon_after_s
        self._present: set[str] = set()  # originals the store said it holds
        self.tmp = cache.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._retention_days = retention_days
        # A store that does not answer at start must not keep the base down (catalog-only
        # commands, the status page): its Object Lock is then asked when first needed.
        self._enabled: bool | None = None
        try:
            self._enabled = object_lock(probe or client, location, retention_days)
        except StoreUnavailable as exc:
            log.warning("%s; its Object Lock is checked once it answers", exc)
        sweep_staging(self.tmp)
        self._parts = PartSender(self.sender, self.bucket)

    @property
    def locked(self) -> bool:
        """Whether the bucket has Object Lock, asked once (StoreUnavailable until it answers)."""
        if self._enabled is None:
            self._enabled = object_lock(self.client, self.location, self._retention_days)
        return self._enabled

    legal_holds = locked

    @property
    def lock_unknown(self) -> bool:
        """The store has not said yet whether its bucket has Object Lock (it did not answer)."""
        return self._enabled is None

    @property
    def retention_days(self) -> int:
        return self._retention_days if self.locked else 0

    def key(self, sha256: str, folder: str = "originals") -> str:
        if len(sha256) != 64 or not set(sha256) <= set("0123456789abcdef"):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return f"{self.location.prefix}{folder}/{sha256}"

    # -- writing ---------------------------------------------------------------------------

    def stage(self) -> LocalStaging:
        try:
            staging = LocalStaging.create(self.tmp)
        except OSError as exc:
            raise VaultError(f"cannot write staging files in {self.tmp}: {exc.strerror}") from exc
        staging.durable = False  # what counts is the store's copy: nothing to sync here
        staging.taps = [PartDigests(self.part_size)]
        return staging

    def stage_file(self, source: Path) -> LocalStaging | None:
        try:
            staging = LocalStaging.link(self.tmp, source)
        except OSError as exc:
            raise VaultError(f"cannot link {source} into {self.tmp}: {exc.strerror}") from exc
        if staging is not None:
            staging.taps = self._part_taps(staging.path)
        return staging

    def stage_source(self, source: Path) -> SourceStaging:
        return SourceStaging(source, self._part_taps(source))

    def _part_taps(self, path: Path) -> list[Callable[[bytes], None]]:
        """Each part's digest taken in the hashing pass, unless the file goes in one piece (its
        checksum is then the SHA-256 of the whole, taken anyway). A file grown meanwhile gets
        its parts hashed as they are sent."""
        try:
            small = os.stat(path).st_size <= self.single_max
        except OSError:
            small = False  # the hashing pass says why
        return [] if small else [PartDigests(self.part_size)]

    def commit(  # type: ignore[override]
        self, staging: LocalStaging | SourceStaging, sha256: str
    ) -> tuple[bool, str]:
        """A store that does not answer raises StoreUnavailable (the run can stop and be run
        again); bytes the store finds differ from their checksum, SourceChangedError."""
        try:
            with answering(self.location.url()):
                size = os.stat(staging.path).st_size
                if size <= self.single_max:
                    created = self._put(staging, sha256, size)
                else:
                    taps = [t for t in staging.taps if isinstance(t, PartDigests)]
                    created = self._put_parts(staging, sha256, size, taps)
            if isinstance(staging, LocalStaging):  # ours: it becomes the local copy decoders read
                os.chmod(staging.path, 0o444)
                self.cache.keep(sha256, staging.path)
        except ClientError as exc:
            if error_code(exc) in _DIGEST:
                raise _changed(staging, sha256, f"the store answered {error_code(exc)}") from exc
            raise VaultError(f"the S3 store refused {sha256}: {error_code(exc)}: {exc}") from exc
        finally:
            self.discard(staging)
        return created, ""

    def _put(self, staging: LocalStaging | SourceStaging, sha256: str, size: int) -> bool:
        with open(staging.path, "rb") as body:
            try:
                self.sender.put_object(
                    Bucket=self.bucket,
                    Key=self.key(sha256),
                    Body=body,
                    ContentLength=size,
                    ChecksumSHA256=b64(bytes.fromhex(sha256)),
                    IfNoneMatch="*",
                    **retention(self.retention_days),
                )
            except ClientError as exc:
                if error_code(exc) in PRESENT:
                    return False
                raise
        return True

    def _put_parts(
        self, staging: LocalStaging | SourceStaging, sha256: str, size: int, taps: list[PartDigests]
    ) -> bool:
        """Send a big file as parallel parts; complete only if the bytes sent hash to the name:
        each part with its digest from the hashing pass (the store checks it), or, when that
        pass did not see these parts, hashed again as they are sent."""
        if self.contains(sha256):
            return False
        key = self.key(sha256)
        part_size = max(self.part_size, -(-size // 9_000))
        hashed = next((d for t in taps if (d := t.of(size, part_size)) is not None), None)
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            ChecksumAlgorithm="SHA256",
            **retention(self.retention_days),
        )["UploadId"]
        try:
            parts, sent = self._parts.send(staging.path, key, upload, part_size, sha256, hashed)
            if sent and sent != sha256:
                raise _changed(staging, sha256, "they hash to another SHA-256")
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            self._abort(key, upload)
            if error_code(exc) in PRESENT:
                return False
            raise
        except BaseException:
            self._abort(key, upload)
            raise
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha256, "parts"),
                Body=combined_checksum(parts).encode(),
                IfNoneMatch="*",
                **retention(self.retention_days),
            )
        except ClientError as exc:
            if error_code(exc) not in PRESENT:
                raise
        return True

    def stop(self) -> None:
        """Parts under way finish; no more are sent, and their upload is aborted."""
        self._parts.stop()

    def _abort(self, key: str, upload: str) -> None:
        # If this fails too, the sweep or the bucket's lifecycle rule aborts it later.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)

    def discard(self, staging: LocalStaging | SourceStaging) -> None:  # type: ignore[override]
        if isinstance(staging, LocalStaging):
            staging.path.unlink(missing_ok=True)
            staging.close()

    def sweep_abandoned(self) -> list[str]:
        """Abort multipart uploads of originals older than `abandon_after_s` (their writer
        died), so no half-sent original is kept, or billed, for ever. Returns their keys."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.abandon_after_s)
        aborted = []
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=f"{self.location.prefix}originals/"
        )
        with answering(self.location.url()):
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] <= cutoff:
                        self._abort(upload["Key"], upload["UploadId"])
                        aborted.append(upload["Key"])
        return aborted

    def legal_hold(self, sha256: str, on: bool) -> None:
        try:
            self.client.put_object_legal_hold(
                Bucket=self.bucket,
                Key=self.key(sha256),
                LegalHold={"Status": "ON" if on else "OFF"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise VaultError(f"the S3 store refused the legal hold on {sha256}: {exc}") from exc

    def held(self, sha256: str) -> bool:
        try:
            with answering(self.location.url()):
                answer = self.client.get_object_legal_hold(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            code = error_code(exc)
            if code in (*MISSING, "NoSuchObjectLockConfiguration", "NoSuchObjectLegalHold"):
                return False
            raise VaultError(f"the S3 store did not say whether {sha256} is held: {exc}") from exc
        return answer.get("LegalHold", {}).get("Status") == "ON"  # type: ignore[no-any-return]

    # -- reading ---------------------------------------------------------------------------

    def open(self, sha256: str) -> BinaryIO:
        """The store's own copy, never the local cache: what a fixity check or a bag reads."""
        try:
            with answering(self.location.url()):
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if error_code(exc) in MISSING:
                raise FileNotFoundError(self.locate(sha256)) from exc
            raise OSError(f"{error_code(exc)}: {exc}") from exc
        return answer["Body"]  # type: ignore[no-any-return]

    def local_path(self, sha256: str) -> Path:
        return self.cache.fill(sha256, lambda: self.open(sha256))

    def contains(self, sha256: str) -> bool:
        """Asked for every card of a grid: each original is asked of the store once per
        process (a locked original does not go away; `rushes verify` asks again)."""
        if sha256 in self._present or self.cache.get(sha256):
            return True
        try:
            with answering(self.location.url()):
                self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if error_code(exc) in MISSING:
                return False
            raise OSError(f"{error_code(exc)}: {exc}") from exc
        self._present.add(sha256)
        return True

    def locate(self, sha256: str) -> str:
        return self.location.url(f"originals/{sha256}")

    def earlier_copy(self, sha256: str) -> str:
        return s3_fixity.earlier_copy(self, sha256)

    def hashes(self) -> Iterator[str]:
        folder = f"{self.location.prefix}originals/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=folder
        )
        with answering(self.location.url()):
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(folder) :]
                    if len(name) == 64:
                        yield name

    def quick_check(self, sha256: str, size: int | None) -> Fixity:
        return s3_fixity.quick_check(self, sha256, size)
