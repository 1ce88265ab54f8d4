"""Build the FastAPI application around an opened base.

Until accounts exist (the review room), nothing here shows location or device details: the
API returns the public form of each asset's media description only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rushes import __version__
from rushes.base import Base
from rushes.pipeline.background import BackgroundProcessor
from rushes.web import assets, status

STATIC = Path(__file__).with_name("static")


def create_app(base: Base, *, background: bool = False) -> FastAPI:
    """The app; with `background`, it also runs the media pipeline while it serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        processor = BackgroundProcessor(base) if background else None
        if processor:
            processor.start()
        yield
        if processor:
            processor.stop()

    app = FastAPI(
        title="rushes", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.base = base
    app.include_router(status.router)
    app.include_router(assets.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
