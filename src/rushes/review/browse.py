"""The rushes browser: a viewer's assets of one project, filtered, in capture order, a page at a
time, and what each card says (poster, crew, status, graphic flag, original missing).

Pages are cut with a keyset cursor, the (capture time, SHA-256) of the last card shown, never
with OFFSET, so page 2,000 costs what page 1 costs. Assets without a capture time come after
all dated ones, by SHA-256; a page that crosses that border is read in two statements so each
can walk the capture-time index in order.
"""

from __future__ import annotations

import hmac
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, bindparam, exists, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from rushes.catalog.models import (
    Arrival,
    Asset,
    Assignment,
    AssignmentAsset,
    Derivative,
    GraphicFlag,
    Incident,
    IncidentAsset,
    Membership,
    Note,
    User,
)
from rushes.catalog.models import Select as CircledTake
from rushes.catalog.queries import cluster_of, failed_steps
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.media.probe import strip_sensitive
from rushes.review.access import Can, Role, Viewer, notes_shown, own_crew, visible_assets
from rushes.review.names import AssetName, asset_names
from rushes.vault import Vault

PAGE_SIZE = 48
MAX_PAGE_SIZE = 200
ORDERS = ("newest", "oldest")
DAYS_OF = ("captured", "arrived")  # what the Day filter's day is the day of
_CURSOR = re.compile(r"(-|\d{1,20})\.([0-9a-f]{64})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """What the browser's filter form asks for; the defaults show everything."""

    day: date | None = None  # in UTC: the capture day, or with day_of "arrived" the arrival day
    day_of: str = "captured"
    crew: str = ""  # a crew label, in any case
    assignment: int | None = None
    incident: str = ""  # an incident's code: its linked footage
    has_notes: bool = False
    selected: bool = False
    collapse: bool = False  # one card per near-duplicate cluster, with a count
    order: str = "newest"

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise InvalidInput(
                N_("order must be one of %(choices)s, not '%(given)s'"),
                choices=", ".join(ORDERS),
                given=self.order,
            )
        if self.day_of not in DAYS_OF:
            raise InvalidInput(
                N_("day of must be one of %(choices)s, not '%(given)s'"),
                choices=", ".join(DAYS_OF),
                given=self.day_of,
            )


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last card's capture time (None: undated) and SHA-256."""

    captured_at: datetime | None
    sha256: str

    def encode(self) -> str:
        if self.captured_at is None:
            return f"-.{self.sha256}"
        micros = (self.captured_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.sha256}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        found = _CURSOR.fullmatch(text)
        if not found:
            raise InvalidInput(
                N_("'%(given)s' is not a page cursor; start from the first page"), given=text[:80]
            )
        micros = found.group(1)
        moment = None if micros == "-" else _EPOCH + timedelta(microseconds=int(micros))
        return cls(moment, found.group(2))


@dataclass(frozen=True)
class Card:
    """One asset as the grid (and the player's header) shows it."""

    asset: Asset
    title: AssetName  # the file name from the card, by this project's arrivals only
    crew: tuple[str, ...]
    status: str  # new | noted | selected
    poster: str | None  # derivative name, None before the thumbnails step has run
    graphic: bool
    original_missing: bool
    copies: int = 0  # other visible copies folded into this card
    cluster: str | None = None  # opaque label shared with the visible copies, if any
    failed: tuple[tuple[str, str], ...] = ()  # pipeline steps that failed, with their reasons

    @property
    def sha256(self) -> str:
        return self.asset.sha256

    @property
    def kind(self) -> str:
        return self.asset.kind

    @property
    def duration(self) -> float | None:
        return (self.asset.media or {}).get("duration_s")

    @property
    def captured(self) -> tuple[datetime, str] | None:
        """Capture time as the crew's clock showed it, with its offset ("+03:00"), when the
        file says; else in UTC, with no offset (""). None when unknown. Pages show it in their
        language and digits (_review.html's `captured`)."""
        moment = self.asset.captured_at
        if moment is None:
            return None
        offset = self.asset.captured_offset
        if offset:
            sign = -1 if offset.startswith("-") else 1
            hours, minutes = offset[1:].split(":")
            shift = timedelta(hours=int(hours), minutes=int(minutes)) * sign
            try:
                return moment + shift, offset
            except OverflowError:  # a camera clock at Python's last day: show it in UTC
                pass
        return moment, ""


@dataclass(frozen=True)
class Page:
    cards: list[Card]
    next: str | None  # cursor of the following page, None on the last one


def browse(
    session: Session,
    viewer: Viewer,
    vault: Vault,
    filters: Filters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of the assets this viewer may see, matching the filters."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("limit must be 1-%(most)s, not %(given)s"), most=MAX_PAGE_SIZE, given=limit
        )
    query = select(Asset).where(*_matching(viewer, filters, Asset))
    newest = filters.order == "newest"
    rows: list[Asset] = []
    if after is None or after.captured_at is not None:
        dated = query.where(Asset.captured_at.is_not(None))
        if after is not None:
            moment = bindparam("after", after.captured_at, type_=Asset.captured_at.type)
            key, mark = tuple_(Asset.captured_at, Asset.sha256), tuple_(moment, after.sha256)
            dated = dated.where(key < mark if newest else key > mark)
        order = (Asset.captured_at, Asset.sha256)
        dated = dated.order_by(*(c.desc() if newest else c.asc() for c in order))
        rows = list(session.scalars(dated.limit(limit + 1)))
    if len(rows) <= limit:
        # coalesce(…) hides the capture-time index: walking the SHA-256 index in order and
        # skipping dated rows beats fetching every undated row to sort it.
        undated = query.where(func.coalesce(Asset.captured_at, None).is_(None))
        if after is not None and after.captured_at is None:
            undated = undated.where(
                Asset.sha256 < after.sha256 if newest else Asset.sha256 > after.sha256
            )
        undated = undated.order_by(Asset.sha256.desc() if newest else Asset.sha256.asc())
        rows += session.scalars(undated.limit(limit + 1 - len(rows)))
    more = len(rows) > limit
    rows = rows[:limit]
    copies = _copies(session, viewer, filters, rows) if filters.collapse else {}
    cards = describe(session, viewer, vault, rows, copies)
    last = rows[-1] if more else None
    return Page(cards, Cursor(last.captured_at, last.sha256).encode() if last else None)


def _matching(viewer: Viewer, filters: Filters, asset: type[Asset]) -> list[ColumnElement[bool]]:
    """Conditions on `asset` (the table or an alias of it) for visibility and the filters."""
    project_id = viewer.project.id
    visible = visible_assets(viewer)
    # Correlated, so the planner walks the capture-time index and probes each row: a page
    # then costs the same at any depth, where IN (…) would first list the whole project.
    conditions = [visible.where(visible.selected_columns[0] == asset.sha256).exists()]
    if filters.day is not None:
        start = datetime.combine(filters.day, time(), UTC)
        end = start + timedelta(days=1)
        if filters.day_of == "arrived":  # a copy reached this project that day
            conditions.append(
                exists().where(
                    Arrival.project_id == project_id,
                    Arrival.asset_sha256 == asset.sha256,
                    Arrival.received_at >= start,
                    Arrival.received_at < end,
                )
            )
        else:
            conditions += [asset.captured_at >= start, asset.captured_at < end]
    if filters.crew:
        conditions.append(
            exists().where(
                Arrival.project_id == project_id,
                Arrival.asset_sha256 == asset.sha256,
                func.lower(Arrival.crew) == filters.crew.lower(),
            )
        )
    if filters.assignment is not None:
        conditions.append(
            exists().where(
                AssignmentAsset.assignment_id == filters.assignment,
                AssignmentAsset.asset_sha256 == asset.sha256,
                Assignment.id == AssignmentAsset.assignment_id,
                Assignment.project_id == project_id,
            )
        )
    if filters.incident:
        conditions.append(
            exists().where(
                IncidentAsset.asset_sha256 == asset.sha256,
                Incident.id == IncidentAsset.incident_id,
                Incident.project_id == project_id,
                Incident.code == filters.incident,
                Incident.deleted_at.is_(None),
            )
        )
    if filters.has_notes:
        conditions.append(_on_asset(Note, asset, project_id))
    if filters.selected:
        conditions.append(_on_asset(CircledTake, asset, project_id))
    if filters.collapse and asset is Asset:
        # The card of a cluster is its smallest matching SHA-256 this viewer may see.
        other = aliased(Asset)
        smaller = (
            select(other.sha256)
            .where(other.cluster == asset.cluster, other.sha256 < asset.sha256)
            .where(*_matching(viewer, filters, other))
        )
        conditions.append(asset.cluster.is_(None) | ~smaller.exists())
    return conditions


def crew_choices(session: Session, viewer: Viewer) -> list[str]:
    """The crew filter's choices: the project's crew members, and every other crew label its
    footage arrived under (a card ingested with `--crew`), each once whatever its case. Crew
    are offered only themselves: the roster is not theirs to read."""
    if (only := own_crew(viewer)) is not None:
        return [only]
    members = session.scalars(
        select(User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == viewer.project.id, Membership.role == Role.CREW)
    )
    labels = session.scalars(
        select(Arrival.crew).where(Arrival.project_id == viewer.project.id).distinct()
    )
    chosen: dict[str, str] = {}
    for name in [*members, *labels]:
        if name:
            chosen.setdefault(name.lower(), name)
    return sorted(chosen.values(), key=str.lower)


def _on_asset(model: type[Note | CircledTake], asset: type[Asset], project_id: int) -> Exists:
    """A row of this project's `model` exists for the asset.

    `project_id + 0` keeps a planner without statistics (SQLite) from looking the row up by
    project, every note of it, rather than by asset, a handful.
    """
    return exists().where(model.asset_sha256 == asset.sha256, model.project_id + 0 == project_id)


def _copies(
    session: Session, viewer: Viewer, filters: Filters, rows: list[Asset]
) -> dict[str, int]:
    """How many other matching, visible assets each card's cluster folds in."""
    clusters = {a.cluster: a.sha256 for a in rows if a.cluster}
    if not clusters:
        return {}
    member = aliased(Asset)
    counts = session.execute(
        select(member.cluster, func.count())
        .where(member.cluster.in_(clusters), *_matching(viewer, filters, member))
        .group_by(member.cluster)
    ).all()
    return {clusters[cluster]: count - 1 for cluster, count in counts}


def describe(
    session: Session,
    viewer: Viewer,
    vault: Vault,
    assets: Iterable[Asset],
    copies: dict[str, int] | None = None,
) -> list[Card]:
    """Cards for assets already known visible, with a handful of queries for the whole page."""
    assets = list(assets)
    shas = [a.sha256 for a in assets]
    if not shas:
        return []
    project_id = viewer.project.id
    crews: dict[str, list[str]] = defaultdict(list)
    only = own_crew(viewer)
    for sha, crew in session.execute(
        select(Arrival.asset_sha256, Arrival.crew)
        .where(Arrival.project_id == project_id, Arrival.asset_sha256.in_(shas))
        .where(*([] if only is None else [Arrival.crew == only]))
        .distinct()
        .order_by(Arrival.asset_sha256, Arrival.crew)
    ):
        if crew:
            crews[sha].append(crew)

    def having(model: Any, *shown: ColumnElement[bool]) -> set[str]:
        return set(
            session.scalars(
                select(model.asset_sha256).where(
                    model.project_id == project_id, model.asset_sha256.in_(shas), *shown
                )
            )
        )

    noted = having(Note, notes_shown(viewer))
    selected, graphic = having(CircledTake), having(GraphicFlag)
    titles = asset_names(session, project_id, shas, only)
    labels = _cluster_labels(session, viewer, assets)
    failed = failed_steps(session, shas)
    posters = dict(
        session.execute(
            select(Derivative.asset_sha256, Derivative.name).where(
                Derivative.asset_sha256.in_(shas), Derivative.kind == "poster"
            )
        ).all()
    )
    return [
        Card(
            asset=a,
            title=titles[a.sha256],
            crew=tuple(crews[a.sha256]),
            status="selected" if a.sha256 in selected else "noted" if a.sha256 in noted else "new",
            poster=posters.get(a.sha256),
            graphic=a.sha256 in graphic,
            original_missing=not original_present(vault, a),
            copies=(copies or {}).get(a.sha256, 0),
            cluster=labels.get(a.sha256),
            failed=tuple(failed.get(a.sha256, ())),
        )
        for a in assets
    ]


def _cluster_labels(session: Session, viewer: Viewer, assets: list[Asset]) -> dict[str, str]:
    """Each asset's copies as this viewer may see them, under one opaque label: an HMAC, under
    the project's key, of the smallest SHA-256 linked to it through visible assets only. The
    base's own label (the smallest hash of the whole cluster, perhaps another project's) and
    links through clips the viewer may not see stay unsaid."""
    visible = visible_assets(viewer)
    key = viewer.project.label_key.encode()
    labels: dict[str, str] = {}
    for asset in assets:
        if asset.cluster is None or asset.sha256 in labels:
            continue
        members = cluster_of(session, asset.sha256, visible)
        if len(members) > 1:
            label = hmac.new(key, min(members).encode(), "sha256").hexdigest()[:32]
            labels.update(dict.fromkeys(members, label))
    return {a.sha256: labels[a.sha256] for a in assets if a.sha256 in labels}


def original_present(vault: Vault, asset: Asset) -> bool:
    """The original is in the vault: arrived (not only listed by the field kit) and stored."""
    try:
        return asset.in_vault and vault.contains(asset.sha256)
    except OSError:
        return False


def card_json(card: Card, viewer: Viewer) -> dict[str, Any]:
    """A card's public fields; where and on what it was shot only for those who may see it."""
    asset = card.asset
    media = asset.media
    if media is not None and not viewer.can(Can.SEE_LOCATION):
        media = strip_sensitive(media)
    base = f"/p/{viewer.project.slug}/a/{asset.sha256}"
    return {
        "sha256": asset.sha256,
        "name": card.title.name,
        "names": list(card.title.names),
        "kind": asset.kind,
        "size": asset.size,
        "captured_at": asset.captured_at.isoformat() if asset.captured_at else None,
        "captured_offset": asset.captured_offset,
        "first_received_at": asset.first_received_at.isoformat(),
        "duration": card.duration,
        "crew": list(card.crew),
        "status": card.status,
        "graphic": card.graphic,
        "original_missing": card.original_missing,
        "copies": card.copies,
        "cluster": card.cluster,
        "failed_steps": [{"step": step, "reason": reason} for step, reason in card.failed],
        "url": base,
        "poster": f"{base}/media/{card.poster}" if card.poster else None,
        "probe_error": asset.probe_error,
        "media": media,
    }
