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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

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
from rushes.review.dates import in_range
from rushes.review.projects import zone_of

FIGURES = (
    "people_present",
    "rescued",
    "bodies",
    "injured",
    "killed",
    "volunteers_injured",
    "volunteers_killed",
)
RELATIONS = ("strike", "aftermath", "rescue", "testimony")
VERIFICATIONS = ("unverified", "partly", "verified")
TEXTS = {"title": 300, "place": 300, "description": 20_000}
FIELDS = (
    "title",
    "type",
    "started_at",
    "started_offset",
    "ended_at",
    "ended_offset",
    "place",
    "latitude",
    "longitude",
    "accuracy_m",
    *FIGURES,
    "verification",
    "description",
)
MAX_FIGURE = 10_000_000
CLIP_FIELDS = ("footage", "suggestion")  # history rows whose values start with a SHA-256
HIDDEN_CLIP = "a clip you may not see"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")
_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


@dataclass(frozen=True)
class Filters:
    """Which incidents a list, export or dashboard shows; dates are whole UTC days."""

    type: str | None = None
    start: date | None = None
    end: date | None = None
    verification: str | None = None

    @classmethod
    def parse(
        cls, type: str = "", start: str = "", end: str = "", verification: str = ""
    ) -> Filters:
        """From query-string or command-line text; empty means no filter."""
        if verification and verification not in VERIFICATIONS:
            raise InvalidInput(
                N_("verification: one of %(choices)s"), choices=", ".join(VERIFICATIONS)
            )
        return cls(type or None, _day("from", start), _day("to", end), verification or None)


def _day(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            N_("%(field)s: give a date as YYYY-MM-DD, not '%(given)s'"),
            field=Term(name),
            given=text[:40],
        ) from None
    return in_range(name, day)


# ---- Reading and checking values ------------------------------------------------------------


def _figure(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InvalidInput(
            N_("%(field)s: give a whole number (or leave it empty if unknown)"), field=Term(name)
        )
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            N_("%(field)s: give a whole number, not '%(given)s'"),
            field=Term(name),
            given=str(value)[:40],
        ) from None
    if number < 0:
        raise InvalidInput(
            N_("%(field)s: cannot be negative (got %(given)s)"), field=Term(name), given=number
        )
    if number > MAX_FIGURE:
        raise InvalidInput(
            N_("%(field)s: %(given)s is more than %(most)s"),
            field=Term(name),
            given=number,
            most=f"{MAX_FIGURE:,}",
        )
    return number


def _number(name: str, value: Any, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        raise InvalidInput(
            N_("%(field)s: give a number, not '%(given)s'"),
            field=Term(name),
            given=str(value)[:40],
        ) from None
    if not low <= number <= high:  # also refuses NaN
        raise InvalidInput(
            N_("%(field)s: %(given)s is outside %(low)s to %(high)s"),
            field=Term(name),
            given=value,
            low=f"{low:g}",
            high=f"{high:g}",
        )
    return number


def _offset(name: str, value: Any) -> timezone:
    found = _OFFSET.fullmatch(str(value).strip())
    if not found or int(found[2]) > 14 or int(found[3]) > 59:
        raise InvalidInput(
            N_("%(field)s: give a UTC offset as +HH:MM (e.g. +03:00), not '%(given)s'"),
            field=Term(name),
            given=value,
        )
    sign = -1 if found[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(found[2]), minutes=int(found[3])))


