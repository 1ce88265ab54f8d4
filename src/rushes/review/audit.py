"""The audit trail: every administrative act (accounts made, roles granted or taken, tokens
issued or revoked, passwords changed) as a row in the catalog, for site admins to review.

Recorded in the same transaction as the act itself, so an act and its record stand or fall
together. Secrets never enter it: a token is named by its id and label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import AuditEvent

RECENT = 200


def record(session: Session, actor: str, action: str, target: str, **details: Any) -> None:
    session.add(AuditEvent(actor=actor[:200], action=action, target=target[:200], details=details))


def recent(session: Session, limit: int = RECENT) -> Sequence[AuditEvent]:
    """The newest acts first."""
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()
