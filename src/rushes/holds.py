"""Legal holds: every original linked to an incident kept past its retention, until released.

An S3 vault with Object Lock holds each original under a retention of fixed length; a court
case may outlast it. `rushes incidents hold` puts the store's legal hold on each original the
incident links (while it is on, nobody can delete that version, whatever its retention), and
`--release` lifts it. Each original's hold is one custody event, logged once the store has it.
"""

from __future__ import annotations

from sqlalchemy import select

from rushes import custody
from rushes.base import Base
from rushes.catalog import Asset
from rushes.custody import Verb
from rushes.errors import VaultError
from rushes.review.incidents import find_incident, linked_assets
from rushes.review.projects import find_project


def hold(base: Base, slug: str, code: str, *, on: bool, actor: str) -> list[str]:
    """Put (or, `on` False, release) the legal hold of every stored original the incident
    links; returns their SHA-256s."""
    if not base.vault.backend.legal_holds:
        raise VaultError(
            "legal holds need an S3 vault on a bucket with Object Lock (RUSHES_VAULT_URL); "
            "a folder vault never deletes an original in the first place"
        )
    with base.catalog.read() as session:
        incident = find_incident(session, find_project(session, slug), code)
        stored = select(Asset.sha256).where(Asset.in_vault)
        shas = [link.asset_sha256 for link in linked_assets(session, incident, stored)]
    for sha in shas:
        base.vault.legal_hold(sha, on)
        with base.catalog.write() as session:
            custody.append(
                session,
                Verb.LEGAL_HOLD,
                actor=actor,
                asset=sha,
                details={"incident": code, "project": slug, "hold": "on" if on else "off"},
            )
    return shas
