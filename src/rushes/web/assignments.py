"""Assignment pages: the project's list with the form to write one, and one assignment's page
with its brief, assignees, status buttons and attached footage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rushes.errors import InvalidInput
from rushes.review import assignments as work
from rushes.review.access import Can, Viewer
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing, page
from rushes.web.language import Problem

router = APIRouter(dependencies=[Depends(check_origin)])

Title = Annotated[str, Form(max_length=work.MAX_TITLE + 100)]
Brief = Annotated[str, Form(max_length=work.MAX_BRIEF)]
Assignees = Annotated[list[str], Form(max_length=200)]
Due = Annotated[str, Form(max_length=40)]
Status = Annotated[str, Form(max_length=40)]


def _list_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    status: str = "",
    problem: Problem = "",
    draft: work.Draft | None = None,
) -> HTMLResponse:
    context = {
        "viewer": viewer,
        "assignments": work.list_assignments(session, viewer, status or None),
        "statuses": work.STATUSES,
        "status": status,
        "members": work.project_members(session, viewer) if viewer.can(Can.ASSIGN) else [],
        "draft": draft or work.Draft(title=""),
        "problem": problem,
    }
    return page(request, "assignments.html", context, 400 if problem else 200)


@router.get("/p/{slug}/assignments", response_class=HTMLResponse)
def assignments_page(
    request: Request, viewer: InProject, session: Reading, status: str = ""
) -> HTMLResponse:
    return _list_page(request, session, viewer, status)


def _draft(
    title: Title = "",
    brief: Brief = "",
    assignees: Assignees = [],  # noqa: B006 - FastAPI copies defaults
    due: Due = "",
    status: Status = "open",
) -> work.Draft:
    """The assignment form as posted, checked later by `review.assignments`."""
    return work.Draft(title, brief, assignees, due, status)


DraftForm = Annotated[work.Draft, Depends(_draft)]


@router.post("/p/{slug}/assignments")
def create(request: Request, viewer: InProject, session: Writing, draft: DraftForm) -> Response:
    try:
        assignment = work.create_assignment(session, viewer, draft)
    except InvalidInput as exc:
        return _list_page(request, session, viewer, problem=exc, draft=draft)
    return RedirectResponse(f"/p/{viewer.project.slug}/assignments/{assignment.id}", 303)


@router.get("/p/{slug}/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_page(
    request: Request, assignment_id: int, viewer: InProject, session: Reading
) -> HTMLResponse:
    assignment = work.get_assignment(session, viewer, assignment_id)
    context = {
        "viewer": viewer,
        "assignment": assignment,
        "assets": work.attached_assets(session, viewer, assignment),
        "statuses": work.STATUSES,
        "members": work.project_members(session, viewer) if viewer.can(Can.ASSIGN) else [],
        "draft": work.draft_of(assignment),
        "may_move": viewer.can(Can.ASSIGN)
        or viewer.user.id in {user.id for user in assignment.assignees},
    }
    return page(request, "assignment.html", context)


def _back(viewer: Viewer, assignment_id: int) -> RedirectResponse:
    return RedirectResponse(f"/p/{viewer.project.slug}/assignments/{assignment_id}", 303)


@router.post("/p/{slug}/assignments/{assignment_id}")
def edit(assignment_id: int, viewer: InProject, session: Writing, draft: DraftForm) -> Response:
    work.update_assignment(session, viewer, assignment_id, draft)
    return _back(viewer, assignment_id)


@router.post("/p/{slug}/assignments/{assignment_id}/status")
def move_along(
    assignment_id: int,
    viewer: InProject,
    session: Writing,
    status: Status = "",
    back: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Directors and the assignees themselves; `back=me` returns to the phone page."""
    work.set_status(session, viewer, assignment_id, status)
    return RedirectResponse("/me", 303) if back == "me" else _back(viewer, assignment_id)


@router.post("/p/{slug}/assignments/{assignment_id}/assets")
def attach(
    assignment_id: int,
    viewer: InProject,
    session: Writing,
    sha256: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    work.attach_asset(session, viewer, assignment_id, sha256)
    return _back(viewer, assignment_id)


@router.post("/p/{slug}/assignments/{assignment_id}/assets/{sha256}/remove")
def detach(assignment_id: int, sha256: str, viewer: InProject, session: Writing) -> Response:
    work.detach_asset(session, viewer, assignment_id, sha256)
    return _back(viewer, assignment_id)
