"""Copies of source footage, edited the way footage changes on its way around, on real files.

A master is rendered from a `Source` and encoded like a camera would (H.264; the ``phone``
kind at 1080p with a keyframe a second, as phones record); each copy is decoded from the master,
edited frame by frame, and encoded again like a messenger or an editor would. `TRANSFORMS` names
every edit; `pairs` says which clips share footage, so anything else is an unrelated pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.evalset.sources import _SKIMAGE, Source

Picture = np.ndarray  # RGB uint8 (height, width, 3)


@dataclass(frozen=True)
class Master:
    """How a source is first recorded."""

    seconds: float = 8.0
    size: tuple[int, int] = (640, 360)
    fps: int = 30
    keyint: int = 60  # frames between keyframes


SHORT_PHONE = Master(seconds=4.0, size=(1920, 1080), fps=30, keyint=30)


@dataclass(frozen=True)
class Clip:
    path: Path
    source: str  # the source it was made from
    transform: str  # "master" for the master itself
    contains: frozenset[str] = field(default_factory=frozenset)  # every source shown in it


def write(
    path: Path,
    pictures: Iterable[Picture],
    *,
    fps: float = 30,
    crf: int = 23,
    keyint: int = 250,
    preset: str = "veryfast",
    rotation: int = 0,
) -> Path:
    """Encode RGB ``pictures`` as H.264 in MP4, ``keyint`` frames between keyframes at most;
    ``rotation`` goes to the display matrix (degrees counter-clockwise a player turns the
    pictures to show them, as a phone records them)."""
    with av.open(str(path), "w") as out:
        rate = Fraction(fps).limit_denominator(1001)
        options = {"preset": preset, "crf": str(crf), "g": str(keyint)}
        if keyint <= 60:  # a camera's fixed GOP: no extra keyframes at scene changes
            options["x264-params"] = f"keyint={keyint}:min-keyint={keyint}:scenecut=0"
        stream = out.add_stream("libx264", rate=rate, options=options)
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for index, rgb in enumerate(pictures):
            rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
            if index == 0:
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def master(source: Source, directory: Path, spec: Master = Master()) -> Clip:
    """Render and encode ``source`` as ``spec`` records it."""
    path = directory / f"{_stem(source.name)}-{spec.size[1]}p-{spec.seconds:g}s.mp4"
    if not path.exists():
        count = round(spec.seconds * spec.fps)
        write(path, source.frames(spec.size, count, spec.fps), fps=spec.fps, keyint=spec.keyint)
    return Clip(path, source.name, "master", frozenset({source.name}))


def decoded(path: Path) -> Iterator[Picture]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def copy(
    original: Clip, transform: str, directory: Path, others: tuple[Source, Source] | None = None
) -> Clip:
    """``original`` put through ``transform``; a compilation takes two ``others`` around it."""
    path = directory / f"{original.path.stem}--{transform}.mp4"
    contains = original.contains
    if transform == "compilation":
        assert others is not None, "a compilation needs two other sources"
        contains = contains | {s.name for s in others}
    if not path.exists():
        fps, count = _rate_and_count(original.path)
        frames = decoded(original.path)
        if transform in _TIMING:
            pictures, fps = _TIMING[transform](frames, fps, count)
        elif transform == "compilation":
            pictures = _compilation(frames, fps, others or ())
        else:
            pictures = map(_PICTURE[transform], frames)
        keyint = 50 if transform == "phone-reencoded" else 250
        write(path, pictures, fps=fps, crf=40 if transform == "low-quality" else 23, keyint=keyint)
    return Clip(path, original.source, transform, contains)


def looped(src: Path, dst: Path, times: int) -> Path:
    """``src`` played ``times`` over, its packets copied (no re-encoding): a long file, cheaply."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        stream = source.streams.video[0]
        packets = [p for p in source.demux(stream) if p.size]
        length = max(p.pts for p in packets) + packets[0].duration
        written = out.add_stream_from_template(stream)
        for turn in range(times):
            for packet in packets:
                packet.pts += length if turn else 0
                packet.dts += length if turn else 0
                packet.stream = written
                out.mux(packet)
    return dst


def _rate_and_count(path: Path) -> tuple[float, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.average_rate or 30), stream.frames


def _stem(name: str) -> str:
    return name.replace(".", "-")


# Edits of each picture.


def _resize(rgb: Picture, width: int, height: int) -> Picture:
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


def _crop(share: float) -> Callable[[Picture], Picture]:
    """Cut ``share`` of the width and height off every side, and scale back up."""

    def crop(rgb: Picture) -> Picture:
        h, w = rgb.shape[:2]
        dy, dx = round(h * share), round(w * share)
        return _resize(rgb[dy : h - dy, dx : w - dx], w, h)

    return crop


