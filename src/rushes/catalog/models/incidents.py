"""The incident register: each strike or rescue, its figures, their history, its links to other
incidents, its footage, and the reviewers' answers to suggested footage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from rushes.catalog.models.base import Base, utcnow


class IncidentType(Base):
    """The editable vocabulary of incident types (airstrike, barrel bomb, chemical, …)."""

    __tablename__ = "incident_types"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)  # kept for old incidents


class Incident(Base):
    """One strike or rescue operation. Figures are None when unknown, never guessed as 0."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # readable id, e.g. ALP-2016-0412
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(ForeignKey("incident_types.name"))
    started_at: Mapped[datetime] = mapped_column(index=True)
    started_offset: Mapped[str | None] = mapped_column(String(6), default=None)  # "+03:00"
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_offset: Mapped[str | None] = mapped_column(String(6), default=None)
    place: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    accuracy_m: Mapped[float | None] = mapped_column(Float, default=None)
    people_present: Mapped[int | None] = mapped_column(Integer, default=None)
    rescued: Mapped[int | None] = mapped_column(Integer, default=None)  # pulled out alive
    bodies: Mapped[int | None] = mapped_column(Integer, default=None)  # bodies recovered
    injured: Mapped[int | None] = mapped_column(Integer, default=None)
    killed: Mapped[int | None] = mapped_column(Integer, default=None)
    volunteers_injured: Mapped[int | None] = mapped_column(Integer, default=None)
    volunteers_killed: Mapped[int | None] = mapped_column(Integer, default=None)
    verification: Mapped[str] = mapped_column(String(20), default="unverified")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    # Its originals are under the S3 store's legal hold (rushes.holds), those linked later too.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deleted by an admin: kept, with who, when and why, but shown nowhere any more.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_incidents_deleted_by_id_users"), default=None
    )
    deleted_reason: Mapped[str | None] = mapped_column(Text, default=None)


class IncidentChange(Base):
    """One field of an incident changed: who, when, from what to what. These figures will be
    quoted, so every version of them is kept."""

    __tablename__ = "incident_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(Text, default=None)  # JSON text of the value
    new: Mapped[str | None] = mapped_column(Text, default=None)


class IncidentLink(Base):
    """Two related incidents (a strike and the second strike on its rescuers), a < b."""

    __tablename__ = "incident_links"

    incident_a: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    incident_b: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)


class IncidentAsset(Base):
    """Footage of an incident and what it shows: strike, aftermath, rescue or testimony."""

    __tablename__ = "incident_assets"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(
        ForeignKey("assets.sha256"), primary_key=True, index=True
    )
    relation: Mapped[str] = mapped_column(String(20))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuggestionDecision(Base):
    """A reviewer's answer to "does this clip belong to this incident?", so a rejected
    suggestion is not offered again."""

    __tablename__ = "suggestion_decisions"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
