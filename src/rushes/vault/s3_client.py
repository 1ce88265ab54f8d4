"""An S3-compatible store as rushes talks to it: its address, a client, and its answers read.

Shared by every part of the base that keeps things in a bucket (the vault's originals, the
derivatives, uploads shared between hosts), so each says the same of a store that is silent
(it may come back: StoreUnavailable) and of one that refuses (a wrong bucket, key or
certificate: the refusal itself).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as NoConnection
from botocore.utils import parse_timestamp

from rushes.errors import ConfigError, StoreUnavailable

PROBE_S = 2.0  # how long a base starting waits for the store before it opens without it
PRESENT = ("PreconditionFailed", "ConditionalRequestConflict")  # `IfNoneMatch="*"`: key taken
MISSING = ("NoSuchKey", "404", "NotFound")


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
    return _session().client(
        "s3", endpoint_url=endpoint or None, region_name=region or None, config=config
    )


def _session() -> boto3.session.Session:
    """A boto3 session whose clients read the store's dates with the standard library."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
    return boto3.session.Session(botocore_session=core)


def _timestamp(value: str) -> datetime:
    """An S3 date (ISO 8601 in bodies, RFC 7231 in headers) read in ~1-6 us, where botocore's
    general parser (dateutil) takes ~100 us: a sixth of the client's CPU for each HEAD that
    `rushes verify --quick` sends (two dates each, 10,000 originals). Anything else, or a date
    without a zone, goes to botocore's own parser."""
    with contextlib.suppress(TypeError, ValueError):
        read = datetime.fromisoformat(value)
        if read.tzinfo is not None:
            return read
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        read = email.utils.parsedate_to_datetime(value)
        if read.tzinfo is not None:
            return read
    return parse_timestamp(value)  # type: ignore[no-any-return]


def silent(exc: BotoCoreError | ClientError) -> bool:
    """Whether the store did not answer (no connection, a timeout, a cut link, a 5xx of its
    own), which may pass, rather than answer no (a bucket, key or certificate that is wrong)."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    return isinstance(exc, NoConnection | HTTPClientError) and not isinstance(exc, SSLError)


def ping(client: Any, bucket: str, seconds: float = 2.0) -> str | None:
    """Why the store does not answer for `bucket` within `seconds` (None: it does): one try,
    for a status page that must not wait out the client's retries."""
    quick = _session().client(
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
        return f"{error_code(exc)} from {client.meta.endpoint_url}"
    except BotoCoreError as exc:
        return str(exc)
    return None


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
            raise StoreUnavailable(f"the S3 store of {where} failed: {error_code(exc)}") from exc
        raise


def error_code(exc: ClientError) -> str:
    """The store's name for its refusal ("NoSuchKey", "PreconditionFailed", …)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def b64(digest: bytes) -> str:
    """A digest as the store's checksum headers carry it, and as it gives it back."""
    return base64.b64encode(digest).decode()
