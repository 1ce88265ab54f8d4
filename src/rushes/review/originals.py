"""Originals still in the field: a reviewer asks for one, and the crew's next sync sends it
before the rest. The request is met when the bytes reach the vault, whichever way they come."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Arrival, Asset, OriginalRequest
from rushes.errors import InvalidInput
from rushes.review.access import Viewer, require_asset


def request_original(session: Session, viewer: Viewer, sha256: str) -> None:
    require_asset(session, viewer, sha256)
    asset = session.get(Asset, sha256)
    if asset is None or asset.in_vault:
        raise InvalidInput("the base has this original already")
    if session.get(OriginalRequest, (viewer.project.id, sha256)) is None:
        session.add(
            OriginalRequest(
                project_id=viewer.project.id, asset_sha256=sha256, requested_by_id=viewer.user.id
            )
        )


def is_requested(session: Session, viewer: Viewer, sha256: str) -> bool:
    return session.get(OriginalRequest, (viewer.project.id, sha256)) is not None


def wanted(session: Session, viewer: Viewer) -> list[str]:
    """Originals this crew member listed that reviewers asked for, oldest request first."""
    listed_by_them = select(Arrival.asset_sha256).where(
        Arrival.project_id == viewer.project.id, Arrival.crew == viewer.user.username
    )
    return list(
        session.scalars(
            select(OriginalRequest.asset_sha256)
            .join(Asset, Asset.sha256 == OriginalRequest.asset_sha256)
            .where(
                OriginalRequest.project_id == viewer.project.id,
                OriginalRequest.asset_sha256.in_(listed_by_them),
                ~Asset.in_vault,
            )
            .order_by(OriginalRequest.requested_at, OriginalRequest.asset_sha256)
        )
    )
