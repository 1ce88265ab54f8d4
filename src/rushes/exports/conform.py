"""Frame rates of an editor's timeline, and a timeline conformed for formats that cannot carry
every clip in its own rate.

A timeline runs at one standard rate (SMPTE timecode exists only for those). Each clip of the
OTIO file keeps its range in its own rate; OTIO's EDL and FCP7 XML writers count timecode only
at standard rates, and an EDL has one rate per file, so for them a copy of the timeline is
conformed here: a clip's range is converted to the rate the format can carry, and its length
on the record side is a whole number of the timeline's frames (the seconds of its source range,
rounded to the nearest frame), so source and record lengths agree and clips never overlap.
Every conversion comes back as a warning naming the select by its position (plain ASCII, so it
fits an HTTP header).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from rushes.errors import InvalidInput
from rushes.i18n import N_

STANDARD_RATES = tuple(
    Fraction(r)
    for r in ("24000/1001", "24", "25", "30000/1001", "30", "48000/1001", "48", "50")
    + ("60000/1001", "60")
)
DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))
_NEAR = Fraction(1, 200)  # "23.976" and "29.97" name the NTSC rates


def label(rate: Fraction) -> str:
    """A rate as editors write it: 23.976, 25, 29.97."""
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def timeline_rate(text: str) -> Fraction:
    """The standard rate a person asked for, as "25", "29.97" or "30000/1001"."""
    try:
        asked = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        asked = None
    found = next((r for r in STANDARD_RATES if asked is not None and abs(r - asked) < _NEAR), None)
    if found is None:
        raise InvalidInput(
            N_(
                "rate %(rate)s: a timeline runs at one of %(rates)s fps"
                " (timecode exists only for those)"
            ),
            rate=repr(text[:20]),
            rates=", ".join(label(r) for r in STANDARD_RATES),
        )
    return found


def nearest_standard(rate: Fraction) -> Fraction:
    return min(STANDARD_RATES, key=lambda r: abs(r - rate))


def clip_rate(clip: otio.schema.Clip) -> Fraction:
    """The exact rate a clip's range is counted in (OTIO keeps only a float)."""
    return Fraction(clip.metadata["rushes"]["rate"])


def timeline_rate_of(timeline: otio.schema.Timeline) -> Fraction:
    return Fraction(timeline.metadata["rushes"]["rate"])


def one_rate(timeline: otio.schema.Timeline) -> tuple[otio.schema.Timeline, list[str]]:
    """Every clip counted at the timeline's rate: what an EDL (one rate per file) carries."""
    rate = timeline_rate_of(timeline)
    copy = timeline.deepcopy()
    warnings = []
    for clip in copy.find_clips():
        own = clip_rate(clip)
        if own != rate:
            warning = (
                f"select {clip.metadata['rushes']['position']} runs at {label(own)} fps; "
                f"an EDL has one rate, so its source timecode counts {label(rate)} fps frames"
            )
            warnings.append(warning)
            clip.metadata["cmx_3600"]["comments"] = [f"RUSHES: {warning.upper()}"]
        _conform(clip, rate, rate)
    return copy, warnings


def timecode_rates(timeline: otio.schema.Timeline) -> tuple[otio.schema.Timeline, list[str]]:
    """Clips at standard rates keep their own; the others are counted at the timeline's rate
    (FCP7 XML's file timecode needs a standard rate). Drop-frame rates are marked so."""
    rate = timeline_rate_of(timeline)
    copy = timeline.deepcopy()
    warnings = []
    _mark_drop_frame(copy, rate)
    for clip in copy.find_clips():
        own = clip_rate(clip)
        counted = own if own in STANDARD_RATES else rate
        if counted != own:
            warnings.append(
                f"select {clip.metadata['rushes']['position']} runs at {label(own)} fps, "
                f"which has no timecode; the FCP XML counts it at {label(rate)} fps"
            )
        _conform(clip, counted, rate)
        for reference in clip.media_references().values():
            _mark_drop_frame(reference, counted)
    return copy, warnings


def _mark_drop_frame(item: otio.core.SerializableObject, rate: Fraction) -> None:
    """OTIO's FCP7 writer writes drop-frame timecode only where the metadata asks for it."""
    if rate in DROP_FRAME_RATES:
        item.metadata["fcp_xml"] = {"timecode": {"displayformat": "DF"}}


def _conform(clip: otio.schema.Clip, counted: Fraction, rate: Fraction) -> None:
    """Count `clip`'s frames at `counted`, its record length whole frames at `rate`."""
    own = clip_rate(clip)
    source = clip.source_range
    first = Fraction(round(source.start_time.value))
    frames = Fraction(round(source.duration.value))
    record = max(1, round(frames / own * rate))  # whole frames on the record side
    start = math.floor(first / own * counted)
    length = Fraction(record) / rate * counted  # whole when counted == rate
    clip.source_range = TimeRange(_at(start, counted), _at(length, counted))
    for reference in clip.media_references().values():
        available = reference.available_range
        if available is not None:
            end = math.ceil(Fraction(round(available.duration.value)) / own * counted)
            reference.available_range = TimeRange(
                _at(0, counted), _at(max(end, math.ceil(start + length)), counted)
            )
    clip.metadata["rushes"]["rate"] = str(counted)
    _conform_markers(clip.markers, own, counted, start, start + length)


def _conform_markers(
    markers: Iterable[otio.schema.Marker],
    own: Fraction,
    counted: Fraction,
    first: int,
    end: Fraction,
) -> None:
    """A marker stays inside its clip: its frame the one showing at its time, at least one
    frame from the out point."""
    last = max(first, math.ceil(end) - 1)
    for marker in markers:
        marked = marker.marked_range
        at = min(max(math.floor(round(marked.start_time.value) / own * counted), first), last)
        frames = round(Fraction(round(marked.duration.value)) / own * counted)
        marker.marked_range = TimeRange(_at(at, counted), _at(min(frames, last + 1 - at), counted))


def _at(value: int | Fraction, rate: Fraction) -> RationalTime:
    return RationalTime(float(value), float(rate))
