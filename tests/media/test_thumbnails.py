"""Poster and strip pictures from real clips, tiny clips and clips with no picture at all."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from rushes.errors import ProbeError
from rushes.media.thumbnails import SNAP_S, make_thumbnails
from tests.clips import make_audio, make_video, random_bytes_file


def test_strip_and_poster_of_a_phone_clip(fixtures_dir: Path, tmp_path: Path) -> None:
    src = fixtures_dir / "chair-orig-22-sd-bar.mp4"  # a keyframe every 2 s
    result = make_thumbnails(src, tmp_path, count=6)
    assert result.problem is None and len(result.strip) == 6
    with av.open(str(src)) as c:
        stream = c.streams.video[0]
        spacing = float(stream.duration * stream.time_base) / 6
    for i, thumb in enumerate(result.strip):
        target = spacing * (i + 0.5)  # the middle of its slice, or at most SNAP_S before
        assert target - SNAP_S - 1e-6 <= thumb.time <= target + 1 / 30
    for thumb in (*result.strip, result.poster):
        with Image.open(thumb.path) as image:
            image.load()  # decodes, so a truncated file would fail here
            assert image.format == "WEBP"
            assert image.size == (thumb.width, thumb.height)
    assert {t.height for t in result.strip} == {90}
    assert (result.poster.width, result.poster.height) == (240, 360)
    assert result.poster.time in [t.time for t in result.strip]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_dense_keyframes_are_shown_as_they_are(tmp_path: Path) -> None:
    src = make_video(tmp_path / "phone.mp4", seconds=4, gop=12, audio=False)
    result = make_thumbnails(src, tmp_path / "out", count=4)
    with av.open(str(src)) as c:
        stream = c.streams.video[0]
        keys = {float(p.pts * stream.time_base) for p in c.demux(stream) if p.is_keyframe}
    # The keyframe before each slice's middle (0.5 s, 1.5 s ...), not the frames after it.
    assert [t.time for t in result.strip] == pytest.approx([0.4, 1.2, 2.4, 3.2])
    assert {t.time for t in result.strip} <= keys


def test_pictures_are_upright(tmp_path: Path) -> None:
    # Stored landscape with a quarter turn clockwise to show, as a phone held portrait writes.
    src = make_video(tmp_path / "portrait.mp4", seconds=1, size=(320, 240), rotation=90)
    result = make_thumbnails(src, tmp_path / "out", count=2)
    assert [(t.width, t.height) for t in result.strip] == [(68, 90), (68, 90)]
    poster = result.poster
    with av.open(str(src)) as c:
        stored = next(f for f in c.decode(video=0) if f.time >= poster.time - 1e-6)
    with Image.open(poster.path) as image:
        shown = np.asarray(image.convert("L"), dtype=float)
    grey = Image.fromarray(stored.to_ndarray(format="gray"))

    def turned(k: int) -> np.ndarray:
        return np.asarray(grey.rotate(90 * k, expand=True).resize(image.size), dtype=float)

    assert np.abs(shown - turned(-1)).mean() < 0.5 * np.abs(shown - turned(1)).mean()


def test_jpeg_on_request(fixtures_dir: Path, tmp_path: Path) -> None:
    result = make_thumbnails(fixtures_dir / "doorknob-hd-no-bar.mp4", tmp_path, image_format="jpeg")
    assert result.poster.path.name == "poster.jpg"
    with Image.open(result.strip[0].path) as image:
        assert image.format == "JPEG" and image.size == (160, 90)


def test_single_frame_clip(tmp_path: Path) -> None:
    src = make_video(tmp_path / "one.mp4", seconds=1 / 30, audio=False)
    result = make_thumbnails(src, tmp_path / "out")
    assert len(result.strip) == 1 and result.poster is not None
    assert result.strip[0].time == 0 and "1 distinct frame" in result.problem


def test_audio_only_gives_nothing_and_says_why(tmp_path: Path) -> None:
    result = make_thumbnails(make_audio(tmp_path / "voice.m4a"), tmp_path / "out")
    assert result.poster is None and result.strip == ()
    assert "audio only" in result.problem
    assert not (tmp_path / "out").exists()


def test_not_media(tmp_path: Path) -> None:
    with pytest.raises(ProbeError):
        make_thumbnails(random_bytes_file(tmp_path / "x.mp4"), tmp_path / "out")
