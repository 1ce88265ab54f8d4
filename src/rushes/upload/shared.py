"""Unfinished uploads that any base process on any host can continue (`RUSHES_UPLOAD_URL`).

Behind one load balancer, a crew's PATCHes land on whichever `rushes serve` is free. Each host
still receives a request into its own upload folder (rushes.upload.store: the same writer,
checksums and fsyncs), but the upload's truth is shared:

- its state is a row of the catalog (`uploads`): the info, the durable offset, the pieces that
  hold the bytes up to it, a claim counter and, at the end, the outcome;
- its bytes are pieces in the S3 store, one per request, `<prefix>uploads/<id>/<start>-<end>-…`;
- one writer at a time across hosts: a PostgreSQL advisory lock on the upload, held on a
  connection of its own for the request (a killed process lets go with its connection).

A request first brings the local copy to the durable offset (fetching the pieces other hosts
stored, or cutting off bytes nobody acknowledged), receives, then stores what it kept as a new
piece and moves the offset in the catalog: only then is the offset acknowledged. A HEAD anywhere
takes an upload over by counting up its claim, which the writer on any host watches. The host
whose request completes the upload takes it into the vault from its own, complete, folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Connection, create_engine, func, select
from sqlalchemy.pool import NullPool

from rushes.catalog import Catalog
from rushes.catalog.models import UploadState
from rushes.errors import ConfigError
from rushes.upload.protocol import TusError
from rushes.upload.store import EXPIRY, Info, Outcome, Upload, UploadStore
from rushes.vault.s3_client import PROBE_S, S3Location, answering, make_client, silent

_PIECE_READ = 8 << 20
_HEX32 = re.compile(r"[0-9a-f]{32}")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shared:
    """An upload's shared state, as read."""

    info: Info
    offset: int
    pieces: list[tuple[int, int, str]]
    claim: int
    outcome: Outcome | None
    updated_at: datetime


class HostLock:
    """The one-writer-across-hosts lock of an upload, held until released."""

    def __init__(self, connection: Connection, key: int) -> None:
        self.connection, self.key = connection, key

    def release(self) -> None:
        if self.connection.closed:
            return
        try:
            self.connection.execute(select(func.pg_advisory_unlock(self.key)))
        finally:
            self.connection.close()


