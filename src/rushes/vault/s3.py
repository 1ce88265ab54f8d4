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
  it (`PartDigests`), so the store refuses any part changed since; where that pass did not see
  the parts, each is hashed as it is sent and the whole again, and the upload is completed only
  if it hashes to the name, else aborted. The store then
  keeps a checksum over the parts ("<base64>-<parts>"), which is recorded beside the original
  at `<prefix>/parts/<sha256>` so `quick_check` can compare it without reading the bytes;
- on a bucket with Object Lock, under a COMPLIANCE retention of `retention_days`, which not even
  the bucket's owner can shorten or delete through.

An interrupted multipart upload is aborted by its writer; one whose writer was killed is
aborted by `sweep_abandoned` once older than `abandon_after_s` (a bucket lifecycle rule
`AbortIncompleteMultipartUpload` is the store-side safety net, docs/operations.md).
Decoders need a file path: `local_path` fetches the original into a bounded local cache
(rushes.vault.cache), and a file just stored stays there, so the pipeline after an upload
reads it from the local disk.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as NoConnection

from rushes.errors import ConfigError, SourceChangedError, StoreUnavailable, VaultError
from rushes.vault.cache import LocalCache
from rushes.vault.local import LocalStaging, sweep_staging
from rushes.vault.pump import Pump
from rushes.vault.store import Fixity, damaged, display_path

# Above this, parallel parts (a single PUT may hold 5 GiB, but one stream is slower): see
# bench/s3.py, where 8 MiB parts eight at a time went faster than one PUT of 256 MiB.
SINGLE_MAX = 64 << 20
PART = 8 << 20  # multipart part size (grown for huge files: a store takes 10,000 parts)
PARALLEL = 8  # parts in flight (as boto3's own transfers): memory is about PART * (PARALLEL + 1)
ABANDON_AFTER_S = 24 * 3600
PROBE_S = 2.0  # how long a base starting waits for the store before it opens without it
_PRESENT = ("PreconditionFailed", "ConditionalRequestConflict")
_MISSING = ("NoSuchKey", "404", "NotFound")
_NO_LOCK = ("ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound")
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
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"{url!r} is not an s3://bucket/prefix address")
        prefix = parts.path.strip("/")
        return cls(parts.netloc, f"{prefix}/" if prefix else "")

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


def make_client(
    endpoint: str, region: str, *, sign_bodies: bool = True, seconds: float | None = None
) -> Any:
    """A boto3 S3 client; credentials come from the usual AWS variables and files. Checksums
    are computed only where rushes asks for them (it always gives its own SHA-256).

    ``sign_bodies=False`` is for requests whose body carries its SHA-256 in the (signed)
    checksum header, which the store checks: over plain HTTP botocore would hash every body
    once more to sign it, a tenth of an ingest's CPU (bench/s3.py; over HTTPS it already skips
    that when a checksum is sent). With `seconds`, it asks once and waits that long at most:
    for a start that must not wait out the retries of a store that does not answer."""
    s3: dict[str, Any] = {"addressing_style": "path"} if endpoint else {}
    if not sign_bodies:
        s3["payload_signing_enabled"] = False
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
        s3=s3,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if seconds is not None:
        config = config.merge(
            Config(retries={"max_attempts": 1}, connect_timeout=seconds, read_timeout=seconds)
        )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint or None, region_name=region or None, config=config
    )


def silent(exc: BotoCoreError | ClientError) -> bool:
    """Whether the store did not answer (no connection, a timeout, a cut link, a 5xx of its
    own), which may pass, rather than answer no (a bucket, key or certificate that is wrong)."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    return isinstance(exc, NoConnection | HTTPClientError) and not isinstance(exc, SSLError)


def ping(client: Any, bucket: str, seconds: float = 2.0) -> str | None:
    """Why the store does not answer for `bucket` within `seconds` (None: it does): one try,
    for a status page that must not wait out the client's retries."""
    quick = boto3.session.Session().client(
        "s3",
        endpoint_url=client.meta.endpoint_url,
        region_name=client.meta.region_name,
        config=client.meta.config.merge(
            Config(retries={"max_attempts": 1}, connect_timeout=seconds, read_timeout=seconds)
        ),
    )
    try:
        quick.head_bucket(Bucket=bucket)
    except ClientError as exc:
        return f"{_code(exc)} from {client.meta.endpoint_url}"
    except BotoCoreError as exc:
        return str(exc)
    return None


class PartDigests:
    """The SHA-256 of each `size`-byte part of the bytes fed in order: a tap of the vault's one
    hashing pass (rushes.vault.pump), so a multipart upload sends each part with the checksum
    of the bytes that were hashed to the original's name. The store refuses a part that no
    longer matches it, so sending need not hash anything again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0
        self._done: list[bytes] = []
        self._part = hashlib.sha256()
        self._filled = 0

    def __call__(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.size - self._filled)
            self._part.update(view[:take])
            self._filled += take
            self.taken += take
            view = view[take:]
            if self._filled == self.size:
                self._done.append(self._part.digest())
                self._part, self._filled = hashlib.sha256(), 0

    def of(self, size: int, part_size: int) -> list[bytes] | None:
        """Each part's digest, if these are the parts of `size` bytes cut `part_size` apart."""
        if self.taken != size or self.size != part_size:
            return None
        return self._done + ([self._part.digest()] if self._filled else [])


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


