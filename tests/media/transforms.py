"""Frames of the real phone clips, turned or cut together the way footage gets changed.

The edits of picture and timing are in tests/evalset/copies.py, made from sources these clips
are not tuned on; these are what only real phone footage shows: a display matrix, and windows
of several real clips in one compilation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from tests.evalset.copies import write

FPS = 30


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


def stored_sideways(dst: Path, src: Path, start_s: float, duration_s: float) -> Path:
    """A window of ``src`` stored turned a quarter counter-clockwise, with a display matrix
    saying to turn it back, as a phone held upright records it."""
    pictures = (np.ascontiguousarray(np.rot90(rgb)) for rgb in frames(src, start_s, duration_s))
    return write(dst, pictures, fps=FPS, preset="ultrafast", rotation=-90)


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

    return write(dst, pictures(), fps=FPS, preset="ultrafast")
