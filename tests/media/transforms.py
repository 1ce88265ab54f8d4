"""Edited copies of the real phone clips, the way footage gets changed on its way around.

Each edit is written with PyAV (libx264, as a messenger or an editor would re-encode) from a
window of a fixture clip, so fingerprints are tested on real footage going through real
encoders. Copies are a few seconds long to keep the tests quick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageDraw

FPS = 30
Edit = Callable[[np.ndarray], np.ndarray]


def frames(
    src: Path, start_s: float, duration_s: float, size: tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """RGB frames of ``src`` shown from ``start_s`` for ``duration_s``, optionally resized."""
    width, height = size or (None, None)
    scaler = VideoReformatter()  # one for all frames: setting one up costs more than a frame
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        container.seek(int(start_s / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time < start_s - 1e-6:
                continue
            if frame.time >= start_s + duration_s - 1e-6:
                break
            yield scaler.reformat(frame, width, height, "rgb24").to_ndarray()


def write(path: Path, pictures: Iterable[np.ndarray], *, crf: int = 23, rotation: int = 0) -> Path:
    """Encode RGB ``pictures`` as H.264 at FPS frames a second.

    ``rotation`` goes to the display matrix: degrees counter-clockwise a player turns the
    pictures to show them, as a phone records them.
    """
    with av.open(str(path), "w") as out:
        stream = out.add_stream(
            "libx264", rate=FPS, options={"preset": "ultrafast", "crf": str(crf)}
        )
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for index, rgb in enumerate(pictures):
            rgb = _even(rgb)
            if index == 0:
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def edited(
    src: Path, dst: Path, edit: Edit, start_s: float, duration_s: float, crf: int = 23
) -> Path:
    """``duration_s`` seconds of ``src`` from ``start_s``, each frame put through ``edit``."""
    return write(dst, (edit(rgb) for rgb in frames(src, start_s, duration_s)), crf=crf)


def compilation(dst: Path, pieces: Iterable[tuple[Path | None, float, float]]) -> Path:
    """Pieces (clip, start, seconds) cut together on one 480x720 canvas; None is black."""
    size = (480, 720)

    def pictures() -> Iterator[np.ndarray]:
        for src, start_s, duration_s in pieces:
            if src is None:
                yield from (
                    np.zeros((size[1], size[0], 3), np.uint8)
                    for _ in range(round(duration_s * FPS))
                )
            else:
                yield from frames(src, start_s, duration_s, size)

    return write(dst, pictures())


def half_size(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    return np.asarray(
        Image.fromarray(rgb).resize((width // 2, height // 2), Image.Resampling.BILINEAR)
    )


def crop_10(rgb: np.ndarray) -> np.ndarray:
    """Cut 5 % off every side: 10 % of the width and of the height."""
    height, width = rgb.shape[:2]
    dy, dx = height // 20, width // 20
    return rgb[dy : height - dy, dx : width - dx]


def letterbox(rgb: np.ndarray) -> np.ndarray:
    """Black bars above and below, each a sixth of the picture's height."""
    bar = rgb.shape[0] // 6
    return np.pad(rgb, ((bar, bar), (0, 0), (0, 0)))


def mirror(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def small_logo(rgb: np.ndarray) -> np.ndarray:
    """A channel's badge in the top right corner, a sixth of the width across."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    side = rgb.shape[1] // 6
    left, top = rgb.shape[1] - side - side // 4, side // 4
    draw.rounded_rectangle(
        (left, top, left + side, top + side), radius=side // 5, fill=(240, 240, 240)
    )
    draw.ellipse(
        (left + side // 5, top + side // 5, left + 4 * side // 5, top + 4 * side // 5),
        outline=(200, 0, 0),
        width=max(2, side // 10),
    )
    return np.asarray(image)


def stored_sideways(rgb: np.ndarray) -> np.ndarray:
    """The picture as a phone held upright stores it: turned a quarter counter-clockwise."""
    return np.ascontiguousarray(np.rot90(rgb))


def _even(rgb: np.ndarray) -> np.ndarray:
    """Trim a row or column so H.264 in 4:2:0 can take the picture."""
    height, width = rgb.shape[:2]
    return np.ascontiguousarray(rgb[: height - height % 2, : width - width % 2])
