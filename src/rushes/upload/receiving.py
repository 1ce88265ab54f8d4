"""The body of one PATCH (or creation-with-upload), handed to the upload's writer as it arrives.

The body comes in batches of about CHUNK bytes, as received (not copied), to the writer's
threads. A watchdog ends the wait for bytes once a HEAD took the upload over (here, or on
another host when uploads are shared), the writer failed (a full disk), or the link went quiet
for IDLE_S; whatever arrived is handed to the writer whichever way the request ends, and the
client is told how it ended (`raise_for_ending`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request

from rushes.upload.protocol import TusError
from rushes.upload.store import Upload, Writer

CHUNK = 1 << 20
PIECES = 256  # a slow link's small pieces: one writev takes at most IOV_MAX (1024)
POLL_S = 0.1
IDLE_S = 60.0


async def stream(
    request: Request,
    upload: Upload,
    writer: Writer,
    room: int,
    threads: CapacityLimiter,
    superseded: Callable[[], bool] | None = None,
) -> str:
    """Hand the body to `writer` as it arrives, in batches of about CHUNK bytes (the pieces as
    received, not copied), up to `room` bytes. Returns how it ended: end, cut (connection
    dropped), taken (a HEAD took over), idle, over (body too long), or failed (the writer did:
    a full disk is said at once, not after the rest of the body). Whatever arrived is handed
    to the writer whichever way it ends."""
    watch = _Watch(upload, writer, superseded)
    watchdog = asyncio.create_task(watch.run())
    batch: list[bytes] = []
    size = 0
    try:
        while True:
            watch.waiting = True
            try:
                message = await request.receive()
            except asyncio.CancelledError:
                if not watch.stopped:
                    raise
                task = asyncio.current_task()
                assert task is not None
                task.uncancel()
                return watch.stopped
            finally:
                watch.waiting = False
            if message["type"] == "http.disconnect":
                return "cut"
            watch.last = time.monotonic()
            piece: bytes = message.get("body", b"")
            over = size + len(piece) > room
            if over:
                piece = piece[: room - size]
            if piece:
                batch.append(piece)
                size += len(piece)
            more = message.get("more_body", False)
            if size >= CHUNK or len(batch) >= PIECES or over or not more:
                room -= size
                full, batch, size = batch, [], 0
                if writer.ready():
                    writer.write(full)
                else:
                    await to_thread.run_sync(writer.write, full, limiter=threads)
                if writer.failed():
                    return "failed"
                if upload.claim() != watch.claim or watch.stopped == "taken":
                    return "taken"
            if over:
                return "over"
            if not more:
                return "end"
    finally:
        watchdog.cancel()
        if batch:
            await to_thread.run_sync(
                writer.write, batch, limiter=threads
            )  # the threads take a final batch


def raise_for_ending(ending: str, upload: Upload, end: int, limit: int) -> None:
    """Tell the client how its body ended when it was not received whole (what arrived is
    kept): `end` is the byte it could run to, `limit` the project's largest upload."""
    now = upload.offset()
    if ending == "over":
        if upload.info.length is None:
            raise TusError(413, f"the upload ran over this project's limit of {limit}")
        raise TusError(400, f"the body ran past Upload-Length {end}; kept up to byte {now}")
    if ending == "taken":
        raise TusError(409, f"a newer request took this upload over at byte {now}")
    if ending == "idle":
        raise TusError(408, f"no byte for {IDLE_S:.0f} s; kept up to byte {now}")
    if ending == "cut":
        raise TusError(400, f"the connection closed; kept up to byte {now}")


class _Watch:
    """Stops a request waiting for bytes once a HEAD took its upload, its writer failed, or the
    link went quiet."""

    def __init__(
        self, upload: Upload, writer: Writer, superseded: Callable[[], bool] | None
    ) -> None:
        self.upload, self.writer, self.superseded = upload, writer, superseded
        self.claim = upload.claim()
        self.task = asyncio.current_task()
        self.waiting = False
        self.stopped = ""
        self.last = time.monotonic()

    async def run(self) -> None:
        polls = 0
        while not self.stopped:
            await asyncio.sleep(POLL_S)
            polls += 1
            # Another host's HEAD counts up the claim in the catalog: asked twice a second.
            asked = self.superseded is not None and polls % 5 == 0
            if asked and await to_thread.run_sync(self.superseded):  # type: ignore[arg-type]
                self.stopped = "taken"
                if not self.waiting:
                    return  # the request sees it after its batch
            elif not self.waiting:
                continue
            elif self.upload.claim() != self.claim:
                self.stopped = "taken"
            elif self.writer.failed():
                self.stopped = "failed"
            elif time.monotonic() - self.last > IDLE_S:
                self.stopped = "idle"
            else:
                continue
            assert self.task is not None
            self.task.cancel()
