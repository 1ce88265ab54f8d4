"""Originals and how they reached the base: the project they came for, each original named by
its hash, every arrival of a copy of it, the content credentials it carried, and uploads still
on their way."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rushes.catalog.models.base import Base, utcnow


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    upload_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)  # bytes per file
    # Keys the project's near-duplicate cluster labels (an HMAC), so a label names no hash.
    label_key: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # IANA name (e.g. "Asia/Damascus"): the offset an incident time gets when none is given.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)


class Asset(Base):
    """One original, named by the SHA-256 of its raw bytes."""

    __tablename__ = "assets"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha512: Mapped[str | None] = mapped_column(String(128))  # None until the bytes arrive
    size: Mapped[int] = mapped_column(BigInteger)
    # False while only the field kit's manifest (and perhaps a proxy) has arrived: the
    # original is still on a card in the field, named by the hash the crew computed there.
    in_vault: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    kind: Mapped[str] = mapped_column(String(16), default="unknown")  # video|audio|image|other
    media: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # probe result
    probe_error: Mapped[str | None] = mapped_column(Text, default=None)
    captured_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    captured_offset: Mapped[str | None] = mapped_column(String(6), default=None)  # "+03:00"
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The smallest SHA-256 of its near-duplicate cluster, so lists can fold copies into one card.
    cluster: Mapped[str | None] = mapped_column(String(64), default=None, index=True)

    arrivals: Mapped[list[Arrival]] = relationship(
        back_populates="asset", order_by="Arrival.id", cascade="all, delete-orphan"
    )


class Arrival(Base):
    """One time a copy of an original reached the base: from which card, crew and path."""

    __tablename__ = "arrivals"
    __table_args__ = (
        Index("ix_arrivals_quick_check", "project_id", "path_key"),
        Index("ix_arrivals_project_asset", "project_id", "asset_sha256", "crew"),
        Index("ix_arrivals_project_received", "project_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    crew: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(500), default="")  # "card 3, Rahed"
    path: Mapped[str] = mapped_column(Text)  # printable form of the source path
    path_bytes: Mapped[bytes] = mapped_column(LargeBinary)  # exact bytes, any encoding
    path_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of path_bytes, for lookups
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sample: Mapped[str | None] = mapped_column(String(64), default=None)  # see ingest
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    via: Mapped[str] = mapped_column(String(20), default="ingest", server_default="ingest")
    # ingest (a card or drive on the base) | upload (tus) | manifest (hashed in the field)

    asset: Mapped[Asset] = relationship(back_populates="arrivals")
    project: Mapped[Project] = relationship()


class ContentCredentials(Base):
    """The C2PA manifest store an original carried when it arrived, as the SDK read it then.
    `state` is "Trusted", "Valid", "Invalid" or "unreadable"; `summary` holds the claim
    generator, signer, actions, ingredients and validation failures; `store` the whole manifest
    store (None when too large: it stays inside the original). Device details: shown only to
    roles that may see them."""

    __tablename__ = "content_credentials"

    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    summary: Mapped[dict[str, Any]]
    store: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    read_at: Mapped[datetime]
    tool_version: Mapped[str] = mapped_column(String(40))


class UploadState(Base):
    """An unfinished upload shared by every base process (RUSHES_UPLOAD_URL): its info, the
    offset acknowledged to the crew, the pieces in the S3 store holding the bytes up to it
    (`{"pieces": [[start, end, key], ...]}`), the claim a HEAD counts up to take it over, and
    its outcome once taken in (rushes.upload.shared)."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    info: Mapped[dict[str, Any]]
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    pieces: Mapped[dict[str, Any]]
    claim: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(index=True)
