"""Find footage by a picture: which clips show the moment in a screenshot or a short clip.

An investigator has a still from social media, or a few seconds of someone's upload, and asks
which original it came from. The picture is fingerprinted like any clip
(`rushes.media.fingerprint`: bars cut, centre crops, all eight turns and flips) and looked up
in the archive's anchor index (`rushes.pipeline.candidates`), then:

* a still (one frame, or a few within half a second) is looked up among frames a quarter of a
  second apart (`candidates.frame_index_for`), then compared with every fingerprinted frame of
  each proposed clip, in every orientation and crop; runs of frames within `STILL_BITS`
  become time ranges, best first (bench/find_frame.py measures what is found, per edit);
* a clip is aligned with each proposed clip by `rushes.media.matching.match`, as copies are.

Only clips the viewer may see are proposed (`access.visible_assets`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.errors import InvalidInput, ProbeError
from rushes.i18n import N_
from rushes.media.fingerprint import SLOTS, Fingerprint, dihedral, fingerprint
from rushes.media.matching import MIN_SEGMENT_S, SEED_BITS, match
from rushes.media.orientations import TRANSFORMS
from rushes.pipeline.candidates import fingerprints, proposed
from rushes.review.access import Viewer, own_crew, visible_assets
from rushes.review.names import asset_names

MAX_BYTES = 100 * 2**20  # a picture or clip uploaded to search with
MAX_MB = MAX_BYTES // 2**20
MAX_PIXELS = 50_000_000  # a picture's width x height
MAX_SECONDS = 120.0  # a clip searched with
STILL_BITS = SEED_BITS  # a stored frame this close to the still shows its moment
LITTLE_DETAIL = 50  # PDQ quality under which a picture is matched unreliably
RANGE_GAP_S = 1.0  # matching frames this close in time are one range
TIMEOUT_S = 60.0
MAX_CLIPS = 50
# A row or column of a still is plain border when this share of it is within PLAIN_LEVELS grey
# levels of its median: a name or an icon on an app's bar leaves most of the bar its colour.
# Trimmed wrongly costs nothing: the still is searched both as it is and trimmed.
PLAIN_SHARE = 0.75
PLAIN_LEVELS = 8


@dataclass(frozen=True)
class Moment:
    start: float  # seconds in the stored clip
    end: float
    at: float  # its closest frame
    distance: int  # bits (of 256) at the closest frame


@dataclass(frozen=True)
class Found:
    sha256: str
    name: str
    moments: tuple[Moment, ...]

    @property
    def distance(self) -> int:
        return min(m.distance for m in self.moments)


def read_query(path: Path) -> Fingerprint:
    """The picture's or clip's fingerprint, or `InvalidInput` saying why it cannot be used."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InvalidInput(N_("file: at most %(most)s MB (a still or a short clip)"), most=MAX_MB)
    if size == 0:
        raise InvalidInput(N_("file: it is empty"))
    width, height = _dimensions(path)
    if width * height > MAX_PIXELS:
        raise InvalidInput(
            N_("file: %(width)sx%(height)s is too large a picture (50 megapixels at most)"),
            width=width,
            height=height,
        )
    try:
        found = fingerprint(path, sampling="dense", timeout_s=TIMEOUT_S)
        trimmed = _trimmed(path)
        if trimmed != path:  # searched both ways: a plain border may be part of the picture
            found = _both(found, fingerprint(trimmed, sampling="dense", timeout_s=TIMEOUT_S))
    except ProbeError:
        raise InvalidInput(N_("file: not a picture or video that can be read")) from None
    if found.duration_s > MAX_SECONDS:
        raise InvalidInput(
            N_("file: a clip of at most %(most)s s; cut the moment out"), most=int(MAX_SECONDS)
        )
    if not len(found):
        raise InvalidInput(N_("file: the picture is too dark or flat to be recognised"))
    return found


def _dimensions(path: Path) -> tuple[int, int]:
    """Width and height from the file's header, before anything is decoded."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        pass
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise InvalidInput(N_("file: has no picture"))
            context = container.streams.video[0].codec_context
            return context.width, context.height
    except av.FFmpegError:
        raise InvalidInput(N_("file: not a picture or video that can be read")) from None


def _trimmed(path: Path) -> Path:
    """A still with plain borders of any colour cut off (an app's white or grey bars around a
    screenshot; black ones the fingerprint cuts itself), or the file as it is if it has none."""
    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) > 1:
                return path
            grey = np.asarray(image.convert("L"), np.float32)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return path
    rows, columns = _plain(grey), _plain(grey.T)
    if rows == (0, 0) and columns == (0, 0):
        return path
    height, width = grey.shape
    box = (columns[0], rows[0], width - columns[1], height - rows[1])
    trimmed = path.with_name(path.name + ".trimmed.png")
    with Image.open(path) as image:
        image.crop(box).save(trimmed)
    return trimmed


def _both(whole: Fingerprint, trimmed: Fingerprint) -> Fingerprint:
    """One still's two readings as two frames of the same moment."""
    return replace(
        whole,
        pts=np.concatenate([whole.pts, np.full(len(trimmed), whole.pts[0] if len(whole) else 0)]),
        quality=np.concatenate([whole.quality, trimmed.quality]),
        codes=np.concatenate([whole.codes, trimmed.codes]),
    )


