"""The project's selects as an editor's timeline: OTIO, CMX 3600 EDL, FCP7 XML, and DaVinci
Resolve's marker EDL.

Each select becomes one clip, in the project's order, with its range counted in its original's
frame rate, named by the file name it had on the card (review.names) after its label if any.
The clip's active media reference is the original, named by its SHA-256 under a relative
folder: ``originals/<sha256><ext>``. Originals leave the city later, on a hard drive
(or inside an evidence bag, whose ``data/originals/`` uses the same names), so the editor cuts
now and points their software's relink at that folder when the drive comes; the original's
own file name, hash and first path on the card ride along in the reference's metadata. The
proxy is the second reference (``proxies/<sha256><ext>``), and the active one where the base
does not hold the original yet. Each top-level note that starts inside a select's range is a
marker at its frame, coloured by category, with the author and text; replies stay behind.

The timeline runs at one standard rate: the one asked for, or the first select's (see
exports.conform). The OTIO file keeps each clip in its own rate; a variable-rate clip is
counted at the standard rate nearest its mean, with a warning. The EDL and FCP7 XML are written
by OTIO's adapters from a conformed copy, so they carry what their format can and warn about
the rest.

OTIO's EDL writer keeps only a marker's frame, colour and upper-cased name, so Resolve's own
marker EDL (one one-frame event per marker, ``|C:ResolveColorX |M:name |D:frames``) is written
here directly, from the same conformed copy as the EDL. Every file's record side starts at
00:00:00:00.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange
from opentimelineio.schema import MarkerColor
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Arrival, Asset, Derivative, Note, Project, Select, User
from rushes.errors import InvalidInput
from rushes.exports.conform import (
    DROP_FRAME_RATES,
    STANDARD_RATES,
    label,
    nearest_standard,
    one_rate,
    timecode_rates,
    timeline_rate_of,
)
from rushes.exports.text import flat_timeline
from rushes.i18n import N_
from rushes.media.timecode import parse_rate
from rushes.review.browse import original_present
from rushes.review.names import asset_names
from rushes.vault import Vault

DEFAULT_RATE = Fraction(25)  # a timeline of stills and sound only still needs a frame rate
ORIGINAL, PROXY = "original", "proxy"  # keys of a clip's media references
CATEGORY_COLOURS = {  # one for each of review.notes.CATEGORIES
    "framing": MarkerColor.BLUE,
    "story": MarkerColor.GREEN,
    "sound": MarkerColor.CYAN,
    "technical": MarkerColor.YELLOW,
    "evidence": MarkerColor.RED,
}
# FCP7 stores a marker's colour as the RGB of its palette's named colour.
_FCP_RGB = {
    MarkerColor.BLUE: (0, 128, 255),
    MarkerColor.GREEN: (48, 191, 72),
    MarkerColor.CYAN: (48, 191, 191),
    MarkerColor.YELLOW: (255, 255, 0),
    MarkerColor.RED: (255, 0, 0),
}
_SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True)
class Missing:
    """A select whose original the base does not hold yet: the editor cuts on its proxy."""

    sha256: str
    message: str


@dataclass(frozen=True)
class Cut:
    """A built timeline and what the editor must know about it."""

    timeline: otio.schema.Timeline
    missing: list[Missing]
    warnings: list[str]  # what the editor must know about rates


@dataclass(frozen=True)
class _Take:
    """One select with what its clip needs, read in a few queries for the whole list."""

    row: Select
    asset: Asset
    path: str  # the original's path on the card it first arrived from
    name: str  # its file name there (review.names), or its short hash
    proxy: Derivative | None
    present: bool  # the original is in the vault
    notes: list[tuple[Note, str]]  # top-level timed notes on the asset, with the author's name


def selects_timeline(
    session: Session, vault: Vault, project: Project, rate: Fraction | None = None
) -> Cut:
    """Every select of the project as one video track, at `rate` (one of STANDARD_RATES) or
    else the first select's standard rate; callers check that the person asking may see all
    the project's footage (Can.SEE_ALL), as every select is in it."""
    takes = _gather(session, vault, project)
    if not takes:
        raise InvalidInput(
            N_("project %(project)s has no selects yet: circle takes first"), project=project.slug
        )
    own = [_frame_rate(take.asset) for take in takes]
    if rate is None:
        rate = next((r for r in own if r in STANDARD_RATES), DEFAULT_RATE)
    timeline = otio.schema.Timeline(name=f"{project.name} selects")
    timeline.global_start_time = RationalTime(0, float(rate))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    warnings = []
    for take, found in zip(takes, own, strict=True):
        track.append(_clip(take, found or rate))
        media = take.asset.media or {}
        if found is not None and media.get("vfr"):
            warnings.append(
                f"select {take.row.position} has a variable frame rate (mean "
                f"{label(parse_rate(media['frame_rate']))} fps): counted at {label(found)} fps"
            )
    missing = [_missing(take) for take in takes if not take.present]
    timeline.metadata["rushes"] = {
        "project": project.slug,
        "rate": str(rate),
        "drop_frame": rate in DROP_FRAME_RATES,
        "warnings": [m.message for m in missing] + warnings,
    }
    flat_timeline(timeline)  # a CR/LF in a label would be an event line of its own in an EDL
    return Cut(timeline, missing, warnings)


