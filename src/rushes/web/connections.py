"""What one connection may hold of `rushes serve`: its request headers are bounded in size and
in time, so a client that sends endless or slow headers is cut off instead of held (uvicorn
itself buffers headers without a limit and waits for them for ever).

An idle connection between requests is closed after the same time as slow headers, not
uvicorn's 5 s: common clients (httpx, for one) drop an idle connection after 5 s themselves, and
when both sides give up at the same moment the client's next request meets a reset connection.
Slow request bodies are cut by `rushes.web.limits.Guard` (uploads: the tus server's own watchdog).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from rushes.settings import Settings

TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\nContent-Length: 32\r\n\r\nthe request headers are too big\n"
)


def bounded_headers(max_bytes: int, seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's protocol, refusing headers over `max_bytes` (431) and closing a connection
    whose headers take longer than `seconds` to arrive (from connect, or from the end of the
    previous response)."""

    class BoundedHeaders(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.header_bytes = 0
            self.in_headers = True
            self.header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._expect_headers()

        def data_received(self, data: bytes) -> None:
            if self.in_headers:
                self.header_bytes += len(data)
            super().data_received(data)
            if (
                self.in_headers
                and self.header_bytes > max_bytes
                and not self.transport.is_closing()
            ):
                self.transport.write(TOO_LARGE)
                self.transport.close()

        def on_headers_complete(self) -> None:
            self.in_headers = False
            if self.header_deadline:
                self.header_deadline.cancel()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.pipeline:  # a pipelined request's headers are in already
                self._expect_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            if self.header_deadline:
                self.header_deadline.cancel()
            super().connection_lost(exc)

        def _expect_headers(self) -> None:
            self.in_headers, self.header_bytes = True, 0
            if self.header_deadline:
                self.header_deadline.cancel()
            self.header_deadline = self.loop.call_later(seconds, self._too_slow)

        def _too_slow(self) -> None:
            if self.in_headers and not self.transport.is_closing():
                self.transport.close()

    return BoundedHeaders


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for a connection of `rushes serve` (the tests' servers use them too)."""
    return {
        "http": bounded_headers(settings.header_limit, settings.header_timeout),
        "timeout_keep_alive": settings.header_timeout,
    }
