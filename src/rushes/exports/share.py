"""Share copies: redacted copies of clips for partners, press and the public.

A share folder holds, per clip (or per select: just its range), ``clip-NNN.mp4`` made by
`rushes.media.redact` (faces hidden in every frame, the clip's drawn regions and muted sounds
from `rushes.review.redactions`, no metadata) and one ``share.json`` saying what each copy is,
what was hidden, who filmed it, and when, to whom and why it was shared. No original file name,
place, device, project or original's SHA-256 is written: anyone holding a seized card could
hash it and follow it to a published copy, so an original is named by a reference keyed by the
project's secret (`original_reference`) that only the base can resolve. The originals are
untouched; each gets a `shared` custody event naming the copy's SHA-256 and that reference.
When the organisation signs with C2PA, each copy's manifest records the redaction as an edit
with the original (by that reference) as its parent ingredient.

Crew names can be replaced by pseudonyms (`rushes.exports.pseudonyms`): the same crew member
gets the same pseudonym throughout one share folder and different ones in another.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import c2pa
from sqlalchemy import select

from rushes import custody
from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Project, Select
from rushes.custody import Verb
from rushes.errors import InvalidInput, NotFoundError, OriginalDamaged
from rushes.exports.pseudonyms import original_reference, pseudonym
from rushes.i18n import N_
from rushes.media import credentials
from rushes.media.faces import detector
from rushes.media.redact import Redacted, redact
from rushes.media.timecode import seconds_of
from rushes.review.projects import find_project
from rushes.review.redactions import of_asset, plan

MANIFEST = "share.json"


@dataclass(frozen=True)
class Piece:
    """One copy to make: a clip, or a range of it."""

    sha256: str
    span: tuple[float, float] | None = None


@dataclass(frozen=True)
class Shared:
    folder: Path
    export_id: str
    copies: list[dict[str, Any]]


def pieces_of_selects(base: Base, project_slug: str) -> list[Piece]:
    """The project's selects, in cut order, as ranges in seconds."""
    with base.catalog.read() as session:
        project = find_project(session, project_slug)
        rows = session.scalars(
            select(Select).where(Select.project_id == project.id).order_by(Select.position)
        ).all()
        return [
            Piece(r.asset_sha256, (seconds_of(r.start, r.rate), seconds_of(r.end, r.rate)))
            for r in rows
        ]


def require_video(asset: Asset | None) -> None:
    """Only a clip with a picture has a copy to share (a sound or a file that is not media
    would fail only once the copy is being made)."""
    if asset is None or asset.kind != "video":
        raise InvalidInput(N_("only a video clip can be shared as a copy"))


