"""Build the FastAPI application around an opened base.

Until accounts exist (the review room), nothing here shows location or device details: the
API returns the public form of each asset's media description only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rushes import __version__
from rushes.base import Base
from rushes.web import assets, status

STATIC = Path(__file__).with_name("static")


def create_app(base: Base) -> FastAPI:
    app = FastAPI(title="rushes", version=__version__, docs_url=None, redoc_url=None)
    app.state.base = base
    app.include_router(status.router)
    app.include_router(assets.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
