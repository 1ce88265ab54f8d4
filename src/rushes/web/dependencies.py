"""Request-scoped access to the base, the catalog and templates for route modules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from rushes import i18n
from rushes.base import Base
from rushes.catalog.models import User
from rushes.exports import jobs
from rushes.media.formats import friendly
from rushes.media.timecode import frame_at, smpte
from rushes.review.inbox import unread_count
from rushes.review.notes import timecode
from rushes.web import language

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
# Timecodes in the page's digits, as every other number it shows.
templates.env.filters["smpte"] = language.in_figures(smpte)
templates.env.filters["frame_at"] = frame_at  # seconds -> frame, for |smpte
templates.env.filters["format_name"] = friendly
templates.env.filters["problem"] = lambda status: language.translated(jobs.problem(status))
# A note's position at its clip's rate.
templates.env.globals["note_timecode"] = language.in_figures(timecode)
language.install(templates.env)


def get_base(request: Request) -> Base:
    return request.app.state.base


def read_session(request: Request) -> Iterator[Session]:
    with get_base(request).catalog.read() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    with get_base(request).catalog.write() as session:
        yield session


# Sessions end with the route function, before the response is sent: a client that acts on a
# response (a redirect after sign-in, say) must find the write committed.
Reading = Annotated[Session, Depends(read_session, scope="function")]
Writing = Annotated[Session, Depends(write_session, scope="function")]


def _unread(request: Request, user: User) -> int | None:
    """The header's count. None for an error page, which is rendered on the event loop, where
    a blocking database read would stall every request of the process."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with get_base(request).catalog.read() as session:
            return unread_count(session, user)
    return None


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with the signed-in identity, CSRF token, unread count and language
    every page needs (rendering happens here, inside the request's language)."""
    identity = getattr(request.state, "identity", None)
    shared = {"identity": identity, "csrf": identity.csrf if identity else ""}
    if identity is not None and "unread" not in context:
        shared["unread"] = _unread(request, identity.user)
    locale = language.chosen(request)
    with i18n.active(locale):
        response = templates.TemplateResponse(
            request,
            name,
            {**shared, **language.context(locale), **context},
            status_code=status,
            headers=headers,
        )
    response.headers["content-language"] = locale.language
    response.headers.setdefault("vary", "Accept-Language, Cookie")
    return response


def job_answer(request: Request, status: dict[str, Any]) -> dict[str, Any]:
    """A background job's status as its page's script (jobs.js) follows it: why it failed in
    English (`error`) and in the page's language (`problem`)."""
    shown = {key: status.get(key) for key in ("id", "state", "done", "total", "error", "file")}
    failed = jobs.problem(status)
    return {**shown, "problem": language.said(request, failed) if failed else None}
