"""What is waiting for one person across their projects.

`notes_for` (notes addressed to them or written on footage they shot) feeds the crew's phone
page and the field kit's `rushes field notes`. `inbox` is the Inbox page and the header's count:
replies, notes to them and on their footage, status changes on their assignments, arrivals from
the crews of projects they review, originals asked of them and originals they asked for that
came. It looks back `WINDOW` (requests still open are shown however old), a handful of indexed
queries; each item has a stable key, and a read mark on that key holds until the item changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, joinedload

from rushes.catalog.models import (
    Arrival,
    Asset,
    Assignment,
    AssignmentUser,
    InboxRead,
    Membership,
    Note,
    OriginalRequest,
    Project,
    User,
    utcnow,
)
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.review.access import GRANTS, Can, Role, note_shown_to
from rushes.review.dates import in_range
from rushes.review.originals import wanted_by_crew

LIMIT = 100


@dataclass(frozen=True)
class Since:
    """A cursor: notes after this note id, or things changed after this time."""

    note_id: int | None = None
    time: datetime | None = None


def parse_since(text: str) -> Since:
    """A note id ("412") or an ISO 8601 time with its zone ("2026-05-01T10:00:00Z")."""
    text = text.strip()
    if not text:
        return Since()
    if re.fullmatch(r"\d{1,18}", text):
        return Since(note_id=int(text))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            N_("since '%(given)s': give a note id or a time with its zone, like 2026-05-01T10:00Z"),
            given=text[:40],
        )
    in_range("since", moment.date())
    return Since(time=moment)


def _for_user(user: User) -> ColumnElement[bool]:
    """Notes addressed to the user or on footage they shot, written by someone else, that
    they are shown (review.access.note_shown_to)."""
    shot_it = (
        select(Arrival.id)
        .where(
            Arrival.asset_sha256 == Note.asset_sha256,
            Arrival.project_id == Note.project_id,
            Arrival.crew == user.username,
        )
        .exists()
    )
    mentioned = or_(Note.addressed_to_id == user.id, shot_it)
    return mentioned & (Note.author_id != user.id) & note_shown_to(user.id)


def notes_for(
    session: Session,
    user: User,
    *,
    project_id: int | None = None,
    since: Since = Since(),  # noqa: B008 - immutable
    limit: int = LIMIT,
) -> list[tuple[Note, Project]]:
    """Unresolved first, then newest first, in the projects the user is still a member of."""
    member = aliased(Membership)
    query = (
        select(Note, Project)
        .join(Project, Project.id == Note.project_id)
        .join(member, (member.project_id == Project.id) & (member.user_id == user.id))
        .where(_for_user(user))
        .options(joinedload(Note.author), joinedload(Note.addressed_to))
    )
    if project_id is not None:
        query = query.where(Note.project_id == project_id)
    if since.note_id is not None:
        query = query.where(Note.id > since.note_id)
    if since.time is not None:
        query = query.where(Note.created_at > since.time)
    query = query.order_by(Note.resolved_at.is_not(None), Note.created_at.desc(), Note.id.desc())
    return [(note, project) for note, project in session.execute(query.limit(limit)).all()]


# The Inbox.

WINDOW = timedelta(days=30)
KEY = re.compile(r"[a-z]{1,10}(:[0-9a-f-]{1,64}){1,3}")


@dataclass
class Item:
    """One thing that happened. `kind`: reply | to-you | on-yours | status | arrivals | wanted |
    received. `at` is when it last changed; `key` names it across changes."""

    key: str
    kind: str
    at: datetime
    project: Project
    actor: str = ""
    note: Note | None = None
    assignment: Assignment | None = None
    sha256: str = ""
    crew: str = ""
    day: date | None = None
    count: int = 0
    unread: bool = True


def inbox(session: Session, user: User) -> list[Item]:
    """Every item of the window, newest first, each marked read or unread."""
    since = utcnow() - WINDOW
    roles = _roles(session, user)
    if not roles:
        return []
    projects = {project.id: project for project in roles}
    reviewed = [p.id for p, role in roles.items() if Can.SEE_ALL in GRANTS[Role(role)]]
    items = [
        *_note_items(session, user, projects, since),
        *_status_items(session, user, projects, since),
        *_arrival_items(session, user, projects, reviewed, since),
        *_original_items(session, user, projects, since),
    ]
    _mark(session, user, items)
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def _roles(session: Session, user: User) -> dict[Project, str]:
    return dict(
        session.execute(
            select(Project, Membership.role)
            .join(Membership, Membership.project_id == Project.id)
            .where(Membership.user_id == user.id)
        ).all()
    )


def asked_of(session: Session, user: User) -> list[Item]:
    """Originals reviewers asked this crew member for, in every project they are in."""
    projects = {project.id: project for project in _roles(session, user)}
    return _asked(session, user, projects) if projects else []


def _asked(session: Session, user: User, projects: dict[int, Project]) -> list[Item]:
    asked = wanted_by_crew(user.username).where(OriginalRequest.project_id.in_(projects))
    return [
        Item(f"wanted:{pid}:{sha}", "wanted", at, projects[pid], sha256=sha)
        for pid, sha, at in session.execute(asked.limit(LIMIT))
    ]


def unread_count(session: Session, user: User) -> int:
    return sum(item.unread for item in inbox(session, user))


def _note_items(
    session: Session, user: User, projects: dict[int, Project], since: datetime
) -> list[Item]:
    """Notes to them, on their footage, or later in a thread they wrote in; not their own."""
    mine = aliased(Note)
    thread = func.coalesce(Note.parent_id, Note.id)
    in_thread = (
        select(mine.id)
        .where(
            mine.author_id == user.id,
            func.coalesce(mine.parent_id, mine.id) == thread,
            mine.id < Note.id,
        )
        .exists()
    )
    query = (
        select(Note, in_thread.label("reply"))
        .where(
            Note.project_id.in_(projects),
            Note.created_at >= since,
            or_(_for_user(user), in_thread & (Note.author_id != user.id) & note_shown_to(user.id)),
        )
        .options(joinedload(Note.author))
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(LIMIT)
    )
    items = []
    for note, reply in session.execute(query):
        kind = "reply" if reply else "to-you" if note.addressed_to_id == user.id else "on-yours"
        items.append(
            Item(
                f"note:{note.id}",
                kind,
                note.created_at,
                projects[note.project_id],
                note.author.username,
                note=note,
                sha256=note.asset_sha256,
            )
        )
    return items


def _status_items(
    session: Session, user: User, projects: dict[int, Project], since: datetime
) -> list[Item]:
    """Status changes by someone else on assignments the user wrote or is on."""
    on_it = (
        select(AssignmentUser.user_id)
        .where(AssignmentUser.assignment_id == Assignment.id, AssignmentUser.user_id == user.id)
        .exists()
    )
    query = (
        select(Assignment, User.username)
        .join(User, User.id == Assignment.status_changed_by_id)
        .where(
            Assignment.project_id.in_(projects),
            Assignment.status_changed_at >= since,
            Assignment.status_changed_by_id != user.id,
            or_(Assignment.created_by_id == user.id, on_it),
        )
        .order_by(Assignment.status_changed_at.desc())
        .limit(LIMIT)
    )
    return [
        Item(
            f"status:{work.id}",
            "status",
            work.status_changed_at,
            projects[work.project_id],
            who,
            assignment=work,
        )
        for work, who in session.execute(query)
        if work.status_changed_at is not None
    ]


def _arrival_items(
    session: Session,
    user: User,
    projects: dict[int, Project],
    reviewed: list[int],
    since: datetime,
) -> list[Item]:
    """Clips each crew sent to a project the user reviews, one item per crew and UTC day."""
    if not reviewed:
        return []
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", Arrival.received_at))
    else:
        day = func.date(Arrival.received_at)  # SQLite keeps UTC text
    query = (
        select(
            Arrival.project_id,
            Arrival.crew,
            day.label("day"),
            func.count(func.distinct(Arrival.asset_sha256)),
            func.max(Arrival.received_at),
        )
        .where(
            Arrival.project_id.in_(reviewed),
            Arrival.received_at >= since,
            Arrival.crew != "",
            Arrival.crew != user.username,
        )
        .group_by(Arrival.project_id, Arrival.crew, day)
        .order_by(func.max(Arrival.received_at).desc())
        .limit(LIMIT)
    )
    items = []
    for project_id, crew, on, count, last in session.execute(query):
        on = on if isinstance(on, date) else date.fromisoformat(on)
        items.append(
            Item(
                f"arrivals:{project_id}:{on.isoformat()}:{_digest(crew)}",
                "arrivals",
                last,
                projects[project_id],
                crew,
                crew=crew,
                day=on,
                count=count,
            )
        )
    return items


def _digest(text: str) -> str:
    """A key part for free text (a crew label may hold any character)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _original_items(
    session: Session, user: User, projects: dict[int, Project], since: datetime
) -> list[Item]:
    """Originals asked of this crew member (while still missing), and originals they asked
    for that reached the vault within the window."""
    items = _asked(session, user, projects)
    came = func.min(Arrival.received_at)
    received = (
        select(OriginalRequest.project_id, OriginalRequest.asset_sha256, came)
        .join(Asset, Asset.sha256 == OriginalRequest.asset_sha256)
        .join(Arrival, Arrival.asset_sha256 == OriginalRequest.asset_sha256)
        .where(
            OriginalRequest.requested_by_id == user.id,
            OriginalRequest.project_id.in_(projects),
            Asset.in_vault,
            Arrival.via != "manifest",
        )
        .group_by(OriginalRequest.project_id, OriginalRequest.asset_sha256)
        .having(came >= since)
        .limit(LIMIT)
    )
    items += [
        Item(f"received:{pid}:{sha}", "received", at, projects[pid], sha256=sha)
        for pid, sha, at in session.execute(received)
    ]
    return items


def _mark(session: Session, user: User, items: list[Item]) -> None:
    """An item is read when marked read after it last changed."""
    if not items:
        return
    marks = dict(
        session.execute(
            select(InboxRead.key, InboxRead.read_at).where(
                InboxRead.user_id == user.id, InboxRead.key.in_([item.key for item in items])
            )
        ).all()
    )
    for item in items:
        read_at = marks.get(item.key)
        item.unread = read_at is None or read_at < item.at


def mark_read(session: Session, user: User, keys: Iterable[str]) -> int:
    """Mark these items read as of now; a key of no shape is refused, not stored."""
    wanted = sorted(set(keys))
    for key in wanted:
        if not KEY.fullmatch(key):
            raise InvalidInput(N_("inbox item '%(given)s': no such item"), given=key[:40])
    if not wanted:
        return 0
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboxRead).values(
        [{"user_id": user.id, "key": key, "read_at": now} for key in wanted]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "key"], set_={"read_at": statement.excluded.read_at}
        )
    )
    return len(wanted)
