"""A clip's redactions as JSON (rules in `rushes.review.redactions`): what every copy that
leaves the base hides, listed for all who see the clip, drawn and removed by admins and
directors (the player's editor, and `rushes export share`, use them). A change drops the
project's share preview of the clip (rushes.exports.preview): it no longer shows what a copy
would hide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from rushes.errors import InvalidInput
from rushes.exports import preview
from rushes.i18n import N_
from rushes.review import redactions
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing, get_base

router = APIRouter(dependencies=[Depends(check_origin)])


@router.get("/api/p/{slug}/a/{sha256}/redactions")
def redaction_list(sha256: str, viewer: InProject, session: Reading) -> dict[str, Any]:
    return {"redactions": redactions.listed(session, viewer, sha256)}


@router.post("/api/p/{slug}/a/{sha256}/redactions", status_code=201)
def redaction_create(
    sha256: str,
    request: Request,
    viewer: InProject,
    session: Writing,
    data: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    """A region ({kind: "region", start, end, keyframes: [{t, x, y, w, h}], label}) or a sound
    ({kind: "mute"|"bleep", start, end, label}); times in seconds, boxes in shares of the
    picture."""
    label = data.get("label", "")
    if not isinstance(label, str):
        raise InvalidInput(N_("label: text"))
    row = redactions.add(session, viewer, sha256, str(data.get("kind", "")), data, label)
    preview.drop(session, get_base(request).derivatives, viewer.project.id, sha256)
    return JSONResponse(redactions.as_json(row), 201)


@router.delete("/api/p/{slug}/a/{sha256}/redactions/{redaction_id}", status_code=204)
def redaction_delete(
    sha256: str, redaction_id: int, request: Request, viewer: InProject, session: Writing
) -> Response:
    redactions.remove(session, viewer, sha256, redaction_id)
    preview.drop(session, get_base(request).derivatives, viewer.project.id, sha256)
    return Response(status_code=204)
