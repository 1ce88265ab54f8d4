"""What the pipeline knows of each original: where each step stands, and what the steps made of
it (derivatives, fingerprints, near-duplicates, shots)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rushes.catalog.models.base import Base, utcnow


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
