"""Find footage: a still (a screenshot from social media) or a short clip, uploaded or pasted,
answered with the clips that show its moments (rules in `rushes.review.find`)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from rushes.errors import InvalidInput, TooLarge
from rushes.i18n import N_
from rushes.review import find as finder
from rushes.review.access import Viewer
from rushes.review.assignments import thumbs_of
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, page

FORM_SLACK = 64 * 1024  # the form's other fields and multipart boundaries


def small_body(request: Request) -> None:
    """Refuse an upload over the limit before any of it is read."""
    if request.method != "POST":
        return
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(411, N_("send the file with its length (Content-Length)"))
    if not length.isdigit() or int(length) > finder.MAX_BYTES + FORM_SLACK:
        raise TooLarge(N_("at most %(most)s MB: a still or a short clip"), most=finder.MAX_MB)


router = APIRouter(dependencies=[Depends(check_origin), Depends(small_body)])


@asynccontextmanager
async def _upload(request: Request) -> AsyncIterator[UploadFile]:
    """The form's file, closed afterwards. Read here, after `small_body` and the sign-in: a
    File() parameter would have FastAPI read the whole body before any check."""
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(N_("file: choose a picture or a clip"))
        yield upload


def _search(
    session: Session, viewer: Viewer, upload: UploadFile
) -> tuple[list[finder.Found], bool]:
    """The clips found, and whether the picture has too little detail for "none" to be sure."""
    with tempfile.TemporaryDirectory(prefix="rushes-find-") as folder:
        path = Path(folder) / "query"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1024 * 1024)
        query = finder.read_query(path)
        return finder.find(session, viewer, query), finder.little_detail(query)


def _results_page(
    request: Request, session: Session, viewer: Viewer, upload: UploadFile
) -> HTMLResponse:
    found, little_detail = _search(session, viewer, upload)
    context = {
        "viewer": viewer,
        "found": found,
        "little_detail": little_detail,
        "thumbs": thumbs_of(session, viewer.project.id, [f.sha256 for f in found]),
        "asked": upload.filename or "",
    }
    return page(request, "find.html", context)


@router.get("/p/{slug}/find", response_class=HTMLResponse)
def find_page(request: Request, viewer: InProject) -> HTMLResponse:
    return page(request, "find.html", {"viewer": viewer, "found": None})


@router.post("/p/{slug}/find", response_class=HTMLResponse)
async def find_footage(request: Request, viewer: InProject, session: Reading) -> HTMLResponse:
    async with _upload(request) as upload:
        return await run_in_threadpool(_results_page, request, session, viewer, upload)


@router.post("/api/p/{slug}/find")
async def find_api(request: Request, viewer: InProject, session: Reading) -> dict[str, Any]:
    async with _upload(request) as upload:
        found, little_detail = await run_in_threadpool(_search, session, viewer, upload)
    return {
        "clips": [{**asdict(f), "link": f"/p/{viewer.project.slug}/a/{f.sha256}"} for f in found],
        "little_detail": little_detail,
    }
