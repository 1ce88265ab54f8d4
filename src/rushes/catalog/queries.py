"""Reads shared by the CLI and the web (finding and listing assets), and the cluster labels
that let a list fold copies of one clip into a single card."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from rushes.catalog.models import (
    Arrival,
    Asset,
    ContentCredentials,
    NearDuplicate,
    Project,
    ShotBoundary,
    StepState,
)
from rushes.errors import NotFoundError
from rushes.media.orientations import INVERSE, TRANSFORMS

MIN_PREFIX = 6
# An absolute POSIX or Windows path inside a message: the server's layout is not for readers
# (a URL's path, s3://bucket/prefix, says which store is meant and stays).
_PATH = re.compile(r"""(?:[A-Za-z]:\\|(?<![\w.~:/])/)(?:[^\s/\\'"]+[/\\])+[^\s'",;:)]*""")


def without_paths(reason: str) -> str:
    """A failure's reason fit to show: every absolute server path replaced by "[path]"."""
    return _PATH.sub("[path]", reason)


def failed_steps(
    session: Session, shas: Iterable[str] | None = None, limit: int | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Each asset's failed pipeline steps with their reasons (paths removed), by SHA-256."""
    query = select(StepState.asset_sha256, StepState.step, StepState.error).where(
        StepState.status == "failed"
    )
    if shas is not None:
        query = query.where(StepState.asset_sha256.in_(list(shas)))
    query = query.order_by(StepState.finished_at.desc(), StepState.asset_sha256, StepState.step)
    found: dict[str, list[tuple[str, str]]] = {}
    for sha, step, error in session.execute(query):
        if sha not in found and limit is not None and len(found) >= limit:
            continue
        found.setdefault(sha, []).append((step, without_paths(error or "no reason recorded")))
    return found


def step_notes(session: Session, shas: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """What finished steps said was missing (a proxy that stops short of a cut-off file, fewer
    thumbnails than asked), by SHA-256: not failures, but worth seeing beside the asset."""
    query = select(StepState.asset_sha256, StepState.step, StepState.error).where(
        StepState.status == "done",
        StepState.error.is_not(None),
        StepState.asset_sha256.in_(list(shas)),
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for sha, step, note in session.execute(query.order_by(StepState.step)):
        found.setdefault(sha, []).append((step, without_paths(note)))
    return found


def credential_problems(
    session: Session, shas: Iterable[str] | None = None, limit: int | None = None
) -> dict[str, str]:
    """Originals whose C2PA credentials failed (Invalid, unreadable): what failed, by SHA-256.
    The step that read them succeeded, so these are not among the failed steps."""
    query = select(ContentCredentials).where(
        ContentCredentials.state.in_(("Invalid", "unreadable"))
    )
    if shas is not None:
        query = query.where(ContentCredentials.asset_sha256.in_(list(shas)))
    query = query.order_by(ContentCredentials.read_at.desc()).limit(limit)
    found = {}
    for row in session.scalars(query):
        failures = (row.summary or {}).get("failures") or [{}]
        first = failures[0].get("code") or failures[0].get("explanation") or ""
        found[row.asset_sha256] = f"C2PA {row.state}" + (f": {first}" if first else "")
    return found


def find_asset(session: Session, prefix: str) -> Asset:
    """An asset by its SHA-256 or a unique prefix of it (at least six hex digits)."""
    prefix = prefix.strip().lower()
    if len(prefix) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
        raise NotFoundError(f"{prefix!r}: give at least {MIN_PREFIX} hex digits of a SHA-256")
    found = session.scalars(
        select(Asset)
        .where(Asset.sha256.startswith(prefix, autoescape=True))
        .options(selectinload(Asset.arrivals).selectinload(Arrival.project))
        .limit(2)
    ).all()
    if not found:
        raise NotFoundError(f"no asset with a SHA-256 starting {prefix}")
    if len(found) > 1:
        raise NotFoundError(f"{prefix} names more than one asset; give more digits")
    return found[0]


def list_assets(
    session: Session, *, project: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[Asset]:
    """Assets newest capture first (then by arrival), optionally of one project."""
    query = select(Asset)
    if project is not None:
        in_project = (
            select(Arrival.asset_sha256)
            .join(Project, Project.id == Arrival.project_id)
            .where(Project.slug == project)
        )
        query = query.where(Asset.sha256.in_(in_project))
    query = query.order_by(
        Asset.captured_at.desc().nulls_last(), Asset.first_received_at.desc(), Asset.sha256
    )
    return session.scalars(query.limit(limit).offset(offset)).all()


def first_paths(session: Session, shas: Sequence[str]) -> dict[str, str]:
    """Each asset's path as it first arrived (its extension names the format's variant)."""
    found: dict[str, str] = {}
    rows = session.execute(
        select(Arrival.asset_sha256, Arrival.path)
        .where(Arrival.asset_sha256.in_(shas))
        .order_by(Arrival.id)
    )
    for sha256, path in rows:
        found.setdefault(sha256, path)
    return found


def count_assets(session: Session) -> dict[str, int]:
    rows = session.execute(select(Asset.kind, func.count()).group_by(Asset.kind)).all()
    return {kind: count for kind, count in rows}


def near_duplicates_of(session: Session, sha256: str) -> list[dict[str, Any]]:
    """Clips that share moments with this one, best first; segments as (this, other) seconds."""
    rows = session.scalars(
        select(NearDuplicate).where(
            or_(NearDuplicate.asset_a == sha256, NearDuplicate.asset_b == sha256)
        )
    ).all()
    copies = []
    for row in rows:
        mine_first = row.asset_a == sha256
        spans = row.segments["segments"]
        transform = row.segments.get(
            "transform", "mirrored" if row.segments["mirrored"] else "none"
        )
        crop = row.segments.get("crop", 0.0)
        if not mine_first:  # stored as how b is made from a: say it the other way round
            transform, crop = TRANSFORMS[INVERSE[TRANSFORMS.index(transform)]], -crop
        copies.append(
            {
                "sha256": row.asset_b if mine_first else row.asset_a,
                "score": row.score,
                "mirrored": row.segments["mirrored"],
                "transform": transform,  # how the other clip's pictures are turned from this one's
                "crop": crop,  # share of each side the other lacks (negative: this one lacks)
                "segments": spans if mine_first else [[s[2], s[3], s[0], s[1]] for s in spans],
            }
        )
    return sorted(copies, key=lambda c: -c["score"])


def cluster_of(session: Session, sha256: str, within: Select[tuple[str]] | None = None) -> set[str]:
    """Every asset linked to this one through a chain of near-duplicate pairs; with `within`
    (SHA-256s, as a query), only through pairs of those assets, so a chain never passes
    through an asset someone may not see."""
    members, frontier = {sha256}, [sha256]
    while frontier:
        pairs = select(NearDuplicate.asset_a, NearDuplicate.asset_b).where(
            or_(NearDuplicate.asset_a.in_(frontier), NearDuplicate.asset_b.in_(frontier))
        )
        if within is not None:
            allowed = within.subquery()
            pairs = pairs.where(
                NearDuplicate.asset_a.in_(select(allowed.c[0])),
                NearDuplicate.asset_b.in_(select(allowed.c[0])),
            )
        linked = session.execute(pairs).all()
        frontier = [s for pair in linked for s in pair if s not in members]
        members.update(frontier)
    return members


def relabel_clusters(session: Session, sha256: str) -> None:
    """After this asset's pairs changed: label its cluster, and the one it was in, afresh.

    A label is the smallest SHA-256 of the connected component (None for a clip with no
    copies), so it is the same whichever member was processed last.
    """
    previous = session.scalar(select(Asset.cluster).where(Asset.sha256 == sha256))
    touched = {sha256}
    if previous is not None:
        touched.update(session.scalars(select(Asset.sha256).where(Asset.cluster == previous)))
    while touched:
        members = cluster_of(session, touched.pop())
        touched -= members
        label = min(members) if len(members) > 1 else None
        session.execute(update(Asset).where(Asset.sha256.in_(members)).values(cluster=label))


def asset_record(asset: Asset, project_id: int | None = None) -> dict[str, Any]:
    """An asset as plain data, with every arrival (or only one project's): for `rushes show`
    and evidence bags."""
    return {
        "sha256": asset.sha256,
        "sha512": asset.sha512,
        "size": asset.size,
        "kind": asset.kind,
        "captured_at": asset.captured_at.isoformat() if asset.captured_at else None,
        "captured_offset": asset.captured_offset,
        "probe_error": asset.probe_error,
        "media": asset.media,
        "arrivals": [
            {
                "project": a.project.slug,
                "crew": a.crew,
                "source": a.source,
                "path": a.path,
                "received_at": a.received_at.isoformat(),
                "actor": a.actor,
                "duplicate": a.duplicate,
                "via": a.via,
            }
            for a in asset.arrivals
            if project_id is None or a.project_id == project_id
        ],
    }


def pipeline_steps(session: Session, sha256: str) -> list[dict[str, Any]]:
    """Where each pipeline step stands for this asset, a failure's or skip's reason shown."""
    rows = session.scalars(select(StepState).where(StepState.asset_sha256 == sha256)).all()
    return [
        {
            "step": row.step,
            "status": row.status,
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "reason": without_paths(row.error) if row.error else None,
        }
        for row in sorted(rows, key=lambda r: (r.started_at is None, r.started_at, r.step))
    ]


def shots_of(session: Session, sha256: str) -> list[dict[str, Any]]:
    """The asset's shots, with exact frames and their times in seconds."""
    rows = session.scalars(
        select(ShotBoundary).where(ShotBoundary.asset_sha256 == sha256).order_by(ShotBoundary.index)
    )
    return [
        {
            "index": s.index,
            "start_frame": s.start_frame,
            "end_frame": s.end_frame,
            "start_s": float(s.start_pts * Fraction(s.time_base)),
            "end_s": float(s.end_pts * Fraction(s.time_base)),
            "transition": s.transition,
        }
        for s in rows
    ]
