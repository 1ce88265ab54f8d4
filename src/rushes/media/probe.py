"""What a media file is: its streams and timing, and when, where and on what it was shot (read
by `rushes.media.capture`).

probe() reads headers, the container index and at most a few seconds of packets, and decodes
only the first video frame, so it is cheap enough to run on every asset at ingest. It is a pure
function of the file's bytes: no path, clock or settings end up in the result.
"""

from __future__ import annotations

import stat
import statistics
import struct
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

import av
from av.container import InputContainer
from av.stream import Disposition, Stream
from av.video.stream import VideoStream
from PIL import ExifTags, Image, UnidentifiedImageError

from rushes.errors import ProbeError
from rushes.media.capture import Device, Location, from_exif, from_tags
from rushes.media.container import is_still, open_input

Kind = Literal["video", "audio", "image"]
S = TypeVar("S", bound=Stream)

#: `media["from"]` of a probe result the field kit claimed before the original reached the base;
#: the base's own probe of the original replaces it.
FIELD_KIT = "field kit"

#: Fields of MediaInfo that identify a place or a person's phone; never shared outside.
PRIVATE_FIELDS = ("location", "device")

# Only these go to Pillow: some of its other plugins accept almost any bytes.
_PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF")
# Rotation part of each EXIF Orientation (mirroring is not represented).
_EXIF_ROTATION = {3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}

_SCAN_PACKETS = 240  # ~8 s at 30 fps: enough to see a variable rate, little to read
_VFR_TOLERANCE = 0.05  # frame durations may jitter this much (or one tick) and still be CFR


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
        **from_exif(exif, details, gps)._asdict(),
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
        return MediaInfo(
            kind=kind,
            container=name,
            duration_s=_duration(container, video or audio),
            size=size,
            frame_rate=frame_rate,
            vfr=vfr,
            streams=tuple(_stream_info(stream) for stream in container.streams),
            **from_tags(container.metadata)._asdict(),
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


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
