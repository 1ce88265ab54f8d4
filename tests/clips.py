"""Real media files for tests, written with PyAV and Pillow.

Every function writes a small file (a second or two, 160x120 by default) and returns its path,
so tests go through the same demuxers and decoders as footage from the field. Pictures move
(a drifting gradient and a bouncing block over seeded texture) so fingerprints have something
to hold on to; pass a different ``seed`` for unrelated content.

Rotation follows the old QuickTime ``rotate`` tag: degrees clockwise that a player turns the
stored picture to show it upright (a phone held portrait records 90).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

# Codec name used in tests -> the encoder PyAV ships for it.
_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "mpeg4": "mpeg4",
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "av1": "libsvtav1",
}
# Fast, quiet settings: test clips are about structure, not quality.
_ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast"},
    "libx265": {"preset": "ultrafast"},
    "mpeg4": {"sc_threshold": "1000000000"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12"},
}
_CONTAINER_CODECS = {
    ".mp4": ("h264", "hevc", "mpeg4", "vp9", "av1"),
    ".mov": ("h264", "hevc", "mpeg4"),
    ".mkv": ("h264", "hevc", "mpeg4", "vp8", "vp9", "av1"),
    ".webm": ("vp8", "vp9", "av1"),
    ".avi": ("h264", "mpeg4"),
}
_CONTAINER_AUDIO = {
    ".mp4": "aac",
    ".mov": "aac",
    ".mkv": "aac",
    ".webm": "libopus",
    ".avi": "pcm_s16le",
}
_AUDIO_ENCODERS = {
    ".m4a": "aac",
    ".wav": "pcm_s16le",
    ".mp3": "libmp3lame",
    ".opus": "libopus",
    ".flac": "flac",
}

#: Video codecs each container suffix accepts, limited to encoders this PyAV build has.
VIDEO_CODECS: dict[str, tuple[str, ...]] = {
    suffix: tuple(c for c in codecs if _ENCODERS[c] in av.codecs_available)
    for suffix, codecs in _CONTAINER_CODECS.items()
}
#: Audio file suffixes make_audio can write.
AUDIO_SUFFIXES: tuple[str, ...] = tuple(
    s for s, enc in _AUDIO_ENCODERS.items() if enc in av.codecs_available
)

_SAMPLE_RATE = 48_000
_VFR_TICKS = Fraction(1, 90_000)


def iso6709(lat: float, lon: float, alt: float | None = None) -> str:
    """Format a position the way phones write it, e.g. ``+33.5138+036.2765+012.000/``."""
    text = f"{lat:+08.4f}{lon:+09.4f}"
    if alt is not None:
        text += f"{alt:+08.3f}"
    return text + "/"


def make_video(
    path: Path,
    *,
    codec: str = "h264",
    seconds: float = 1.0,
    fps: Fraction | int = 30,
    size: tuple[int, int] = (160, 120),
    rotation: int = 0,
    vfr: bool = False,
    audio: bool = True,
    gps: tuple[float, float] | tuple[float, float, float] | None = None,
    creation_time: datetime | None = None,
    make: str | None = None,
    model: str | None = None,
    gop: int | None = None,
    faststart: bool = False,
    seed: int = 0,
) -> Path:
    """Write a clip; the container comes from the suffix (.mp4 .mov .mkv .webm .avi).

    Tags are written the way the usual source of each container does: ``.mov`` like an iPhone
    (``com.apple.quicktime.*``, creation date with its UTC offset), ``.mp4`` like Android
    (``©xyz`` location, ``com.android.*``, UTC-only ``creation_time``, so the offset is lost),
    ``.mkv``/``.webm`` like FFmpeg (plain ``location``/``make``/``model`` tags). AVI carries
    none of this, so asking for it there is an error rather than a silent no-op.

    ``vfr`` gives frames seeded durations of 0.5-2 frame periods; ``gop`` is a fixed keyframe
    interval in frames (default: one second); ``faststart`` puts the MP4 index up front.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise ValueError(f"no container for {suffix!r}; use one of {sorted(VIDEO_CODECS)}")
    if codec not in VIDEO_CODECS[suffix]:
        raise ValueError(f"{codec!r} not available in {suffix}; use one of {VIDEO_CODECS[suffix]}")
    wants_tags = gps or creation_time or make or model
    if suffix == ".avi" and (rotation or vfr or wants_tags):
        raise ValueError("AVI cannot carry rotation, VFR timing, GPS, dates or device tags")
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90, not {rotation}")
    if creation_time is not None and creation_time.utcoffset() is None:
        raise ValueError("creation_time must be timezone-aware")

    fps = Fraction(fps)
    width, height = size
    encoder = _ENCODERS[codec]
    gop = gop or max(1, round(fps))
    options = dict(_ENCODER_OPTIONS[encoder])
    if encoder == "libx264":
        options["x264-params"] = f"keyint={gop}:scenecut=0"
    elif encoder == "libx265":
        options["x265-params"] = f"log-level=none:keyint={gop}:min-keyint={gop}:scenecut=0"

    movflags = []
    if suffix in (".mp4", ".mov"):
        movflags.append("use_metadata_tags")
        if faststart:
            movflags.append("faststart")
    out = av.open(str(path), "w", options={"movflags": "+".join(movflags)} if movflags else {})
    try:
        out.metadata.update(_video_tags(suffix, gps, creation_time, make, model))
        video = out.add_stream(encoder, rate=fps, options=options)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = gop
        if codec == "hevc" and suffix in (".mp4", ".mov"):
            video.codec_tag = "hvc1"  # what Apple players expect, and iPhones write
        if rotation:
            # PyAV takes counter-clockwise degrees.
            video.set_display_rotation(-rotation)
        if vfr:
            video.codec_context.time_base = _VFR_TICKS
        # Every stream must exist before the first packet is muxed.
        sound = _add_audio(out, _CONTAINER_AUDIO[suffix]) if audio else None

        painter = _Painter(width, height, seed)
        for pts, t in _frame_times(seconds, fps, vfr, seed):
            frame = av.VideoFrame.from_ndarray(painter.paint(t), format="rgb24")
            frame.pts = pts
            if vfr:
                frame.time_base = _VFR_TICKS
            out.mux(video.encode(frame))
        out.mux(video.encode())

        if sound is not None:
            _encode_audio(out, sound, seconds, seed)
    finally:
        out.close()
    return path


