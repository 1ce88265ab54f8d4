"""Headers that tell browsers to hold the review room to what it is: its own scripts and styles
only, never framed by another site, never sniffed into another type, and no path leaked in the
Referer to other sites.

A pure ASGI middleware, so the headers reach every response: pages, the JSON API, static files
and the tus endpoints mounted beside them, errors included. The pages carry no inline script,
handler or style; the map tiles' host (when configured) is the one outside origin images may
come from.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def tile_source(template: str) -> str:
    """The CSP source of a tile URL template: its origin, '{s}.' subdomains as a wildcard."""
    if not template:
        return ""
    parts = urlsplit(template)
    host = parts.netloc.replace("{s}.", "*.")
    if not parts.scheme or not host or "{" in host:
        return f"{parts.scheme}:" if parts.scheme in ("http", "https") else ""
    return f"{parts.scheme}://{host}"


@cache
def policy(map_tiles: str = "") -> str:
    images = " ".join(filter(None, ("'self' data: blob:", tile_source(map_tiles))))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "font-src 'self'",  # Noto Sans Arabic, shipped in static/vendor/
            f"img-src {images}",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """Adds the hardening headers to every HTTP response that does not set its own.

    `tiles` gives the map tile template at each request: the base's settings may change while
    it serves (tests swap them), and the policy must follow."""

    def __init__(self, app: ASGIApp, tiles: Callable[[], str]) -> None:
        self.app = app
        self.tiles = tiles

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-security-policy", policy(self.tiles()).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers() if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
