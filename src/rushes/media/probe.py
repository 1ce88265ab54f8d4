"""What a media file is: its streams and timing, and when, where and on what it was shot.

probe() reads headers, the container index and at most a few seconds of packets, and decodes
only the first video frame, so it is cheap enough to run on every asset at ingest. It is a pure
function of the file's bytes: no path, clock or settings end up in the result.
"""

from __future__ import annotations

import contextlib
import math
import re
import stat
import statistics
import struct
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

import av
from av.container import InputContainer
from av.stream import Disposition, Stream
from av.video.stream import VideoStream
from PIL import ExifTags, Image, UnidentifiedImageError

from rushes.errors import ProbeError
from rushes.media.container import is_still, open_input

Kind = Literal["video", "audio", "image"]
S = TypeVar("S", bound=Stream)

#: `media["from"]` of a probe result the field kit claimed before the original reached the base;
#: the base's own probe of the original replaces it.
FIELD_KIT = "field kit"

#: Fields of MediaInfo that identify a place or a person's phone; never shared outside.
PRIVATE_FIELDS = ("location", "device")

# Container tags in order of preference, lower-cased because Matroska upper-cases its tag names.
_LOCATION_TAGS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_TIME_TAGS = ("com.apple.quicktime.creationdate", "creation_time")
_UTC_TIME_TAGS = ("creation_time",)  # MP4 mvhd / Matroska DateUTC: UTC even when unmarked
_MAKE_TAGS = ("com.apple.quicktime.make", "com.android.manufacturer", "make")
_MODEL_TAGS = ("com.apple.quicktime.model", "com.android.model", "model")
_SOFTWARE_TAGS = ("com.apple.quicktime.software", "com.android.version", "software")

# Only these go to Pillow: some of its other plugins accept almost any bytes.
_PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF")
# Rotation part of each EXIF Orientation (mirroring is not represented).
_EXIF_ROTATION = {3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}

_SCAN_PACKETS = 240  # ~8 s at 30 fps: enough to see a variable rate, little to read
_VFR_TOLERANCE = 0.05  # frame durations may jitter this much (or one tick) and still be CFR

_ANGLE = r"[+-]\d+(?:\.\d*)?"
_ISO6709 = re.compile(rf"({_ANGLE})({_ANGLE})({_ANGLE})?(?:CRS[\w:]*)?/?")


@dataclass(frozen=True, slots=True)
class Size:
    """Picture size as stored, and as shown once the rotation is applied."""

    width: int
    height: int
    rotation: int  # degrees clockwise a player turns the stored picture: 0, 90, 180 or 270
    display_width: int
    display_height: int

    @classmethod
    def rotated(cls, width: int, height: int, rotation: int) -> Size:
        if rotation in (90, 270):
            return cls(width, height, rotation, height, width)
        return cls(width, height, rotation, width, height)


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream as the container and codec describe it; absent facts are None."""

    index: int
    type: str  # "video", "audio", "subtitle", "data", "attachment" or "unknown"
    codec: str | None
    profile: str | None
    time_base: str | None  # exact fraction, e.g. "1/15360"
    bit_rate: int | None
    frames: int | None
    language: str | None
    width: int | None
    height: int | None
    pix_fmt: str | None
    channels: int | None
    sample_rate: int | None


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


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Everything probe() learns about one file.

    ``created_at`` keeps the offset the device recorded (the crew's local time), and falls back
    to UTC when the file only has UTC; ``created_at_utc`` is None when the time carries no
    offset at all (EXIF without OffsetTimeOriginal). ``vfr`` is set when frame durations differ
    by more than jitter (5 % or one tick), so a dropped frame counts. ``frame_rate`` is FFmpeg's
    base rate for constant-rate video, and the mean rate of the frames probe() read for VFR.
    """

    kind: Kind
    container: str
    duration_s: float | None
    size: Size | None
    frame_rate: str | None
    vfr: bool
    streams: tuple[StreamInfo, ...]
    created_at: str | None
    created_at_utc: str | None
    created_at_source: str | None
    location: Location | None
    device: Device | None

    def as_dict(self) -> dict[str, Any]:
        """Everything, as plain JSON types."""
        data = asdict(self)
        data["streams"] = list(data["streams"])
        return data

    def public_dict(self) -> dict[str, Any]:
        """as_dict() without where and on whose phone it was shot: safe to share outside."""
        return strip_sensitive(self.as_dict())


