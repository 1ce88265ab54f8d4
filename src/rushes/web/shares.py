"""Share copies and share previews from the player: start one (a background job, see
rushes.exports.share_jobs), follow it as JSON, download the finished copy as a zip; and what
the player shows of them and of the clip's redactions.

Only roles that may circle takes (admins, directors), who are also those who draw redactions,
may do any of it: others get 403 and see no buttons. Making a copy records `shared` per
original (rushes.exports.share), so its download records nothing more: what left the base, to
whom and why, is in the chain already. A preview is a derivative, served as the proxy is.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rushes.catalog.models import Asset
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.exports import preview, share_jobs
from rushes.exports.share import require_video
from rushes.i18n import N_
from rushes.review import redactions
from rushes.review.access import Can, Viewer, require_asset
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, get_base, job_answer

router = APIRouter(dependencies=[Depends(check_origin)])
MAX_TO, MAX_WHY = 200, 2000  # characters: a name or two, a few sentences


def _may(session: Session, viewer: Viewer, sha256: str) -> None:
    """A clip the viewer cannot see is missing (404) before anything else is said."""
    require_asset(session, viewer, sha256)
    if not viewer.can(Can.SELECT):
        raise AccessDenied(N_("only admins and directors make share copies and previews"))


def _back(viewer: Viewer, sha256: str) -> RedirectResponse:
    return RedirectResponse(f"/p/{viewer.project.slug}/a/{sha256}#share-copy", 303)


def player_context(
    request: Request, session: Session, viewer: Viewer, sha256: str, copy: str
) -> dict[str, Any]:
    """What player.html shows of the clip's redactions (to all who see it), and of its share
    preview and share copies (to those who may make them); ``copy="preview"`` plays the
    preview in place of the proxy when there is a current one."""
    shown: dict[str, Any] = {
        "redactions": redactions.listed(session, viewer, sha256),
        "may_share": viewer.can(Can.SELECT),
        "preview": None,
        "preview_job": None,
        "shares": [],
    }
    if not shown["may_share"]:
        return shown
    settings = get_base(request).settings
    slug = viewer.project.slug
    made = preview.current(session, viewer.project.id, sha256)
    latest = share_jobs.of_clip(settings, "preview", slug, sha256)[:1]
    shown |= {
        "preview": made,
        "watching_preview": made is not None and copy == "preview",
        # A finished job shows as its preview (or its absence, once the redactions changed).
        "preview_job": next((j for j in latest if j["state"] != "done"), None),
        "shares": share_jobs.of_clip(settings, "share", slug, sha256),
        "can_preview": preview.source(session, sha256) is not None,
    }
    return shown


@router.post("/p/{slug}/a/{sha256}/previews")
def preview_start(sha256: str, request: Request, viewer: InProject, session: Reading) -> Response:
    _may(session, viewer, sha256)
    key = preview.key(session, viewer.project.id, sha256)
    if key is None:
        raise InvalidInput(N_("no proxy to preview yet: the pipeline has not made one"))
    settings = get_base(request).settings
    share_jobs.start_preview(settings, viewer.project.slug, sha256, viewer.user.username, key)
    return _back(viewer, sha256)


@router.get("/api/p/{slug}/a/{sha256}/previews/{job}")
def preview_status(
    sha256: str, job: str, request: Request, viewer: InProject, session: Reading
) -> dict[str, Any]:
    """The job's state; ``current``: its preview shows the clip's redactions as they are."""
    _may(session, viewer, sha256)
    settings = get_base(request).settings
    found = share_jobs.read(settings, "preview", viewer.project.slug, sha256, job)
    # The access check began a read transaction, a snapshot on SQLite, perhaps before the
    # job committed its preview and then said it was done: look in a fresh one.
    project_id = viewer.project.id
    with get_base(request).catalog.read() as fresh:
        made = preview.current(fresh, project_id, sha256)
    current = found["state"] == "done" and made is not None and made.name == found.get("file")
    return {**job_answer(request, found), "current": current}


@router.post("/p/{slug}/a/{sha256}/shares")
def share_start(
    sha256: str,
    request: Request,
    viewer: InProject,
    session: Reading,
    to: Annotated[str, Form(max_length=MAX_TO * 2)] = "",
    why: Annotated[str, Form(max_length=MAX_WHY * 2)] = "",
    keep_faces: Annotated[str, Form(max_length=5)] = "",
    pseudonymise_crew: Annotated[str, Form(max_length=5)] = "",
    ranged: Annotated[str, Form(max_length=5)] = "",
    start: Annotated[str, Form(max_length=20)] = "",
    end: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Faces are hidden unless ``keep_faces`` is ticked (as `rushes export share` does unless
    told --keep-faces); with ``ranged``, only ``start``-``end`` (seconds, from the I/O marks)."""
    _may(session, viewer, sha256)
    require_video(session.get(Asset, sha256))  # at once, not when the job fails
    span = _span(start, end) if ranged else None
    if not to.strip() or not why.strip():
        raise InvalidInput(N_("say to whom and why the copy is shared"))
    if len(to.strip()) > MAX_TO:
        raise InvalidInput(N_("to whom: %(most)s characters at most"), most=MAX_TO)
    if len(why.strip()) > MAX_WHY:
        raise InvalidInput(N_("why: %(most)s characters at most"), most=MAX_WHY)
    share_jobs.start_share(
        get_base(request).settings,
        viewer.project.slug,
        sha256,
        viewer.user.username,
        to=to,
        why=why,
        faces=not keep_faces,
        pseudonymise_crew=bool(pseudonymise_crew),
        span=span,
    )
    return _back(viewer, sha256)


def _span(start: str, end: str) -> tuple[float, float]:
    """The marked range in seconds, or why it is not one."""
    if not start or not end:
        raise InvalidInput(N_("set the In and Out marks to share only a range"))
    try:
        begins, ends = float(start), float(end)
    except ValueError:
        raise InvalidInput(N_("the marked range is not a pair of times")) from None
    if not (math.isfinite(begins) and math.isfinite(ends) and 0 <= begins < ends):
        raise InvalidInput(N_("the marked range must start before it ends"))
    return begins, ends


@router.get("/api/p/{slug}/a/{sha256}/shares/{job}")
def share_status(
    sha256: str, job: str, request: Request, viewer: InProject, session: Reading
) -> dict[str, Any]:
    _may(session, viewer, sha256)
    found = share_jobs.read(get_base(request).settings, "share", viewer.project.slug, sha256, job)
    return job_answer(request, found)


@router.get("/p/{slug}/a/{sha256}/shares/{job}/download")
def share_download(
    sha256: str, job: str, request: Request, viewer: InProject, session: Reading
) -> Response:
    """The copy and its share.json as one zip, from this site's own pages only (a link on
    another site must not fetch it with a director's cookie)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise AccessDenied(N_("open the share copy's link from the player page"))
    _may(session, viewer, sha256)
    settings = get_base(request).settings
    found = share_jobs.read(settings, "share", viewer.project.slug, sha256, job)
    if found["state"] != "done":
        raise NotFoundError(N_("this share copy is not ready"))
    return FileResponse(
        share_jobs.zip_path(settings, found),
        media_type="application/zip",
        filename=found["file"],
        headers={"Cache-Control": "private, no-store"},
    )
