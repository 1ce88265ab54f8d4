"""The incident register: record strikes and rescues, their figures, place and footage.

These figures will be quoted, so nothing is overwritten silently: every changed field, every
clip linked or unlinked, every verification step is an IncidentChange row (who, when, old,
new) written in the same transaction as the change. A figure is None when unknown, never 0.
Times arrive with the UTC offset they were given in (or, without one, the offset of the
project's time zone on that date); they are stored in UTC with the offset kept, so a page shows
the local time the crew lived.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rushes.catalog.models import (
    Incident,
    IncidentAsset,
    IncidentChange,
    IncidentLink,
    IncidentType,
    Project,
    User,
    utcnow,
)
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_, Term
from rushes.review.access import Can, Viewer, resolve_visible
from rushes.review.incident_fields import FIELDS, RELATIONS, Filters, check_whole, local, parse
from rushes.review.projects import zone_of

CLIP_FIELDS = ("footage", "suggestion")  # history rows whose values start with a SHA-256
HIDDEN_CLIP = "a clip you may not see"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def _check_type(session: Session, name: str) -> None:
    found = session.get(IncidentType, name)
    if found is None or found.retired:
        active = session.scalars(
            select(IncidentType.name).where(IncidentType.retired.is_(False))
        ).all()
        message = N_("type: '%(given)s' is retired; use one of %(choices)s")
        if found is None:
            message = N_("type: '%(given)s' is unknown; use one of %(choices)s")
        raise InvalidInput(message, given=name, choices=", ".join(active))


def require_record(viewer: Viewer) -> None:
    if not viewer.can(Can.RECORD):
        raise AccessDenied(N_("only admins, directors and investigators record incidents"))


# ---- Incidents --------------------------------------------------------------------------------


def require_register(viewer: Viewer) -> None:
    """The register is the whole project's record (places, figures, witnesses' words): crew,
    who see their own footage and what is addressed to them, do not read it, so a seized
    phone signed in as a volunteer gives none of it away."""
    if not viewer.can(Can.SEE_ALL):
        raise AccessDenied(
            N_("only admins, directors and investigators read the incident register")
        )


def get_incident(session: Session, viewer: Viewer, code: str) -> Incident:
    """An incident of the viewer's project; another project's code is as missing as a typo."""
    require_register(viewer)
    return find_incident(session, viewer.project, code)


def find_incident(session: Session, project: Project, code: str) -> Incident:
    """The project's incident of that code (not a deleted one)."""
    found = session.scalar(
        select(Incident).where(
            Incident.project_id == project.id,
            Incident.code == code,
            Incident.deleted_at.is_(None),
        )
    )
    if found is None:
        raise NotFoundError(
            N_("no incident '%(code)s' in project '%(project)s'"),
            code=code[:40],
            project=project.slug,
        )
    return found


def _code_taken(session: Session, project_id: int, code: str) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.project_id == project_id, func.lower(Incident.code) == code.lower())
        )
    )


def make_code(session: Session, project_id: int, place: str, type: str, started: datetime) -> str:
    """PLA-YYYY-MMDD from the place (else the type) and the local date, -2, -3… if taken."""
    letters = "".join(c for c in (place or "") if c.isascii() and c.isalpha()) or type
    day = started.strftime("%Y-%m%d")
    code = stem = f"{letters[:3].upper()}-{day}"
    n = 1
    while _code_taken(session, project_id, code):
        n += 1
        code = f"{stem}-{n}"
    return code


def record_change(
    session: Session, incident: Incident, user_id: int, field: str, old: Any, new: Any
) -> None:
    session.add(
        IncidentChange(
            incident_id=incident.id, user_id=user_id, field=field, old=_json(old), new=_json(new)
        )
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value.isoformat() if isinstance(value, datetime) else value)


