"""Projects: a film, an investigation, a civil-defence centre. Ingest makes one on first use;
the review room makes one with a proper name."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Project
from rushes.errors import InvalidInput, NotFoundError
from rushes.i18n import N_
from rushes.review import audit

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


def create_project(session: Session, slug: str, name: str = "") -> Project:
    if not SLUG.fullmatch(slug):
        raise InvalidInput(
            N_(
                "'%(name)s': a project's short name is 1-100 of a-z, 0-9, '-' or '_', "
                "starting with a letter or digit"
            ),
            name=slug,
        )
    if session.scalar(select(Project.id).where(Project.slug == slug)) is not None:
        raise InvalidInput(N_("a project '%(name)s' exists already"), name=slug)
    project = Project(slug=slug, name=name.strip() or slug)
    session.add(project)
    session.flush()
    return project


def find_project(session: Session, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFoundError(N_("no project '%(project)s'"), project=slug)
    return project


@cache
def time_zones() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (for the admin's pick list)."""
    return sorted(available_timezones())


def set_time_zone(session: Session, project: Project, name: str, *, actor: str) -> None:
    """Set the project's time zone ("" clears it); an unknown name is refused, not guessed."""
    name = name.strip()
    if name and name not in time_zones():
        raise InvalidInput(
            N_("'%(given)s' is not a time zone: give an IANA name such as Asia/Damascus"),
            given=name[:80],
        )
    before, project.time_zone = project.time_zone, name or None
    if before != project.time_zone:
        audit.record(session, actor, "time-zone-set", project.slug, time_zone=name, before=before)


def zone_of(project: Project) -> ZoneInfo | None:
    return ZoneInfo(project.time_zone) if project.time_zone else None
