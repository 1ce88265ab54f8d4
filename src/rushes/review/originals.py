"""Originals still in the field: a reviewer asks for one, and the crew's next sync sends it
before the rest. The request is met when the bytes reach the vault, whichever way they come."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rushes.catalog.models import Arrival, Asset, OriginalRequest
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.review.access import Viewer, require_asset


def request_original(session: Session, viewer: Viewer, sha256: str) -> None:
    require_asset(session, viewer, sha256)
    asset = session.get(Asset, sha256)
    if asset is None or asset.in_vault:
        raise InvalidInput(N_("the base has this original already"))
    if session.get(OriginalRequest, (viewer.project.id, sha256)) is None:
        session.add(
            OriginalRequest(
                project_id=viewer.project.id, asset_sha256=sha256, requested_by_id=viewer.user.id
            )
        )


def is_requested(session: Session, viewer: Viewer, sha256: str) -> bool:
    return session.get(OriginalRequest, (viewer.project.id, sha256)) is not None


def wanted_by_crew(username: str) -> Select[tuple[int, str, datetime]]:
    """(project id, SHA-256, requested at) of the originals this crew member listed that
    reviewers asked for and the vault still lacks, oldest request first."""
    listed_by_them = (
        select(Arrival.id)
        .where(
            Arrival.project_id == OriginalRequest.project_id,
            Arrival.asset_sha256 == OriginalRequest.asset_sha256,
            Arrival.crew == username,
        )
        .exists()
    )
    return (
        select(
            OriginalRequest.project_id,
            OriginalRequest.asset_sha256,
            OriginalRequest.requested_at,
        )
        .join(Asset, Asset.sha256 == OriginalRequest.asset_sha256)
        .where(listed_by_them, ~Asset.in_vault)
        .order_by(OriginalRequest.requested_at, OriginalRequest.asset_sha256)
    )


def wanted(session: Session, viewer: Viewer) -> list[str]:
    """Originals this crew member listed in this project that reviewers asked for."""
    query = wanted_by_crew(viewer.user.username).where(
        OriginalRequest.project_id == viewer.project.id
    )
    return [sha256 for _, sha256, _ in session.execute(query)]
