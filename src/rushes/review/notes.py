"""Time-coded notes on an asset: at a frame or over a range, in a category, with replies.

A note's position is a frame number counted at `rate` (the asset's frame rate, or milliseconds
for sound and pictures), so "get closer" lands on exactly the frame the director paused on.
Replies hang off the first note of a thread (a reply to a reply joins the same thread) and
carry no position of their own. Anyone who may see an asset may note it and reply; resolving
is for anyone who may note.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from rushes.catalog.models import Asset, Membership, Note, User, utcnow
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_, Term
from rushes.media.timecode import parse_rate, recount, smpte
from rushes.review.access import WHOLE, Can, Viewer, notes_shown, require_asset
from rushes.review.selects import asset_rate

CATEGORIES = ("framing", "story", "sound", "technical", "evidence")
MAX_BODY = 4000
_FRAME = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class Draft:
    """A note as typed or sent, before it is checked. Positions are frames at `rate`."""

    body: str
    category: str = "story"
    start: int | None = None
    end: int | None = None
    rate: str = ""  # empty: the asset's own rate
    addressed_to: str = ""  # a username in the project, or empty


@dataclass
class Thread:
    note: Note
    replies: list[Note] = field(default_factory=list)


def frame_field(name: str, text: str | int | None) -> int | None:
    """A frame number from a form field or JSON ("" or None: no position)."""
    if text is None or text == "":
        return None
    if isinstance(text, int) and not isinstance(text, bool) and abs(text) < 10**18:
        return text
    value = str(text).strip()
    if not _FRAME.fullmatch(value):  # not str.isdigit: it takes "²", which int() refuses
        raise InvalidInput(
            N_("%(field)s '%(given)s': give a frame number"), field=Term(name), given=value[:40]
        )
    return int(value)


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise InvalidInput(N_("a note needs text"))
    if len(body) > MAX_BODY:
        raise InvalidInput(
            N_("a note has at most %(most)s characters (this one has %(count)s)"),
            most=MAX_BODY,
            count=len(body),
        )
    return body


def _require_note(viewer: Viewer) -> None:
    if not viewer.can(Can.NOTE):
        raise AccessDenied(N_("a %(role)s may not write notes"), role=Term(viewer.role))


def _position(asset: Asset, draft: Draft) -> tuple[int | None, int | None, str]:
    """Start, end and rate, checked against each other and the clip's length."""
    rate_text = draft.rate.strip() or asset_rate(asset)
    try:
        rate = parse_rate(rate_text)
    except ValueError:
        raise InvalidInput(
            N_("rate '%(given)s': give frames per second as num/den"), given=rate_text[:40]
        ) from None
    start, end = draft.start, draft.end
    if start is None:
        if end is not None:
            raise InvalidInput(N_("a range needs a start as well as an end"))
        return None, None, rate_text
    if start < 0:
        raise InvalidInput(N_("start %(start)s is before the clip begins"), start=start)
    if end is not None and end < start:
        raise InvalidInput(N_("end %(end)s is before start %(start)s"), end=end, start=start)
    duration = (asset.media or {}).get("duration_s")
    if duration is not None:
        last = math.ceil(Fraction(duration).limit_denominator(1_000_000) * rate)
        if max(start, end or 0) > last:
            raise InvalidInput(
                N_("%(at)s is past the end of the clip (%(last)s)"),
                at=smpte(max(start, end or 0), rate),
                last=smpte(last, rate),
            )
    return start, end, f"{rate.numerator}/{rate.denominator}"


def _member(session: Session, viewer: Viewer, username: str) -> User | None:
    if not username.strip():
        return None
    user = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == viewer.project.id, User.username == username.strip())
        .where(*_addressees(viewer))
    )
    if user is None:
        raise InvalidInput(N_("'%(name)s' is not a member of this project"), name=username[:64])
    return user


def add_note(session: Session, viewer: Viewer, sha256: str, draft: Draft) -> Note:
    """Write a note on a visible asset; addressing it to someone lets them see the asset."""
    require_asset(session, viewer, sha256)
    _require_note(viewer)
    if draft.category not in CATEGORIES:
        raise InvalidInput(
            N_("category '%(given)s': one of %(choices)s"),
            given=draft.category[:40],
            choices=", ".join(CATEGORIES),
        )
    body = _body(draft.body)
    asset = session.get(Asset, sha256)
    if asset is None:  # deleted between the visibility check and here
        raise NotFoundError(
            N_("no asset %(clip)s in project '%(project)s'"),
            clip=sha256[:12],
            project=viewer.project.slug,
        )
    start, end, rate = _position(asset, draft)
    addressed = _member(session, viewer, draft.addressed_to)
    note = Note(
        project_id=viewer.project.id,
        asset_sha256=sha256,
        author_id=viewer.user.id,
        addressed_to_id=addressed.id if addressed else None,
        category=draft.category,
        body=body,
        start=start,
        end=end,
        rate=rate,
    )
    session.add(note)
    session.flush()
    return note


