"""The words search looks in, one row per note, assignment, incident or arrival."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rushes.catalog.models.base import Base


class SearchEntry(Base):
    """The searchable words of one note, assignment, incident or arrival, normalised
    (`rushes.catalog.search`). The text indexes over it are made by migration 0015."""

    __tablename__ = "search_entries"
    __table_args__ = (
        UniqueConstraint("kind", "ref"),
        Index("ix_search_entries_project_kind_ref", "project_id", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(12))  # note | assignment | incident | file
    ref: Mapped[int] = mapped_column(Integer)  # the id of the note, assignment, … or arrival
    asset_sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    text: Mapped[str] = mapped_column(Text)
