"""Assignments: story lines and tasks for crew ("follow Khaled", "tighter frames at the market").

Directors and admins write them; investigators read them all; crew see only the ones they are
on, and may move those along (in progress, done). Attaching an asset to an assignment is how a
crew member gets to see footage they did not shoot themselves (see `access.visible_assets`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Exists, delete, exists, select
from sqlalchemy.orm import Session, selectinload

from rushes.catalog.models import (
    Asset,
    Assignment,
    AssignmentAsset,
    AssignmentUser,
    Derivative,
    GraphicFlag,
    Membership,
    Project,
    User,
    utcnow,
)
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_
from rushes.review.access import Can, Viewer, resolve_visible, visible_assets
from rushes.review.dates import in_range

STATUSES = ("open", "in-progress", "done", "dropped")
MAX_TITLE = 300
MAX_BRIEF = 20_000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Draft:
    """What a director typed into the assignment form, before it is checked."""

    title: str
    brief: str = ""
    assignees: Sequence[str] = ()
    due: str = ""
    status: str = "open"


@dataclass(frozen=True)
class Thumb:
    """An asset as a small card: its poster (a derivative name, if made) and graphic flag."""

    sha256: str
    kind: str
    poster: str | None
    graphic: bool


def draft_of(assignment: Assignment) -> Draft:
    """The assignment as its edit form shows it."""
    return Draft(
        assignment.title,
        assignment.brief,
        [user.username for user in assignment.assignees],
        assignment.due_on.isoformat() if assignment.due_on else "",
        assignment.status,
    )


def parse_due(text: str) -> date | None:
    """A due day as YYYY-MM-DD, or None when left empty."""
    text = text.strip()
    if not text:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            N_("due date '%(given)s': give a day as YYYY-MM-DD"), given=text[:40]
        ) from None
    return in_range("due date", day)


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidInput(
            N_("status '%(given)s': one of %(choices)s"),
            given=status[:40],
            choices=", ".join(STATUSES),
        )
    return status


def _usernames(values: Iterable[str]) -> list[str]:
    """Names from checkboxes or a typed list ("karim, rami"), deduplicated in order."""
    names: list[str] = []
    for value in values:
        for name in re.split(r"[\s,]+", value.strip().lower()):
            if name and name not in names:
                names.append(name)
    return names


def _members(session: Session, project_id: int, usernames: list[str]) -> list[User]:
    users = session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id, User.username.in_(usernames))
    ).all()
    missing = sorted(set(usernames) - {user.username for user in users})
    if missing:
        raise InvalidInput(
            N_("not members of this project: %(names)s; add them on the Members page"),
            names=", ".join(missing),
        )
    return list(users)


def _change_status(assignment: Assignment, status: str, user: User) -> None:
    """Set the status; a real change records who made it, for the others' inboxes."""
    if assignment.status is not None and assignment.status != status:
        assignment.status_changed_by_id, assignment.status_changed_at = user.id, utcnow()
    assignment.status = status
    assignment.updated_at = utcnow()


def _apply(session: Session, viewer: Viewer, assignment: Assignment, draft: Draft) -> None:
    """Check every field first, so a bad one leaves the assignment as it was."""
    title = draft.title.strip()
    if not title:
        raise InvalidInput(N_("an assignment needs a title"))
    if len(title) > MAX_TITLE:
        raise InvalidInput(N_("a title has at most %(most)s characters"), most=MAX_TITLE)
    if len(draft.brief) > MAX_BRIEF:
        raise InvalidInput(N_("a brief has at most %(most)s characters"), most=MAX_BRIEF)
    due_on = parse_due(draft.due)
    status = check_status(draft.status)
    assignees = _members(session, assignment.project_id, _usernames(draft.assignees))
    assignment.title, assignment.brief = title, draft.brief.strip()
    assignment.due_on = due_on
    assignment.assignees = assignees
    _change_status(assignment, status, viewer.user)


def _require_assign(viewer: Viewer) -> None:
    if not viewer.can(Can.ASSIGN):
        raise AccessDenied(N_("only directors and admins write assignments"))


def create_assignment(session: Session, viewer: Viewer, draft: Draft) -> Assignment:
    _require_assign(viewer)
    assignment = Assignment(project_id=viewer.project.id, created_by_id=viewer.user.id)
    _apply(session, viewer, assignment, draft)
    session.add(assignment)
    session.flush()
    return assignment


def update_assignment(
    session: Session, viewer: Viewer, assignment_id: int, draft: Draft
) -> Assignment:
    _require_assign(viewer)
    assignment = get_assignment(session, viewer, assignment_id)
    _apply(session, viewer, assignment, draft)
    return assignment


def _sees_all(viewer: Viewer) -> bool:
    return viewer.can(Can.ASSIGN) or viewer.can(Can.SEE_ALL)


def _on_it(user_id: int) -> Exists:
    return exists().where(
        AssignmentUser.assignment_id == Assignment.id, AssignmentUser.user_id == user_id
    )


def get_assignment(session: Session, viewer: Viewer, assignment_id: int) -> Assignment:
    """The assignment if this viewer may see it; another project's is as missing as none."""
    query = select(Assignment).where(
        Assignment.id == assignment_id, Assignment.project_id == viewer.project.id
    )
    if not _sees_all(viewer):
        query = query.where(_on_it(viewer.user.id))
    assignment = session.scalar(query.options(selectinload(Assignment.assignees)))
    if assignment is None:
        raise NotFoundError(
            N_("no assignment %(number)s in project '%(project)s'"),
            number=assignment_id,
            project=viewer.project.slug,
        )
    return assignment


