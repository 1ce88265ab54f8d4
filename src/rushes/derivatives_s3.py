"""Derivatives in an S3-compatible store (`RUSHES_DERIVATIVES_URL=s3://bucket/prefix`), for
bases whose web servers and pipeline workers share no disk.

A step still writes into a local folder (`prepare`: FFmpeg and libwebp want paths); `publish`
sends each file to `<prefix>/derivatives/ab/<sha256>/<name>` and drops the local copy, so a
worker keeps nothing. No Object Lock: derivatives are rebuilt, not kept, and `clear` removes
every version of a step's earlier output (a bucket with versioning would otherwise keep them).
Readers stream: `open_range` asks the store for one byte range, so the web server sends a proxy to a
seeking player without ever holding the whole file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from rushes.derivatives import Derivatives
from rushes.errors import ConfigError
from rushes.vault.s3_client import (
    MISSING,
    PROBE_S,
    S3Location,
    answering,
    error_code,
    make_client,
    silent,
)

_CHUNK = 1 << 20
log = logging.getLogger(__name__)


class S3Derivatives(Derivatives):
    remote = True

    def __init__(self, scratch: Path, location: S3Location, client: Any) -> None:
        super().__init__(scratch)
        self.location, self.client, self.bucket = location, client, location.bucket

    @classmethod
    def open_url(cls, scratch: Path, url: str, *, endpoint: str, region: str) -> S3Derivatives:
        """Open the store, checking the bucket is there: a mistyped bucket or key must stop the
        base with its reason, not show every proxy as missing. A store that does not answer
        does not stop it (the status page names it)."""
        location = S3Location.parse(url)
        client = make_client(endpoint, region)
        try:
            make_client(endpoint, region, seconds=PROBE_S).head_bucket(Bucket=location.bucket)
        except ClientError as exc:
            if not silent(exc):
                raise ConfigError(
                    f"RUSHES_DERIVATIVES_URL {url}: the store answers {error_code(exc)}"
                ) from exc
            log.warning("the S3 store of %s failed: %s", url, exc)
        except BotoCoreError as exc:
            if not silent(exc):
                raise ConfigError(f"cannot use the S3 store of {url}: {exc}") from exc
            log.warning("the S3 store of %s does not answer: %s", url, exc)
        return cls(scratch, location, client)

    def key(self, sha256: str, name: str) -> str:
        path = self.path(sha256, name).relative_to(self.root)  # checks both names
        return f"{self.location.prefix}derivatives/{path.as_posix()}"

    def publish(self, sha256: str, names: Iterable[str]) -> None:
        for name in names:
            local = self.path(sha256, name)
            self.client.upload_file(str(local), self.bucket, self.key(sha256, name))
            local.unlink()

    def clear(self, sha256: str, prefix: str) -> None:
        super().clear(sha256, prefix)
        start = self.key(sha256, "x")[:-1] + prefix
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            gone = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if gone:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": gone})

    def size(self, sha256: str, name: str) -> int | None:
        try:
            with answering(self.location.url()):
                head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256, name))
        except ClientError as exc:
            if error_code(exc) in MISSING:
                return None
            raise
        return int(head["ContentLength"])

    def digest(self, sha256: str, name: str) -> str:
        digest = hashlib.sha256()
        with self.open(sha256, name) as body:
            while chunk := body.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def open(self, sha256: str, name: str) -> BinaryIO:
        try:
            with answering(self.location.url()):
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256, name))
        except ClientError as exc:
            if error_code(exc) in MISSING:
                raise FileNotFoundError(f"s3://{self.bucket}/{self.key(sha256, name)}") from exc
            raise
        return answer["Body"]  # type: ignore[no-any-return]

    def open_range(self, sha256: str, name: str, start: int, end: int) -> BinaryIO:
        try:
            with answering(self.location.url()):
                answer = self.client.get_object(
                    Bucket=self.bucket, Key=self.key(sha256, name), Range=f"bytes={start}-{end}"
                )
        except ClientError as exc:
            if error_code(exc) in MISSING:
                raise FileNotFoundError(f"s3://{self.bucket}/{self.key(sha256, name)}") from exc
            raise
        return answer["Body"]  # type: ignore[no-any-return]
