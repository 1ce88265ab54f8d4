"""The legal hold from the incident page, as `rushes incidents hold` puts it (rushes.holds).

Roles that may take originals (admins, investigators) put it: it only keeps more. Releasing it
lets an original's retention run out and the original be deleted, so only a project's admins
may. Each original's hold is a custody event naming who put or released it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from rushes.errors import AccessDenied, InvalidInput, StoreUnavailable, VaultError
from rushes.holds import hold, may_hold
from rushes.i18n import N_, Term
from rushes.review.access import Can, Viewer
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import get_base

router = APIRouter(dependencies=[Depends(check_origin)])


@router.post("/p/{slug}/incidents/{code}/hold")
def put_on(code: str, request: Request, viewer: InProject) -> Response:
    if not viewer.can(Can.DOWNLOAD):
        raise AccessDenied(N_("a %(role)s may not put a legal hold"), role=Term(viewer.role))
    return _hold(request, viewer, code, on=True)


@router.post("/p/{slug}/incidents/{code}/hold/release")
def release(code: str, request: Request, viewer: InProject) -> Response:
    if not viewer.can(Can.MANAGE):
        raise AccessDenied(N_("only a project's admins release a legal hold"))
    return _hold(request, viewer, code, on=False)


def _hold(request: Request, viewer: Viewer, code: str, *, on: bool) -> Response:
    base = get_base(request)
    cannot = InvalidInput(N_("a legal hold needs an S3 vault with Object Lock"))
    if not may_hold(base):
        raise cannot
    try:
        hold(base, viewer.project.slug, code, on=on, actor=viewer.user.username)
    except StoreUnavailable:
        raise  # 503: try again later
    except VaultError as exc:  # a store that did not answer at start, and has no Object Lock
        raise cannot from exc
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents/{code}#hold", 303)
