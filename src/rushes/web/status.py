"""The health check (public); the base's status page, API and OpenAPI description (site
admins: the route table is a map for an attacker, and the field kit does not need it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes import __version__
from rushes.catalog import CustodyHead, Project
from rushes.catalog.models import StepState
from rushes.catalog.queries import count_assets
from rushes.web.auth import SiteAdmin
from rushes.web.dependencies import Reading, page

router = APIRouter()


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
        "pipeline_waiting": session.scalar(
            select(func.count()).where(StepState.status.in_(("pending", "running")))
        ),
    }


@router.get("/healthz")
def health(session: Reading) -> dict[str, str]:
    session.scalar(select(1))
    return {"status": "ok", "version": __version__}


@router.get("/api/status")
def api_status(_admin: SiteAdmin, session: Reading) -> dict[str, Any]:
    return _status(session)


@router.get("/status", response_class=HTMLResponse)
def status_page(request: Request, _admin: SiteAdmin, session: Reading) -> HTMLResponse:
    return page(request, "status.html", {"status": _status(session)})


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _admin: SiteAdmin) -> dict[str, Any]:
    return request.app.openapi()