def strip_sensitive(media: Mapping[str, Any]) -> dict[str, Any]:
    """A stored as_dict() without location and device, for anything shared outside."""
    return {key: value for key, value in media.items() if key not in PRIVATE_FIELDS}


def probe(path: Path) -> MediaInfo:
    """Describe the video, audio or photo at ``path``; ProbeError if it is none of those."""
    path = Path(path)
    try:
        status = path.stat()
    except OSError as error:
        raise ProbeError(f"cannot read {path}: {error.strerror}") from error
    if not stat.S_ISREG(status.st_mode):
        raise ProbeError(f"not a regular file: {path}")
    if status.st_size == 0:
        raise ProbeError(f"empty file: {path}")
    try:
        return _probe_photo(path) or _probe_av(path)
    except Image.DecompressionBombError as error:
        raise ProbeError(f"image too large for Pillow's safety limit: {path}") from error
    except OSError as error:
        raise ProbeError(f"cannot read {path}: {error.strerror or error}") from error


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


def _probe_photo(path: Path) -> MediaInfo | None:
    Image.init()  # so that formats registered by plugins (HEIF) are known
    formats = [name for name in _PHOTO_FORMATS if name in Image.OPEN]
    try:
        image = Image.open(path, formats=formats)
    except UnidentifiedImageError:
        return None
    with image:
        width, height = image.size
        container = (image.format or "image").lower()
        try:
            exif = image.getexif()
            details = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        except (OSError, SyntaxError, ValueError, TypeError, struct.error, Warning):
            # A photo with mangled EXIF is still a photo. (Pillow warns about some damage;
            # where warnings are errors, as in the tests, they land here too.)
            exif, details, gps = Image.Exif(), {}, {}
    moment, source = _exif_time(details)
    created_at, created_at_utc = _render_time(moment)
    return MediaInfo(
        kind="image",
        container=container,
        duration_s=None,
        size=Size.rotated(
            width, height, _EXIF_ROTATION.get(exif.get(ExifTags.Base.Orientation), 0)
        ),
        frame_rate=None,
        vfr=False,
        streams=(),
        created_at=created_at,
        created_at_utc=created_at_utc,
        created_at_source=source,
        location=_exif_location(gps),
        device=_device(
            _text(exif.get(ExifTags.Base.Make)),
            _text(exif.get(ExifTags.Base.Model)),
            _text(exif.get(ExifTags.Base.Software)),
        ),
    )


def _probe_av(path: Path) -> MediaInfo:
    try:
        container = open_input(path, metadata_errors="replace")
    except ValueError as error:
        raise ProbeError(f"not a media file: {path} ({error})") from error
    with container:
        name = container.format.name
        if name == "tty":  # FFmpeg renders any .txt as ANSI art
            raise ProbeError(f"not a media file: {path} (plain text)")
        video = _first_decodable(container.streams.video)
        audio = _first_decodable(container.streams.audio)
        if video is None and audio is None:
            raise ProbeError(f"no decodable streams: {path}")
        kind: Kind = "audio"
        size, frame_rate, vfr = None, None, False
        if video is not None:
            kind = "image" if is_still(container) else "video"
            stamps, rotation = _scan_video(container, video)
            size = Size.rotated(video.width, video.height, rotation)
            vfr = _is_variable(stamps)
            rate = _mean_rate(stamps, video.time_base) if vfr else video.base_rate
            rate = rate or video.average_rate
            frame_rate = _fraction(rate) if rate and kind == "video" else None
        tags = {key.lower(): (key, value) for key, value in container.metadata.items()}
        moment, source = _tag_time(tags)
        created_at, created_at_utc = _render_time(moment)
        return MediaInfo(
            kind=kind,
            container=name,
            duration_s=_duration(container, video or audio),
            size=size,
            frame_rate=frame_rate,
            vfr=vfr,
            streams=tuple(_stream_info(stream) for stream in container.streams),
            created_at=created_at,
            created_at_utc=created_at_utc,
            created_at_source=source,
            location=_tag_location(tags),
            device=_device(
                _first_tag(tags, _MAKE_TAGS),
                _first_tag(tags, _MODEL_TAGS),
                _first_tag(tags, _SOFTWARE_TAGS),
            ),
        )


