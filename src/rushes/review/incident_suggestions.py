"""Clips proposed for an incident: filmed close to it in time and place, or copies of its clips.

A reviewer accepts (the clip is linked) or rejects (it is not offered again). Only the distance
is ever shown, never a clip's coordinates: crew and directors may not see where a phone was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rushes.catalog.models import Asset, Incident, IncidentAsset, SuggestionDecision, utcnow
from rushes.catalog.queries import cluster_of
from rushes.errors import InvalidInput
from rushes.i18n import N_, Text
from rushes.review.access import Can, Viewer, resolve_visible, visible_assets
from rushes.review.incidents import (
    get_incident,
    link_asset,
    record_change,
    require_record,
)

BEFORE = timedelta(hours=2)  # cameras often roll on the approach, or clocks drift
AFTER_END = timedelta(hours=6)  # the aftermath and the rescue are filmed long after
AFTER_START = timedelta(hours=12)  # when the end is unknown
MIN_RADIUS_M = 2_000.0
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Suggestion:
    sha256: str
    reason: Text  # str() in English; a page shows it in its language


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), good to a few metres at these ranges."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _when(captured: datetime, started: datetime) -> Text:
    minutes = round((captured - started).total_seconds() / 60)
    span = abs(minutes)
    length = Text(N_("%(minutes)s min"), minutes=span)
    if span >= 90:
        length = Text(N_("%(hours)s h %(minutes)s min"), hours=span // 60, minutes=span % 60)
    if minutes < 0:
        return Text(N_("filmed %(span)s before the start"), span=length)
    return Text(N_("filmed %(span)s after the start"), span=length)


def _how_far(metres: float) -> Text:
    if metres < 1000:
        return Text(N_("%(metres)s m"), metres=int(round(metres, -1)))
    return Text(N_("%(km)s km"), km=round(metres / 1000, 1))


def _nearby(session: Session, incident: Incident, visible: Select[tuple[str]]) -> dict[str, Text]:
    """Clips shot within the incident's window and radius, with why."""
    if incident.latitude is None or incident.longitude is None:
        return {}
    last = incident.ended_at + AFTER_END if incident.ended_at else incident.started_at + AFTER_START
    radius = max(incident.accuracy_m or 0.0, MIN_RADIUS_M)
    rows = session.execute(
        select(Asset.sha256, Asset.captured_at, Asset.media).where(
            Asset.sha256.in_(visible),
            Asset.captured_at >= incident.started_at - BEFORE,
            Asset.captured_at <= last,
        )
    ).all()
    found = {}
    for sha, captured, media in rows:
        place = (media or {}).get("location") or {}
        if place.get("latitude") is None or place.get("longitude") is None:
            continue
        metres = distance_m(
            incident.latitude, incident.longitude, place["latitude"], place["longitude"]
        )
        if metres <= radius:
            found[sha] = Text(
                N_("%(when)s, %(distance)s away"),
                when=_when(captured, incident.started_at),
                distance=_how_far(metres),
            )
    return found


def suggestions_for(session: Session, viewer: Viewer, incident: Incident) -> list[Suggestion]:
    """Visible clips not yet linked nor rejected: near in time and place, or copies of a link."""
    visible = visible_assets(viewer)
    linked = set(
        session.scalars(
            select(IncidentAsset.asset_sha256).where(IncidentAsset.incident_id == incident.id)
        ).all()
    )
    rejected = set(
        session.scalars(
            select(SuggestionDecision.asset_sha256).where(
                SuggestionDecision.incident_id == incident.id,
                SuggestionDecision.accepted.is_(False),
            )
        ).all()
    )
    # Only roles that may see where clips were filmed get suggestions by place: for anyone
    # else, moving an incident's coordinates and watching the list would locate a crew.
    reasons = _nearby(session, incident, visible) if viewer.can(Can.SEE_LOCATION) else {}
    a_copy = Text(N_("a copy of a linked clip"))
    copies = set().union(*(cluster_of(session, sha, visible) for sha in linked)) - linked
    if copies:
        shown = visible.subquery().c[0]
        for copy in session.scalars(select(shown).where(shown.in_(copies))):
            reasons.setdefault(copy, a_copy)
    return [
        Suggestion(sha, reasons[sha]) for sha in sorted(reasons) if sha not in linked | rejected
    ]


def decide(
    session: Session, viewer: Viewer, code: str, sha256: str, accept: bool, relation: str
) -> None:
    """Accept (link with `relation`) or reject a suggested clip; both are kept in the history."""
    require_record(viewer)
    incident = get_incident(session, viewer, code)
    sha256 = resolve_visible(session, viewer, sha256)
    if accept:
        link_asset(session, viewer, code, sha256, relation)
    elif session.get(IncidentAsset, (incident.id, sha256)) is not None:
        raise InvalidInput(N_("this clip is linked: unlink it instead of rejecting it"))
    row = session.get(SuggestionDecision, (incident.id, sha256))
    if row is None:
        row = SuggestionDecision(incident_id=incident.id, asset_sha256=sha256)
        session.add(row)
    row.accepted, row.user_id, row.at = accept, viewer.user.id, utcnow()
    if not accept:
        record_change(session, incident, viewer.user.id, "suggestion", None, f"{sha256} rejected")
