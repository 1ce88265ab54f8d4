"""What wraps every tus request: the protocol's headers and version check, and refusals
(TusError, a busy database) turned into their responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rushes.errors import StoreUnavailable
from rushes.upload import protocol
from rushes.upload.protocol import TusError

Handler = Callable[[Request], Awaitable[Response]]
STORE_RETRY_S = "30"  # as the pages' 503 for a store that does not answer


class TusHeaders:
    """Around every response: Tus-Resumable and no caching; before every request: the version
    check (412) and X-HTTP-Method-Override for clients that cannot send PATCH or DELETE."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        override = headers.get(b"x-http-method-override")
        if override:
            scope = {**scope, "method": override.decode("latin-1").strip().upper()}

        async def send_tus(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"tus-resumable", protocol.VERSION.encode()),
                    (b"cache-control", b"no-store"),
                ]
            await send(message)

        version = headers.get(b"tus-resumable", b"").decode("latin-1").strip()
        if scope["method"] != "OPTIONS" and version != protocol.VERSION:
            refusal = PlainTextResponse(
                f"this server speaks tus {protocol.VERSION}; send Tus-Resumable: "
                f"{protocol.VERSION}\n",
                status_code=412,
                headers={"Tus-Version": protocol.VERSION},
            )
            await refusal(scope, receive, send_tus)
            return
        await self.app(scope, receive, send_tus)


def refusals(handler: Handler) -> Handler:
    """Turn a TusError into its response (no body for HEAD, which may not carry one); a
    database too busy to lend a connection in time, or an S3 store that does not answer, is a
    503 with Retry-After, answered here before any response has started (the app's own
    handler would find the sub-app's 500 begun)."""

    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except PoolTimeout:
            exc = TusError(503, "the base is busy; try again in a moment", {"Retry-After": "2"})
        except StoreUnavailable as silent:
            exc = TusError(
                503,
                f"{silent}; what was acknowledged is kept, ask HEAD again later",
                {"Retry-After": STORE_RETRY_S},
            )
        except TusError as refused:
            exc = refused
        if request.method == "HEAD":
            return Response(status_code=exc.status, headers=exc.headers)
        return PlainTextResponse(f"{exc}\n", status_code=exc.status, headers=exc.headers)

    return endpoint
