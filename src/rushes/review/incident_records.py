"""The register as records: every field of an incident as JSON types for pages, the API and
exports, and incidents created from records (a CSV or JSON import).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from rushes.catalog.models import Incident, User
from rushes.errors import InvalidInput, NotFoundError
from rushes.review.access import Viewer
from rushes.review.incident_fields import FIELDS, FIGURES, Filters, local
from rushes.review.incidents import (
    create_incident,
    link_asset,
    linked_assets,
    list_incidents,
    relate,
    related_of,
    require_record,
)


def as_record(
    session: Session, incident: Incident, visible: Select[tuple[str]] | None
) -> dict[str, Any]:
    """Every field as JSON types, local times with their offsets, linked clips and related ids."""
    verifier = session.get(User, incident.verified_by_id) if incident.verified_by_id else None
    started = local(incident.started_at, incident.started_offset)
    ended = local(incident.ended_at, incident.ended_offset)
    return {
        "code": incident.code,
        "title": incident.title,
        "type": incident.type,
        "started_at": started.isoformat() if started else None,
        "ended_at": ended.isoformat() if ended else None,
        "place": incident.place,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "accuracy_m": incident.accuracy_m,
        **{name: getattr(incident, name) for name in FIGURES},
        "verification": incident.verification,
        "verified_by": verifier.username if verifier else None,
        "verified_at": incident.verified_at.isoformat() if incident.verified_at else None,
        "description": incident.description,
        "related": [other.code for other in related_of(session, incident)],
        "assets": [
            {"sha256": row.asset_sha256, "relation": row.relation}
            for row in linked_assets(session, incident, visible)
        ],
    }


def records(
    session: Session, project_id: int, filters: Filters, visible: Select[tuple[str]] | None
) -> list[dict[str, Any]]:
    return [as_record(session, i, visible) for i in list_incidents(session, project_id, filters)]


@dataclass
class Imported:
    codes: list[str]  # the incidents created
    problems: list[tuple[int, str]]  # (line, reason) for each refused row


def import_records(
    session: Session,
    viewer: Viewer,
    rows: Iterable[tuple[int, Mapping[str, str] | str]],
    source: str,
) -> Imported:
    """Create an incident per good row, each in a savepoint; (line, reason) for each bad one
    (a row given as a string is already a reason: the file format could not read it).

    The caller commits or rolls back the whole file, so a dry run checks exactly what an
    import would do, duplicates within the file included. `related` may name earlier rows."""
    require_record(viewer)
    done = Imported([], [])
    for line, row in rows:
        if isinstance(row, str):
            done.problems.append((line, row))
            continue
        fields = {k: v for k, v in row.items() if k in FIELDS or k == "code"}
        try:
            with session.begin_nested():
                created = create_incident(
                    session, viewer, fields, via=f"import {source} line {line}"
                )
                for item in (row.get("assets") or "").split():
                    sha, _, relation = item.partition(":")
                    link_asset(session, viewer, created.code, sha, relation or "aftermath")
                for other in (row.get("related") or "").split():
                    relate(session, viewer, created.code, other, True)
        except (InvalidInput, NotFoundError) as exc:
            done.problems.append((line, str(exc)))
        else:
            done.codes.append(created.code)
    return done
