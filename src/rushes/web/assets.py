"""JSON API over assets: list and one asset, public fields only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from rushes.catalog import Asset
from rushes.catalog.queries import find_asset, list_assets
from rushes.errors import NotFoundError
from rushes.media import strip_sensitive
from rushes.web.dependencies import read_session

router = APIRouter(prefix="/api/assets")
DbSession = Annotated[Session, Depends(read_session)]


def public(asset: Asset) -> dict[str, Any]:
    return {
        "sha256": asset.sha256,
        "size": asset.size,
        "kind": asset.kind,
        "captured_at": asset.captured_at.isoformat() if asset.captured_at else None,
        "captured_offset": asset.captured_offset,
        "first_received_at": asset.first_received_at.isoformat(),
        "probe_error": asset.probe_error,
        "media": strip_sensitive(asset.media) if asset.media else None,
    }


@router.get("")
def asset_list(
    session: DbSession,
    project: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows = list_assets(session, project=project, limit=limit, offset=offset)
    return {"assets": [public(a) for a in rows], "limit": limit, "offset": offset}


@router.get("/{sha256}")
def asset_detail(sha256: str, session: DbSession) -> dict[str, Any]:
    try:
        return public(find_asset(session, sha256))
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
