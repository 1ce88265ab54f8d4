"""When, where and on what a file says it was shot: capture time, GPS position and device, from
container tags (QuickTime, Android, MP4, Matroska) or a photo's EXIF.

Each fact is taken from whichever tag the device wrote, in order of preference, and garbage is
refused (a position off the Earth, a date that does not parse): tag lore, apart from the
streams and timing that `rushes.media.probe` measures. A time keeps the offset the device recorded
(the crew's local time) and has a UTC form only when it has an offset at all; `captured` reads
the two back from a stored probe result.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from PIL import ExifTags, Image

# Container tags in order of preference, lower-cased because Matroska upper-cases its tag names.
_LOCATION_TAGS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_TIME_TAGS = ("com.apple.quicktime.creationdate", "creation_time")
_UTC_TIME_TAGS = ("creation_time",)  # MP4 mvhd / Matroska DateUTC: UTC even when unmarked
_MAKE_TAGS = ("com.apple.quicktime.make", "com.android.manufacturer", "make")
_MODEL_TAGS = ("com.apple.quicktime.model", "com.android.model", "model")
_SOFTWARE_TAGS = ("com.apple.quicktime.software", "com.android.version", "software")

_ANGLE = r"[+-]\d+(?:\.\d*)?"
_ISO6709 = re.compile(rf"({_ANGLE})({_ANGLE})({_ANGLE})?(?:CRS[\w:]*)?/?")


@dataclass(frozen=True, slots=True)
class Location:
    """Where the file says it was shot, and which tag said so."""

    latitude: float
    longitude: float
    altitude: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Device:
    """The camera or phone the file names."""

    make: str | None
    model: str | None
    software: str | None


class Capture(NamedTuple):
    """What a file says of its shooting, under the names MediaInfo gives these fields."""

    created_at: str | None
    created_at_utc: str | None
    created_at_source: str | None
    location: Location | None
    device: Device | None


def from_tags(metadata: Mapping[str, str]) -> Capture:
    """What a container's tags (``metadata`` as PyAV gives them) say."""
    tags = {key.lower(): (key, value) for key, value in metadata.items()}
    moment, source = _tag_time(tags)
    created_at, created_at_utc = _render_time(moment)
    return Capture(
        created_at,
        created_at_utc,
        source,
        _tag_location(tags),
        _device(
            _first_tag(tags, _MAKE_TAGS),
            _first_tag(tags, _MODEL_TAGS),
            _first_tag(tags, _SOFTWARE_TAGS),
        ),
    )


def from_exif(exif: Image.Exif, details: dict[int, Any], gps: dict[int, Any]) -> Capture:
    """What a photo's EXIF says: its IFD0 (``exif``), Exif IFD (``details``) and GPS IFD."""
    moment, source = _exif_time(details)
    created_at, created_at_utc = _render_time(moment)
    return Capture(
        created_at,
        created_at_utc,
        source,
        _exif_location(gps),
        _device(
            _text(exif.get(ExifTags.Base.Make)),
            _text(exif.get(ExifTags.Base.Model)),
            _text(exif.get(ExifTags.Base.Software)),
        ),
    )


