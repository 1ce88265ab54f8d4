"""Redactions of a clip: regions drawn over it, keyframed in time, and stretches of its sound,
hidden in every copy that leaves the base. Those who may circle takes (admins, directors) draw
and remove them; everyone who sees the clip sees them, so nobody shares a clip thinking it safe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Asset, Redaction
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_, Term
from rushes.media.redact import Keyframe, Mute, Region
from rushes.review.access import Can, Viewer, require_asset

KINDS = ("region", "mute", "bleep")
MAX_KEYFRAMES = 500
MAX_SECONDS = 86_400.0


def _require(viewer: Viewer) -> None:
    if not viewer.can(Can.SELECT):
        raise AccessDenied(N_("only admins and directors redact clips"))


def _number(data: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(N_("%(name)s: a number"), name=Term(name))
    if not low <= value <= high:
        bounds = {k: int(v) if v.is_integer() else v for k, v in (("low", low), ("high", high))}
        raise InvalidInput(N_("%(name)s: between %(low)s and %(high)s"), name=Term(name), **bounds)
    return float(value)


def clean(kind: str, data: Mapping[str, Any], duration: float | None = None) -> dict[str, Any]:
    """The redaction's data checked and reduced to what is kept, or InvalidInput saying why:
    within the clip (``duration`` seconds, when known), a region's keyframes within its span."""
    if kind not in KINDS:
        raise InvalidInput(N_("kind: one of %(kinds)s"), kinds=", ".join(KINDS))
    # A second of slack: the player's clock is the proxy's, which may run a frame or two long.
    last = math.ceil(duration * 100) / 100 + 1 if duration else MAX_SECONDS
    start = _number(data, "start", 0.0, last)
    end = _number(data, "end", 0.0, last)
    if end <= start:
        raise InvalidInput(N_("end: after start"))
    if kind != "region":
        return {"start": start, "end": end}
    keyframes = data.get("keyframes")
    if not isinstance(keyframes, list) or not 1 <= len(keyframes) <= MAX_KEYFRAMES:
        raise InvalidInput(N_("keyframes: a list of 1 to %(most)s boxes"), most=MAX_KEYFRAMES)
    kept = []
    for each in keyframes:
        if not isinstance(each, Mapping):
            raise InvalidInput(N_("keyframes: each is {t, x, y, w, h}"))
        box = {
            "t": _number(each, "t", start, end),
            "x": _number(each, "x", 0.0, 1.0),
            "y": _number(each, "y", 0.0, 1.0),
            "w": _number(each, "w", 0.001, 1.0),
            "h": _number(each, "h", 0.001, 1.0),
        }
        kept.append(box)
    return {"start": start, "end": end, "keyframes": sorted(kept, key=lambda k: k["t"])}


def add(
    session: Session, viewer: Viewer, sha256: str, kind: str, data: Mapping[str, Any], label: str
) -> Redaction:
    require_asset(session, viewer, sha256)
    _require(viewer)
    if len(label) > 200:
        raise InvalidInput(N_("label: at most %(most)s characters"), most=200)
    row = Redaction(
        project_id=viewer.project.id,
        asset_sha256=sha256,
        kind=kind,
        data=clean(kind, data, (session.get(Asset, sha256).media or {}).get("duration_s")),
        label=label.strip(),
        created_by_id=viewer.user.id,
    )
    session.add(row)
    session.flush()
    return row


def remove(session: Session, viewer: Viewer, sha256: str, redaction_id: int) -> None:
    require_asset(session, viewer, sha256)
    _require(viewer)
    row = session.scalar(
        select(Redaction).where(
            Redaction.id == redaction_id,
            Redaction.asset_sha256 == sha256,
            Redaction.project_id == viewer.project.id,
        )
    )
    if row is None:
        raise NotFoundError(N_("no redaction %(id)s on this clip"), id=redaction_id)
    session.delete(row)


def of_asset(session: Session, project_id: int, sha256: str) -> list[Redaction]:
    return list(
        session.scalars(
            select(Redaction)
            .where(Redaction.project_id == project_id, Redaction.asset_sha256 == sha256)
            .order_by(Redaction.id)
        )
    )


def listed(session: Session, viewer: Viewer, sha256: str) -> list[dict[str, Any]]:
    require_asset(session, viewer, sha256)
    return [as_json(row) for row in of_asset(session, viewer.project.id, sha256)]


def as_json(row: Redaction) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "label": row.label,
        **row.data,
        "created_at": row.created_at.isoformat(),
    }


def plan(rows: list[Redaction]) -> tuple[list[Region], list[Mute]]:
    """What `rushes.media.redact` hides for these rows."""
    regions = [
        Region(
            r.data["start"],
            r.data["end"],
            tuple(Keyframe(**k) for k in r.data["keyframes"]),
        )
        for r in rows
        if r.kind == "region"
    ]
    mutes = [
        Mute(r.data["start"], r.data["end"], bleep=r.kind == "bleep")
        for r in rows
        if r.kind != "region"
    ]
    return regions, mutes
