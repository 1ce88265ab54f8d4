"""How much `rushes serve` takes on, so that a burst slows callers down instead of stopping it.

- `Gate`: at most `threads` requests at a time run their routes (each holds at most two database
  connections, and the catalog's pool has room for all of them); the others wait their turn up
  to `db_wait` seconds and are then answered 503 with Retry-After. The gate is taken once the
  request's body is in, so slow senders never hold a place. The health check and the tus
  server (whose requests hold a connection only inside one short call) do not queue here:
  each has threads of its own.
- `Buckets`: request rates, per address (`Guard`, before anything else) and per account
  (`rushes.web.auth.signed_in`): over the rate, 429 with Retry-After. Counted in this
  process's memory: several processes each allow the rate.
- `Guard` also gives a request body (an upload's aside) `body_timeout` seconds to arrive; then
  the route sees the client as gone and the caller gets 408 (`rushes.web.errors`).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import HTTPException, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rushes import i18n
from rushes.i18n import N_

UNGATED = ("/healthz",)
UNGUARDED = ("/healthz", "/static/", "/favicon.ico")
BURST_SECONDS = 5  # a bucket holds this many seconds of its rate


class Gate:
    def __init__(self, slots: int, wait: float) -> None:
        self.slots, self.wait = anyio.Semaphore(slots), wait


async def admitted(request: Request) -> AsyncIterator[None]:
    """A place among the requests running now (a dependency of every route)."""
    gate: Gate = request.app.state.gate
    if request.url.path in UNGATED:
        yield
        return
    with anyio.move_on_after(gate.wait) as waiting:
        await gate.slots.acquire()
    if waiting.cancelled_caught:
        raise HTTPException(
            503, N_("the base is busy; try again in a moment"), {"Retry-After": "2"}
        )
    try:
        yield
    finally:
        gate.slots.release()


class Buckets:
    """Token buckets by key: `rate` requests a second, up to BURST_SECONDS of them at once."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate * BURST_SECONDS)
        self.level: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> int:
        """0 if the request may go ahead, else the seconds to wait before the next one."""
        if self.rate <= 0:
            return 0
        now = time.monotonic()
        if len(self.level) > 100_000:  # forget the full ones: they are as good as new
            self.level = {k: v for k, v in self.level.items() if self._now(v, now) < self.burst}
        tokens = self._now(self.level.get(key, (self.burst, now)), now)
        if tokens < 1:
            self.level[key] = (tokens, now)
            return math.ceil((1 - tokens) / self.rate)
        self.level[key] = (tokens - 1, now)
        return 0

    def _now(self, level: tuple[float, float], now: float) -> float:
        return min(self.burst, level[0] + (now - level[1]) * self.rate)


class Guard:
    """ASGI middleware: the per-address rate, and the deadline of a request's body."""

    def __init__(self, app: ASGIApp, per_address: float, body_timeout: float) -> None:
        self.app, self.body_timeout = app, body_timeout
        self.addresses = Buckets(per_address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNGUARDED):
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else ""
        wait = self.addresses.take(address)
        if wait:
            message = N_("too many requests from your address; slow down")
            await _refuse(429, _in_asked_language(scope, message), wait)(scope, receive, send)
            return
        if path.startswith("/files/"):  # the tus server watches its own uploads
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.body_timeout

        async def timed_receive() -> Message:
            with anyio.move_on_after(deadline - time.monotonic()):
                return await receive()
            return {"type": "http.disconnect"}  # the app gives up on the body (408)

        async def closing_send(message: Message) -> None:
            """After a body that came too slowly, the connection is closed, not kept."""
            if message["type"] == "http.response.start" and time.monotonic() > deadline:
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, timed_receive, closing_send)


def _refuse(status: int, message: str, retry: int) -> PlainTextResponse:
    return PlainTextResponse(f"{message}\n", status, headers={"Retry-After": str(retry)})


def _in_asked_language(scope: Scope, message: str) -> str:
    """Before any account is known: the language the browser asks for."""
    asked = dict(scope.get("headers") or []).get(b"accept-language", b"")
    return i18n.translations(i18n.negotiate(asked.decode("latin-1"))).gettext(message)
