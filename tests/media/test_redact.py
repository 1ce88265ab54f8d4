"""Redacted copies play back as written: a clip with no sound, and one whose sound starts before
its picture, give copies PyAV opens and decodes at their size, frame by frame; and a copy that
does not play back is refused (`check_copy`), not handed on."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rushes.errors import BadCopy
from rushes.media.redact import check_copy, redact
from tests.clips import make_video


def _played(path: Path) -> tuple[list[str], set[tuple[int, int]], int, int]:
    """The copy's streams, the sizes its pictures decode at, its pictures and sound frames."""
    with av.open(str(path)) as copy:
        kinds = sorted(s.type for s in copy.streams)
        frames = list(copy.decode(*copy.streams))
    pictures = [f for f in frames if isinstance(f, av.VideoFrame)]
    sizes = {(f.width, f.height) for f in pictures}
    return kinds, sizes, len(pictures), len(frames) - len(pictures)


def test_a_clip_with_no_sound_gives_a_copy_that_plays(tmp_path: Path) -> None:
    # The SEI filter once read the stream before any header was written (no sound wrote it
    # first): the copy said 640x480 with no SPS/PPS, and nothing could open it.
    clip = make_video(tmp_path / "silent.mp4", seconds=1.0, size=(640, 360), audio=False)
    made = redact(clip, tmp_path / "copy.mp4")
    assert (made.width, made.height, made.frames) == (640, 360, 30)
    assert _played(made.path) == (["video"], {(640, 360)}, 30, 0)


def test_sound_that_starts_before_the_picture_waits_for_it(tmp_path: Path) -> None:
    # Sound encoded before the first picture decoded wrote the header without the picture's
    # stream (the process then died of a floating point exception).
    clip = tmp_path / "late-picture.mp4"
    with av.open(str(clip), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        sound = out.add_stream("aac", rate=48_000, layout="mono")
        tone = (0.1 * np.sin(np.arange(1024) / 10)).astype(np.float32)[None]
        for start in range(0, 2 * 48_000, 1024):
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, start, Fraction(1, 48_000)
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
        for i in range(45):  # from 0.5 s on
            grey = np.full((180, 320, 3), 4 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts, frame.time_base = 15 + i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode())
    made = redact(clip, tmp_path / "copy.mp4")
    kinds, sizes, pictures, sounds = _played(made.path)
    assert (kinds, sizes, pictures, made.frames) == (["audio", "video"], {(320, 180)}, 45, 45)
    assert sounds > 80


def test_a_copy_that_does_not_play_back_is_refused(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", seconds=1.0, size=(320, 180))
    made = redact(clip, tmp_path / "copy.mp4")
    check_copy(made.path, "clip.mp4", 320, 180, 30)
    for wrong in ({"width": 640, "height": 480}, {"frames": 31}):
        told = {"width": 320, "height": 180, "frames": 30} | wrong
        with pytest.raises(BadCopy, match="clip.mp4: the redacted copy does not play back"):
            check_copy(made.path, "clip.mp4", **told)  # type: ignore[arg-type]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(made.path.read_bytes()[: made.path.stat().st_size // 2])
    with pytest.raises(BadCopy):
        check_copy(cut, "clip.mp4", 320, 180, 30)