def offset_text(moment: datetime) -> str:
    """'+03:00' for a time in UTC+3."""
    seconds = int((moment.utcoffset() or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"


def _moment(
    name: str, value: Any, offset: Any, zone: ZoneInfo | None = None
) -> tuple[datetime | None, str | None]:
    """(UTC time, offset text) from an ISO time with its offset, or a local time and an offset,
    or a local time alone in `zone` (the project's: its offset on that date, DST included)."""
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(
                N_(
                    "%(field)s: give a time as YYYY-MM-DDTHH:MM with its UTC offset, "
                    "not '%(given)s'"
                ),
                field=Term(name),
                given=value,
            ) from None
    if offset not in (None, ""):
        given = _offset(f"{name[:-3]}_offset", offset)
        if moment.tzinfo is not None and moment.utcoffset() != given.utcoffset(None):
            raise InvalidInput(
                N_("%(field)s: its offset differs from %(other)s %(given)s"),
                field=Term(name),
                other=Term(f"{name[:-3]}_offset"),
                given=offset,
            )
        moment = moment.replace(tzinfo=given)
    if moment.tzinfo is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    if moment.tzinfo is None:
        raise InvalidInput(
            N_("%(field)s: give the UTC offset too (e.g. +03:00): local time where?"),
            field=Term(name),
        )
    in_range(name, moment.date())
    return moment.astimezone(UTC), offset_text(moment)


def parse(raw: Mapping[str, Any], zone: ZoneInfo | None = None) -> dict[str, Any]:
    """Typed values for the fields present in `raw` (form, JSON or CSV); "" means unknown.
    A time without an offset is local time in `zone`, the project's, if it has one.

    Raises InvalidInput naming the field for a value that cannot be right on its own."""
    unknown = set(raw) - set(FIELDS) - {"code"}
    if unknown:
        raise InvalidInput(N_("unknown field(s): %(names)s"), names=", ".join(sorted(unknown)))
    values: dict[str, Any] = {}
    for name, limit in TEXTS.items():
        if name in raw:
            text = str(raw[name] or "").replace("\r\n", "\n").strip()
            if len(text) > limit:
                raise InvalidInput(
                    N_("%(field)s: at most %(most)s characters"), field=Term(name), most=limit
                )
            values[name] = text
    if "title" in values and not values["title"]:
        raise InvalidInput(N_("title: cannot be empty"))
    if "type" in raw:
        values["type"] = str(raw["type"] or "").strip()
    if "code" in raw:
        values["code"] = str(raw["code"] or "").strip()
    for name in FIGURES:
        if name in raw:
            values[name] = _figure(name, raw[name])
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        if name in raw:
            values[name] = _number(name, raw[name], low, high)
    if "accuracy_m" in raw:
        values["accuracy_m"] = _number("accuracy_m", raw["accuracy_m"], 0, 20_000_000)
    for edge in ("started", "ended"):
        if f"{edge}_at" in raw or f"{edge}_offset" in raw:
            moment, offset = _moment(
                f"{edge}_at", raw.get(f"{edge}_at"), raw.get(f"{edge}_offset"), zone
            )
            values[f"{edge}_at"], values[f"{edge}_offset"] = moment, offset
    if "verification" in raw:
        values["verification"] = str(raw["verification"] or "unverified").strip()
        if values["verification"] not in VERIFICATIONS:
            raise InvalidInput(
                N_("verification: one of %(choices)s"), choices=", ".join(VERIFICATIONS)
            )
    return values


def _check_whole(state: Mapping[str, Any]) -> None:
    """Rules between fields: figures within the people present, end after start, a full place."""
    if state.get("started_at") is None:
        raise InvalidInput(N_("started_at: an incident needs its start time"))
    if state.get("ended_at") is not None and state["ended_at"] < state["started_at"]:
        raise InvalidInput(N_("ended_at: the end is before the start"))
    present = state.get("people_present")
    if present is not None:
        for name in FIGURES[1:]:
            if state.get(name) is not None and state[name] > present:
                raise InvalidInput(
                    N_("%(field)s: %(given)s is more than the %(present)s people present"),
                    field=Term(name),
                    given=state[name],
                    present=present,
                )
    if (state.get("latitude") is None) != (state.get("longitude") is None):
        raise InvalidInput(N_("latitude/longitude: give both or neither"))


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


def get_incident(session: Session, viewer: Viewer, code: str) -> Incident:
    """An incident of the viewer's project; another project's code is as missing as a typo."""
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
    _check_whole(values)
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
            local = values["started_at"].astimezone(
                _offset("started_offset", values["started_offset"])
            )
            code = make_code(session, project_id, values.get("place", ""), values["type"], local)
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
    values = parse(raw, zone_of(viewer.project))
    if "code" in values and values.pop("code") not in ("", incident.code):
        raise InvalidInput(N_("code: an incident's id does not change (links and exports use it)"))
    state = {name: getattr(incident, name) for name in FIELDS} | values
    _check_whole(state)
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


# ---- Records for pages, the API and exports ---------------------------------------------------


def local(moment: datetime | None, offset: str | None) -> datetime | None:
    """The time as it was on the wall where it happened."""
    if moment is None:
        return None
    try:
        return moment.astimezone(_offset("offset", offset)) if offset else moment
    except OverflowError:  # a stored edge like 9999-12-31T23:00Z at +14:00 (before bounds)
        return moment


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