def create_incident(
    session: Session, viewer: Viewer, raw: Mapping[str, Any], via: str = "web"
) -> Incident:
    """A new incident; `via` says how it came (web, api, import FILE line N) in its history."""
    require_record(viewer)
    values = parse(raw, zone_of(viewer.project))
    for needed in ("title", "type"):
        if not values.get(needed):
            raise InvalidInput(N_("%(field)s: cannot be empty"), field=Term(needed))
    check_whole(values)
    _check_type(session, values["type"])
    project_id = viewer.project.id
    given = values.pop("code", "")
    if given and not _CODE.fullmatch(given):
        raise InvalidInput(
            N_("code: '%(given)s': up to 40 letters, digits, '-', '.' or '_' (e.g. ALP-2016-0412)"),
            given=given[:50],
        )
    user_id = viewer.user.id
    while True:  # another writer may take the same code between our look and our insert
        if given and _code_taken(session, project_id, given):
            raise InvalidInput(
                N_("code: '%(given)s' is already used in this project; choose another"),
                given=given,
            )
        if given:
            code = given
        else:
            started = local(values["started_at"], values["started_offset"])
            assert started is not None  # check_whole: an incident has its start
            code = make_code(session, project_id, values.get("place", ""), values["type"], started)
        incident = Incident(project_id=project_id, code=code, created_by_id=user_id, **values)
        if values.get("verification", "unverified") != "unverified":
            incident.verified_by_id, incident.verified_at = user_id, utcnow()
        try:
            with session.begin_nested():
                session.add(incident)
        except IntegrityError:
            if _code_taken(session, project_id, code):
                continue  # the other writer's code is committed and visible now: look again
            raise
        break
    record_change(session, incident, user_id, "created", None, via)
    for name, value in values.items():
        if value not in (None, ""):
            record_change(session, incident, user_id, name, None, value)
    return incident


def update_incident(
    session: Session, viewer: Viewer, code: str, raw: Mapping[str, Any]
) -> Incident:
    """Change the fields given; each change is one history row. The code never changes."""
    require_record(viewer)
    incident = get_incident(session, viewer, code)
    values = parse(_same_local_time(incident, raw), zone_of(viewer.project))
    if "code" in values and values.pop("code") not in ("", incident.code):
        raise InvalidInput(N_("code: an incident's id does not change (links and exports use it)"))
    state = {name: getattr(incident, name) for name in FIELDS} | values
    check_whole(state)
    if values.get("type", incident.type) != incident.type:
        _check_type(session, values["type"])
    changed = {n: v for n, v in values.items() if v != getattr(incident, n)}
    for name, value in changed.items():
        record_change(session, incident, viewer.user.id, name, getattr(incident, name), value)
        setattr(incident, name, value)
    if "verification" in changed:
        verified = incident.verification != "unverified"
        incident.verified_by_id = viewer.user.id if verified else None
        incident.verified_at = utcnow() if verified else None
    if changed:
        incident.updated_at = utcnow()
    return incident