def share(
    base: Base,
    project_slug: str,
    pieces: list[Piece],
    folder: Path,
    *,
    actor: str,
    to: str,
    why: str,
    faces: bool = True,
    pseudonymise_crew: bool = False,
    progress: Callable[[float], None] | None = None,
) -> Shared:
    """Write the share folder (which must not exist yet) and record the `shared` events;
    ``progress`` is told the share of the copies made now and then."""
    if not pieces:
        raise InvalidInput(N_("nothing to share: name clips, or a project with selects"))
    if not to.strip() or not why.strip():
        raise InvalidInput(N_("say to whom and why the copies are shared (--to, --why)"))
    if folder.exists():
        raise InvalidInput(N_("%(path)s exists already: share into a new folder"), path=folder)
    export_id = secrets.token_hex(8)
    with base.catalog.read() as session:
        project = find_project(session, project_slug)
        plans, crews = {}, {}
        for piece in pieces:
            asset = session.get(Asset, piece.sha256)
            in_project = session.scalar(
                select(Arrival.id).where(
                    Arrival.asset_sha256 == piece.sha256, Arrival.project_id == project.id
                )
            )
            if asset is None or in_project is None:
                raise NotFoundError(
                    N_("no clip %(sha256)s in project %(project)s"),
                    sha256=piece.sha256[:12],
                    project=project_slug,
                )
            require_video(asset)
            if not asset.in_vault:
                raise InvalidInput(
                    N_("clip %(sha256)s: its original is still in the field"),
                    sha256=piece.sha256[:12],
                )
            plans[piece.sha256] = plan(of_asset(session, project.id, piece.sha256))
            crews[piece.sha256] = sorted(
                set(
                    session.scalars(
                        select(Arrival.crew).where(
                            Arrival.asset_sha256 == piece.sha256,
                            Arrival.project_id == project.id,
                            Arrival.crew != "",
                        )
                    )
                )
            )
    partial = folder.with_name(f".{folder.name}.{export_id}.part")
    partial.mkdir(parents=True)
    made: list[tuple[Piece, Redacted, str, str]] = []
    try:
        for n, piece in enumerate(pieces, 1):
            regions, mutes = plans[piece.sha256]
            original = base.vault.local_path(piece.sha256)
            if _sha256(original) != piece.sha256:  # the bytes the copy is made of, as stored
                raise OriginalDamaged(
                    N_(
                        "the original of %(clip)s no longer matches its SHA-256: no copy was "
                        "made; `rushes verify` names the damage and repairs it from a good copy"
                    ),
                    clip=piece.sha256[:12],
                )
            copy = redact(
                original,
                partial / f"clip-{n:03d}.mp4",
                regions=regions,
                mutes=mutes,
                detect=detector() if faces else None,
                span=piece.span,
                progress=(lambda done, n=n: progress((n - 1 + done) / len(pieces)))
                if progress
                else None,
            )
            reference = original_reference(project, export_id, piece.sha256)
            signed = _sign(base, piece.sha256, reference, copy)
            made.append((piece, copy, _sha256(copy.path), signed))
        shared_at = datetime.now(UTC).isoformat(timespec="seconds")
        copies = [
            _entry(piece, copy, digest, project, export_id, crews[piece.sha256], pseudonymise_crew)
            | {"content_credentials": signed}
            for piece, copy, digest, signed in made
        ]
        manifest = {
            "export": export_id,
            "shared_at": shared_at,
            "to": to,
            "why": why,
            "faces_hidden": faces,
            "crew_pseudonymised": pseudonymise_crew,
            "copies": copies,
        }
        (partial / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        with base.catalog.write() as session:
            for piece, copy, digest, signed in made:
                custody.append(
                    session,
                    Verb.SHARED,
                    actor=actor,
                    asset=piece.sha256,
                    details={
                        "export": export_id,
                        "to": to,
                        "why": why,
                        "copy": copy.path.name,
                        "copy_sha256": digest,
                        "original_reference": original_reference(project, export_id, piece.sha256),
                        "span_s": list(piece.span) if piece.span else None,
                        "faces_hidden": faces,
                        "face_frames": copy.face_frames,
                        "region_frames": copy.region_frames,
                        "muted_s": round(copy.muted_s, 3),
                        "crew_pseudonymised": pseudonymise_crew,
                        "content_credentials": signed,
                    },
                )
            partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Shared(folder, export_id, copies)


def _entry(
    piece: Piece,
    copy: Redacted,
    digest: str,
    project: Project,
    export_id: str,
    crews: list[str],
    pseudonymise: bool,
) -> dict[str, Any]:
    return {
        "file": copy.path.name,
        "sha256": digest,
        "original": original_reference(project, export_id, piece.sha256),
        "range_s": list(piece.span) if piece.span else None,
        "width": copy.width,
        "height": copy.height,
        "frames": copy.frames,
        "hidden": {
            "frames_with_faces": copy.face_frames,
            "frames_with_regions": copy.region_frames,
            "muted_s": round(copy.muted_s, 3),
        },
        "crew": [pseudonym(project, export_id, c) for c in crews] if pseudonymise else crews,
    }


def _sign(base: Base, original_sha256: str, reference: str, copy: Redacted) -> str:
    """Sign the copy as an edit of its original when the organisation has a C2PA identity:
    'signed', 'not configured', or why it could not be (the copy still goes, and says so)."""
    settings = base.settings
    if settings.c2pa_cert is None or settings.c2pa_key is None:
        return "not configured"
    signing = credentials.Signing.from_files(
        settings.c2pa_cert, settings.c2pa_key, settings.c2pa_tsa_url
    )
    hidden = (
        f"redacted: faces hidden in {copy.face_frames} of {copy.frames} frames, drawn regions "
        f"in {copy.region_frames}, {copy.muted_s:.1f} s of sound muted or bleeped; "
        "metadata removed"
    )
    try:
        credentials.sign_copy(
            signing,
            copy.path,
            "video/mp4",
            original=base.vault.local_path(original_sha256),
            original_sha256=original_sha256,
            original_label=reference,
            title=copy.path.name,
            actions=[
                {"action": "c2pa.edited", "description": hidden},
                {"action": "c2pa.edited.metadata", "description": "metadata removed"},
                {"action": "c2pa.transcoded"},
            ],
        )
    except c2pa.C2paError as exc:
        return f"not signed: {exc}"
    return "signed"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