def _gather(session: Session, vault: Vault, project: Project) -> list[_Take]:
    rows = session.execute(
        select(Select, Asset)
        .join(Asset, Asset.sha256 == Select.asset_sha256)
        .where(Select.project_id == project.id)
        .order_by(Select.position, Select.id)
    ).all()
    shas = sorted({asset.sha256 for _, asset in rows})
    names = asset_names(session, project.id, shas)
    paths: dict[str, str] = {}
    for sha, path in session.execute(
        select(Arrival.asset_sha256, Arrival.path)
        .where(Arrival.project_id == project.id, Arrival.asset_sha256.in_(shas))
        .order_by(Arrival.id)
    ):
        paths.setdefault(sha, path)
    proxies: dict[str, Derivative] = {}
    for made in session.scalars(
        select(Derivative).where(Derivative.asset_sha256.in_(shas), Derivative.kind == "proxy")
    ):
        best = proxies.get(made.asset_sha256)
        if best is None or _proxy_rank(made) > _proxy_rank(best):
            proxies[made.asset_sha256] = made
    notes: dict[str, list[tuple[Note, str]]] = {}
    for note, author in session.execute(
        select(Note, User.username)
        .join(User, User.id == Note.author_id)
        .where(
            Note.project_id == project.id,
            Note.asset_sha256.in_(shas),
            Note.parent_id.is_(None),
            Note.start.is_not(None),
            Note.rate.is_not(None),
        )
        .order_by(Note.created_at, Note.id)
    ):
        notes.setdefault(note.asset_sha256, []).append((note, author))
    return [
        _Take(
            row,
            asset,
            paths.get(asset.sha256, ""),
            names[asset.sha256].name,
            proxies.get(asset.sha256),
            original_present(vault, asset),
            notes.get(asset.sha256, []),
        )
        for row, asset in rows
    ]


def _proxy_rank(made: Derivative) -> tuple[int, int]:
    """The sharpest proxy first (as the player picks), then the larger file."""
    return int((made.details or {}).get("height") or 0), made.size


def _frame_rate(asset: Asset) -> Fraction | None:
    """The rate the clip is counted in: the probe's, or for variable-rate video the standard
    rate nearest its mean (no editor's software counts frames of uneven length)."""
    text = (asset.media or {}).get("frame_rate")
    if not text:
        return None
    rate = parse_rate(text)
    return nearest_standard(rate) if (asset.media or {}).get("vfr") else rate