def _same_local_time(incident: Incident, raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """An offset changed alone moves the time it was given for, not the clock: 14:02 said to be
    +03:00 rather than +00:00 is still 14:02 where it happened."""
    given = dict(raw)
    for edge in ("started", "ended"):
        if f"{edge}_offset" in given and f"{edge}_at" not in given:
            shown = local(getattr(incident, f"{edge}_at"), getattr(incident, f"{edge}_offset"))
            given[f"{edge}_at"] = shown.replace(tzinfo=None).isoformat() if shown else None
    return given


def delete_incident(session: Session, viewer: Viewer, code: str, reason: str) -> Incident:
    """Take an incident off every list, export and dashboard; admins only, with a reason.

    Nothing is erased: the row keeps its last state and says who deleted it, when and why,
    and its history gains a "deleted" row. Its code stays taken. Linked clips are untouched
    (a link is a catalog record, not a touch of the original, so no custody event)."""
    if not viewer.can(Can.MANAGE):
        raise AccessDenied(N_("only the project's admins delete incidents"))
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise InvalidInput(N_("reason: say in 1 to 2000 characters why the incident goes"))
    incident = get_incident(session, viewer, code)
    incident.deleted_at, incident.deleted_by_id = utcnow(), viewer.user.id
    incident.deleted_reason = reason
    record_change(session, incident, viewer.user.id, "deleted", None, reason)
    return incident


def list_incidents(session: Session, project_id: int, filters: Filters) -> list[Incident]:
    """The project's incidents matching the filters, in order of their start."""
    query = select(Incident).where(Incident.project_id == project_id, Incident.deleted_at.is_(None))
    if filters.type:
        query = query.where(Incident.type == filters.type)
    if filters.verification:
        query = query.where(Incident.verification == filters.verification)
    if filters.start:
        query = query.where(Incident.started_at >= datetime.combine(filters.start, time(), UTC))
    if filters.end:
        after = datetime.combine(filters.end + timedelta(days=1), time(), UTC)
        query = query.where(Incident.started_at < after)
    return list(session.scalars(query.order_by(Incident.started_at, Incident.code)).all())


@dataclass(frozen=True)
class Change:
    """One history row as a reader sees it: values decoded from their JSON text."""

    at: datetime
    user: str
    field: str
    old: Any
    new: Any


def history_of(
    session: Session, incident: Incident, visible: Select[tuple[str]] | None
) -> list[Change]:
    """Every change, oldest first, with who made it. A footage row about a clip outside
    `visible` (None: all) names no SHA-256: crew learn that a clip changed, not which."""
    rows = session.execute(
        select(IncidentChange, User.username)
        .join(User, User.id == IncidentChange.user_id)
        .where(IncidentChange.incident_id == incident.id)
        .order_by(IncidentChange.id)
    ).all()
    history = [
        Change(row.at, username, row.field, _unjson(row.old), _unjson(row.new))
        for row, username in rows
    ]
    clips = {
        value.split()[0]
        for change in history
        if change.field in CLIP_FIELDS
        for value in (change.old, change.new)
        if value
    }
    if visible is None or not clips:
        return history
    shown = visible.subquery().c[0]
    seen = set(session.scalars(select(shown).where(shown.in_(clips))).all())

    def masked(value: Any) -> Any:
        return value if not value or value.split()[0] in seen else HIDDEN_CLIP

    return [
        Change(c.at, c.user, c.field, masked(c.old), masked(c.new)) if c.field in CLIP_FIELDS else c
        for c in history
    ]


def _unjson(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# ---- Footage and related incidents -----------------------------------------------------------


def linked_assets(
    session: Session, incident: Incident, visible: Select[tuple[str]] | None
) -> list[IncidentAsset]:
    """The incident's clips, limited to `visible` SHA-256s (None: all, for the operator's CLI)."""
    query = select(IncidentAsset).where(IncidentAsset.incident_id == incident.id)
    if visible is not None:
        query = query.where(IncidentAsset.asset_sha256.in_(visible))
    return list(session.scalars(query.order_by(IncidentAsset.added_at)).all())


def link_asset(
    session: Session, viewer: Viewer, code: str, sha256: str, relation: str
) -> IncidentAsset:
    """Attach a clip the viewer can see, or change what it shows if already attached."""
    require_record(viewer)
    if relation not in RELATIONS:
        raise InvalidInput(N_("relation: one of %(choices)s"), choices=", ".join(RELATIONS))
    incident = get_incident(session, viewer, code)
    sha256 = resolve_visible(session, viewer, sha256)
    row = session.get(IncidentAsset, (incident.id, sha256))
    if row is None:
        user_id = viewer.user.id
        row = IncidentAsset(
            incident_id=incident.id, asset_sha256=sha256, relation=relation, added_by_id=user_id
        )
        session.add(row)
        record_change(session, incident, viewer.user.id, "footage", None, f"{sha256} {relation}")
    elif row.relation != relation:
        old = f"{sha256} {row.relation}"
        record_change(session, incident, viewer.user.id, "footage", old, f"{sha256} {relation}")
        row.relation = relation
    return row


def unlink_asset(session: Session, viewer: Viewer, code: str, sha256: str) -> None:
    require_record(viewer)
    incident = get_incident(session, viewer, code)
    sha256 = resolve_visible(session, viewer, sha256)
    row = session.get(IncidentAsset, (incident.id, sha256))
    if row is None:
        raise NotFoundError(
            N_("clip %(clip)s is not linked to %(code)s"), clip=sha256[:12], code=incident.code
        )
    record_change(session, incident, viewer.user.id, "footage", f"{sha256} {row.relation}", None)
    session.delete(row)


def related_of(session: Session, incident: Incident) -> list[Incident]:
    pairs = select(IncidentLink).where(
        or_(IncidentLink.incident_a == incident.id, IncidentLink.incident_b == incident.id)
    )
    ids = {p for link in session.scalars(pairs) for p in (link.incident_a, link.incident_b)}
    ids.discard(incident.id)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.id.in_(ids), Incident.deleted_at.is_(None))
            .order_by(Incident.started_at)
        ).all()
    )