def _no_note(viewer: Viewer, note_id: int) -> NotFoundError:
    return NotFoundError(
        N_("no note %(number)s in project '%(project)s'"),
        number=note_id,
        project=viewer.project.slug,
    )


def get_note(session: Session, viewer: Viewer, note_id: int) -> Note:
    """A note of this project on an asset the viewer sees; anything else is a 404."""
    note = session.scalar(
        select(Note).where(
            Note.id == note_id, Note.project_id == viewer.project.id, notes_shown(viewer)
        )
    )
    if note is None:
        raise _no_note(viewer, note_id)
    try:
        require_asset(session, viewer, note.asset_sha256)
    except NotFoundError:
        raise _no_note(viewer, note_id) from None
    return note


def reply(session: Session, viewer: Viewer, note_id: int, body: str) -> Note:
    """Answer a note; the reply joins the thread of the note it answers."""
    parent = get_note(session, viewer, note_id)
    _require_note(viewer)
    root_id = parent.parent_id or parent.id
    answer = Note(
        project_id=viewer.project.id,
        asset_sha256=parent.asset_sha256,
        parent_id=root_id,
        author_id=viewer.user.id,
        category=parent.category,
        body=_body(body),
    )
    session.add(answer)
    session.flush()
    return answer


def set_resolved(session: Session, viewer: Viewer, note_id: int, resolved: bool) -> Note:
    """Resolve or reopen a thread (a reply's id means its thread)."""
    note = get_note(session, viewer, note_id)
    _require_note(viewer)
    if note.parent_id is not None:
        note = get_note(session, viewer, note.parent_id)
    if resolved and note.resolved_at is None:
        note.resolved_at, note.resolved_by_id = utcnow(), viewer.user.id
    elif not resolved:
        note.resolved_at, note.resolved_by_id = None, None
    return note


def threads(session: Session, viewer: Viewer, sha256: str) -> list[Thread]:
    """The asset's notes as threads: timed ones in playback order, then untimed, oldest first."""
    require_asset(session, viewer, sha256)
    rows = session.scalars(
        select(Note)
        .where(
            Note.project_id == viewer.project.id, Note.asset_sha256 == sha256, notes_shown(viewer)
        )
        .options(
            joinedload(Note.author), joinedload(Note.addressed_to), joinedload(Note.resolved_by)
        )
        .order_by(Note.created_at, Note.id)
    ).all()
    by_id = {n.id: Thread(n) for n in rows if n.parent_id is None}
    for n in rows:
        if n.parent_id is not None and n.parent_id in by_id:
            by_id[n.parent_id].replies.append(n)
    return sorted(
        by_id.values(),
        key=lambda t: (t.note.start is None, seconds(t.note) or 0.0),
    )


def seconds(note: Note) -> float | None:
    """Where the note starts, in seconds on the clip."""
    if note.start is None or not note.rate:
        return None
    return float(Fraction(note.start) / parse_rate(note.rate))


def timecode(frame: int | None, note: Note) -> str | None:
    """A position of the note as timecode at the clip's rate as known now: a note made at
    milliseconds before the original (and its frame rate) reached the base shows in frames
    once it has."""
    if frame is None or not note.rate:
        return None
    rate = (note.asset.media or {}).get("frame_rate") or note.rate
    return smpte(recount(frame, note.rate, rate), rate)


def addressable(session: Session, viewer: Viewer) -> list[str]:
    """Usernames a note in this project may be addressed to."""
    return list(
        session.scalars(
            select(User.username)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == viewer.project.id, User.disabled.is_(False))
            .where(*_addressees(viewer))
            .order_by(User.username)
        )
    )


def _addressees(viewer: Viewer) -> list[ColumnElement[bool]]:
    """Crew address notes to those who see the whole project: the roster is not theirs."""
    return [] if viewer.can(Can.SEE_ALL) else [Membership.role.in_(WHOLE)]


def note_json(note: Note) -> dict[str, Any]:
    def who(user: User | None) -> str | None:
        return user.username if user else None

    return {
        "id": note.id,
        "asset": note.asset_sha256,
        "parent": note.parent_id,
        "author": who(note.author),
        "addressed_to": who(note.addressed_to),
        "category": note.category,
        "body": note.body,
        "start": note.start,
        "end": note.end,
        "rate": note.rate,
        "timecode": timecode(note.start, note),
        "created_at": note.created_at.isoformat(),
        "resolved_at": note.resolved_at.isoformat() if note.resolved_at else None,
        "resolved_by": who(note.resolved_by),
    }


def thread_json(thread: Thread) -> dict[str, Any]:
    return {**note_json(thread.note), "replies": [note_json(r) for r in thread.replies]}


def draft_from(data: Mapping[str, Any]) -> Draft:
    """A draft from a JSON object (the field kit and the player's script)."""

    def text(name: str, default: str = "") -> str:
        value = data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InvalidInput(N_("%(field)s: give text"), field=Term(name))
        return value

    return Draft(
        body=text("body"),
        category=text("category", "story"),
        start=frame_field("start", data.get("start")),
        end=frame_field("end", data.get("end")),
        rate=text("rate"),
        addressed_to=text("addressed_to"),
    )