def _letterbox(rgb: Picture) -> Picture:
    """The 16:9 picture in a 4:3 frame, black bars above and below."""
    h, w = rgb.shape[:2]
    canvas = np.zeros((w * 3 // 4, w, 3), np.uint8)
    top = (canvas.shape[0] - h) // 2
    canvas[top : top + h] = rgb
    return canvas


def _pillarbox(rgb: Picture) -> Picture:
    """The 16:9 picture squeezed into the middle of a wider frame with black bars either side."""
    h, w = rgb.shape[:2]
    canvas = np.zeros((h, w * 4 // 3, 3), np.uint8)
    left = (canvas.shape[1] - w) // 2
    canvas[:, left : left + w] = rgb
    return canvas


def _grey(rgb: Picture) -> Picture:
    luma = (rgb.astype(np.uint16) @ np.array([77, 150, 29], np.uint16)) >> 8
    return np.repeat(luma.astype(np.uint8)[:, :, None], 3, axis=2)


_SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def _sepia(rgb: Picture) -> Picture:
    return np.clip(rgb.astype(np.float32) @ _SEPIA.T, 0, 255).astype(np.uint8)


@cache
def _logo_image(side: int, opacity: float) -> Image.Image:
    """scikit-image's logo with its white ground keyed out, as a channel's watermark is."""
    logo = np.array(Image.open(_SKIMAGE / "logo.png").convert("RGBA"))
    white = (logo[:, :, :3] >= 235).all(axis=2)
    logo[:, :, 3] = np.where(white, 0, logo[:, :, 3] * opacity).astype(np.uint8)
    return Image.fromarray(logo).resize((side, side), Image.Resampling.BILINEAR)


def _logo(share: float, where: str, opacity: float = 1.0) -> Callable[[Picture], Picture]:
    """scikit-image's logo, ``share`` of the width across, in a corner or over the middle."""

    def overlay(rgb: Picture) -> Picture:
        h, w = rgb.shape[:2]
        side = round(w * share)
        logo = _logo_image(side, opacity)
        image = Image.fromarray(rgb).convert("RGBA")
        at = (
            (w - side - w // 40, h // 40)
            if where == "corner"
            else ((w - side) // 3, (h - side) // 2)
        )
        image.alpha_composite(logo, at)
        return np.asarray(image.convert("RGB"))

    return overlay


_PICTURE: dict[str, Callable[[Picture], Picture]] = {
    "low-quality": lambda rgb: rgb,
    "half-size": lambda rgb: _resize(rgb, rgb.shape[1] // 2, rgb.shape[0] // 2),
    "crop-5": _crop(0.05),
    "crop-10": _crop(0.10),
    "letterbox": _letterbox,
    "pillarbox": _pillarbox,
    "mirror": lambda rgb: np.ascontiguousarray(rgb[:, ::-1]),
    "rotate-90": lambda rgb: np.ascontiguousarray(np.rot90(rgb, 1)),
    "rotate-180": lambda rgb: np.ascontiguousarray(np.rot90(rgb, 2)),
    "rotate-270": lambda rgb: np.ascontiguousarray(np.rot90(rgb, 3)),
    "grey": _grey,
    "sepia": _sepia,
    "small-logo": _logo(0.12, "corner"),
    "large-logo": _logo(0.35, "middle", opacity=0.8),
    # A phone clip as a messenger passes it on, and as an editor re-exports it (another GOP).
    "phone-360p": lambda rgb: _resize(rgb, 640, 360),
    "phone-reencoded": lambda rgb: rgb,
}


# Edits of time.


def _resample(frames: Iterator[Picture], step: float) -> Iterator[Picture]:
    """Every ``step``-th frame (by rounding), so 1.25 plays faster and 1.2 drops 30 to 25 fps."""
    wanted = 0.0
    for index, rgb in enumerate(frames):
        while round(wanted) == index:
            yield rgb
            wanted += step


def _window(frames: Iterator[Picture], first: int, count: int) -> Iterator[Picture]:
    for index, rgb in enumerate(frames):
        if index >= first + count:
            return
        if index >= first:
            yield rgb


Timing = Callable[[Iterator[Picture], float, int], tuple[Iterator[Picture], float]]
_TIMING: dict[str, Timing] = {
    # A second off the start and the end; two seconds from the middle.
    "trim": lambda frames, fps, n: (_window(frames, round(fps), n - 2 * round(fps)), fps),
    "speed-1.25": lambda frames, fps, n: (_resample(frames, 1.25), fps),
    "fps-25": lambda frames, fps, n: (_resample(frames, fps / 25), 25.0),
    "excerpt-2s": lambda frames, fps, n: (
        _window(frames, (n - 2 * round(fps)) // 2, 2 * round(fps)),
        fps,
    ),
}


def _compilation(
    frames: Iterator[Picture], fps: float, others: Iterable[Source]
) -> Iterator[Picture]:
    """Two seconds of another source, three of this clip (from its second second), two more of
    a third source: cut together at the clip's size, as a news compilation is."""
    first, last = others
    shown = _window(frames, round(fps), round(3 * fps))
    opening = next(shown)
    size = (opening.shape[1], opening.shape[0])
    yield from first.frames(size, round(2 * fps), fps)
    yield opening
    yield from shown
    yield from last.frames(size, round(2 * fps), fps)


TRANSFORMS = (*(t for t in _PICTURE if not t.startswith("phone")), *_TIMING, "compilation")
