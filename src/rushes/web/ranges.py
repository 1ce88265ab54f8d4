"""HTTP range requests over a stored file that is not on this disk (a proxy in S3).

A player seeks by asking for `bytes=N-` or `bytes=N-M`; the store is asked for the same range,
and its answer is passed on a chunk at a time, so nothing is held whole. One range per request,
as browsers ask; anything else is answered with the whole file (which RFC 9110 allows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fastapi import Request
from starlette.responses import Response, StreamingResponse

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 256 << 10


def ranged(
    request: Request,
    opener: Callable[[int, int], BinaryIO],
    size: int,
    media_type: str,
    headers: dict[str, str],
) -> Response:
    """Answer `request` from `opener(start, end)` (inclusive byte offsets) of a file of `size`
    bytes. The store is asked before answering, so a missing file raises here, not half-way."""
    wanted = _RANGE.fullmatch(request.headers.get("range", "").strip())
    start, end, status = 0, size - 1, 200
    if wanted and wanted.group(1):
        start = int(wanted.group(1))
        end = min(int(wanted.group(2)), size - 1) if wanted.group(2) else size - 1
        status = 206
    elif wanted and wanted.group(2):  # the last N bytes
        start, status = max(0, size - int(wanted.group(2))), 206
    if status == 206 and (start >= size or start > end):
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    headers = {**headers, "Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    source = opener(start, end) if size else None
    return StreamingResponse(
        _chunks(source, end - start + 1), status_code=status, media_type=media_type, headers=headers
    )


def _chunks(source: BinaryIO | None, length: int) -> Iterator[bytes]:
    if source is None:
        return
    with source:
        while length > 0 and (chunk := source.read(min(length, _CHUNK))):
            length -= len(chunk)
            yield chunk
