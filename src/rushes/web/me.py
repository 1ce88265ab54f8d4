"""My notes and assignments: what is waiting for the signed-in person across their projects.

The page is made for a phone in the field (one column, big buttons, no script); the JSON is what
`rushes field notes` fetches with a field-kit token, which limits it to that token's project.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from rushes.catalog.models import Assignment, Note, Project
from rushes.media.timecode import seconds_of
from rushes.review.access import crew_projects
from rushes.review.assignments import assignments_of, attached_shas
from rushes.review.inbox import asked_of, notes_for, parse_since
from rushes.review.names import AssetName, asset_names
from rushes.review.notes import timecode
from rushes.web.auth import SignedIn, check_origin
from rushes.web.dependencies import Reading, page

router = APIRouter(dependencies=[Depends(check_origin)])


def note_link(note: Note, project: Project) -> str:
    """The player at the note's first frame."""
    player = f"/p/{project.slug}/a/{note.asset_sha256}"
    if note.start is None or not note.rate:
        return player
    return f"{player}#t={seconds_of(note.start, note.rate):.3f}"


@router.get("/me", response_class=HTMLResponse)
def me_page(request: Request, identity: SignedIn, session: Reading) -> HTMLResponse:
    notes = notes_for(session, identity.user)
    context = {
        "assignments": assignments_of(session, identity.user),
        "asked": asked_of(session, identity.user),
        "notes": [(note, project, note_link(note, project)) for note, project in notes],
    }
    return page(request, "me.html", context)


def _note_json(note: Note, project: Project, name: AssetName) -> dict[str, Any]:
    return {
        "id": note.id,
        "project": project.slug,
        "sha256": note.asset_sha256,
        "name": name.name,
        "parent_id": note.parent_id,
        "author": note.author.username,
        "addressed_to": note.addressed_to.username if note.addressed_to else None,
        "category": note.category,
        "body": note.body,
        "start": note.start,
        "end": note.end,
        "rate": note.rate,
        "in": timecode(note.start, note),
        "out": timecode(note.end, note),
        "created_at": note.created_at.isoformat(),
        "resolved_at": note.resolved_at.isoformat() if note.resolved_at else None,
        "url": note_link(note, project),
    }


def _assignment_json(assignment: Assignment, project: Project, assets: list[str]) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "project": project.slug,
        "title": assignment.title,
        "brief": assignment.brief,
        "due": assignment.due_on.isoformat() if assignment.due_on else None,
        "status": assignment.status,
        "assignees": [user.username for user in assignment.assignees],
        "assets": assets,
        "updated_at": assignment.updated_at.isoformat(),
        "url": f"/p/{project.slug}/assignments/{assignment.id}",
    }


@router.get("/api/me/notes")
def my_notes_json(
    identity: SignedIn,
    session: Reading,
    since: Annotated[str, Query(max_length=60)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Notes and assignments for the caller; pass `now` (or the last note id) back as `since`.

    A time cursor returns notes written and assignments changed after it; a note-id cursor
    returns the notes after that id and every assignment.
    """
    now = datetime.now(UTC)
    cursor = parse_since(since)
    project_id = identity.token.project_id if identity.token else None
    notes = notes_for(session, identity.user, project_id=project_id, since=cursor, limit=limit)
    work = assignments_of(session, identity.user, project_id, changed_since=cursor.time)
    assets = attached_shas(session, (assignment.id for assignment, _ in work))
    shas: dict[int, set[str]] = defaultdict(set)
    for note, project in notes:
        shas[project.id].add(note.asset_sha256)
    crew = crew_projects(session, identity.user)
    names = {
        pid: asset_names(session, pid, wanted, identity.user.username if pid in crew else None)
        for pid, wanted in shas.items()
    }
    return {
        "now": now.isoformat(),
        "last_note_id": max((note.id for note, _ in notes), default=cursor.note_id),
        "notes": [
            _note_json(note, project, names[project.id][note.asset_sha256])
            for note, project in notes
        ],
        "assignments": [_assignment_json(a, p, assets.get(a.id, [])) for a, p in work],
    }