def relate(session: Session, viewer: Viewer, code: str, other_code: str, linked: bool) -> None:
    """Link (or unlink) two incidents of the project; both histories record it."""
    require_record(viewer)
    one, other = get_incident(session, viewer, code), get_incident(session, viewer, other_code)
    if one.id == other.id:
        raise InvalidInput(N_("related: an incident cannot be related to itself"))
    a, b = sorted((one.id, other.id))
    row = session.get(IncidentLink, (a, b))
    if linked == (row is not None):
        return
    if linked:
        session.add(IncidentLink(incident_a=a, incident_b=b))
    else:
        session.execute(
            delete(IncidentLink).where(IncidentLink.incident_a == a, IncidentLink.incident_b == b)
        )
    for mine, theirs in ((one, other), (other, one)):
        old, new = (None, theirs.code) if linked else (theirs.code, None)
        record_change(session, mine, viewer.user.id, "related", old, new)


# ---- Vocabulary ----------------------------------------------------------------------------


def incident_types(session: Session, *, retired: bool = False) -> list[IncidentType]:
    query = select(IncidentType).order_by(IncidentType.position, IncidentType.name)
    if not retired:
        query = query.where(IncidentType.retired.is_(False))
    return list(session.scalars(query).all())


def add_type(session: Session, viewer: Viewer, name: str, label: str) -> IncidentType:
    """A new type, or a retired one brought back. The vocabulary is shared by all projects."""
    _may_change_types(viewer)
    name, label = name.strip().lower(), label.strip()
    if not _TYPE_NAME.fullmatch(name):
        raise InvalidInput(N_("name: up to 40 lower-case letters, digits and '-' (e.g. drone)"))
    if not label or len(label) > 100:
        raise InvalidInput(N_("label: 1 to 100 characters"))
    found = session.get(IncidentType, name)
    if found is not None and not found.retired:
        raise InvalidInput(N_("name: the type '%(given)s' already exists"), given=name)
    if found is None:
        last = session.scalar(select(func.max(IncidentType.position))) or 0
        found = IncidentType(name=name, position=last + 1)
        session.add(found)
    found.label, found.retired = label, False
    return found


def _may_change_types(viewer: Viewer) -> None:
    """The vocabulary serves every project, so only a site admin (and admin here) changes it."""
    if not (viewer.can(Can.MANAGE) and viewer.user.site_admin):
        raise AccessDenied(
            N_("only site admins change the incident types: every project uses them")
        )


def retire_type(session: Session, viewer: Viewer, name: str) -> None:
    """New incidents may no longer use it; old ones keep it."""
    _may_change_types(viewer)
    found = session.get(IncidentType, name)
    if found is None:
        raise NotFoundError(N_("no incident type '%(given)s'"), given=name[:40])
    found.retired = True
