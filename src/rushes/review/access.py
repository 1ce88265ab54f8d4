"""Who may see and do what, per project.

Roles are per project. Directors (editors too) and investigators see the whole project; crew see
their own uploads (arrivals whose crew label is their username) and what is assigned or
addressed to them. The same bytes may arrive from two crew members: each is shown only their
own arrivals of it, and of its notes only their own, those addressed to them, and those of
someone who sees the whole project (not an investigator's evidence notes), so a copy brought
(or planted, from a seized phone) does not tell who else filmed it or what was said.
Location and device details, and the originals that carry them, are for admins and
investigators only: a director's screen is shared far more widely than an
investigator's. Nobody sees another project: an outsider gets the same 404 as a missing thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true, union
from sqlalchemy.orm import Session

from rushes.catalog.models import (
    Arrival,
    AssignmentAsset,
    AssignmentUser,
    Membership,
    Note,
    Project,
    User,
)
from rushes.errors import InvalidInput, NotFoundError
from rushes.i18n import N_


class Role(StrEnum):
    ADMIN = "admin"
    DIRECTOR = "director"
    INVESTIGATOR = "investigator"
    CREW = "crew"


class Can(StrEnum):
    SEE_ALL = "see-all"  # every asset of the project, not only one's own
    NOTE = "note"  # write notes and replies, resolve them
    ASSIGN = "assign"  # create and edit assignments
    SELECT = "select"  # circle takes, order the selects list
    FLAG = "flag"  # mark a clip graphic
    DOWNLOAD = "download"  # fetch an original (a custody event)
    SEE_LOCATION = "see-location"  # GPS and device details
    MANAGE = "manage"  # members and roles
    RECORD = "record"  # record incidents, their figures and footage


GRANTS: dict[Role, frozenset[Can]] = {
    Role.ADMIN: frozenset(Can),
    Role.DIRECTOR: frozenset({Can.SEE_ALL, Can.NOTE, Can.ASSIGN, Can.SELECT, Can.FLAG, Can.RECORD}),
    Role.INVESTIGATOR: frozenset(
        {Can.SEE_ALL, Can.NOTE, Can.FLAG, Can.DOWNLOAD, Can.SEE_LOCATION, Can.RECORD}
    ),
    Role.CREW: frozenset({Can.NOTE}),
}


@dataclass(frozen=True)
class Viewer:
    """A user inside one project, with their role there."""

    user: User
    project: Project
    role: Role

    def can(self, action: Can) -> bool:
        return action in GRANTS[self.role]


def viewer_for(session: Session, user: User, slug: str) -> Viewer:
    """The user's standing in a project; a project they are not in does not exist for them."""
    row = session.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Project.slug == slug, Membership.user_id == user.id)
    ).first()
    if row is None:
        raise NotFoundError(N_("no project '%(project)s'"), project=slug)
    return Viewer(user, row[0], Role(row[1]))


def projects_of(session: Session, user: User) -> list[tuple[Project, Role]]:
    rows = session.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user.id)
        .order_by(Project.name)
    ).all()
    return [(project, Role(role)) for project, role in rows]


def crew_projects(session: Session, user: User) -> set[int]:
    """The projects where the user is crew (shown only their own arrivals: `own_crew`)."""
    query = select(Membership.project_id).where(
        Membership.user_id == user.id, Membership.role.not_in(WHOLE)
    )
    return set(session.scalars(query))


def visible_assets(viewer: Viewer) -> Select[tuple[str]]:
    """SHA-256s of the project's assets this viewer may see, each once (a clip may have
    arrived several times), as a subquery to filter by."""
    project_id = viewer.project.id
    in_project = select(Arrival.asset_sha256).where(Arrival.project_id == project_id)
    if viewer.can(Can.SEE_ALL):
        return in_project.distinct()
    own = in_project.where(Arrival.crew == viewer.user.username)
    assigned = (
        select(AssignmentAsset.asset_sha256)
        .join(AssignmentUser, AssignmentUser.assignment_id == AssignmentAsset.assignment_id)
        .where(AssignmentUser.user_id == viewer.user.id)
        .where(AssignmentAsset.asset_sha256.in_(in_project))
    )
    addressed = select(Note.asset_sha256).where(
        Note.project_id == project_id, Note.addressed_to_id == viewer.user.id
    )
    return select(union(own, assigned, addressed).subquery().c[0])


WHOLE = frozenset(role for role in Role if Can.SEE_ALL in GRANTS[role])


def own_crew(viewer: Viewer) -> str | None:
    """Whose arrivals the viewer is shown: everyone's (None), or for crew only their own."""
    return None if viewer.can(Can.SEE_ALL) else viewer.user.username


def notes_shown(viewer: Viewer) -> ColumnElement[bool]:
    """The notes (rows of `Note`) the viewer is shown on the assets they see."""
    return true() if viewer.can(Can.SEE_ALL) else note_shown_to(viewer.user.id)


def note_shown_to(user_id: int) -> ColumnElement[bool]:
    """Whether a `Note` of any project is shown to this user: all of a project they see whole;
    as crew, theirs, those addressed to them, and the non-evidence notes of those who see the
    whole project."""
    whole = select(Membership.project_id).where(
        Membership.user_id == user_id, Membership.role.in_(WHOLE)
    )
    staff = select(Membership.user_id).where(
        Membership.project_id == Note.project_id, Membership.role.in_(WHOLE)
    )
    return or_(
        Note.project_id.in_(whole),
        Note.author_id == user_id,
        Note.addressed_to_id == user_id,
        and_(Note.category != "evidence", Note.author_id.in_(staff)),
    )


def can_see_asset(session: Session, viewer: Viewer, sha256: str) -> bool:
    visible = visible_assets(viewer).subquery()
    return bool(session.scalar(select(exists().where(visible.c[0] == sha256))))


def require_asset(session: Session, viewer: Viewer, sha256: str) -> None:
    """Raise NotFoundError unless the viewer may see this asset (same answer as a missing one)."""
    if not can_see_asset(session, viewer, sha256):
        raise NotFoundError(
            N_("no asset %(clip)s in project '%(project)s'"),
            clip=sha256[:12],
            project=viewer.project.slug,
        )


def resolve_visible(session: Session, viewer: Viewer, prefix: str) -> str:
    """A visible asset's full SHA-256 from at least 8 of its hex digits (a form's clip field)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise InvalidInput(N_("sha256: give at least 8 hex digits of the clip's SHA-256"))
    visible = visible_assets(viewer).subquery()
    found = session.scalars(
        select(visible.c[0]).where(visible.c[0].startswith(prefix, autoescape=True)).limit(2)
    ).all()
    if not found:
        raise NotFoundError(
            N_("no clip %(clip)s in project '%(project)s'"),
            clip=prefix[:12],
            project=viewer.project.slug,
        )
    if len(found) > 1:
        raise InvalidInput(
            N_("sha256: %(clip)s names more than one clip; give more digits"), clip=prefix
        )
    return found[0]