def _first_decodable(streams: Iterable[S]) -> S | None:
    """The first stream FFmpeg can decode; cover art in an audio file does not count."""
    for stream in streams:
        if stream.codec_context is not None and not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _scan_video(container: InputContainer, stream: VideoStream) -> tuple[list[int], int]:
    """Frame timestamps of ``stream`` and its clockwise display rotation, reading little.

    MP4, MOV and AVI index every frame, so their timestamps come free from the index; other
    containers give the first packets' timestamps. The rotation lives in the display matrix,
    which PyAV only exposes on decoded frames, so the first frame (only) is decoded.
    """
    entries = stream.index_entries
    indexed = stream.frames > 1 and len(entries) == stream.frames
    stamps = [entry.timestamp for entry in entries] if indexed else []
    rotation = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if not indexed and packet.pts is not None:
                stamps.append(packet.pts)
            if rotation is None:
                rotation = _frame_rotation(packet)
            if count >= _SCAN_PACKETS or (indexed and rotation is not None):
                break
    except av.error.FFmpegError:
        pass  # damaged from here on: keep what was read
    # PyAV reports counter-clockwise degrees in [-180, 180].
    return stamps, -(rotation or 0) % 360


def _frame_rotation(packet: av.Packet) -> int | None:
    try:
        frames = packet.decode()
    except av.error.FFmpegError:
        return None
    return frames[0].rotation if frames else None


def _is_variable(stamps: list[int]) -> bool:
    """True if frame durations differ by more than timestamp rounding and clock jitter."""
    ordered = sorted(stamps)
    deltas = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
    if len(deltas) < 2:
        return False
    typical = statistics.median(deltas)
    slack = max(1, typical * _VFR_TOLERANCE)
    return any(abs(delta - typical) > slack for delta in deltas)


def _mean_rate(stamps: list[int], time_base: Fraction | None) -> Fraction | None:
    """Frames per second over the scanned timestamps: the only honest rate of VFR video."""
    span = max(stamps) - min(stamps)
    return Fraction(len(stamps) - 1) / (span * time_base) if span and time_base else None


def _duration(container: InputContainer, stream: Stream | None) -> float | None:
    if container.duration is not None:
        return container.duration / av.time_base
    if stream is not None and stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _stream_info(stream: Stream) -> StreamInfo:
    context = stream.codec_context
    if context is None:  # no decoder, e.g. a phone's timed-metadata track
        codec, bit_rate = getattr(stream, "name", None), None
    else:
        # The format ("av1"), not the decoder PyAV picked ("libdav1d").
        codec, bit_rate = context.codec.canonical_name, context.bit_rate or None
    video = context is not None and stream.type == "video"
    audio = context is not None and stream.type == "audio"
    return StreamInfo(
        index=stream.index,
        type=stream.type,
        codec=codec,
        profile=stream.profile,
        time_base=_fraction(stream.time_base) if stream.time_base else None,
        bit_rate=bit_rate,
        frames=stream.frames or None,
        language=stream.language if stream.language not in (None, "und") else None,
        width=context.width if video else None,
        height=context.height if video else None,
        pix_fmt=context.pix_fmt if video else None,
        channels=context.channels if audio else None,
        sample_rate=context.sample_rate if audio else None,
    )


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


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