class SharedUploads:
    def __init__(self, catalog: Catalog, url: str, *, endpoint: str, region: str) -> None:
        if catalog.dialect != "postgresql":
            raise ConfigError(
                "RUSHES_UPLOAD_URL shares uploads between base processes through the catalog: "
                "it needs PostgreSQL (RUSHES_DATABASE_URL)"
            )
        self.catalog = catalog
        self.location = S3Location.parse(url)
        self.bucket = self.location.bucket
        self.client = make_client(endpoint, region)
        try:
            make_client(endpoint, region, seconds=PROBE_S).head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            if not silent(exc):  # one that does not answer now answers 503 to each request
                raise ConfigError(f"RUSHES_UPLOAD_URL {url}: {exc}") from exc
            log.warning("the S3 store of %s does not answer: %s", url, exc)
        # Locks hold a connection for a whole request: never the pool the pages need.
        self.locks = create_engine(catalog.engine.url, poolclass=NullPool)

    # -- state

    def create(self, info: Info) -> None:
        with self.catalog.write() as session:
            session.add(
                UploadState(
                    id=info.id,
                    info=asdict(info),
                    offset=0,
                    pieces={"pieces": []},
                    claim=0,
                    updated_at=datetime.now(UTC),
                )
            )

    def get(self, upload_id: str) -> Shared | None:
        with self.catalog.read() as session:
            row = session.get(UploadState, upload_id)
            if row is None:
                return None
            return Shared(
                Info(**row.info),
                row.offset,
                [tuple(p) for p in row.pieces["pieces"]],  # type: ignore[misc]
                row.claim,
                Outcome(**row.outcome) if row.outcome else None,
                row.updated_at,
            )

    def here(self, store: UploadStore, upload_id: str, upload: Upload | None) -> Upload | None:
        """This host's folder of a shared upload, made (empty: `catch_up` fills it) when the
        upload began on another host; concluded here once it was concluded anywhere."""
        shared = self.get(upload_id) if _HEX32.fullmatch(upload_id) else None
        if shared is None:
            return None  # never made, or removed on another host
        if upload is None:
            try:
                upload = store.create(shared.info)
            except OSError:  # another request of this host made it meanwhile
                upload = store.get(upload_id)
                if upload is None:
                    raise
        if shared.outcome is not None and upload.outcome() is None:
            upload.conclude(shared.outcome)
        elif shared.outcome is None:  # its last byte may have reached another host: expiry
            last = shared.updated_at.timestamp()  # counts from that one
            with contextlib.suppress(FileNotFoundError):
                if os.stat(upload.data).st_mtime < last:
                    os.utime(upload.data, (last, last))
        return upload

    def offset(self, upload_id: str) -> int:
        """The durable offset, as every host acknowledges it."""
        with self.catalog.read() as session:
            row = session.get(UploadState, upload_id)
            if row is None:
                return 0
            return int(row.outcome["size"]) if row.outcome else row.offset

    def claimed(self, upload_id: str) -> Callable[[], bool]:
        """Whether a HEAD (on any host) has taken the upload since this was asked."""
        now = self.claim(upload_id)
        return lambda: self.claim(upload_id) != now

    def claim(self, upload_id: str) -> int:
        with self.catalog.read() as session:
            return session.scalar(select(UploadState.claim).where(UploadState.id == upload_id)) or 0

    def take(self, upload_id: str) -> None:
        """Supersede whoever writes the upload now, on whichever host."""
        with self.catalog.write() as session:
            row = session.get(UploadState, upload_id, with_for_update=True)
            if row is not None:
                row.claim += 1

    def try_lock(self, upload_id: str) -> HostLock | None:
        key = int(upload_id[:15], 16)
        connection = self.locks.connect()
        try:
            got = connection.execute(select(func.pg_try_advisory_lock(key))).scalar()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return HostLock(connection, key)

    # -- bytes

    def catch_up(self, upload: Upload) -> Shared:
        """Bring this host's copy of the upload to the durable offset (under both locks):
        fetch the pieces stored by other hosts, cut off bytes nobody acknowledged. A concluded
        upload is concluded here too."""
        shared = self.get(upload.id)
        if shared is None:
            raise TusError(404, f"no upload {upload.id} here (removed)")
        if upload.info.length is None and shared.info.length is not None:
            upload.set_length(shared.info.length)  # fixed by a PATCH on another host
        if shared.outcome is not None:
            if upload.outcome() is None:
                upload.conclude(shared.outcome)
            return shared
        concluded = upload.outcome()
        if concluded is not None:  # an intake here stopped before it told the others
            self.conclude(upload.id, concluded)
            return shared
        here = upload.offset()
        if here > shared.offset:
            os.truncate(upload.data, shared.offset)
            here = shared.offset
        if here < shared.offset:
            with open(upload.data, "ab") as out:
                for start, end, key in shared.pieces:
                    if end <= here:
                        continue
                    self._append(out, key, here - start, end - start)
                    here = end
                out.flush()
                os.fsync(out.fileno())
        return shared

    def catch_up_if_complete(self, upload: Upload) -> None:
        """What a HEAD does under both locks: fetch the bytes only when they are all stored, so
        this host can take in an upload whose intake stopped; otherwise leave them where they
        are (the HEAD reports the durable offset)."""
        shared = self.get(upload.id)
        if shared is not None and (
            shared.outcome is not None or shared.offset == shared.info.length
        ):
            self.catch_up(upload)

    def _append(self, out: Any, key: str, skip: int, end: int) -> None:
        with answering(self.location.url()):
            body = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={skip}-{end - 1}"
            )["Body"]
            while chunk := body.read(_PIECE_READ):
                out.write(chunk)

    def publish(self, upload: Upload, start: int) -> int:
        """Store the bytes this host kept past `start` (the durable offset when its request
        began) as a piece and move the durable offset to their end; returns it."""
        end = upload.sync()
        piece = []
        if end > start:
            key = f"{self._folder(upload.id)}{start:016x}-{end:016x}-{uuid.uuid4().hex[:8]}"
            with open(upload.data, "rb") as data, answering(self.location.url()):
                data.seek(start)
                self.client.upload_fileobj(_Window(data, end - start), self.bucket, key)
            piece = [[start, end, key]]
        with self.catalog.write() as session:
            row = session.get(UploadState, upload.id, with_for_update=True)
            if row is None or row.offset != start:
                raise TusError(409, f"upload {upload.id} moved on elsewhere; ask HEAD")
            if piece:
                row.pieces = {"pieces": [*row.pieces["pieces"], *piece]}
                row.offset, row.updated_at = end, datetime.now(UTC)
            if upload.info.length is not None and row.info.get("length") is None:
                row.info = {**row.info, "length": upload.info.length}  # a deferred length
        return max(start, end)

    def conclude(self, upload_id: str, outcome: Outcome) -> None:
        """Record the outcome for every host; the pieces are not needed any more."""
        with self.catalog.write() as session:
            row = session.get(UploadState, upload_id, with_for_update=True)
            if row is None:
                return
            row.outcome, row.updated_at = asdict(outcome), datetime.now(UTC)
            row.pieces = {"pieces": []}
        self._delete(upload_id)

    def remove(self, upload_id: str) -> None:
        with self.catalog.write() as session:
            row = session.get(UploadState, upload_id, with_for_update=True)
            if row is None:
                return
            session.delete(row)
        self._delete(upload_id)

    def sweep(self, now: datetime | None = None) -> int:
        """Forget uploads a week past their last byte (or their outcome); returns how many."""
        cutoff = (now or datetime.now(UTC)) - EXPIRY
        with self.catalog.read() as session:
            old = session.scalars(select(UploadState.id).where(UploadState.updated_at < cutoff))
            expired = list(old)
        for upload_id in expired:
            self.remove(upload_id)
        return len(expired)

    def _folder(self, upload_id: str) -> str:
        return f"{self.location.prefix}uploads/{upload_id}/"

    def _delete(self, upload_id: str) -> None:
        """Every piece of the upload, those of requests that died before they were counted
        too."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._folder(upload_id)
        )
        with answering(self.location.url()):
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})


class _Window:
    """`size` bytes of a file from where it stands: what one piece sends."""

    def __init__(self, source: Any, size: int) -> None:
        self.source, self.left = source, size

    def read(self, size: int = -1) -> bytes:
        want = self.left if size < 0 else min(size, self.left)
        data = self.source.read(want)
        self.left -= len(data)
        return data
