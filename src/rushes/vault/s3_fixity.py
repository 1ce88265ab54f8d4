"""What the S3 store can tell of an original without sending its bytes: the checksum, size and
retention it keeps (`quick_check`), and the versions under its key, so an original overwritten
or hidden behind a delete marker is named with the way to bring it back. The store verified
the bytes against their SHA-256 when they arrived, so `rushes verify --quick` need not read them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from rushes.vault.s3_client import MISSING, answering, b64, error_code
from rushes.vault.store import Fixity, damaged

if TYPE_CHECKING:
    from rushes.vault.s3 import S3Backend


def quick_check(backend: S3Backend, sha256: str, size: int | None) -> Fixity:
    """Compare the store's own SHA-256 checksum, size and retention with what they must be,
    without reading the bytes (the store verified them against that checksum on arrival)."""
    try:
        with answering(backend.location.url()):
            head = backend.client.head_object(
                Bucket=backend.bucket, Key=backend.key(sha256), ChecksumMode="ENABLED"
            )
    except ClientError as exc:
        if error_code(exc) in MISSING:
            return Fixity(sha256, False, _missing(backend, sha256))
        return Fixity(sha256, False, f"unreadable: {error_code(exc)}")
    if size is not None and head["ContentLength"] != size:
        return damaged(backend, sha256, f"size is {head['ContentLength']} bytes, recorded {size}")
    checksum = head.get("ChecksumSHA256")
    try:
        expected = _expected_checksum(backend, sha256, checksum)
    except ClientError as exc:
        return Fixity(sha256, False, f"its parts' record is unreadable: {error_code(exc)}")
    if expected is None:
        return Fixity(
            sha256,
            False,
            f"the record of its parts' SHA-256s ({backend.key(sha256, 'parts')}) is missing: "
            "only a full check (rushes verify without --quick) can tell",
        )
    if checksum != expected:
        return damaged(backend, sha256, f"the store's SHA-256 checksum is {checksum}")
    if backend.retention_days:
        until = head.get("ObjectLockRetainUntilDate")
        if head.get("ObjectLockMode") != "COMPLIANCE" or until is None:
            return Fixity(sha256, False, "not under a COMPLIANCE retention")
        if until < datetime.now(UTC):
            return Fixity(sha256, False, f"its retention ended on {until:%Y-%m-%d}")
    return Fixity(sha256, True)


def earlier_copy(backend: S3Backend, sha256: str) -> str:
    """Someone with the store's keys may put other bytes over a locked original: the locked
    version stays underneath, an older version of the key, and can be brought back."""
    versions = _versions(backend, sha256)
    if len(versions) < 2:
        return ""
    first, newer = versions[-1], versions[:-1]
    return (
        f"its first version {first} is still stored: delete the newer version(s) "
        f"{', '.join(newer)} (list-object-versions) to bring it back"
    )


def _missing(backend: S3Backend, sha256: str) -> str:
    """Why the key answers nothing: gone, or only hidden behind a delete marker (what a
    delete without a version id makes on a versioned bucket) with the locked version kept."""
    kept = _versions(backend, sha256)
    if not kept:
        return f"missing from the vault ({backend.locate(sha256)})"
    return (
        f"hidden behind a delete marker at {backend.locate(sha256)}: the original's version "
        f"{kept[-1]} is still stored; delete the marker (its version id is in "
        "list-object-versions) to bring it back"
    )


def _versions(backend: S3Backend, sha256: str) -> list[str]:
    """The ids of the versions kept under the original's key, newest first (S3's order); none
    when the store does not say (the messages then name no version)."""
    key = backend.key(sha256)
    try:
        listed = backend.client.list_object_versions(Bucket=backend.bucket, Prefix=key)
    except (ClientError, BotoCoreError):
        return []
    return [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]


def _expected_checksum(backend: S3Backend, sha256: str, checksum: str | None) -> str | None:
    """The checksum the store must hold: a multipart original's is of its parts' SHA-256s,
    recorded beside it when it was sent; None when that record is missing. A store that
    does not answer raises StoreUnavailable (an outage is no reason to call it damaged),
    one that refuses, its ClientError."""
    if not checksum or "-" not in checksum:
        return b64(bytes.fromhex(sha256))
    try:
        with answering(backend.location.url()):
            answer = backend.client.get_object(
                Bucket=backend.bucket, Key=backend.key(sha256, "parts")
            )
    except ClientError as exc:
        if error_code(exc) in MISSING:
            return None
        raise
    return answer["Body"].read().decode()  # type: ignore[no-any-return]