def _plain(grey: np.ndarray) -> tuple[int, int]:
    """Rows at the top and bottom that are mostly the colour of the outermost row (an app's
    bar, perhaps with a name or an icon on it); none if that would leave under a quarter."""
    level = np.median(grey, axis=1)
    flat = (np.abs(grey - level[:, None]) <= PLAIN_LEVELS).mean(axis=1) >= PLAIN_SHARE
    ends = []
    for lines, levels in ((flat, level), (flat[::-1], level[::-1])):
        same = lines & (np.abs(levels - levels[0]) <= PLAIN_LEVELS)
        ends.append(len(same) if same.all() else int(np.argmin(same)))
    head, tail = ends
    return (0, 0) if head + tail > 0.75 * len(flat) else (head, tail)


def is_still(query: Fingerprint) -> bool:
    """Too short to be aligned in time: searched frame by frame."""
    return float(np.ptp(query.seconds)) < MIN_SEGMENT_S


def little_detail(query: Fingerprint) -> bool:
    """Whether the picture has so little detail that finding nothing is no sure answer: a
    frame of a plain door (PDQ quality 38 of 100) was not found in the clip it came from."""
    return bool(len(query)) and int(query.quality.max()) < LITTLE_DETAIL


def find(session: Session, viewer: Viewer, query: Fingerprint) -> list[Found]:
    """The viewer's clips showing the query's moments, closest first."""
    still = is_still(query)
    # One anchor close is enough to look closer: a short clip may span one second of its source.
    shas = proposed(session, query, min_hits=1, still=still)
    if shas:
        visible = visible_assets(viewer).subquery()
        shas = list(session.scalars(select(visible.c[0]).where(visible.c[0].in_(shas))))
    results = []
    for sha, stored in fingerprints(session, shas):
        moments = _still_moments(query, stored) if still else _clip_moments(query, stored)
        if moments:
            results.append((sha, moments))
    names = asset_names(session, viewer.project.id, [sha for sha, _ in results], own_crew(viewer))
    found = [
        Found(sha, names[sha].name if sha in names else sha[:12], tuple(moments))
        for sha, moments in results
    ]
    return sorted(found, key=lambda f: (f.distance, f.sha256))[:MAX_CLIPS]


def _still_moments(query: Fingerprint, stored: Fingerprint) -> list[Moment]:
    """Runs of the stored clip's frames close to any of the query's frames, in any orientation
    and crop of either."""
    turned = np.stack(
        [dihedral(query.codes[:, s], t) for t in range(len(TRANSFORMS)) for s in range(SLOTS)]
    ).reshape(-1, 32)
    asked = turned.view(np.uint64)  # (q, 4)
    codes = np.ascontiguousarray(stored.codes).reshape(-1, 32).view(np.uint64)  # (n * SLOTS, 4)
    best = np.empty(len(stored), np.int64)
    step = 2048 * SLOTS
    for at in range(0, len(codes), step):
        part = codes[at : at + step]
        bits = np.bitwise_count(part[None, :, :] ^ asked[:, None, :]).sum(axis=2)
        best[at // SLOTS : (at + len(part)) // SLOTS] = bits.min(axis=0).reshape(-1, SLOTS).min(1)
    return _runs(stored.seconds, best)


def _runs(seconds: np.ndarray, distance: np.ndarray) -> list[Moment]:
    close = np.flatnonzero(distance <= STILL_BITS)
    if not len(close):
        return []
    close = close[np.argsort(seconds[close], kind="stable")]
    moments = []
    group = [close[0]]
    for frame in close[1:]:
        if seconds[frame] - seconds[group[-1]] > RANGE_GAP_S:
            moments.append(_moment(seconds, distance, group))
            group = []
        group.append(frame)
    moments.append(_moment(seconds, distance, group))
    return sorted(moments, key=lambda m: (m.distance, m.start))


def _moment(seconds: np.ndarray, distance: np.ndarray, group: list[int]) -> Moment:
    closest = min(group, key=lambda f: distance[f])
    return Moment(
        float(seconds[group[0]]),
        float(seconds[group[-1]]),
        float(seconds[closest]),
        int(distance[closest]),
    )


def _clip_moments(query: Fingerprint, stored: Fingerprint) -> list[Moment]:
    found = match(query, stored)
    if found is None:
        return []
    return sorted(
        (Moment(s.b_start, s.b_end, s.b_start, round(s.distance)) for s in found.segments),
        key=lambda m: (m.distance, m.start),
    )
