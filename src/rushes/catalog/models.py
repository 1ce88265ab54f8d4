"""Tables of the catalog. Originals live in the vault; the catalog says what they are and who
brought them. The schema is created and upgraded by the Alembic migrations beside this file."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
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


# The review room: accounts, membership, notes, assignments, selects.
# Positions inside media are exact: frame numbers counted at `rate` (the asset's frame rate as
# "num/den"; "1000/1", milliseconds, for sound), shown as SMPTE timecode.


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    site_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # creates projects, users
    blur_thumbnails: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(16), default="")  # "" follows the browser
    digits: Mapped[str] = mapped_column(String(8), default="")  # "latn", "arab"; "" by language
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user's role in one project: admin, director, investigator or crew."""

    __tablename__ = "memberships"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))

    project: Mapped[Project] = relationship()
    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie is stored, never the cookie."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute end, however busy the session is
    last_seen_at: Mapped[datetime | None] = mapped_column(default=utcnow)  # for idle expiry


class ApiToken(Base):
    """A bearer token for the field kit: one user, one project; stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """An administrative act (account made, role granted, token issued, password changed): who
    did it to whom, kept for site admins to review."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SetupToken(Base):
    """The one-time link that creates the first admin of an empty base."""

    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginFailure(Base):
    """A failed sign-in, kept a while so guessing is slowed for every server process."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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


# The incident register: each strike or rescue, its figures, its place and its footage.


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
