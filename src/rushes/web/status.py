"""The status page and health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes import __version__
from rushes.catalog import CustodyHead, Project
from rushes.catalog.queries import count_assets, list_assets
from rushes.web.dependencies import read_session, templates

router = APIRouter()
DbSession = Annotated[Session, Depends(read_session)]


def _status(session: Session) -> dict[str, Any]:
    head = session.get(CustodyHead, 1)
    kinds = count_assets(session)
    return {
        "version": __version__,
        "assets": sum(kinds.values()),
        "by_kind": kinds,
        "projects": session.scalar(select(func.count()).select_from(Project)),
        "custody_events": head.seq if head else 0,
        "custody_head": head.hash if head else None,
    }


@router.get("/api/status")
def api_status(session: DbSession) -> dict[str, Any]:
    return _status(session)


@router.get("/", response_class=HTMLResponse)
def status_page(request: Request, session: DbSession) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "status.html",
        {"status": _status(session), "assets": list_assets(session, limit=50)},
    )
