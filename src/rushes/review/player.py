"""One asset as the player shows it: its proxies, strip, cuts and other copies, its graphic
flag, and its original, which leaves the base only with a custody event."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.catalog.models import (
    Arrival,
    Asset,
    ContentCredentials,
    CustodyEvent,
    Derivative,
    GraphicFlag,
    ShotBoundary,
)
from rushes.catalog.queries import near_duplicates_of
from rushes.custody import Verb
from rushes.errors import AccessDenied, NotFoundError, OriginalDamaged
from rushes.i18n import N_, Term
from rushes.media.formats import suffix
from rushes.media.probe import strip_sensitive
from rushes.media.timecode import frame_at
from rushes.review.access import Can, Viewer, own_crew, require_asset, visible_assets
from rushes.review.browse import Card, describe, original_present
from rushes.review.names import Arrived, arrivals_of
from rushes.review.originals import is_requested
from rushes.review.selects import asset_rate
from rushes.vault import Vault


def set_graphic(session: Session, viewer: Viewer, sha256: str, graphic: bool) -> None:
    """Flag or unflag a clip as graphic in this project (thumbnails blur for everyone)."""
    require_asset(session, viewer, sha256)
    if not viewer.can(Can.FLAG):
        raise AccessDenied(N_("a %(role)s may not flag clips as graphic"), role=Term(viewer.role))
    flag = session.get(GraphicFlag, (viewer.project.id, sha256))
    if graphic and flag is None:
        session.add(
            GraphicFlag(
                project_id=viewer.project.id, asset_sha256=sha256, flagged_by_id=viewer.user.id
            )
        )
    elif not graphic and flag is not None:
        session.delete(flag)


@dataclass(frozen=True)
class Copy:
    """Another visible asset that shares moments with this one."""

    card: Card
    score: float
    at: float | None  # where the shared footage starts in this clip, in seconds


@dataclass(frozen=True)
class AssetPage:
    """Everything the player shows about one asset, apart from its notes."""

    card: Card
    rate: str  # positions in this asset are frames at this rate
    frames: int | None  # length in frames, when the duration is known
    proxies: list[Derivative]  # best first
    strip: list[Derivative]
    shots: list[tuple[ShotBoundary, float]]  # each cut with its start in seconds
    copies: list[Copy]
    arrivals: list[Arrived]  # each card file once, with how it came
    media: dict[str, Any] | None  # without location and device unless the viewer may see them
    credentials: dict[str, Any] | None  # the C2PA summary; only its state unless they may
    in_field: bool  # only the field kit's manifest (and maybe a proxy) has arrived
    original_requested: bool  # a reviewer pressed "send original"


def asset_page(session: Session, viewer: Viewer, vault: Vault, sha256: str) -> AssetPage:
    require_asset(session, viewer, sha256)
    asset = session.get(Asset, sha256)
    if asset is None:
        raise NotFoundError(
            N_("no asset %(clip)s in project '%(project)s'"),
            clip=sha256[:12],
            project=viewer.project.slug,
        )
    derivatives = session.scalars(
        select(Derivative).where(Derivative.asset_sha256 == sha256).order_by(Derivative.name)
    ).all()
    derivatives = [d for d in derivatives if not damaged(d)]
    proxies = sorted(
        (d for d in derivatives if d.kind == "proxy"),
        key=lambda d: (-int((d.details or {}).get("height") or 0), -d.size),
    )
    shots = session.scalars(
        select(ShotBoundary).where(ShotBoundary.asset_sha256 == sha256).order_by(ShotBoundary.index)
    ).all()
    rate = asset_rate(asset)
    duration = (asset.media or {}).get("duration_s")
    media = asset.media
    if media is not None and not viewer.can(Can.SEE_LOCATION):
        media = strip_sensitive(media)
    return AssetPage(
        in_field=not asset.in_vault,
        original_requested=is_requested(session, viewer, sha256),
        card=describe(session, viewer, vault, [asset])[0],
        rate=rate,
        frames=frame_at(duration, rate) if duration is not None else None,
        proxies=proxies,
        strip=[d for d in derivatives if d.kind == "strip"],
        shots=[(s, float(s.start_pts * Fraction(s.time_base))) for s in shots],
        copies=_visible_copies(session, viewer, vault, sha256),
        arrivals=arrivals_of(session, viewer.project.id, sha256, own_crew(viewer)),
        media=media,
        credentials=_credentials(session, viewer, sha256),
    )


def _credentials(session: Session, viewer: Viewer, sha256: str) -> dict[str, Any] | None:
    """What the original's C2PA manifest says. Signer, device and actions are device details:
    a viewer who may not see them is told only whether the credentials hold."""
    found = session.get(ContentCredentials, sha256)
    if found is None:
        return None
    if viewer.can(Can.SEE_LOCATION):
        return {**found.summary, "read_at": found.read_at}
    return {"state": found.state, "read_at": found.read_at}


def _visible_copies(session: Session, viewer: Viewer, vault: Vault, sha256: str) -> list[Copy]:
    found = near_duplicates_of(session, sha256)
    if not found:
        return []
    visible = visible_assets(viewer).subquery()
    shas = [c["sha256"] for c in found]
    assets = session.scalars(
        select(Asset).where(Asset.sha256.in_(shas), Asset.sha256.in_(select(visible.c[0])))
    ).all()
    cards = {card.sha256: card for card in describe(session, viewer, vault, assets)}
    return [
        Copy(cards[c["sha256"]], c["score"], c["segments"][0][0] if c["segments"] else None)
        for c in found
        if c["sha256"] in cards
    ]


def derivative(session: Session, viewer: Viewer, sha256: str, name: str) -> Derivative:
    """A file made from a visible asset; anything else, including an unknown name, is a 404."""
    require_asset(session, viewer, sha256)
    made = session.get(Derivative, (sha256, name))
    if made is None:
        raise NotFoundError(
            N_("no '%(name)s' made from asset %(clip)s"), name=name[:100], clip=sha256[:12]
        )
    if damaged(made):
        raise NotFoundError(
            N_("%(name)s of asset %(clip)s is damaged; it is being rebuilt"),
            name=made.name,
            clip=sha256[:12],
        )
    return made


def damaged(made: Derivative) -> bool:
    """`rushes verify` found it damaged or missing: not served until the pipeline rebuilds it."""
    return bool((made.details or {}).get("damaged"))


def download_name(session: Session, viewer: Viewer, sha256: str) -> str:
    """The SHA-256 with the extension of the file as it first arrived where it fits the
    probed format (rushes.media.formats.suffix): safe in any header."""
    path = session.scalar(
        select(Arrival.path)
        .where(Arrival.project_id == viewer.project.id, Arrival.asset_sha256 == sha256)
        .order_by(Arrival.id)
        .limit(1)
    )
    media = session.scalar(select(Asset.media).where(Asset.sha256 == sha256)) or {}
    return sha256 + suffix(media.get("container"), path or "")


_FIXITY = [Verb.FIXITY_OK, Verb.FIXITY_FAILED, Verb.STORE_CHECK_OK, Verb.STORE_CHECK_FAILED]


def release_original(
    session: Session, viewer: Viewer, vault: Vault, sha256: str, address: str
) -> Path:
    """Check that the viewer may take the original, and log it in the custody chain.

    Call in a write transaction that commits before the first byte is sent: the chain must
    show every copy that left the base, even one whose transfer broke off.
    """
    require_asset(session, viewer, sha256)
    if not viewer.can(Can.DOWNLOAD):
        raise AccessDenied(N_("a %(role)s may not download originals"), role=Term(viewer.role))
    asset = session.get(Asset, sha256)
    if asset is None or not original_present(vault, asset):
        raise NotFoundError(
            N_(
                "the original of %(clip)s is not in the vault (still in the field, or lost: "
                "run `rushes verify`)"
            ),
            clip=sha256[:12],
        )
    checked = session.scalar(
        select(CustodyEvent.verb)
        .where(CustodyEvent.asset_sha256 == sha256, CustodyEvent.verb.in_(_FIXITY))
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    if checked in (Verb.FIXITY_FAILED, Verb.STORE_CHECK_FAILED):
        raise OriginalDamaged(
            N_(
                "the original of %(clip)s failed its last check (`rushes verify`): it is not "
                "given out until it is repaired from a good copy"
            ),
            clip=sha256[:12],
        )
    custody.append(
        session,
        Verb.ORIGINAL_DOWNLOADED,
        actor=viewer.user.username,
        asset=sha256,
        details={"project": viewer.project.slug, "address": address},
    )
    return vault.local_path(sha256)
