"""The chain of custody: its hash-chained events, its head, and the trusted timestamps that
anchor the head in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rushes.catalog.models.base import Base


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
    salt: Mapped[str | None] = mapped_column(String(32))  # None: made before 2026-12, hashed whole
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CustodyHead(Base):
    """The last link of the chain. Appenders lock this row, so the chain never forks, and a
    deleted tail shows as a head that points past the last event."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Timestamp(Base):
    """A trusted timestamp (RFC 3161) of the chain head: a time-stamping authority signed that
    event `seq`, whose hash is `head_hash`, existed at `gen_time`. `response` is the TSA's
    reply as it came (DER), so `openssl ts -verify` reads it too."""

    __tablename__ = "timestamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    tsa: Mapped[str] = mapped_column(String(500))
    gen_time: Mapped[datetime]
    response: Mapped[bytes] = mapped_column(LargeBinary)


class TimestampTries(Base):
    """The last try at stamping the head (one row): what failed shows on the status page
    until a stamp succeeds."""

    __tablename__ = "timestamp_tries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tried_at: Mapped[datetime]
    error: Mapped[str] = mapped_column(Text, default="")
