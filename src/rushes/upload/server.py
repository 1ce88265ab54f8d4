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
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Membership, Project
from rushes.errors import StoreUnavailable, VaultError, VaultFullError
from rushes.review import accounts
from rushes.upload import protocol
from rushes.upload.intake import finish
from rushes.upload.protocol import TusError
from rushes.upload.receiving import IDLE_S, stream
from rushes.upload.store import Info, Lease, Upload, UploadStore, Writer, new_id
from rushes.upload.wrapping import STORE_RETRY_S, TusHeaders, refusals
from rushes.vault import Digest

if TYPE_CHECKING:
    from rushes.upload.shared import HostLock, SharedUploads

TAKEOVER_S = 3.0
SWEEP_EVERY_S = 3600.0
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """The field kit on the other end: a crew member's token, bound to one project."""

    username: str
    project_id: int
    limit: int  # largest upload this project takes, in bytes


class Tus:
    def __init__(self, base: Base) -> None:
        self.base = base
        self.store = UploadStore(base.settings.upload_dir)
        # Per upload, the vault's digest of `data` as it was when last written here (inode, size,
        # mtime): fed as the bytes are written, so the finished upload is not read again. Any
        # doubt (another process wrote since, a failed write, a restart) and the intake hashes
        # the file from disk.
        self.running: dict[str, tuple[tuple[int, int, int], Digest]] = {}
        self.shared = _shared(base)
        self._swept = time.monotonic()
        # The uploads' own threads: a burst of uploads waits for these, never for the threads
        # the pages and the health check run on.
        self.threads = CapacityLimiter(max(2, base.settings.threads // 2))
        self._finish_pending(self.store.sweep())

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
        await self._run(self._admit, caller, meta, length)
        await self._run(self._room, caller, length)
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
            await self._settle(upload)
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
                    await self._settle(upload)
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
                    await self._run(self._fix_length, upload, declared, caller)
                end = upload.info.length
                if end is not None and sent is not None and offset + sent > end:
                    raise TusError(400, f"{sent} bytes at {offset} run past Upload-Length {end}")
                if not upload.complete():  # a complete upload's data may be the vault's now
                    await self._receive(request, upload, check, caller)
                await self._settle(upload)
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
        caller = await self._run(self._identify, token.strip())
        if caller is None:
            raise TusError(401, accounts.UNKNOWN_TOKEN, {"WWW-Authenticate": "Bearer"})
        if time.monotonic() - self._swept > SWEEP_EVERY_S:
            self._swept = time.monotonic()
            self._finish_pending(await self._run(self.store.sweep))
            if self.shared is not None:
                await self._run(self.shared.sweep)
            self.running = {k: v for k, v in self.running.items() if (self.store.root / k).is_dir()}
        return caller

    def _identify(self, token: str) -> Caller | None:
        with self.base.catalog.read() as session:
            found = accounts.token_user(session, token)
            if found is None:
                return None
            user, api_token = found
            member = session.scalar(
                select(Membership.role).where(
                    Membership.user_id == user.id, Membership.project_id == api_token.project_id
                )
            )
            project = session.get(Project, api_token.project_id)
            if member is None or project is None:
                return None
            limit = project.upload_limit or self.base.settings.upload_limit
            return Caller(user.username, project.id, limit)

    def _admit(self, caller: Caller, meta: protocol.Metadata, length: int | None) -> None:
        """Refuse an upload the catalog already contradicts."""
        with self.base.catalog.read() as session:
            if meta.kind == "proxy":
                # Only the crew who listed (or sent) the original may give it a review proxy.
                known = session.scalar(
                    select(Arrival.id)
                    .where(
                        Arrival.asset_sha256 == meta.original,
                        Arrival.project_id == caller.project_id,
                        Arrival.crew == caller.username,
                    )
                    .limit(1)
                )
                if known is None:
                    raise TusError(
                        409,
                        f"send the manifest first: you listed no original "
                        f"{meta.original[:12]}… in this project for this proxy",
                    )
                return
            asset = session.get(Asset, meta.sha256)
            in_project = session.scalar(
                select(Arrival.id)
                .where(
                    Arrival.asset_sha256 == meta.sha256,
                    Arrival.project_id == caller.project_id,
                    Arrival.crew == caller.username,
                )
                .limit(1)
            )
            # Said only to the crew who brought it: to others it would tell who holds which file.
            if in_project and asset is not None and length is not None and asset.size != length:
                raise TusError(
                    409,
                    f"the base knows {meta.sha256[:12]}… as {asset.size} bytes, not {length}; "
                    "hash the file again",
                )

    def _room(self, caller: Caller, length: int | None) -> None:
        """Refuse an upload past the account's open ones, or one the staging disk cannot hold
        beside what the open uploads were promised."""
        unfinished = [u for u in self.store.uploads() if u.outcome() is None and not u.expired()]
        limit = self.base.settings.open_uploads
        if sum(u.info.crew == caller.username for u in unfinished) >= limit:
            raise TusError(
                429,
                f"you have {limit} unfinished uploads; finish or delete one first",
                {"Retry-After": "60"},
            )
        if length is not None:
            self._fits(length, unfinished)

    def _fits(self, length: int, unfinished: list[Upload]) -> None:
        """Refuse `length` more bytes that the staging disk cannot hold beside what the other
        open uploads were promised."""
        promised = sum(max(0, (u.info.length or 0) - u.offset()) for u in unfinished)
        room = shutil.disk_usage(self.store.root).free - promised
        if length > room:
            raise TusError(
                507,
                f"the base has room for {max(0, room)} more bytes of uploads now, not {length}; "
                "send it later",
            )

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

    def _fix_length(self, upload: Upload, declared: int, caller: Caller) -> None:
        """The deferred length arrives with a PATCH; once set it never changes."""
        if upload.info.length is not None:
            if declared != upload.info.length:
                raise TusError(400, f"Upload-Length is {upload.info.length} already")
            return
        if declared > caller.limit:
            raise TusError(413, f"{declared} bytes is over this project's limit of {caller.limit}")
        if declared < upload.offset():
            raise TusError(400, f"Upload-Length {declared} is less than the bytes received")
        others = [
            u
            for u in self.store.uploads()
            if u.outcome() is None and not u.expired() and u.id != upload.id
        ]
        self._fits(declared - upload.offset(), others)
        upload.set_length(declared)

    # -- bytes

    async def _receive(
        self, request: Request, upload: Upload, check: protocol.Checksum | None, caller: Caller
    ) -> None:
        """Stream the body into the upload (caller holds the lease); raise for every ending
        but a whole body received and kept."""
        start = upload.offset()
        end = upload.info.length if upload.info.length is not None else caller.limit
        running = self._running(upload, take=True)
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
            signature = upload.signature()
            if writer.running is not None and signature is not None:
                self.running[upload.id] = (signature, writer.running)
        if check is not None and ending == "end" and not keep:
            raise TusError(
                protocol.CHECKSUM_MISMATCH,
                f"the {check.algorithm} checksum does not match the chunk; it was dropped and the "
                f"upload stays at byte {start}",
            )
        now = upload.offset()
        if ending == "over":
            if upload.info.length is None:
                raise TusError(413, f"the upload ran over this project's limit of {caller.limit}")
            raise TusError(400, f"the body ran past Upload-Length {end}; kept up to byte {now}")
        if ending == "taken":
            raise TusError(409, f"a newer request took this upload over at byte {now}")
        if ending == "idle":
            raise TusError(408, f"no byte for {IDLE_S:.0f} s; kept up to byte {now}")
        if ending == "cut":
            raise TusError(400, f"the connection closed; kept up to byte {now}")

    async def _settle(self, upload: Upload) -> None:
        """Take a complete upload in (idempotent; caller holds the lease)."""
        if upload.outcome() is not None or not upload.complete():
            return
        try:
            outcome = await self._run(finish, self.base, upload, self._running(upload, take=False))
        except VaultFullError as exc:
            raise TusError(507, f"{exc}; the upload is kept, ask HEAD again later") from exc
        except StoreUnavailable as exc:
            raise TusError(
                503,
                f"{exc}; the upload is kept, ask HEAD again later",
                {"Retry-After": STORE_RETRY_S},
            ) from exc
        except VaultError as exc:
            raise TusError(503, f"{exc}; the upload is kept, ask HEAD again later") from exc
        self.running.pop(upload.id, None)
        if self.shared is not None:
            await self._run(self.shared.conclude, upload.id, outcome)
        if outcome.status == "rejected":
            raise TusError(422, outcome.reason)

    def _running(self, upload: Upload, *, take: bool) -> Digest | None:
        """This process's digest of all of `data`, if nothing touched the file since it was
        fed; `take` removes it (a writer is about to feed it, and puts it back if all went
        well)."""
        known = self.running.pop(upload.id, None) if take else self.running.get(upload.id)
        return known[1] if known and known[0] == upload.signature() else None

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

    # -- housekeeping

    def _finish_pending(self, pending: list[Upload]) -> None:
        """Intakes a crash interrupted finish in a thread, so the server starts at once."""
        if not pending:
            return

        def run() -> None:
            for upload in pending:
                lease = upload.lock()
                try:
                    if upload.outcome() is None and upload.complete():
                        finish(self.base, upload)
                except Exception:
                    log.exception("intake of upload %s failed; the next HEAD retries", upload.id)
                finally:
                    lease.release()

        threading.Thread(target=run, name="upload-intake", daemon=True).start()


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