def _at(
    frame: int, rate: str | Fraction, target: Fraction, rounding: Callable[[Fraction], int]
) -> int:
    """A frame counted at `rate` as a whole frame at `target`."""
    return rounding(Fraction(frame) / parse_rate(rate) * target)


def _suffix(path: str) -> str:
    """The original's extension as a file name can safely carry it, lower-cased."""
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    ok = 2 <= len(suffix) <= 11 and set(suffix[1:]) <= _SUFFIX_CHARS
    return suffix if ok else ""


def _clip(take: _Take, rate: Fraction) -> otio.schema.Clip:
    fps, row, sha = float(rate), take.row, take.asset.sha256
    first = _at(row.start, row.rate, rate, math.floor)
    last = max(_at(row.end, row.rate, rate, math.ceil), first + 1)
    duration = (take.asset.media or {}).get("duration_s")
    length = max(
        math.ceil(Fraction(duration).limit_denominator(1_000_000) * rate) if duration else 0, last
    )
    available = TimeRange(RationalTime(0, fps), RationalTime(length, fps))
    original = otio.schema.ExternalReference(
        target_url=f"originals/{sha}{_suffix(take.path)}", available_range=available
    )
    original.name = take.name
    original.metadata["rushes"] = {
        "sha256": sha,
        "sha512": take.asset.sha512,
        "size": take.asset.size,
        "original_path": take.path,
        "in_vault": take.present,
    }
    references = {ORIGINAL: original}
    if take.proxy is not None:
        proxy = otio.schema.ExternalReference(
            target_url=f"proxies/{sha}{PurePosixPath(take.proxy.name).suffix}",
            available_range=available,
        )
        proxy.name = take.proxy.name
        proxy.metadata["rushes"] = {"sha256": sha, "derivative": take.proxy.name}
        references[PROXY] = proxy
    clip = otio.schema.Clip(
        name=_clip_name(take),
        source_range=TimeRange(RationalTime(first, fps), RationalTime(last - first, fps)),
    )
    clip.set_media_references(references, ORIGINAL if take.present or not take.proxy else PROXY)
    clip.metadata["rushes"] = {
        "select": row.id,
        "position": row.position,
        "rating": row.rating,
        "label": row.label,
        "sha256": sha,
        "rate": str(rate),
    }
    clip.metadata["cmx_3600"] = {"reel": sha[:8]}  # the start of the file name to relink to
    clip.markers.extend(
        sorted(_markers(take, rate, first, last), key=lambda m: m.marked_range.start_time.value)
    )
    return clip


def _markers(take: _Take, rate: Fraction, first: int, last: int) -> Iterable[otio.schema.Marker]:
    """Notes that start inside the clip, at the clip's frames; a range ends at the out point."""
    fps = float(rate)
    for note, author in take.notes:
        assert note.start is not None and note.rate is not None  # only timed notes are read
        start = _at(note.start, note.rate, rate, math.floor)
        if not first <= start < last:
            continue
        end = _at(note.end, note.rate, rate, math.ceil) if note.end is not None else start
        colour = CATEGORY_COLOURS[note.category]
        text = " ".join(note.body.split())  # EDL lines end at a newline
        marker = otio.schema.Marker(
            name=f"{author}: {text}",
            marked_range=TimeRange(
                RationalTime(start, fps), RationalTime(min(end, last) - start, fps)
            ),
            color=colour,
            comment=note.body,
        )
        red, green, blue = _FCP_RGB[colour]
        marker.metadata["rushes"] = {"note": note.id, "author": author, "category": note.category}
        marker.metadata["fcp_xml"] = {
            "comment": text,
            "color": {"alpha": "0", "red": str(red), "green": str(green), "blue": str(blue)},
        }
        yield marker


def _clip_name(take: _Take) -> str:
    """The select's label with the file name from the card, which the editor knows it by."""
    return f"{take.row.label} ({take.name})" if take.row.label else take.name


