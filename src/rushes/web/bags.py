"""Evidence bags from the incident page: start one (a background job, see
rushes.exports.bag_jobs), follow it as JSON, download the finished zip.

Only roles that may download originals may do any of it: a bag is every original it holds.
Making the bag records `exported` per original (as the command line does); each download
records `original-downloaded` per original, committed before the first byte is sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from rushes import custody
from rushes.custody import Verb
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.exports import bag_jobs
from rushes.i18n import N_, Term
from rushes.review import incidents as register
from rushes.review.access import Can, Viewer
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, get_base, job_answer

router = APIRouter(dependencies=[Depends(check_origin)])


def _may(viewer: Viewer) -> None:
    if not viewer.can(Can.DOWNLOAD):
        raise AccessDenied(
            N_("a %(role)s may not take originals, so no evidence bag"), role=Term(viewer.role)
        )


def _job(request: Request, viewer: Viewer, job: str) -> dict[str, Any]:
    """The job if it is this project's; another project's is as missing as a typo."""
    _may(viewer)
    status = bag_jobs.read_status(get_base(request).settings, job)
    if status["project"] != viewer.project.slug:
        raise NotFoundError(N_("no bag job '%(job)s'"), job=job)
    return status


@router.post("/p/{slug}/incidents/{code}/bag")
def start(
    code: str,
    request: Request,
    viewer: InProject,
    session: Reading,
    no_location: Annotated[str, Form(max_length=5)] = "",
    pseudonymise_crew: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A bag for a court keeps everything; one that leaves the team may leave out where and on
    which device (`no_location`) and who filmed (`pseudonymise_crew`)."""
    _may(viewer)
    incident = register.get_incident(session, viewer, code)
    if not register.linked_assets(session, incident, None):
        raise InvalidInput(
            N_("incident %(code)s has no footage linked: nothing to bag"), code=incident.code
        )
    bag_jobs.start(
        get_base(request).settings,
        viewer.project.slug,
        incident.code,
        viewer.user.username,
        no_location=bool(no_location),
        pseudonymise_crew=bool(pseudonymise_crew),
    )
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents/{incident.code}#bag", 303)


@router.get("/api/p/{slug}/bags/{job}")
def status(job: str, request: Request, viewer: InProject) -> dict[str, Any]:
    found = _job(request, viewer, job)
    return job_answer(request, found)


@router.get("/p/{slug}/bags/{job}/download")
def download(job: str, request: Request, viewer: InProject) -> Response:
    """The bag's zip, from this site's own pages only (as an original is)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise AccessDenied(N_("open the bag's link from the incident page"))
    found = _job(request, viewer, job)
    if found["state"] != "done":
        raise NotFoundError(
            N_("bag job %(job)s has no bag yet (%(state)s)"), job=job, state=Term(found["state"])
        )
    base = get_base(request)
    address = request.client.host if request.client else "unknown"
    with base.catalog.write() as writing:
        for sha in found["originals"]:
            custody.append(
                writing,
                Verb.ORIGINAL_DOWNLOADED,
                actor=viewer.user.username,
                asset=sha,
                details={
                    "project": viewer.project.slug,
                    "address": address,
                    "bag": found["file"],
                    "tag_manifest_sha256": found["tag_manifest_sha256"],
                },
            )
    return FileResponse(
        bag_jobs.zip_path(base.settings, found),
        media_type="application/zip",
        filename=found["file"],
        headers={"Cache-Control": "private, no-store"},
    )
