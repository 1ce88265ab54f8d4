"""The field kit's side of the base: manifests of hashed cards, and which originals to send.

The crew label of everything a field kit sends is the token owner's username, so crew see
their own footage in the review room however it arrived.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import select

from rushes.catalog.models import Asset, Derivative
from rushes.errors import AccessDenied
from rushes.i18n import N_
from rushes.ingest import record_manifest
from rushes.media.probe import Size
from rushes.media.timecode import parse_rate
from rushes.review.access import Can
from rushes.review.originals import request_original, wanted
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing

router = APIRouter(dependencies=[Depends(check_origin)])
SHA256 = re.compile(r"[0-9a-f]{64}")


class Claims(BaseModel):
    """What the kit's own probe said of a file. Untrusted: every value is bounded, and a claim
    that fails is dropped (its entry still counts: custody never waits on a frame rate)."""

    kind: Literal["video", "audio", "image"]
    container: Annotated[str, Field(max_length=40, pattern=r"[\w,.+-]*")] = ""
    frame_rate: Annotated[str | None, Field(max_length=24)] = None
    vfr: bool = False
    duration_s: Annotated[float | None, Field(ge=0, le=7 * 86400, allow_inf_nan=False)] = None
    created_at: Annotated[str | None, Field(max_length=40)] = None  # ISO 8601, offset if known
    width: Annotated[int | None, Field(ge=1, le=65536)] = None
    height: Annotated[int | None, Field(ge=1, le=65536)] = None
    rotation: Literal[0, 90, 180, 270] = 0

    @field_validator("frame_rate")
    @classmethod
    def _rate(cls, text: str | None) -> str | None:
        if text is None:
            return None
        rate = parse_rate(text)  # a ValueError becomes a validation error
        return f"{rate.numerator}/{rate.denominator}"

    @field_validator("created_at")
    @classmethod
    def _time(cls, text: str | None) -> str | None:
        if text is not None and not 1970 <= datetime.fromisoformat(text).year <= 2200:
            raise ValueError("a capture time between 1970 and 2200")
        return text

    def as_media(self) -> dict[str, Any]:
        """In the shape of the base's own probe result (MediaInfo.as_dict)."""
        moment = datetime.fromisoformat(self.created_at) if self.created_at else None
        utc = moment.astimezone(UTC) if moment and moment.utcoffset() is not None else None
        size = None
        if self.width and self.height:
            size = asdict(Size.rotated(self.width, self.height, self.rotation))
        return {
            "kind": self.kind,
            "container": self.container,
            "duration_s": self.duration_s,
            "size": size,
            "frame_rate": self.frame_rate if self.kind == "video" else None,
            "vfr": self.vfr,
            "streams": [],
            "created_at": self.created_at,
            "created_at_utc": utc.isoformat().replace("+00:00", "Z") if utc else None,
            "created_at_source": None,
            "location": None,
            "device": None,
        }


class Entry(BaseModel):
    sha256: Annotated[str, Field(pattern=SHA256.pattern)]
    size: Annotated[int, Field(ge=0, le=2**53)]
    path: Annotated[str, Field(min_length=1, max_length=4096)]
    mtime_ns: Annotated[int | None, Field(ge=0, le=2**63 - 1)] = None
    # The kit's probe (see Claims), checked entry by entry so a bad one loses nothing else.
    media: Annotated[dict[str, Any] | None, Field(max_length=20)] = None

    def claims(self) -> tuple[dict[str, Any] | None, str]:
        """The claims as media, or None and why they were dropped."""
        if self.media is None:
            return None, ""
        try:
            return Claims.model_validate(self.media).as_media(), ""
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            return None, f"media ignored: {where}: {problem['msg']}"[:300]


class Manifest(BaseModel):
    source: Annotated[str, Field(max_length=500)] = ""
    entries: Annotated[list[Entry], Field(max_length=10_000)]


@router.post("/api/p/{slug}/field/manifest")
def receive_manifest(manifest: Manifest, viewer: InProject, session: Writing) -> dict[str, Any]:
    """Record each hashed original (custody starts at the card) and say what the base lacks."""
    source = "".join(c if c.isprintable() else "?" for c in manifest.source)
    answers = []
    for entry in manifest.entries:
        claims, problem = entry.claims()
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
            claims=claims,
        )
        answers.append({"sha256": entry.sha256, "status": status})
        if problem:
            answers[-1]["problem"] = problem
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
        raise AccessDenied(N_("only reviewers ask for originals"))
    request_original(session, viewer, sha256)
    if "application/json" in request.headers.get("accept", ""):
        return Response(status_code=204)
    return RedirectResponse(f"/p/{viewer.project.slug}/a/{sha256}", 303)