def _missing(take: _Take) -> Missing:
    sha = take.asset.sha256
    where = "the timeline uses its proxy" if take.proxy else "and there is no proxy either"
    return Missing(
        sha,
        f"select {take.row.position} ({_clip_name(take)}): the original "
        f"{sha[:12]} is not in the vault yet, {where}; relink to originals/{sha}"
        f"{_suffix(take.path)} when it arrives",
    )


def _fcm(timeline: otio.schema.Timeline) -> str:
    """The EDL line saying how its timecode counts (drop-frame at 29.97 and 59.94)."""
    drop = timeline_rate_of(timeline) in DROP_FRAME_RATES
    return f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}"


def resolve_markers(timeline: otio.schema.Timeline) -> str:
    """Resolve's marker EDL: each marker a one-frame event at its place on the record side,
    then ``<note> |C:ResolveColor<Colour> |M:<name> |D:<frames>`` (import it with Timeline >
    Import > Timeline Markers from EDL onto the timeline made from any of the other files).
    `timeline` is conformed to one rate, as for the EDL, so both place a frame alike."""
    rate = timeline.global_start_time.rate
    lines = [f"TITLE: {timeline.name}", _fcm(timeline), ""]
    track = timeline.video_tracks()[0]
    number = 0
    for clip in track.find_clips():
        for marker in clip.markers:
            number += 1
            at = clip.transformed_time(marker.marked_range.start_time, track)
            start = otio.opentime.to_timecode(at, rate)
            after = otio.opentime.to_timecode(at + RationalTime(1, rate), rate)
            frames = max(1, round(marker.marked_range.duration.rescaled_to(rate).value))
            name = marker.name.replace("|", "/")
            colour = str(marker.color).title()
            lines += [
                f"{number:03d}  001      V     C        {start} {after} {start} {after}  ",
                f" |C:ResolveColor{colour} |M:{name} |D:{frames}",
                "",
            ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Written:
    """A file's text and what its format could not carry as the timeline has it."""

    text: str
    warnings: list[str]


def _edl(timeline: otio.schema.Timeline) -> Written:
    """OTIO's CMX 3600 writer on the timeline conformed to one rate, with the FCM line it
    leaves out after the title."""
    conformed, warnings = one_rate(timeline)
    rate = conformed.global_start_time.rate
    title, _, events = otio.adapters.write_to_string(conformed, "cmx_3600", rate=rate).partition(
        "\n\n"
    )
    return Written(f"{title}\n{_fcm(timeline)}\n\n{events}", warnings)


def _xml(timeline: otio.schema.Timeline) -> Written:
    conformed, warnings = timecode_rates(timeline)
    return Written(otio.adapters.write_to_string(conformed, "fcp_xml"), warnings)


def _resolve(timeline: otio.schema.Timeline) -> Written:
    conformed, warnings = one_rate(timeline)
    return Written(resolve_markers(conformed), warnings)


@dataclass(frozen=True)
class Format:
    media_type: str
    writer: Callable[[otio.schema.Timeline], Written]

    def write(self, timeline: otio.schema.Timeline) -> Written:
        """The file, or InvalidInput saying why the adapter could not write it."""
        try:
            return self.writer(timeline)
        except (ValueError, otio.exceptions.OTIOError) as exc:
            raise InvalidInput(N_("cannot write this timeline: %(reason)s"), reason=exc) from exc


FORMATS = {
    "otio": Format(
        "application/json",
        lambda t: Written(otio.adapters.write_to_string(t, "otio_json"), []),
    ),
    "edl": Format("text/plain", _edl),
    "xml": Format("application/xml", _xml),
    "resolve.edl": Format("text/plain", _resolve),
}


def format_of(name: str) -> Format:
    """One of FORMATS by its name (also the file name's ending)."""
    found = FORMATS.get(name)
    if found is None:
        raise InvalidInput(
            N_("format %(name)s: one of %(formats)s"), name=name[:20], formats=", ".join(FORMATS)
        )
    return found
