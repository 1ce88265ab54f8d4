"""The tus 1.0 server the base mounts at /files/: core, creation (with upload, deferred length),
expiration, checksum (sha1, sha256) and termination, for field kits holding a bearer token.

Who writes: one request at a time per upload, across worker processes, by an flock on the
upload's lock file. A PATCH that finds it held gets 423 (never a second writer). A HEAD takes
the upload back: it replaces the upload's claim file, and the writer holding the lock checks the
claim after every chunk it writes and every 0.1 s while it waits for bytes; when the claim
changed it keeps (fsyncs) what it received and lets go. The HEAD waits up to 3 s for the lock,
fsyncs the data file and reports its size, so a client resuming after a cut link sends its
next byte well within a second. A writer that gets no byte for a minute lets go by itself.

The body is handed in batches of about 1 MiB, as received (not copied), to threads that write
it (starting the disk's writeback as they go) and hash it for the vault while the next bytes
arrive; it is fsynced before the response acknowledges the new offset. Bytes received before a
dropped connection are kept and fsynced too. The response to the PATCH that completes an upload
waits for its intake: 204 once it is in the vault, 422 with the reason if the bytes are not what
was declared.

With RUSHES_UPLOAD_URL the processes may be on several hosts: each request also takes the
upload's lock across hosts and first brings this host's copy to the shared offset, and what it
kept is stored as a piece before the offset is acknowledged (rushes.upload.shared).

Here: the routes and who holds an upload when. Who may upload, and what is refused before a
byte is taken: rushes.upload.admission; a complete upload taken in: rushes.upload.completion.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from rushes.base import Base
from rushes.review import accounts
from rushes.upload import protocol
from rushes.upload.admission import Caller, admit, fix_length, identify, room
from rushes.upload.completion import Completion
from rushes.upload.protocol import TusError
from rushes.upload.receiving import raise_for_ending, stream
from rushes.upload.store import Info, Lease, Upload, UploadStore, Writer, new_id
from rushes.upload.wrapping import TusHeaders, refusals
from rushes.vault import Digest

if TYPE_CHECKING:
    from rushes.upload.shared import HostLock, SharedUploads

TAKEOVER_S = 3.0
SWEEP_EVERY_S = 3600.0
T = TypeVar("T")


class Tus:
    def __init__(self, base: Base) -> None:
        self.base = base
        self.store = UploadStore(base.settings.upload_dir)
        self.shared = _shared(base)
        self._swept = time.monotonic()
        # The uploads' own threads: a burst of uploads waits for these, never for the threads
        # the pages and the health check run on.
        self.threads = CapacityLimiter(max(2, base.settings.threads // 2))
        self.completion = Completion(base, self.shared, self.threads)
        self.completion.finish_pending(self.store.sweep())

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await to_thread.run_sync(work, *args, limiter=self.threads)

    # -- routes

    async def options(self, _request: Request) -> Response:
        return Response(
            status_code=204,
            headers={
                "Tus-Version": protocol.VERSION,
                "Tus-Extension": ",".join(protocol.EXTENSIONS),
                "Tus-Max-Size": str(self.base.settings.upload_limit),
                "Tus-Checksum-Algorithm": ",".join(protocol.CHECKSUMS),
            },
        )

    async def create(self, request: Request) -> Response:
        caller = await self._caller(request)
        length = protocol.upload_length(request.headers)
        if length is not None and length > caller.limit:
            raise TusError(413, f"{length} bytes is over this project's limit of {caller.limit}")
        meta = protocol.metadata(request.headers.get("upload-metadata"))
        await self._run(admit, self.base, caller, meta, length)
        await self._run(room, self.store, caller, length, self.base.settings.open_uploads)
        body = _has_body(request)
        if body:
            _require_stream(request)
        check = protocol.checksum(request.headers.get("upload-checksum")) if body else None
        info = Info(
            id=new_id(),
            project_id=caller.project_id,
            crew=caller.username,
            length=length,
            kind=meta.kind,
            sha256=meta.sha256,
            filename=meta.filename,
            original=meta.original,
            source=meta.source,
            metadata=meta.header,
            created_at=datetime.now(UTC).isoformat(),
        )
        upload = await self._run(self.store.create, info)
        if self.shared is not None:
            await self._run(self.shared.create, info)
        location = str(request.url.replace(query="")).rstrip("/") + "/" + upload.id
        lease = upload.try_lock()
        assert lease is not None, "a new upload is nobody else's"
        try:
            if body:
                await self._receive(request, upload, check, caller)
            await self.completion.settle(upload)
        except TusError as exc:
            exc.headers["Location"] = location
            raise
        finally:
            lease.release()
        headers = {"Location": location, **_expiry(upload)}
        if body:
            headers["Upload-Offset"] = str(upload.offset())
        return Response(status_code=201, headers=headers)

    async def head(self, request: Request) -> Response:
        caller = await self._caller(request)
        upload = await self._run(self._upload, request, caller)
        offset = None
        if await self._run(upload.outcome) is None:
            await self._run(upload.take)
            if self.shared is not None:
                await self._run(self.shared.take, upload.id)
            lease = await _wait_for_lock(upload, TAKEOVER_S)
            host = await self._wait_for_host(upload) if lease else None
            try:
                await self._run(upload.sync)
                if host is not None:
                    await self._run(self.shared.catch_up_if_complete, upload)  # type: ignore[union-attr]
                if lease and (host is not None or self.shared is None):
                    await self.completion.settle(upload)
                if self.shared is not None:  # the offset every host acknowledges
                    offset = await self._run(self.shared.offset, upload.id)
            finally:
                if host is not None:
                    await self._run(host.release)
                if lease:
                    lease.release()
        offset = upload.offset() if offset is None else offset
        headers = {"Upload-Offset": str(offset), **_expiry(upload)}
        if upload.info.length is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(upload.info.length)
        if upload.info.metadata:
            headers["Upload-Metadata"] = upload.info.metadata
        return Response(status_code=200, headers=headers)

    async def patch(self, request: Request) -> Response:
        caller = await self._caller(request)
        upload = await self._run(self._upload, request, caller)
        _require_stream(request)
        offset = protocol.length(request.headers.get("upload-offset"), "Upload-Offset")
        if offset is None:
            raise TusError(400, "PATCH needs Upload-Offset (ask HEAD for it)")
        check = protocol.checksum(request.headers.get("upload-checksum"))
        declared = protocol.length(request.headers.get("upload-length"), "Upload-Length")
        sent = protocol.length(request.headers.get("content-length"), "Content-Length")
        lease = upload.try_lock()
        if lease is None:
            raise TusError(
                423, "another request is writing to this upload; ask HEAD for the offset"
            )
        host = None
        try:
            if self.shared is not None:
                host = await self._run(self.shared.try_lock, upload.id)
                if host is None:
                    raise TusError(
                        423, "another request is writing to this upload; ask HEAD for the offset"
                    )
                await self._run(self.shared.catch_up, upload)
            current = upload.offset()
            if offset != current:
                raise TusError(
                    409,
                    f"the upload is at byte {current}, not {offset}; go on from there",
                    {"Upload-Offset": str(current)},
                )
            if upload.outcome() is None:
                if declared is not None:
                    await self._run(fix_length, self.store, upload, declared, caller)
                end = upload.info.length
                if end is not None and sent is not None and offset + sent > end:
                    raise TusError(400, f"{sent} bytes at {offset} run past Upload-Length {end}")
                if not upload.complete():  # a complete upload's data may be the vault's now
                    await self._receive(request, upload, check, caller)
                await self.completion.settle(upload)
        finally:
            if host is not None:
                await self._run(host.release)
            lease.release()
        return Response(
            status_code=204, headers={"Upload-Offset": str(upload.offset()), **_expiry(upload)}
        )

    async def delete(self, request: Request) -> Response:
        caller = await self._caller(request)
        upload = await self._run(self._upload, request, caller, True)
        await self._run(upload.take)
        lease = await _wait_for_lock(upload, TAKEOVER_S)
        if lease is None:
            raise TusError(423, "the upload is busy (its intake is running); try again")
        try:
            if self.shared is not None:
                await self._run(self.shared.remove, upload.id)
            await self._run(self.store.remove, upload)
        finally:
            lease.release()
        return Response(status_code=204)

    # -- who and which

    async def _caller(self, request: Request) -> Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TusError(
                401,
                "send the field kit's token: Authorization: Bearer rsh_…",
                {"WWW-Authenticate": "Bearer"},
            )
        caller = await self._run(identify, self.base, token.strip())
        if caller is None:
            raise TusError(401, accounts.UNKNOWN_TOKEN, {"WWW-Authenticate": "Bearer"})
        if time.monotonic() - self._swept > SWEEP_EVERY_S:
            self._swept = time.monotonic()
            self.completion.finish_pending(await self._run(self.store.sweep))
            if self.shared is not None:
                await self._run(self.shared.sweep)
            self.completion.forget_gone(self.store.root)
        return caller

    def _upload(self, request: Request, caller: Caller, terminating: bool = False) -> Upload:
        upload_id = request.path_params["upload_id"]
        upload = self.store.get(upload_id)
        if self.shared is not None:
            upload = self.shared.here(self.store, upload_id, upload)
        # Another account's upload is as missing as a missing one: no metadata, no takeover.
        if upload is None or (upload.info.project_id, upload.info.crew) != (
            caller.project_id,
            caller.username,
        ):
            raise TusError(404, f"no upload {upload_id[:40]} here (never made, or removed)")
        if terminating:
            return upload
        outcome = upload.outcome()
        if outcome and outcome.status == "rejected":
            raise TusError(422, outcome.reason)
        if upload.expired():
            raise TusError(410, "this upload expired (a week without a byte); start it again")
        return upload

    # -- bytes

    async def _receive(
        self, request: Request, upload: Upload, check: protocol.Checksum | None, caller: Caller
    ) -> None:
        """Stream the body into the upload (caller holds the lease); raise for every ending
        but a whole body received and kept."""
        start = upload.offset()
        end = upload.info.length if upload.info.length is not None else caller.limit
        running = self.completion.digest(upload, take=True)
        if running is None and start == 0:
            running = Digest()
        if upload.info.kind != "original":
            running = None  # a proxy is copied, and hashed, on its way to the derivatives
        writer = Writer(upload, check.algorithm if check else None, running)
        ending = "error"
        superseded = self.shared.claimed(upload.id) if self.shared is not None else None
        try:
            ending = await stream(request, upload, writer, end - start, self.threads, superseded)
        finally:
            expected = check.digest if check else None
            try:
                keep = await self._run(writer.finish, ending == "end", expected)
            finally:
                if self.shared is not None:  # acknowledged only once the store holds it
                    await self._run(self.shared.publish, upload, start)
            self.completion.keep(upload, writer.running)
        if check is not None and ending == "end" and not keep:
            raise TusError(
                protocol.CHECKSUM_MISMATCH,
                f"the {check.algorithm} checksum does not match the chunk; it was dropped and the "
                f"upload stays at byte {start}",
            )
        raise_for_ending(ending, upload, end, caller.limit)

    async def _wait_for_host(self, upload: Upload) -> HostLock | None:
        """The lock across hosts, waited for as the local one (None when not shared)."""
        if self.shared is None:
            return None
        deadline = time.monotonic() + TAKEOVER_S
        while (host := await self._run(self.shared.try_lock, upload.id)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        return host


def _shared(base: Base) -> SharedUploads | None:
    settings = base.settings
    if not settings.upload_url:
        return None
    from rushes.upload.shared import SharedUploads  # boto3 only when configured

    return SharedUploads(
        base.catalog, settings.upload_url, endpoint=settings.s3_endpoint, region=settings.s3_region
    )


async def _wait_for_lock(upload: Upload, seconds: float) -> Lease | None:
    deadline = time.monotonic() + seconds
    while (lease := upload.try_lock()) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return lease


def _has_body(request: Request) -> bool:
    sent = request.headers.get("content-length")
    return (sent is not None and sent.strip() != "0") or "transfer-encoding" in request.headers


def _require_stream(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != protocol.OFFSET_STREAM:
        raise TusError(415, f"send the bytes as Content-Type: {protocol.OFFSET_STREAM}")


def _expiry(upload: Upload) -> dict[str, str]:
    if upload.outcome() is not None:
        return {}
    return {"Upload-Expires": format_datetime(upload.expires_at(), usegmt=True)}


def create_upload_app(base: Base) -> ASGIApp:
    """The tus server for `base`; mount it at /files."""
    tus = Tus(base)

    async def collection(request: Request) -> Response:
        return await (tus.options if request.method == "OPTIONS" else tus.create)(request)

    async def resource(request: Request) -> Response:
        handlers = {"OPTIONS": tus.options, "HEAD": tus.head, "PATCH": tus.patch}
        return await handlers.get(request.method, tus.delete)(request)

    app = Starlette(
        routes=[
            Route("/", refusals(collection), methods=["OPTIONS", "POST"]),
            Route(
                "/{upload_id}",
                refusals(resource),
                methods=["OPTIONS", "HEAD", "PATCH", "DELETE"],
                name="upload",
            ),
        ]
    )
    return TusHeaders(app)
