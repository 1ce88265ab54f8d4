"""Tables of the catalog. Originals live in the vault; the catalog says what they are and who
brought them. The schema is created and upgraded by the Alembic migrations beside this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON(none_as_null=True), datetime: UTCDateTime}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(Base):
    """One original, named by the SHA-256 of its raw bytes."""

    __tablename__ = "assets"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha512: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), default="unknown")  # video|audio|image|other
    media: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # probe result
    probe_error: Mapped[str | None] = mapped_column(Text, default=None)
    captured_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    captured_offset: Mapped[str | None] = mapped_column(String(6), default=None)  # "+03:00"
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)

    arrivals: Mapped[list[Arrival]] = relationship(
        back_populates="asset", order_by="Arrival.id", cascade="all, delete-orphan"
    )


class Arrival(Base):
    """One time a copy of an original reached the base: from which card, crew and path."""

    __tablename__ = "arrivals"
    __table_args__ = (Index("ix_arrivals_quick_check", "project_id", "path_key"),)

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

    asset: Mapped[Asset] = relationship(back_populates="arrivals")
    project: Mapped[Project] = relationship()


class CustodyEvent(Base):
    """One link of the hash chain. `details` is canonical JSON text, hashed exactly as stored."""

    __tablename__ = "custody_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC with microseconds and Z
    asset_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    verb: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(100))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CustodyHead(Base):
    """The last link of the chain. Appenders lock this row, so the chain never forks, and a
    deleted tail shows as a head that points past the last event."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class StepState(Base):
    """Where one pipeline step stands for one asset. The pipeline's only memory: any worker
    can pick up any step, and a restart resumes from here."""

    __tablename__ = "steps"
    __table_args__ = (Index("ix_steps_status", "status", "step"),)

    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    step: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # pending|running|done|failed|skipped
    tool_version: Mapped[str | None] = mapped_column(String(40), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class Derivative(Base):
    """A file made from an original (proxy, thumbnail). Disposable: rebuilt on demand."""

    __tablename__ = "derivatives"

    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # "proxy-360.mp4"
    kind: Mapped[str] = mapped_column(String(20))  # proxy | poster | strip
    media_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Fingerprint(Base):
    """Perceptual hashes of sampled frames (rushes.media.fingerprint's serialised form)."""

    __tablename__ = "fingerprints"

    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    frames: Mapped[int] = mapped_column(Integer)
    tool_version: Mapped[str] = mapped_column(String(40))


class NearDuplicate(Base):
    """Two assets that show the same moments; stored once per pair with a < b."""

    __tablename__ = "near_duplicates"

    asset_a: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    asset_b: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True, index=True)
    score: Mapped[float]
    segments: Mapped[dict[str, Any]]  # {"segments": [[a_start, a_end, b_start, b_end, mirrored]]}


class ShotBoundary(Base):
    """The start of a shot inside an edited video, at an exact frame."""

    __tablename__ = "shots"

    asset_sha256: Mapped[str] = mapped_column(ForeignKey("assets.sha256"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_frame: Mapped[int] = mapped_column(Integer)
    start_pts: Mapped[int] = mapped_column(BigInteger)
    end_frame: Mapped[int] = mapped_column(Integer)
    end_pts: Mapped[int] = mapped_column(BigInteger)
    time_base: Mapped[str] = mapped_column(String(20))  # "1/15360"
    transition: Mapped[str] = mapped_column(String(10))  # how it begins: start|cut|fade|dissolve
