"""Poster frame and contact strip: the small pictures a review page shows before any video loads.

Cheap on purpose: for each strip position the demuxer seeks to the keyframe before it and
decodes from there, never the whole clip, and stops at the first frame no more than `SNAP_S`
(and half the pictures' spacing) before the position. With phone footage (a keyframe a second)
that is the keyframe itself: one intra picture per position instead of half a GOP on average,
for a strip that is evenly spaced to within a second rather than to the frame. Pictures are turned
upright with the same display-matrix reading as the proxy, and written as WebP (about a third
smaller than JPEG at the same quality, and shown by every current browser), each file renamed
into place once complete.

The poster is the strip picture with the most contrast, which skips black openings and frames
blown out by a flash. A clip with one frame gets one picture; an audio-only file gets none and
says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from rushes.media.container import is_still, open_input
from rushes.media.proxy import Orientation

STRIP_HEIGHT = 90
POSTER_HEIGHT = 360
QUALITY = 70
SNAP_S = 1.0  # a frame this far before a strip position (at most half a spacing) stands for it
_IMAGE_FORMATS = {"webp": "WEBP", "jpeg": "JPEG"}


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    time: float  # seconds on the original's clock (PTS x time base) of the frame shown
    width: int
    height: int


@dataclass(frozen=True)
class Thumbnails:
    """What was written; ``problem`` says why there is less than was asked for."""

    poster: Thumbnail | None
    strip: tuple[Thumbnail, ...]
    problem: str | None = None


def make_thumbnails(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    count: int = 8,
    strip_height: int = STRIP_HEIGHT,
    poster_height: int = POSTER_HEIGHT,
    image_format: str = "webp",
) -> Thumbnails:
    """Write ``poster.<ext>`` and ``strip-NN.<ext>`` for ``count`` evenly spaced times.

    The targets are the middles of ``count`` equal slices of the video, so the first and last
    pictures are not the (often black or shaky) first and last frames; each picture is the first
    frame from the keyframe before its target on that is at most `SNAP_S` (and half a slice)
    before the target. Fewer pictures are written when the clip has fewer distinct frames than
    ``count``.
    Raises ProbeError when ``src`` is not readable as media.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if image_format not in _IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {sorted(_IMAGE_FORMATS)}")
    src, out_dir = Path(src), Path(out_dir)
    with open_input(src) as container:
        if not container.streams.video:
            return Thumbnails(None, (), "no video stream (audio only): nothing to show")
        stream = container.streams.best("video")
        # One thread: with frame threads the first picture only comes out after several more
        # frames are decoded, which is most of the work when one keyframe is all that is needed.
        stream.codec_context.thread_count = 1
        # A photo has one picture, and its demuxer yields nothing after a seek.
        still = is_still(container)
        frames = _first(container, stream) if still else _pick(container, stream, count)
        sar = stream.sample_aspect_ratio or 1
    if not frames:
        return Thumbnails(None, (), "no picture could be decoded")
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = "jpg" if image_format == "jpeg" else image_format
    strip = tuple(
        _write(frame, out_dir / f"strip-{i:02d}.{ext}", strip_height, sar, image_format)
        for i, frame in enumerate(frames)
    )
    best = max(frames, key=_contrast)
    poster = _write(best, out_dir / f"poster.{ext}", poster_height, sar, image_format)
    problem = (
        None if still or len(frames) == count else f"only {len(frames)} distinct frame(s) to show"
    )
    return Thumbnails(poster, strip, problem)


def _first(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> list[av.VideoFrame]:
    try:
        return next(([frame] for frame in container.decode(stream)), [])
    except av.FFmpegError:
        return []


def _pick(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, count: int
) -> list[av.VideoFrame]:
    """One decoded frame per target time, in order, never the same frame twice."""
    tb = stream.time_base
    start = stream.start_time or 0
    if stream.duration:
        length = stream.duration
    elif container.duration:
        length = round(container.duration / av.time_base / tb)
    else:
        length = 0
    targets = [start + round(length * (i + 0.5) / count) for i in range(count)]
    snap = min(round(SNAP_S / tb), length // (2 * count))
    frames: list[av.VideoFrame] = []
    for target in targets:
        frame = _frame_at(container, stream, target, snap)
        if frame is not None and (not frames or frame.pts > frames[-1].pts):
            frames.append(frame)
    return frames


def _frame_at(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    target: int,
    snap: int,
) -> av.VideoFrame | None:
    """The first frame at most ``snap`` ticks before ``target`` or after it, decoding on from
    the keyframe before it.

    Falls back to the last frame decoded when the stream ends first (a target past the end).
    """
    try:
        container.seek(target, stream=stream)
    except av.FFmpegError:
        return None
    last = None
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.pts is None:
                    continue
                last = frame
                if frame.pts >= target - snap:
                    return frame
    except av.FFmpegError:
        pass  # damaged from here on: show what was decoded before the damage
    return last


def _contrast(frame: av.VideoFrame) -> float:
    luma = frame.reformat(64, 36, "gray").to_ndarray().astype(np.float32)
    return float(luma.std())


def _write(
    frame: av.VideoFrame, path: Path, height: int, sar: Fraction | int, image_format: str
) -> Thumbnail:
    """Scale (to square pixels), turn upright, encode, rename into place."""
    orientation = Orientation.of(frame)
    upright_w, upright_h = orientation.size(round(frame.width * sar), frame.height)
    h = min(height, upright_h)
    w = max(1, round(upright_w * h / upright_h))
    stored_w, stored_h = orientation.size(w, h)
    rgb = frame.reformat(stored_w, stored_h, "rgb24", interpolation="AREA").to_ndarray()
    image = Image.fromarray(orientation.apply(rgb))
    part = path.with_name(f".{path.name}.part")
    image.save(part, format=_IMAGE_FORMATS[image_format], quality=QUALITY)
    os.replace(part, path)
    return Thumbnail(path, float(frame.pts * frame.time_base), w, h)