def list_assignments(
    session: Session, viewer: Viewer, status: str | None = None
) -> list[Assignment]:
    """Open work first (by due day, undated last), then the rest, newest first."""
    query = select(Assignment).where(Assignment.project_id == viewer.project.id)
    if status:
        query = query.where(Assignment.status == check_status(status))
    if not _sees_all(viewer):
        query = query.where(_on_it(viewer.user.id))
    query = query.options(selectinload(Assignment.assignees))
    found = session.scalars(query.order_by(Assignment.id.desc())).all()
    return sorted(found, key=_urgency)


def _urgency(assignment: Assignment) -> tuple[bool, date]:
    """Sort key: unfinished before finished, sooner due first (a stable sort keeps the rest)."""
    finished = assignment.status in ("done", "dropped")
    return finished, date.max if finished or assignment.due_on is None else assignment.due_on


def set_status(session: Session, viewer: Viewer, assignment_id: int, status: str) -> Assignment:
    """Directors set any status; an assignee moves their own assignment along."""
    assignment = get_assignment(session, viewer, assignment_id)
    if not viewer.can(Can.ASSIGN) and viewer.user.id not in {u.id for u in assignment.assignees}:
        raise AccessDenied(N_("only its assignees and directors change an assignment's status"))
    _change_status(assignment, check_status(status), viewer.user)
    return assignment


def attach_asset(session: Session, viewer: Viewer, assignment_id: int, sha256: str) -> None:
    """Attach an asset the director can see, named by a unique prefix of its SHA-256;
    attaching it twice changes nothing."""
    _require_assign(viewer)
    assignment = get_assignment(session, viewer, assignment_id)
    sha256 = resolve_visible(session, viewer, sha256)
    if session.get(AssignmentAsset, (assignment.id, sha256)) is None:
        session.add(AssignmentAsset(assignment_id=assignment.id, asset_sha256=sha256))
        assignment.updated_at = utcnow()


def detach_asset(session: Session, viewer: Viewer, assignment_id: int, sha256: str) -> None:
    _require_assign(viewer)
    assignment = get_assignment(session, viewer, assignment_id)
    session.execute(
        delete(AssignmentAsset).where(
            AssignmentAsset.assignment_id == assignment.id, AssignmentAsset.asset_sha256 == sha256
        )
    )
    assignment.updated_at = utcnow()


def attached_assets(session: Session, viewer: Viewer, assignment: Assignment) -> list[Thumb]:
    shas = session.scalars(
        select(AssignmentAsset.asset_sha256)
        .where(AssignmentAsset.assignment_id == assignment.id)
        .where(AssignmentAsset.asset_sha256.in_(visible_assets(viewer)))
    ).all()
    thumbs = thumbs_of(session, viewer.project.id, shas)
    return [thumbs[sha] for sha in shas if sha in thumbs]


def attached_shas(session: Session, assignment_ids: Iterable[int]) -> dict[int, list[str]]:
    """The assets attached to each of these assignments."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        select(AssignmentAsset.assignment_id, AssignmentAsset.asset_sha256)
        .where(AssignmentAsset.assignment_id.in_(list(assignment_ids)))
        .order_by(AssignmentAsset.asset_sha256)
    ).all()
    for assignment_id, sha256 in rows:
        found.setdefault(assignment_id, []).append(sha256)
    return found


def thumbs_of(session: Session, project_id: int, shas: Iterable[str]) -> dict[str, Thumb]:
    """Cards for these assets: poster name and whether the project flagged them graphic."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    posters = dict(
        session.execute(
            select(Derivative.asset_sha256, Derivative.name).where(
                Derivative.asset_sha256.in_(wanted), Derivative.kind == "poster"
            )
        ).all()
    )
    graphic = set(
        session.scalars(
            select(GraphicFlag.asset_sha256).where(
                GraphicFlag.project_id == project_id, GraphicFlag.asset_sha256.in_(wanted)
            )
        ).all()
    )
    kinds = session.execute(select(Asset.sha256, Asset.kind).where(Asset.sha256.in_(wanted)))
    return {sha: Thumb(sha, kind, posters.get(sha), sha in graphic) for sha, kind in kinds}


def assignments_of(
    session: Session,
    user: User,
    project_id: int | None = None,
    changed_since: datetime | None = None,
) -> list[tuple[Assignment, Project]]:
    """Every assignment the user is on, in the projects they are still a member of."""
    query = (
        select(Assignment, Project)
        .join(Project, Project.id == Assignment.project_id)
        .join(
            Membership,
            (Membership.project_id == Project.id) & (Membership.user_id == user.id),
        )
        .where(_on_it(user.id))
        .options(selectinload(Assignment.assignees))
    )
    if project_id is not None:
        query = query.where(Project.id == project_id)
    if changed_since is not None:
        query = query.where(Assignment.updated_at > changed_since)
    rows = session.execute(query.order_by(Assignment.id.desc())).all()
    return sorted(((a, p) for a, p in rows), key=lambda row: _urgency(row[0]))


def project_members(session: Session, viewer: Viewer) -> list[tuple[User, str]]:
    """Who can be assigned: the project's members, crew first."""
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == viewer.project.id, User.disabled.is_(False))
        .order_by(User.username)
    ).all()
    return sorted(((user, role) for user, role in rows), key=lambda row: row[1] != "crew")
