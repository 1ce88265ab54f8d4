"""Downloads that carry the project's work out of the base: the selects as a timeline for the
edit suite (OTIO, CMX 3600 EDL, FCP7 XML, Resolve's marker EDL)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rushes.errors import AccessDenied
from rushes.exports import timeline
from rushes.exports.conform import timeline_rate
from rushes.i18n import N_, Term
from rushes.review.access import Can
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, get_base

router = APIRouter(dependencies=[Depends(check_origin)])
WARNING_HEADER = "X-Rushes-Warning"


@router.get("/p/{slug}/selects/timeline")
def timeline_form(
    request: Request, viewer: InProject, session: Reading, format: str = "otio", rate: str = ""
) -> Response:
    """The selects page's export form: the format and the timeline's rate as chosen there."""
    return selects_timeline(format, request, viewer, session, rate)


@router.get("/p/{slug}/selects/timeline.{fmt}")
def selects_timeline(
    fmt: str, request: Request, viewer: InProject, session: Reading, rate: str = ""
) -> Response:
    """Every select is in the file, so only roles that see all the project's footage get it.

    `rate` is the timeline's (default: the first select's). Selects whose original is not in
    the vault yet come on their proxy, and what a format could not carry as the timeline has it
    is converted; the header says both (positions and hashes only: a header carries no file
    names safely)."""
    if not viewer.can(Can.SEE_ALL):
        raise AccessDenied(
            N_("a %(role)s may not export the whole project's selects"), role=Term(viewer.role)
        )
    chosen = timeline.format_of(fmt)
    fps = timeline_rate(rate) if rate else None
    cut = timeline.selects_timeline(session, get_base(request).vault, viewer.project, fps)
    written = chosen.write(cut.timeline)
    name = f"{viewer.project.slug}-selects.{fmt}"
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store",
    }
    warnings = cut.warnings + written.warnings
    if cut.missing:
        warnings.insert(
            0,
            f"{len(cut.missing)} select(s) on the proxy, original not in the vault yet: "
            + ", ".join(m.sha256[:12] for m in cut.missing),
        )
    if warnings:
        headers[WARNING_HEADER] = "; ".join(warnings)
    return Response(
        written.text.encode("utf-8"),
        media_type=f"{chosen.media_type}; charset=utf-8",
        headers=headers,
    )
