"""Site administration (accounts, projects) and each project's admin page: its members and
its time zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Membership, Project, User
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_, Text
from rushes.review import accounts, audit
from rushes.review.access import Can, Role, Viewer
from rushes.review.projects import create_project, find_project, set_time_zone, time_zones
from rushes.web.auth import SignedIn, SiteAdmin, check_origin, project_viewer
from rushes.web.dependencies import Reading, Writing, page
from rushes.web.language import Problem

router = APIRouter(dependencies=[Depends(check_origin)])


def _admin_page(request: Request, session: Session, problem: Problem = "") -> HTMLResponse:
    context = {
        "users": session.scalars(select(User).order_by(User.username)).all(),
        "projects": session.scalars(select(Project).order_by(Project.name)).all(),
        "audit": audit.recent(session),
        "problem": problem,
    }
    return page(request, "admin.html", context, 400 if problem else 200)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, _admin: SiteAdmin, session: Reading) -> HTMLResponse:
    return _admin_page(request, session)


@router.post("/admin/users")
def add_user(
    request: Request,
    admin: SiteAdmin,
    session: Writing,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        accounts.create_user(
            session,
            username.strip().lower(),
            password,
            display_name=display_name,
            actor=admin.user.username,
        )
    except InvalidInput as exc:
        return _admin_page(request, session, exc)
    return RedirectResponse("/admin", 303)


@router.post("/admin/projects")
def add_project(
    request: Request,
    admin: SiteAdmin,
    session: Writing,
    slug: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        project = create_project(session, slug.strip().lower(), name)
    except InvalidInput as exc:
        return _admin_page(request, session, exc)
    user = session.get(User, admin.user.id)
    assert user is not None
    accounts.add_member(session, project, user, Role.ADMIN, actor=admin.user.username)
    return RedirectResponse(f"/p/{project.slug}/members", 303)


def _manager(slug: str, identity: SignedIn, session: Reading) -> Viewer:
    """A project admin; or a site admin, who may staff any project (a project made by `rushes
    ingest` has no members until one does) without seeing its footage unless they join it."""
    if identity.user.site_admin:
        return Viewer(identity.user, find_project(session, slug), Role.ADMIN)
    viewer = project_viewer(slug, identity, session)
    if not viewer.can(Can.MANAGE):
        raise AccessDenied(N_("only a project admin manages members"))
    return viewer


Manager = Annotated[Viewer, Depends(_manager)]


def _members_page(
    request: Request, viewer: Viewer, session: Session, problem: Problem = ""
) -> HTMLResponse:
    members = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == viewer.project.id)
        .order_by(User.username)
    ).all()
    joined = {user.id for user, _ in members}
    others = session.scalars(
        select(User).where(User.disabled.is_(False)).order_by(User.username)
    ).all()
    context = {
        "viewer": viewer,
        "members": members,
        "others": [user for user in others if user.id not in joined],
        "roles": list(Role),
        "time_zones": time_zones(),
        "problem": problem,
    }
    return page(request, "members.html", context, 400 if problem else 200)


@router.get("/p/{slug}/members", response_class=HTMLResponse)
def members_page(request: Request, viewer: Manager, session: Reading) -> HTMLResponse:
    return _members_page(request, viewer, session)


@router.post("/p/{slug}/members")
def set_member(
    request: Request,
    viewer: Manager,
    session: Writing,
    username: Annotated[str, Form()],
    role: Annotated[Role, Form()],
) -> Response:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        return _members_page(
            request, viewer, session, Text(N_("no user '%(name)s'"), name=username)
        )
    project = session.get(Project, viewer.project.id)
    assert project is not None
    accounts.add_member(session, project, user, role, actor=viewer.user.username)
    return RedirectResponse(f"/p/{project.slug}/members", 303)


@router.post("/p/{slug}/time-zone")
def set_project_time_zone(
    request: Request,
    viewer: Manager,
    session: Writing,
    time_zone: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    project = session.get(Project, viewer.project.id)
    assert project is not None
    try:
        set_time_zone(session, project, time_zone, actor=viewer.user.username)
    except InvalidInput as exc:
        return _members_page(request, viewer, session, exc)
    return RedirectResponse(f"/p/{project.slug}/members", 303)


@router.post("/p/{slug}/members/{username}/remove")
def remove_member(username: str, viewer: Manager, session: Writing) -> Response:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(N_("no member '%(name)s'"), name=username)
    if user.id == viewer.user.id:
        raise InvalidInput(N_("you cannot remove yourself; ask another admin"))
    project = session.get(Project, viewer.project.id)
    assert project is not None
    accounts.remove_member(session, project, user, actor=viewer.user.username)
    return RedirectResponse(f"/p/{viewer.project.slug}/members", 303)
