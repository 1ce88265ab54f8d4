"""The health check (public); the base's status page, API and OpenAPI description (site
admins: the route table is a map for an attacker, and the field kit does not need it)."""

from __future__ import annotations

from typing import Any

from anyio import CapacityLimiter, move_on_after, to_thread
from cryptography import x509
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes import __version__, stamps
from rushes.base import Base
from rushes.catalog import CustodyHead, Project
from rushes.catalog.models import ContentCredentials, StepState
from rushes.catalog.queries import count_assets, credential_problems, failed_steps
from rushes.media import credentials
from rushes.settings import Settings
from rushes.web.auth import SiteAdmin
from rushes.web.dependencies import Reading, page

router = APIRouter()
HEALTH_WAIT_S = 2.0
FAILED_SHOWN = 50  # assets with failed steps listed, most recent failure first


def _status(session: Session, settings: Settings) -> dict[str, Any]:
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
        "failed_assets": session.scalar(
            select(func.count(func.distinct(StepState.asset_sha256))).where(
                StepState.status == "failed"
            )
        ),
        "failed": [
            {"sha256": sha, "steps": [{"step": step, "reason": why} for step, why in steps]}
            for sha, steps in failed_steps(session, limit=FAILED_SHOWN).items()
        ],
        "timestamps": stamps.summary(session, settings),
        "credentials": _credentials(session, settings),
    }


def _stores(base: Base) -> list[dict[str, Any]]:
    """Each S3 store the base uses and whether it answers now: when it does not, proxies and
    originals cannot be served and steps fail until it is back (they are tried again then)."""
    stores: list[dict[str, Any]] = []
    places = [("originals", base.settings.vault_url, base.vault.backend)]
    places.append(("derivatives", base.settings.derivatives_url, base.derivatives))
    for what, url, store in places:
        if url:
            from rushes.vault.s3_client import ping  # boto3 only where a store is configured

            stores.append({"what": what, "url": url, "problem": ping(store.client, store.bucket)})
    return stores


def _credentials(session: Session, settings: Settings) -> dict[str, Any]:
    """Who signs the copies that leave (None: nobody), and what the originals' C2PA said."""
    signer = None
    if settings.c2pa_cert is not None:
        first = x509.load_pem_x509_certificates(settings.c2pa_cert.read_bytes())[0]
        signer = first.subject.rfc4514_string()
    counts = dict(
        session.execute(
            select(ContentCredentials.state, func.count()).group_by(ContentCredentials.state)
        ).all()
    )
    return {
        "signer": signer,
        "tsa": settings.c2pa_tsa_url or None,
        "trust_list": settings.c2pa_trust is not None,
        "read": {state: counts[state] for state in credentials.STATES if state in counts},
        "problems": credential_problems(session, limit=FAILED_SHOWN),
    }


@router.get("/healthz")
async def health(request: Request) -> dict[str, str]:
    """On threads of its own and with a deadline, so the check answers within seconds whatever
    the other requests are waiting for: 503 when the database does not answer in time."""
    threads: CapacityLimiter = request.app.state.health_threads
    with move_on_after(HEALTH_WAIT_S):
        await to_thread.run_sync(_ping, request.app.state.base, limiter=threads)
        return {"status": "ok", "version": __version__}
    raise HTTPException(
        503, f"the database did not answer within {HEALTH_WAIT_S:.0f} s", {"Retry-After": "2"}
    )


def _ping(base: Base) -> None:
    with base.catalog.read() as session:
        session.scalar(select(1))


@router.get("/api/status")
def api_status(request: Request, _admin: SiteAdmin, session: Reading) -> dict[str, Any]:
    base = request.app.state.base
    return {**_status(session, base.settings), "stores": _stores(base)}


@router.get("/status", response_class=HTMLResponse)
def status_page(request: Request, _admin: SiteAdmin, session: Reading) -> HTMLResponse:
    base = request.app.state.base
    status = {**_status(session, base.settings), "stores": _stores(base)}
    return page(request, "status.html", {"status": status})


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _admin: SiteAdmin) -> dict[str, Any]:
    return request.app.openapi()
