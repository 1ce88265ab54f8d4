"""The field kit's side of the base: manifests of hashed cards, and which originals to send.

The crew label of everything a field kit sends is the token owner's username, so crew see
their own footage in the review room however it arrived.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from rushes.catalog.models import Asset, Derivative
from rushes.errors import AccessDenied
from rushes.ingest import record_manifest
from rushes.review.access import Can
from rushes.review.originals import request_original, wanted
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing

router = APIRouter(dependencies=[Depends(check_origin)])
SHA256 = re.compile(r"[0-9a-f]{64}")


class Entry(BaseModel):
    sha256: Annotated[str, Field(pattern=SHA256.pattern)]
    size: Annotated[int, Field(ge=0, le=2**53)]
    path: Annotated[str, Field(min_length=1, max_length=4096)]
    mtime_ns: Annotated[int | None, Field(ge=0, le=2**63 - 1)] = None


class Manifest(BaseModel):
    source: Annotated[str, Field(max_length=500)] = ""
    entries: Annotated[list[Entry], Field(max_length=10_000)]


@router.post("/api/p/{slug}/field/manifest")
def receive_manifest(manifest: Manifest, viewer: InProject, session: Writing) -> dict[str, Any]:
    """Record each hashed original (custody starts at the card) and say what the base lacks."""
    source = "".join(c if c.isprintable() else "?" for c in manifest.source)
    answers = []
    for entry in manifest.entries:
        status = record_manifest(
            session,
            sha256=entry.sha256,
            size=entry.size,
            project_id=viewer.project.id,
            crew=viewer.user.username,
            source=source,
            raw_path=_path_bytes(entry.path),
            mtime_ns=entry.mtime_ns,
            actor=viewer.user.username,
        )
        answers.append({"sha256": entry.sha256, "status": status})
    shas = [a["sha256"] for a in answers if a["status"] != "new"]
    stored = set(
        session.scalars(select(Asset.sha256).where(Asset.sha256.in_(shas), Asset.in_vault))
    )
    proxied = set(
        session.scalars(
            select(Derivative.asset_sha256).where(
                Derivative.asset_sha256.in_(shas), Derivative.kind == "proxy"
            )
        )
    )
    for answer in answers:
        answer["in_vault"] = answer["sha256"] in stored
        answer["proxy"] = answer["sha256"] in proxied
    return {"entries": answers}


def _path_bytes(path: str) -> bytes:
    """The card's path as the kit read it (undecodable bytes travel as surrogate escapes)."""
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return path.encode("utf-8", "replace")


@router.get("/api/p/{slug}/field/wanted")
def wanted_originals(viewer: InProject, session: Reading) -> dict[str, list[str]]:
    return {"originals": wanted(session, viewer)}


@router.post("/p/{slug}/a/{sha256}/send-original")
def ask_for_original(
    request: Request, sha256: str, viewer: InProject, session: Writing
) -> Response:
    """A reviewer's "send original": the crew's next sync sends this one first."""
    if not viewer.can(Can.SEE_ALL):
        raise AccessDenied("only reviewers ask for originals")
    request_original(session, viewer, sha256)
    if "application/json" in request.headers.get("accept", ""):
        return Response(status_code=204)
    return RedirectResponse(f"/p/{viewer.project.slug}/a/{sha256}", 303)
