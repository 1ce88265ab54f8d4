"""The review room's marks on the footage: notes, assignments and the inbox, selects, graphic
flags, originals asked of the field, and regions or sounds to hide in copies.

Positions inside media are exact: frame numbers counted at `rate` (the asset's frame rate as
"num/den"; "1000/1", milliseconds, for sound), shown as SMPTE timecode."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rushes.catalog.models.accounts import User
from rushes.catalog.models.base import Base, utcnow
from rushes.catalog.models.originals import Asset


class Note(Base):
    """A time-coded comment on an asset at a frame or over a range, or a reply to one."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id"), default=None, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    addressed_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), default=None, index=True
    )
    category: Mapped[str] = mapped_column(String(20), default="story")
    body: Mapped[str] = mapped_column(Text)
    start: Mapped[int | None] = mapped_column(BigInteger, default=None)
    end: Mapped[int | None] = mapped_column(BigInteger, default=None)
    rate: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    addressed_to: Mapped[User | None] = relationship(foreign_keys=[addressed_to_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    asset: Mapped[Asset] = relationship()  # its rate shows the note's timecode


class Assignment(Base):
    """A story line or task for crew ("follow Khaled"), with its assignees and assets."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    brief: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who last changed the status, and when: the inbox tells the others on the assignment.
    status_changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_assignments_status_changed_by_id_users"), default=None
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    assignees: Mapped[list[User]] = relationship(secondary="assignment_users", order_by="User.id")


class InboxRead(Base):
    """One inbox item a user marked read, by its stable key ("note:12", "arrivals:3:rami:…").
    An item that changes after `read_at` (a later arrival the same day) is unread again."""

    __tablename__ = "inbox_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    read_at: Mapped[datetime]


class AssignmentUser(Base):
    __tablename__ = "assignment_users"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class AssignmentAsset(Base):
    __tablename__ = "assignment_assets"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(
        ForeignKey("assets.sha256"), primary_key=True, index=True
    )


class Select(Base):
    """A circled take: a range of an asset headed for the edit, in the project's order."""

    __tablename__ = "selects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), index=True)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[str] = mapped_column(String(20))
    rating: Mapped[int] = mapped_column(Integer, default=0)  # 0 unrated, 1-5 stars
    label: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GraphicFlag(Base):
    """A reviewer marked this asset graphic in this project: thumbnails blur until clicked."""

    __tablename__ = "graphic_flags"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    flagged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)


class OriginalRequest(Base):
    """A reviewer asked for an original still in the field: the crew's next sync sends it first."""

    __tablename__ = "original_requests"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Redaction(Base):
    """A region drawn over a clip (keyframed) or a stretch of its sound, hidden in every copy
    of it that leaves the base (`rushes.exports.share`)."""

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # region | mute | bleep
    # region: {"start", "end", "keyframes": [{"t", "x", "y", "w", "h"}]}; mute/bleep: start, end
    data: Mapped[dict[str, Any]] = mapped_column()
    label: Mapped[str] = mapped_column(String(200), default="")  # "name tag", "plate"
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
