"""What is waiting for one person across their projects: notes addressed to them or written on
footage they shot, and the assignments they are on. The crew's phone page and the field kit's
`rushes field notes` both read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from rushes.catalog.models import Arrival, Membership, Note, Project, User
from rushes.errors import InvalidInput
from rushes.review.dates import in_range

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
            f"since {text[:40]!r}: give a note id or a time with its zone, like 2026-05-01T10:00Z"
        )
    in_range("since", moment.date())
    return Since(time=moment)


def _for_user(user: User) -> ColumnElement[bool]:
    """Notes addressed to the user or on footage they shot, written by someone else."""
    shot_it = (
        select(Arrival.id)
        .where(
            Arrival.asset_sha256 == Note.asset_sha256,
            Arrival.project_id == Note.project_id,
            Arrival.crew == user.username,
        )
        .exists()
    )
    return or_(Note.addressed_to_id == user.id, shot_it) & (Note.author_id != user.id)


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
