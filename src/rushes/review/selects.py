"""Selects: circled takes (a range of an asset, a rating, a label) in the project's cut order.

Positions are dense, 1..n, after every change. Every change that touches positions first locks
the project's row (SQLite's write transactions are serial already), so two people reordering at
once queue rather than interleave, and the list never holds two takes at one position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Asset, Project, Select
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.i18n import N_
from rushes.media.timecode import parse_rate
from rushes.review.access import Can, Viewer, require_asset, visible_assets

MAX_LABEL = 200
MILLISECONDS = "1000/1"


@dataclass(frozen=True)
class Take:
    """A range and its marks as typed or sent; `rate` empty means the asset's own rate."""

    start: int
    end: int
    rate: str = ""
    rating: int = 0
    label: str = ""


def asset_rate(asset: Asset) -> str:
    """The rate positions in this asset are counted at: its frame rate, else milliseconds."""
    return (asset.media or {}).get("frame_rate") or MILLISECONDS


def _rate(text: str) -> Fraction:
    try:
        return parse_rate(text.strip())
    except ValueError:
        raise InvalidInput(
            N_("rate '%(given)s': give frames per second as num/den"), given=text[:40]
        ) from None


def _check(asset: Asset, take: Take, rate: Fraction) -> None:
    if take.start < 0 or take.end <= take.start:
        raise InvalidInput(
            N_("a select needs 0 <= in < out (got in %(start)s, out %(end)s)"),
            start=take.start,
            end=take.end,
        )
    duration = (asset.media or {}).get("duration_s")
    if duration is not None:
        last = math.ceil(Fraction(duration).limit_denominator(1_000_000) * rate)
        if take.end > last:
            raise InvalidInput(
                N_("out point %(end)s is past the end of the clip (%(last)s frames)"),
                end=take.end,
                last=last,
            )
    if not 0 <= take.rating <= 5:
        raise InvalidInput(N_("a rating is 0 (none) to 5"))
    if len(take.label) > MAX_LABEL:
        raise InvalidInput(N_("a label has at most %(most)s characters"), most=MAX_LABEL)


def _require_select(viewer: Viewer) -> None:
    if not viewer.can(Can.SELECT):
        raise AccessDenied(N_("only directors and admins circle and order selects"))


def _locked_order(session: Session, viewer: Viewer) -> list[Select]:
    """The project's selects in order, read fresh after locking the project row until commit.

    Call it before loading any select, so no stale position survives in the session."""
    session.execute(select(Project.id).where(Project.id == viewer.project.id).with_for_update())
    return list(
        session.scalars(
            select(Select)
            .where(Select.project_id == viewer.project.id)
            .order_by(Select.position, Select.id)
            .execution_options(populate_existing=True)
        ).all()
    )


def _renumber(ordered: Sequence[Select]) -> None:
    for position, row in enumerate(ordered, start=1):
        if row.position != position:
            row.position = position


def create_select(session: Session, viewer: Viewer, sha256: str, take: Take) -> Select:
    """Circle a take of a visible asset, appended at the end of the project's order."""
    _require_select(viewer)
    require_asset(session, viewer, sha256)
    asset = session.get(Asset, sha256)
    assert asset is not None  # require_asset found its arrival
    rate = _rate(take.rate or asset_rate(asset))
    _check(asset, take, rate)
    ordered = _locked_order(session, viewer)
    row = Select(
        project_id=viewer.project.id,
        asset_sha256=sha256,
        start=take.start,
        end=take.end,
        rate=f"{rate.numerator}/{rate.denominator}",
        rating=take.rating,
        label=take.label.strip(),
        position=len(ordered) + 1,
        created_by_id=viewer.user.id,
    )
    session.add(row)
    session.flush()
    return row


def get_select(session: Session, viewer: Viewer, select_id: int) -> Select:
    row = session.scalar(
        select(Select).where(
            Select.id == select_id,
            Select.project_id == viewer.project.id,
            Select.asset_sha256.in_(visible_assets(viewer)),
        )
    )
    if row is None:
        raise NotFoundError(
            N_("no select %(number)s in project '%(project)s'"),
            number=select_id,
            project=viewer.project.slug,
        )
    return row


def update_select(session: Session, viewer: Viewer, select_id: int, take: Take) -> Select:
    """Change the range and marks; the rate stays the one the take was circled at."""
    _require_select(viewer)
    row = get_select(session, viewer, select_id)
    asset = session.get(Asset, row.asset_sha256)
    assert asset is not None
    _check(asset, take, _rate(row.rate))
    row.start, row.end = take.start, take.end
    row.rating, row.label = take.rating, take.label.strip()
    return row


def delete_select(session: Session, viewer: Viewer, select_id: int) -> None:
    _require_select(viewer)
    ordered = _locked_order(session, viewer)
    row = get_select(session, viewer, select_id)
    session.delete(row)
    _renumber([other for other in ordered if other.id != row.id])


def move_select(session: Session, viewer: Viewer, select_id: int, to: int) -> Select:
    """Put one select at a 1-based position (clamped to the list), shifting the others."""
    _require_select(viewer)
    ordered = _locked_order(session, viewer)
    moving = get_select(session, viewer, select_id)
    rest = [row for row in ordered if row.id != select_id]
    rest.insert(min(max(to, 1), len(ordered)) - 1, moving)
    _renumber(rest)
    return moving


def set_order(session: Session, viewer: Viewer, ids: Sequence[int]) -> None:
    """Reorder the whole list; `ids` must name each of the project's selects exactly once."""
    _require_select(viewer)
    ordered = _locked_order(session, viewer)
    by_id = {row.id: row for row in ordered}
    if len(ids) != len(set(ids)) or set(ids) != set(by_id):
        raise InvalidInput(
            N_(
                "the order must list each of the project's %(count)s selects exactly once; "
                "reload the page and try again"
            ),
            count=len(by_id),
        )
    _renumber([by_id[select_id] for select_id in ids])


def list_selects(session: Session, viewer: Viewer) -> list[Select]:
    """The project's selects in order (for crew, only those of footage they may see)."""
    return list(
        session.scalars(
            select(Select)
            .where(
                Select.project_id == viewer.project.id,
                Select.asset_sha256.in_(visible_assets(viewer)),
            )
            .order_by(Select.position, Select.id)
        ).all()
    )
