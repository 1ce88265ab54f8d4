"""Legal holds: every original linked to an incident kept past its retention, until released.

An S3 vault with Object Lock holds each original under a retention of fixed length; a court
case may outlast it. `rushes incidents hold` marks the incident held and puts the store's legal
hold on each original it links (while it is on, nobody can delete that version, whatever its
retention); `--release` lifts it, except on originals another held incident still links. An
original linked to a held incident later, or arriving from the field after, is held by
`reconcile`: `rushes serve` runs it every minute on what was linked or arrived since, and
`rushes verify` on everything. Each original's hold
is one custody event, logged once the store has it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, or_, select

from rushes import custody
from rushes.base import Base
from rushes.catalog import Asset, utcnow
from rushes.catalog.models import Arrival, Incident, IncidentAsset, Project
from rushes.custody import Verb
from rushes.errors import StoreUnavailable, VaultError
from rushes.review.incidents import find_incident, linked_assets
from rushes.review.projects import find_project

POLL_S = 60.0
POLL_MARGIN = timedelta(minutes=5)  # a link committed late, stamped before the last look
log = logging.getLogger(__name__)


def hold(base: Base, slug: str, code: str, *, on: bool, actor: str) -> list[str]:
    """Put (or, `on` False, release) the legal hold of the incident and of every stored
    original it links; returns the SHA-256s whose hold changed. A mistyped incident is named
    as such before the vault is asked whether it can hold at all."""
    with base.catalog.read() as session:
        find_incident(session, find_project(session, slug), code)
    if not base.vault.backend.legal_holds:
        raise VaultError(
            "legal holds need an S3 vault on a bucket with Object Lock (RUSHES_VAULT_URL); "
            "a folder vault never deletes an original in the first place"
        )
    with base.catalog.write() as session:
        incident = find_incident(session, find_project(session, slug), code)
        incident.legal_hold = on
        stored = select(Asset.sha256).where(Asset.in_vault)
        shas = [link.asset_sha256 for link in linked_assets(session, incident, stored)]
        if not on:
            still = set(session.scalars(_held_links().where(Incident.id != incident.id)))
            shas = [sha for sha in shas if sha not in still]
    for sha in shas:
        _apply(base, sha, on, code, slug, actor)
    return shas


def reconcile(base: Base, actor: str, since: datetime | None = None) -> list[str]:
    """Hold every stored original a held incident links that the store does not hold yet
    (linked, or arrived, after the hold was put); returns their SHA-256s. With `since`, only
    the originals linked or arrived since then are asked about."""
    if not base.vault.backend.legal_holds:
        return []
    with base.catalog.read() as session:
        query = (
            select(IncidentAsset.asset_sha256, Incident.code, Project.slug)
            .join(Incident, Incident.id == IncidentAsset.incident_id)
            .join(Project, Project.id == Incident.project_id)
            .join(Asset, Asset.sha256 == IncidentAsset.asset_sha256)
            .where(Incident.legal_hold, Asset.in_vault)
        )
        if since is not None:
            arrived = exists().where(
                Arrival.asset_sha256 == IncidentAsset.asset_sha256, Arrival.received_at >= since
            )
            query = query.where(or_(IncidentAsset.added_at >= since, arrived))
        wanted = {sha: (code, slug) for sha, code, slug in session.execute(query)}
    held = []
    for sha, (code, slug) in sorted(wanted.items()):
        if not base.vault.held(sha):
            _apply(base, sha, True, code, slug, actor)
            held.append(sha)
    return held


def may_hold(base: Base) -> bool:
    """Whether the vault can hold, or may: an S3 store that did not answer at start is not
    asked here (that would hold up the start), but by the Keeper once it answers."""
    backend = base.vault.backend
    return backend.lock_unknown or backend.legal_holds


class Keeper(threading.Thread):
    """Inside `rushes serve` (with an S3 vault that can hold): every minute, holds what was
    linked to a held incident, or arrived for one, since the last look."""

    def __init__(self, base: Base) -> None:
        super().__init__(name="rushes-holds", daemon=True)
        self.base = base
        self.stopping = threading.Event()

    def run(self) -> None:
        since = utcnow() - timedelta(days=1)  # what a stopped base may have missed
        while not self.stopping.wait(POLL_S):
            started = utcnow()
            try:
                held = reconcile(self.base, "rushes", since - POLL_MARGIN)
                if held:
                    log.info("legal holds: %d more original(s) held", len(held))
                since = started
            except StoreUnavailable as exc:
                log.warning("legal holds: %s; tried again in a minute", exc)
            except Exception:  # noqa: BLE001 - keep serving; the next poll tries again
                log.exception("legal holds: reconcile failed")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def _held_links() -> Select[tuple[str]]:
    return (
        select(IncidentAsset.asset_sha256)
        .join(Incident, Incident.id == IncidentAsset.incident_id)
        .where(Incident.legal_hold)
    )


def _apply(base: Base, sha: str, on: bool, code: str, slug: str, actor: str) -> None:
    base.vault.legal_hold(sha, on)
    with base.catalog.write() as session:
        custody.append(
            session,
            Verb.LEGAL_HOLD,
            actor=actor,
            asset=sha,
            details={"incident": code, "project": slug, "hold": "on" if on else "off"},
        )
