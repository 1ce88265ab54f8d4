"""Request-scoped access to the base for route modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from rushes.base import Base

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def get_base(request: Request) -> Base:
    return request.app.state.base


def read_session(request: Request) -> Iterator[Session]:
    with get_base(request).catalog.read() as session:
        yield session
