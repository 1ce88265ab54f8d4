"""Fingerprints and matching on the real phone clips, a copy turned by its display matrix
and a compilation of windows of them (edits of picture and timing: tests/media/test_recognition.py).

Every fixture clip is fingerprinted once per module. Ground truth for the trims was measured by
comparing every frame of each clip with every frame of the original.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import av
import numpy as np
import pytest

from rushes.errors import ProbeError
from rushes.media.fingerprint import SLOTS, Fingerprint, fingerprint
from rushes.media.matching import Match, Segment, cluster, match
from tests.clips import make_video
from tests.evalset.copies import looped
from tests.media import transforms
from tests.shared import on_every_core, once

SOURCE = "chair-orig-22-sd-bar"
UNRELATED = ("doorknob-hd-no-bar", "test-padded-dimensions", "pattern-hd-no-bar")
START, LENGTH = 4.3, 5.0  # the window of SOURCE that the edited copies show
# A 30 % window of SOURCE cut between unrelated shots: (clip, start, seconds); None is black.
WINDOW = (7.35, 0.3 * 22.4)
CUT = (("doorknob-hd-no-bar", 0.0, 3.0), (None, 0.0, 0.5), (SOURCE, *WINDOW))
CUT += (("pattern-hd-no-bar", 1.0, 3.0),)


def family(name: str) -> str:
    prefix = name.split("-")[0]
    return prefix if prefix in ("chair", "pattern") else name


@pytest.fixture(scope="module")
def prints(request: pytest.FixtureRequest, fixtures_dir: Path) -> dict[str, Fingerprint]:
    clips = {path.stem: path for path in sorted(fixtures_dir.glob("*.mp4"))}
    return once(request, "fixture-prints", lambda _: on_every_core(fingerprint, clips))


@pytest.fixture(scope="module")
def copies(request: pytest.FixtureRequest, fixtures_dir: Path) -> dict[str, Path]:
    return once(request, "fixture-copies", lambda folder: _copies(folder, fixtures_dir))


def _copies(folder: Path, fixtures_dir: Path) -> dict[str, Path]:
    source = fixtures_dir / f"{SOURCE}.mp4"
    paths = {"rotated": transforms.stored_sideways(folder / "rotated.mp4", source, START, LENGTH)}
    pieces = [(clip and fixtures_dir / f"{clip}.mp4", start, span) for clip, start, span in CUT]
    paths["compilation"] = transforms.compilation(folder / "compilation.mp4", pieces)
    return paths


@pytest.fixture(scope="module")
def copy_prints(request: pytest.FixtureRequest, copies: dict[str, Path]) -> dict[str, Fingerprint]:
    return once(
        request,
        "fixture-copy-prints",
        lambda _: on_every_core(fingerprint, copies),
    )


def only_segment(found: Match | None) -> Segment:
    assert found is not None
    assert len(found.segments) == 1, found.segments
    return found.segments[0]


def test_real_clips_pair_up_by_family(prints: dict[str, Fingerprint]) -> None:
    assert len(prints) == 14
    matched, missed, false = [], [], []
    for a, b in combinations(sorted(prints), 2):
        found = match(prints[a], prints[b]) is not None
        if family(a) == family(b):
            (matched if found else missed).append((a, b))
        elif found:
            false.append((a, b))
    assert len(matched) + len(missed) == 31
    assert not false
    assert len(matched) >= 29, missed


@pytest.mark.parametrize(("trim", "offset"), [("chair-19-sd-bar", 3.7), ("chair-20-sd-bar", 2.0)])
def test_trims_are_placed_in_the_original(
    prints: dict[str, Fingerprint], trim: str, offset: float
) -> None:
    seg = only_segment(match(prints[trim], prints[SOURCE]))
    assert seg.a_start == pytest.approx(0.0, abs=0.1)
    assert seg.b_start == pytest.approx(offset, abs=0.1)
    assert seg.b_end - seg.b_start == pytest.approx(seg.a_end - seg.a_start, abs=0.1)


def test_clusters_are_the_families(prints: dict[str, Fingerprint]) -> None:
    groups = cluster(prints)
    assert [sorted(g) for g in groups[:2]] == [
        sorted(n for n in prints if n.startswith("chair")),
        sorted(n for n in prints if n.startswith("pattern")),
    ]
    assert sorted(len(g) for g in groups[2:]) == [1, 1]


def test_a_copy_turned_by_its_display_matrix_matches_unturned(
    prints: dict[str, Fingerprint], copy_prints: dict[str, Fingerprint]
) -> None:
    found = match(prints[SOURCE], copy_prints["rotated"])
    seg = only_segment(found)
    assert found is not None and found.transform == "none"
    assert (seg.a_start, seg.a_end) == pytest.approx((START, START + LENGTH), abs=1.0)
    assert (seg.b_start, seg.b_end) == pytest.approx((0.0, LENGTH), abs=1.0)
    for other in UNRELATED:
        assert match(copy_prints["rotated"], prints[other]) is None, other


def test_window_is_found_inside_a_compilation(
    prints: dict[str, Fingerprint], copy_prints: dict[str, Fingerprint]
) -> None:
    cut = copy_prints["compilation"]
    starts = np.cumsum([0.0] + [span for _, _, span in CUT])
    for (clip, start, span), at in zip(CUT, starts, strict=False):
        if clip is None:  # near-black frames are not hashed
            assert not np.any((cut.seconds > at + 0.1) & (cut.seconds < at + span - 0.1))
            continue
        seg = only_segment(match(prints[clip], cut))
        assert (seg.a_start, seg.b_start) == pytest.approx((start, at), abs=1.0)
        assert seg.b_end - seg.a_end == pytest.approx(at - start, abs=0.1)
        # The doorknob shot turns to a bare door: frames without detail are not hashed.
        if clip != "doorknob-hd-no-bar":
            assert seg.b_end == pytest.approx(at + span, abs=1.0)
    for clip in ("test-padded-dimensions", "chair-22-with-large-logo-bar"):
        found = match(prints[clip], cut)
        assert (found is None) == (clip == "test-padded-dimensions")


def test_keyframes_only_fingerprint_finds_a_dense_copy(
    fixtures_dir: Path, prints: dict[str, Fingerprint], copy_prints: dict[str, Fingerprint]
) -> None:
    sparse = fingerprint(fixtures_dir / f"{SOURCE}.mp4", sampling="keyframes")
    assert len(sparse) <= len(prints[SOURCE]) // 20
    seg = only_segment(match(sparse, copy_prints["compilation"]))
    start, span = WINDOW
    # Bounds are as fine as the keyframes: two seconds apart in this clip.
    assert (seg.a_start, seg.a_end) == pytest.approx((start, start + span), abs=2.0)
    assert seg.b_start - seg.a_start == pytest.approx(3.5 - start, abs=0.1)


def test_auto_decodes_only_the_keyframes_of_long_heavy_video(tmp_path: Path) -> None:
    # More pixels a second than 720p30 and longer than SHORT_S, a keyframe every second.
    second = make_video(
        tmp_path / "second.mp4", seconds=1, size=(960, 540), fps=60, gop=60, audio=False
    )
    path = looped(second, tmp_path / "heavy.mp4", 16)
    auto = fingerprint(path)
    assert np.array_equal(auto.pts, fingerprint(path, sampling="keyframes").pts)
    assert auto.seconds.tolist() == pytest.approx(np.arange(16.0).tolist())


def test_a_short_heavy_clip_is_decoded_in_full(tmp_path: Path) -> None:
    # A few seconds of 1080p-like phone video has a few keyframes: too few to match on.
    path = make_video(
        tmp_path / "short.mp4", seconds=1.5, size=(960, 540), fps=60, gop=30, audio=False
    )
    assert len(fingerprint(path)) == len(fingerprint(path, sampling="dense")) > 80


def test_keyframes_too_far_apart_are_filled_in(
    fixtures_dir: Path, prints: dict[str, Fingerprint]
) -> None:
    # One keyframe for five seconds: its GOP is decoded through, not left as a single hash.
    sparse = fingerprint(fixtures_dir / "test-padded-dimensions.mp4", sampling="keyframes")
    assert np.array_equal(sparse.pts, prints["test-padded-dimensions"].pts)


def test_timestamps_are_the_frames_own(
    copies: dict[str, Path], copy_prints: dict[str, Fingerprint]
) -> None:
    print_ = copy_prints["rotated"]
    with av.open(str(copies["rotated"])) as container:
        stream = container.streams.video[0]
        shown = {frame.pts for frame in container.decode(stream)}
        assert print_.time_base == stream.time_base
    assert set(print_.pts.tolist()) <= shown
    assert len(print_) >= 0.9 * len(shown)
    assert np.all(np.diff(print_.seconds) > 0)
    assert print_.seconds[0] == pytest.approx(0.0, abs=0.05)


def test_bytes_round_trip(prints: dict[str, Fingerprint]) -> None:
    original = prints[SOURCE]
    data = original.to_bytes()
    copy = Fingerprint.from_bytes(data)
    assert len(data) == 48 + (8 + 1 + SLOTS * 32) * len(original)
    for field in ("pts", "quality", "codes"):
        assert np.array_equal(getattr(copy, field), getattr(original, field))
    assert (copy.time_base, copy.start_pts, copy.duration_s) == (
        original.time_base,
        original.start_pts,
        original.duration_s,
    )
    with pytest.raises(ValueError, match="truncated"):
        Fingerprint.from_bytes(data[:-1])
    with pytest.raises(ValueError, match="not a version"):
        Fingerprint.from_bytes(b"XXXX" + data[4:])


def test_what_is_not_video_is_a_probe_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(ProbeError, match="notes.mp4"):
        fingerprint(text)
    sound = tmp_path / "sound.wav"
    with av.open(str(sound), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(ProbeError, match="no video stream"):
        fingerprint(sound)


def test_timeout_is_a_probe_error(copies: dict[str, Path]) -> None:
    with pytest.raises(ProbeError, match="more time"):
        fingerprint(copies["rotated"], timeout_s=0.0)
