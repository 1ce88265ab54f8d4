"""Build the FastAPI application around an opened base.

Every page and API route except sign-in, setup, the health check, the icon and static files
needs an account (the OpenAPI description is for site admins only); what each role may see and
do is decided in `rushes.review.access`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from rushes import __version__, holds, stamps
from rushes.base import Base
from rushes.pipeline.background import BackgroundProcessor
from rushes.upload import create_upload_app
from rushes.web import (
    accounts,
    admin,
    assignments,
    bags,
    browse,
    dashboard,
    errors,
    exports,
    field,
    find,
    inbox,
    incidents,
    legal_hold,
    limits,
    me,
    player,
    redactions,
    search,
    selects,
    shares,
    status,
)
from rushes.web.hardening import SecurityHeaders

STATIC = Path(__file__).with_name("static")


def create_app(base: Base, *, background: bool = False) -> FastAPI:
    """The app; with `background`, it also runs the media pipeline while it serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # One thread for each admitted request, and a few for static files; uploads and the
        # health check have threads of their own, so neither can queue behind the other.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads + 4
        app.state.gate = limits.Gate(settings.threads, settings.db_wait)
        app.state.health_threads = CapacityLimiter(2)
        processor = BackgroundProcessor(base) if background else None
        keeper = stamps.Keeper(base) if background and stamps.authorities(settings) else None
        holder = holds.Keeper(base) if background and holds.may_hold(base) else None
        for thread in (processor, keeper, holder):
            if thread:
                thread.start()
        yield
        for thread in (processor, keeper, holder):
            if thread:
                thread.stop()

    settings = base.settings
    app = FastAPI(
        title="rushes",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # site admins read it at /openapi.json (web/status.py)
        lifespan=lifespan,
        dependencies=[Depends(limits.admitted, scope="function")],
    )
    app.state.base = base
    app.state.account_rate = limits.Buckets(settings.rate_limit)
    app.add_middleware(
        limits.Guard, per_address=settings.rate_limit_address, body_timeout=settings.body_timeout
    )
    pages = (accounts, admin, status, browse, player, assignments, selects, me, inbox, search, find)
    for module in (
        *pages,
        field,
        incidents,
        bags,
        legal_hold,
        dashboard,
        exports,
        redactions,
        shares,
    ):
        app.include_router(module.router)
    errors.install(app)

    @app.get("/favicon.ico")
    def favicon() -> FileResponse:
        """Browsers ask for it at the root whatever the pages link; public, like static files."""
        return FileResponse(
            STATIC / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/files", create_upload_app(base))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders, tiles=lambda: base.settings.map_tiles)
    return app