def make_flat_video(path: Path, *, seconds: float = 2.0, grey: int = 0) -> Path:
    """One flat colour throughout (black by default): a picture with nothing to fingerprint."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("h264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        flat = np.full((120, 160, 3), grey, np.uint8)
        for _ in range(round(seconds * 30)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(flat, format="rgb24")))
        out.mux(stream.encode())
    return path


def make_audio(
    path: Path, *, seconds: float = 1.0, codec: str | None = None, seed: int = 0
) -> Path:
    """Write a stereo tone sequence; the encoder defaults from the suffix (.m4a .wav .mp3 …)."""
    path = Path(path)
    encoder = codec or _AUDIO_ENCODERS.get(path.suffix.lower())
    if encoder is None:
        raise ValueError(
            f"no audio encoder for {path.suffix!r}; pass codec= or use {AUDIO_SUFFIXES}"
        )
    with av.open(str(path), "w") as out:
        _encode_audio(out, _add_audio(out, encoder), seconds, seed)
    return path


def make_photo(
    path: Path,
    *,
    size: tuple[int, int] = (160, 120),
    gps: tuple[float, float] | tuple[float, float, float] | None = None,
    taken_at: datetime | None = None,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    rotation: int = 0,
    seed: int = 0,
) -> Path:
    """Write a photo (format from the suffix: .jpg .png .webp) with real EXIF.

    ``taken_at`` goes to DateTimeOriginal, and its offset (if aware) to OffsetTimeOriginal;
    ``gps`` to the GPS IFD as degrees/minutes/seconds; ``rotation`` to Orientation.
    """
    exif = Image.Exif()
    base = {ExifTags.Base.Make: make, ExifTags.Base.Model: model, ExifTags.Base.Software: software}
    exif.update({tag: value for tag, value in base.items() if value is not None})
    if rotation % 360:
        exif[ExifTags.Base.Orientation] = {90: 6, 180: 3, 270: 8}[rotation % 360]
    if taken_at is not None:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if taken_at.utcoffset() is not None:
            offset = taken_at.strftime("%z")
            sub[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    if gps is not None:
        lat, lon, *alt = gps
        tags = exif.get_ifd(ExifTags.IFD.GPSInfo)
        tags[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        tags[ExifTags.GPS.GPSLatitude] = _dms(lat)
        tags[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        tags[ExifTags.GPS.GPSLongitude] = _dms(lon)
        if alt:
            tags[ExifTags.GPS.GPSAltitudeRef] = b"\x00" if alt[0] >= 0 else b"\x01"
            tags[ExifTags.GPS.GPSAltitude] = IFDRational(round(abs(alt[0]) * 1000), 1000)

    width, height = size
    Image.fromarray(_Painter(width, height, seed).paint(0.0)).save(path, exif=exif)
    return Path(path)


def truncate_copy(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``, like a recording cut off when a phone died."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def random_bytes_file(path: Path, n: int = 4096, seed: int = 0) -> Path:
    """Write ``n`` seeded random bytes: something that is no kind of media."""
    Path(path).write_bytes(np.random.default_rng(seed).bytes(n))
    return Path(path)


def _video_tags(
    suffix: str,
    gps: tuple[float, ...] | None,
    creation_time: datetime | None,
    make: str | None,
    model: str | None,
) -> dict[str, str]:
    position = iso6709(*gps) if gps else None
    if suffix == ".mov":
        names = {
            "com.apple.quicktime.location.ISO6709": position,
            "com.apple.quicktime.make": make,
            "com.apple.quicktime.model": model,
        }
        if creation_time is not None:
            names["com.apple.quicktime.creationdate"] = creation_time.strftime(
                "%Y-%m-%dT%H:%M:%S%z"
            )
    elif suffix == ".mp4":
        names = {"location": position, "com.android.manufacturer": make, "com.android.model": model}
    else:
        names = {"location": position, "make": make, "model": model}
    if creation_time is not None:
        names["creation_time"] = creation_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {k: v for k, v in names.items() if v is not None}


def _frame_times(seconds: float, fps: Fraction, vfr: bool, seed: int) -> list[tuple[int, float]]:
    """(pts, time in seconds) of every frame; pts count frames, or 1/90000 s ticks if VFR."""
    if not vfr:
        count = max(1, round(seconds * fps))
        return [(i, float(i / fps)) for i in range(count)]
    rng = np.random.default_rng(seed)
    period = 1 / fps
    times, t = [], Fraction(0)
    while t < seconds:
        times.append((round(t / _VFR_TICKS), float(t)))
        t += period * Fraction(str(rng.choice([0.5, 1, 1.5, 2])))
    return times


class _Painter:
    """Seeded moving picture: a drifting colour gradient, static texture and a bouncing block."""

    def __init__(self, width: int, height: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        self.y, self.x = np.mgrid[0:height, 0:width].astype(np.float32)
        self.texture = rng.integers(0, 40, (height, width), dtype=np.uint8)
        self.phase = rng.uniform(0, 2 * math.pi, 3)
        self.start = rng.uniform(0, 1, 2)
        self.velocity = rng.uniform(0.2, 0.6, 2) * rng.choice([-1, 1], 2)
        self.colour = rng.integers(0, 256, 3, dtype=np.uint8)

    def paint(self, t: float) -> np.ndarray:
        w, h = self.width, self.height
        frame = np.empty((h, w, 3), np.uint8)
        frame[..., 0] = 110 + 100 * np.sin(2 * math.pi * self.x / w + self.phase[0] + 2 * t)
        frame[..., 1] = 110 + 100 * np.sin(2 * math.pi * self.y / h + self.phase[1] - 3 * t)
        frame[..., 2] = 110 + 100 * np.sin(
            2 * math.pi * (self.x + self.y) / (w + h) + self.phase[2] + t
        )
        frame += self.texture[..., None]
        # Bounce the block off the edges: a triangle wave over the free space.
        bw, bh = max(2, w // 5), max(2, h // 5)
        fx, fy = (self.start + self.velocity * t) % 2
        x0 = int((1 - abs(1 - fx)) * (w - bw))
        y0 = int((1 - abs(1 - fy)) * (h - bh))
        frame[y0 : y0 + bh, x0 : x0 + bw] = self.colour
        return frame


def _add_audio(out: av.container.OutputContainer, encoder: str) -> av.audio.stream.AudioStream:
    return out.add_stream(encoder, rate=_SAMPLE_RATE, layout="stereo")


def _encode_audio(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    seconds: float,
    seed: int,
) -> None:
    """Encode a seeded sequence of quarter-second stereo tones."""
    rng = np.random.default_rng(seed)
    total = max(1, round(seconds * _SAMPLE_RATE))
    block = _SAMPLE_RATE // 4
    for start in range(0, total, block):
        n = min(block, total - start)
        t = np.arange(start, start + n, dtype=np.float32) / _SAMPLE_RATE
        left, right = rng.uniform(200, 2000, 2)
        samples = 0.2 * np.stack([np.sin(2 * np.pi * left * t), np.sin(2 * np.pi * right * t)])
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = _SAMPLE_RATE
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (
        IFDRational(degrees, 1),
        IFDRational(minutes, 1),
        IFDRational(round(seconds * 10_000), 10_000),
    )
