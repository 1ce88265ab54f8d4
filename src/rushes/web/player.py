"""The player page of one asset, its media files, its original, and its notes.

Forms work without JavaScript and answer with a 303 back to the player; `static/player.js`
adds the keyboard, the live timecode and seeking. The JSON notes API serves that script and
the field kit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_
from rushes.review import notes
from rushes.review import player as review
from rushes.review.access import Can, Viewer
from rushes.review.assignments import list_assignments
from rushes.web import shares
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing, get_base, page
from rushes.web.language import Problem
from rushes.web.ranges import ranged

router = APIRouter(dependencies=[Depends(check_origin)])

Frame = Annotated[str, Form(max_length=20)]
NoteText = Annotated[str, Form(max_length=notes.MAX_BODY * 2)]
FINISHED = ("done", "dropped")


def _player(
    request: Request,
    session: Session,
    viewer: Viewer,
    sha256: str,
    *,
    proxy: str = "",
    copy: str = "",
    problem: Problem = "",
    draft: notes.Draft | None = None,
) -> HTMLResponse:
    shown = review.asset_page(session, viewer, get_base(request).vault, sha256)
    chosen = next((p for p in shown.proxies if p.name == proxy), None) or (
        shown.proxies[0] if shown.proxies else None
    )
    context = {
        "viewer": viewer,
        "a": shown,
        "card": shown.card,
        "proxy": chosen,
        "threads": notes.threads(session, viewer, sha256),
        "categories": notes.CATEGORIES,
        "members": notes.addressable(session, viewer),
        "assignments": [a for a in list_assignments(session, viewer) if a.status not in FINISHED]
        if viewer.can(Can.ASSIGN)
        else [],
        "problem": problem,
        "draft": draft or notes.Draft(body=""),
        "seconds_of": notes.seconds,
        **shares.player_context(request, session, viewer, sha256, copy),
    }
    return page(request, "player.html", context, 400 if problem else 200)


def _back(viewer: Viewer, sha256: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/p/{viewer.project.slug}/a/{sha256}{anchor}", 303)


@router.get("/p/{slug}/a/{sha256}", response_class=HTMLResponse)
def player(
    request: Request,
    sha256: str,
    viewer: InProject,
    session: Reading,
    proxy: str = "",
    copy: str = "",
) -> HTMLResponse:
    """``copy=preview``: the share preview in place of the proxy (rushes.web.shares)."""
    return _player(request, session, viewer, sha256, proxy=proxy, copy=copy)


# Kept an hour: a grid revisited over a slow link costs nothing, and a rebuilt derivative (rare:
# a new pipeline version) shows soon enough.
MEDIA_CACHE = {"Cache-Control": "private, max-age=3600"}


@router.head("/p/{slug}/a/{sha256}/media/{name}")
def media_head(sha256: str, name: str, viewer: InProject, session: Reading) -> Response:
    """What a player or download manager asks first: size and type, from the catalog, without
    reading the file (which may be in a remote store)."""
    made = review.derivative(session, viewer, sha256, name)
    sized = {**MEDIA_CACHE, "Accept-Ranges": "bytes", "Content-Length": str(made.size)}
    return Response(media_type=made.media_type, headers=sized)


@router.get("/p/{slug}/a/{sha256}/media/{name}")
def media(
    sha256: str, name: str, request: Request, viewer: InProject, session: Reading
) -> Response:
    """A proxy or thumbnail of a visible asset; range requests let the player seek."""
    made = review.derivative(session, viewer, sha256, name)
    derivatives = get_base(request).derivatives
    missing = NotFoundError(
        N_("%(name)s of asset %(clip)s is damaged or missing"), name=made.name, clip=sha256[:12]
    )
    headers = dict(MEDIA_CACHE)
    if derivatives.remote:  # streamed from the store, range by range, as the player seeks
        try:
            return ranged(
                request,
                lambda start, end: derivatives.open_range(sha256, made.name, start, end),
                made.size,
                made.media_type,
                headers,
            )
        except FileNotFoundError as exc:
            raise missing from exc
    if derivatives.size(sha256, made.name) != made.size:  # cheap; verify checks content
        raise missing
    path = derivatives.path(sha256, made.name)
    return FileResponse(path, media_type=made.media_type, headers=headers)


@router.get("/p/{slug}/a/{sha256}/original")
def original(sha256: str, request: Request, viewer: InProject, session: Reading) -> Response:
    """The original, for roles that may take it; the custody event is committed first.

    Only from this site's own pages (or typed in): a link on another site must not make a
    signed-in investigator's browser take a copy, and the chain record it in their name.
    """
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise AccessDenied(N_("open the original's link from the player page"))
    base = get_base(request)
    address = request.client.host if request.client else "unknown"
    with base.catalog.write() as writing:
        path = review.release_original(writing, viewer, base.vault, sha256, address)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=review.download_name(session, viewer, sha256),
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/p/{slug}/a/{sha256}/graphic")
def graphic(
    sha256: str,
    viewer: InProject,
    session: Writing,
    graphic: Annotated[str, Form(max_length=5)] = "1",
) -> Response:
    review.set_graphic(session, viewer, sha256, graphic.strip() not in ("0", "", "off", "false"))
    return _back(viewer, sha256)


@router.post("/p/{slug}/a/{sha256}/notes")
def add_note(
    request: Request,
    sha256: str,
    viewer: InProject,
    session: Writing,
    body: NoteText = "",
    category: Annotated[str, Form(max_length=40)] = "story",
    start: Frame = "",
    end: Frame = "",
    rate: Annotated[str, Form(max_length=40)] = "",
    addressed_to: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    draft = notes.Draft(body, category, rate=rate, addressed_to=addressed_to)
    try:
        positions = notes.frame_field("start", start), notes.frame_field("end", end)
        draft = replace(draft, start=positions[0], end=positions[1])
        note = notes.add_note(session, viewer, sha256, draft)
    except InvalidInput as exc:
        return _player(request, session, viewer, sha256, problem=exc, draft=draft)
    return _back(viewer, sha256, f"#note-{note.id}")


@router.post("/p/{slug}/notes/{note_id}/replies")
def add_reply(note_id: int, viewer: InProject, session: Writing, body: NoteText = "") -> Response:
    answer = notes.reply(session, viewer, note_id, body)
    return _back(viewer, answer.asset_sha256, f"#note-{answer.parent_id}")


@router.post("/p/{slug}/notes/{note_id}/resolve")
def resolve(note_id: int, viewer: InProject, session: Writing) -> Response:
    note = notes.set_resolved(session, viewer, note_id, True)
    return _back(viewer, note.asset_sha256, f"#note-{note.id}")


@router.post("/p/{slug}/notes/{note_id}/reopen")
def reopen(note_id: int, viewer: InProject, session: Writing) -> Response:
    note = notes.set_resolved(session, viewer, note_id, False)
    return _back(viewer, note.asset_sha256, f"#note-{note.id}")


@router.get("/api/p/{slug}/a/{sha256}/notes")
def note_list(sha256: str, viewer: InProject, session: Reading) -> dict[str, Any]:
    return {"notes": [notes.thread_json(t) for t in notes.threads(session, viewer, sha256)]}


@router.post("/api/p/{slug}/a/{sha256}/notes", status_code=201)
def note_create(
    sha256: str,
    viewer: InProject,
    session: Writing,
    data: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    """Write a note from a JSON object: body, category, start, end, rate, addressed_to."""
    note = notes.add_note(session, viewer, sha256, notes.draft_from(data))
    session.refresh(note, ["author", "addressed_to", "resolved_by"])
    return JSONResponse({**notes.note_json(note), "replies": []}, 201)