@contextlib.contextmanager
def answering(where: str) -> Iterator[None]:
    """Name the store's silence (no connection, a timeout, a 5xx of its own) as
    StoreUnavailable, so callers can say "try again" instead of failing with a traceback; a
    4xx (missing, refused) passes through as the ClientError it is."""
    try:
        yield
    except BotoCoreError as exc:
        raise StoreUnavailable(f"the S3 store of {where} does not answer: {exc}") from exc
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise StoreUnavailable(f"the S3 store of {where} failed: {_code(exc)}") from exc
        raise


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


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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
            self._enabled = self._object_lock(probe or client)
        except StoreUnavailable as exc:
            log.warning("%s; its Object Lock is checked once it answers", exc)
        sweep_staging(self.tmp)
        self._stopping = threading.Event()

    @property
    def locked(self) -> bool:
        """Whether the bucket has Object Lock, asked once (StoreUnavailable until it answers)."""
        if self._enabled is None:
            self._enabled = self._object_lock(self.client)
        return self._enabled

    legal_holds = locked

    @property
    def lock_unknown(self) -> bool:
        """The store has not said yet whether its bucket has Object Lock (it did not answer)."""
        return self._enabled is None

    @property
    def retention_days(self) -> int:
        return self._retention_days if self.locked else 0

    def _object_lock(self, client: Any) -> bool:
        """Whether the bucket has Object Lock; a retention asked of a bucket without it is a
        configuration error, not a silent downgrade to deletable evidence. A store that does
        not answer raises StoreUnavailable; one that answers no, ConfigError."""
        where = self.location.url()
        try:
            config = client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = config["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
        except ClientError as exc:
            if silent(exc):
                raise StoreUnavailable(f"the S3 store of {where} failed: {_code(exc)}") from exc
            if _code(exc) not in _NO_LOCK:  # a wrong key or secret must not read as "no lock"
                message = exc.response.get("Error", {}).get("Message", "")
                raise ConfigError(f"{where}: {_code(exc)} {message}".strip()) from exc
            enabled = False
        except BotoCoreError as exc:
            if silent(exc):
                raise StoreUnavailable(f"the S3 store of {where} does not answer: {exc}") from exc
            raise ConfigError(f"cannot use the S3 store of {where}: {exc}") from exc
        if self._retention_days > 0 and not enabled:
            raise ConfigError(
                f"the bucket {self.bucket} has no Object Lock, so originals there could be "
                "deleted or overwritten: create it with Object Lock enabled, or set "
                "RUSHES_VAULT_RETENTION_DAYS=0 to store them without that protection"
            )
        return enabled

    def key(self, sha256: str, folder: str = "originals") -> str:
        if len(sha256) != 64 or not set(sha256) <= set("0123456789abcdef"):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return f"{self.location.prefix}{folder}/{sha256}"

    def _lock(self) -> dict[str, Any]:
        if not self.retention_days:
            return {}
        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}

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
            if _code(exc) in _DIGEST:
                raise _changed(staging, sha256, f"the store answered {_code(exc)}") from exc
            raise VaultError(f"the S3 store refused {sha256}: {_code(exc)}: {exc}") from exc
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
                    ChecksumSHA256=_b64(bytes.fromhex(sha256)),
                    IfNoneMatch="*",
                    **self._lock(),
                )
            except ClientError as exc:
                if _code(exc) in _PRESENT:
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
            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **self._lock()
        )["UploadId"]
        try:
            parts = self._send_parts(staging, key, upload, part_size, sha256, hashed)
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            self._abort(key, upload)
            if _code(exc) in _PRESENT:
                return False
            raise
        except BaseException:
            self._abort(key, upload)
            raise
        digests = b"".join(base64.b64decode(part["ChecksumSHA256"]) for part in parts)
        combined = f"{_b64(hashlib.sha256(digests).digest())}-{len(parts)}"
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha256, "parts"),
                Body=combined.encode(),
                IfNoneMatch="*",
                **self._lock(),
            )
        except ClientError as exc:
            if _code(exc) not in _PRESENT:
                raise
        return True

    def _send_parts(
        self,
        staging: LocalStaging | SourceStaging,
        key: str,
        upload: str,
        part_size: int,
        sha256: str,
        hashed: list[bytes] | None,
    ) -> list[dict[str, Any]]:
        whole = hashlib.sha256()
        parts: list[dict[str, Any]] = []
        pending: deque[Future[dict[str, Any]]] = deque()

        def send(number: int, data: bytes) -> dict[str, Any]:
            digest = hashed[number - 1] if hashed else hashlib.sha256(data).digest()
            checksum = _b64(digest)
            answer = self.sender.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}

        # Unless the parts were hashed with the whole, the whole is hashed again as it is sent,
        # in a thread of its own while the reader reads.
        beside = Pump([] if hashed else [whole.update])
        try:
            with (
                open(staging.path, "rb", buffering=0) as source,
                ThreadPoolExecutor(PARALLEL) as pool,
            ):
                number = 0
                while not beside.failures and (data := source.read(part_size)):
                    if self._stopping.is_set():
                        raise VaultError(f"{sha256}: stopped before all of it was sent; not stored")
                    beside.feed(data)
                    number += 1
                    pending.append(pool.submit(send, number, data))
                    if len(pending) >= PARALLEL:
                        parts.append(pending.popleft().result())
                parts += [future.result() for future in pending]
        finally:
            beside.close()
        if not hashed and whole.hexdigest() != sha256:
            raise _changed(staging, sha256, "they hash to another SHA-256")
        return parts

    def stop(self) -> None:
        """Parts under way finish; no more are sent, and their upload is aborted."""
        self._stopping.set()

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
            if _code(exc) in (*_MISSING, "NoSuchObjectLockConfiguration", "NoSuchObjectLegalHold"):
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
            if _code(exc) in _MISSING:
                raise FileNotFoundError(self.locate(sha256)) from exc
            raise OSError(f"{_code(exc)}: {exc}") from exc
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
            if _code(exc) in _MISSING:
                return False
            raise OSError(f"{_code(exc)}: {exc}") from exc
        self._present.add(sha256)
        return True

    def locate(self, sha256: str) -> str:
        return self.location.url(f"originals/{sha256}")

    def earlier_copy(self, sha256: str) -> str:
        """Someone with the store's keys may put other bytes over a locked original: the
        locked version stays underneath, an older version of the key, and can be brought back."""
        key = self.key(sha256)
        try:
            listed = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        except (ClientError, BotoCoreError):
            return ""
        versions = [v for v in listed.get("Versions", []) if v["Key"] == key]
        if len(versions) < 2:
            return ""
        # Listed newest first (S3's order), as `_missing` reads them too.
        first, newer = versions[-1]["VersionId"], [v["VersionId"] for v in versions[:-1]]
        return (
            f"its first version {first} is still stored: delete the newer version(s) "
            f"{', '.join(newer)} (list-object-versions) to bring it back"
        )

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
        """Compare the store's own SHA-256 checksum, size and retention with what they must be,
        without reading the bytes (the store verified them against that checksum on arrival)."""
        try:
            with answering(self.location.url()):
                head = self.client.head_object(
                    Bucket=self.bucket, Key=self.key(sha256), ChecksumMode="ENABLED"
                )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return Fixity(sha256, False, self._missing(sha256))
            return Fixity(sha256, False, f"unreadable: {_code(exc)}")
        if size is not None and head["ContentLength"] != size:
            return damaged(self, sha256, f"size is {head['ContentLength']} bytes, recorded {size}")
        checksum = head.get("ChecksumSHA256")
        try:
            expected = self._expected_checksum(sha256, checksum)
        except ClientError as exc:
            return Fixity(sha256, False, f"its parts' record is unreadable: {_code(exc)}")
        if expected is None:
            return Fixity(
                sha256,
                False,
                f"the record of its parts' SHA-256s ({self.key(sha256, 'parts')}) is missing: "
                "only a full check (rushes verify without --quick) can tell",
            )
        if checksum != expected:
            return damaged(self, sha256, f"the store's SHA-256 checksum is {checksum}")
        if self.retention_days:
            until = head.get("ObjectLockRetainUntilDate")
            if head.get("ObjectLockMode") != "COMPLIANCE" or until is None:
                return Fixity(sha256, False, "not under a COMPLIANCE retention")
            if until < datetime.now(UTC):
                return Fixity(sha256, False, f"its retention ended on {until:%Y-%m-%d}")
        return Fixity(sha256, True)

    def _missing(self, sha256: str) -> str:
        """Why the key answers nothing: gone, or only hidden behind a delete marker (what a
        delete without a version id makes on a versioned bucket) with the locked version kept."""
        key = self.key(sha256)
        try:
            listed = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        except (ClientError, BotoCoreError):
            listed = {}
        kept = [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]
        if not kept:
            return f"missing from the vault ({self.locate(sha256)})"
        return (
            f"hidden behind a delete marker at {self.locate(sha256)}: the original's version "
            f"{kept[-1]} is still stored; delete the marker (its version id is in "
            "list-object-versions) to bring it back"
        )

    def _expected_checksum(self, sha256: str, checksum: str | None) -> str | None:
        """The checksum the store must hold: a multipart original's is of its parts' SHA-256s,
        recorded beside it when it was sent; None when that record is missing. A store that
        does not answer raises StoreUnavailable (an outage is no reason to call it damaged),
        one that refuses, its ClientError."""
        if not checksum or "-" not in checksum:
            return _b64(bytes.fromhex(sha256))
        try:
            with answering(self.location.url()):
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256, "parts"))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return answer["Body"].read().decode()  # type: ignore[no-any-return]