def captured(media: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """Capture time in UTC, and the local offset the device wrote ("+03:00"), if it wrote one.

    A file that only carries UTC (most MP4 writers) has no local offset to keep.
    """
    utc, local = media.get("created_at_utc"), media.get("created_at")
    if not utc:
        return None, None
    moment = datetime.fromisoformat(utc)
    if not local or local.endswith("Z"):
        return moment, None
    offset = datetime.fromisoformat(local).utcoffset()
    if offset is None or offset.total_seconds() % 60:
        return moment, None  # no offset, or one with seconds no real time zone has
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return moment, f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_iso6709(text: str) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) from an ISO 6709 string, or None if it is not one.

    Accepts decimal degrees as phones write them ("+33.5138+036.2765+012.000/") and the
    degrees-minutes(-seconds) forms of ISO 6709 Annex H ("+3330.83+03616.59/").
    """
    match = _ISO6709.fullmatch(text.strip())
    if match is None:
        return None
    lat, lon, alt = match.groups()
    latitude, longitude = _angle(lat, 2), _angle(lon, 3)
    if latitude is None or longitude is None:
        return None
    return latitude, longitude, float(alt) if alt else None


def _tag_time(tags: dict[str, tuple[str, str]]) -> tuple[datetime | None, str | None]:
    for name in _TIME_TAGS:
        if name not in tags:
            continue
        key, value = tags[name]
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            continue
        if moment.tzinfo is None and name in _UTC_TIME_TAGS:
            moment = moment.replace(tzinfo=UTC)
        return moment, key
    return None, None


def _tag_location(tags: dict[str, tuple[str, str]]) -> Location | None:
    for name in _LOCATION_TAGS:
        if name not in tags:
            continue
        key, value = tags[name]
        position = parse_iso6709(value)
        if position is not None and (location := _location(*position, source=key)):
            return location
    return None


def _first_tag(tags: dict[str, tuple[str, str]], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in tags and (value := _text(tags[name][1])):
            return value
    return None


def _exif_time(details: dict[int, Any]) -> tuple[datetime | None, str | None]:
    # IFD0 DateTime is when the file was last changed, not when it was shot, so it is not used.
    for stamp_tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        stamp, offset = _text(details.get(stamp_tag)), _text(details.get(offset_tag))
        if stamp is None:
            continue
        try:
            moment = datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        if offset is not None:
            # A broken offset leaves the time local and unanchored.
            with contextlib.suppress(ValueError):
                moment = moment.replace(tzinfo=datetime.strptime(offset, "%z").tzinfo)
        return moment, f"EXIF:{stamp_tag.name}"
    return None, None


def _exif_location(gps: dict[int, Any]) -> Location | None:
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef))
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef))
        altitude = gps.get(ExifTags.GPS.GPSAltitude)
        if altitude is not None:
            below_sea = gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
            altitude = -float(altitude) if below_sea else float(altitude)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return _location(latitude, longitude, altitude, source="EXIF:GPSInfo")


def _degrees(value: Any, ref: Any) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    angle = degrees + minutes / 60 + seconds / 3600
    return -angle if _text(ref) in ("S", "W") else angle


def _location(
    latitude: float, longitude: float, altitude: float | None, *, source: str
) -> Location | None:
    """A Location if the numbers can be a place on Earth; None for garbage."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if abs(latitude) > 90 or abs(longitude) > 180:
        return None
    if latitude == 0 and longitude == 0:
        return None  # what devices write when they have no fix
    if altitude is not None and not math.isfinite(altitude):
        altitude = None
    return Location(latitude, longitude, altitude, source)


def _angle(token: str, degree_digits: int) -> float | None:
    """Degrees from one ISO 6709 component: ±D…D[.d], ±D…DMM[.m] or ±D…DMMSS[.s]."""
    sign = -1 if token[0] == "-" else 1
    whole, _, fraction = token[1:].partition(".")
    fraction = f".{fraction}" if fraction else ""
    extra = len(whole) - degree_digits
    if extra <= 0:
        return sign * float(whole + fraction)
    if extra == 2:
        minutes = float(whole[-2:] + fraction)
        return sign * (int(whole[:-2]) + minutes / 60) if minutes < 60 else None
    if extra == 4:
        minutes, seconds = int(whole[-4:-2]), float(whole[-2:] + fraction)
        if minutes >= 60 or seconds >= 60:
            return None
        return sign * (int(whole[:-4]) + minutes / 60 + seconds / 3600)
    return None


def _device(make: str | None, model: str | None, software: str | None) -> Device | None:
    # Software alone is usually the muxer (Lavf…), which says nothing about the camera.
    if make is None and model is None:
        return None
    return Device(make, model, software)


def _render_time(moment: datetime | None) -> tuple[str | None, str | None]:
    """(as recorded, in UTC) as ISO 8601; no UTC form for a time without an offset."""
    if moment is None:
        return None, None
    if moment.utcoffset() is None:
        return _iso(moment), None
    return _iso(moment), _iso(moment.astimezone(UTC))


def _iso(moment: datetime) -> str:
    text = moment.isoformat()
    return text[:-6] + "Z" if moment.utcoffset() == timedelta(0) else text


def _text(value: Any) -> str | None:
    """A tag value as clean text; EXIF pads with NULs and spaces, and may hold bytes."""
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n") or None
