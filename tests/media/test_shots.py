"""Shot boundaries on edits with known cuts, fades and dissolves, and none on raw phone clips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from rushes.errors import ProbeError
from rushes.media.shots import _CHUNK, _CONTEXT, Shot, detect_shots
from tests.clips import make_audio
from tests.media.edits import EDITS, Edit, Piece, f1, make_edit, make_flash

#: Unedited phone clips, one per scene plus the colour-graded variant (hand-held, panning,
#: a hand over the lens, a test card whose counter changes every second).
UNEDITED = (
    "chair-orig-22-sd-bar.mp4",
    "chair-22-sd-sepia-bar.mp4",
    "pattern-hd-no-bar.mp4",
    "pattern-sd-with-small-logo-bar.mp4",
    "doorknob-hd-no-bar.mp4",
    "test-padded-dimensions.mp4",
)


@pytest.fixture(scope="module")
def edits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Edit, list[Shot]]]:
    folder = tmp_path_factory.mktemp("edits")
    made = {}
    for name, timeline in EDITS.items():
        edit = make_edit(folder / f"{name}.mp4", timeline)
        made[name] = (edit, detect_shots(edit.path))
    return made


def boundaries(shots: list[Shot]) -> list[int]:
    return [s.start for s in shots[1:]]


def test_f1_over_all_edits(edits: dict[str, tuple[Edit, list[Shot]]]) -> None:
    found, truth, offset = [], [], 0
    for edit, shots in edits.values():
        found += [offset + b for b in boundaries(shots)]
        truth += [offset + b for b in edit.boundaries]
        offset += edit.frames + 10
    assert f1(found, tuple(truth)) >= 0.95, {n: boundaries(s) for n, (_, s) in edits.items()}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_each_edit(edits: dict[str, tuple[Edit, list[Shot]]], name: str) -> None:
    edit, shots = edits[name]
    assert f1(boundaries(shots), edit.boundaries) >= 0.8, (boundaries(shots), edit.boundaries)
    # Shots tile the video: no gap, no overlap, every frame in exactly one shot.
    assert shots[0].start == 0 and shots[-1].end == edit.frames
    assert all(
        a.end == b.start and a.end_pts == b.start_pts
        for a, b in zip(shots, shots[1:], strict=False)
    )


def test_transition_kinds(edits: dict[str, tuple[Edit, list[Shot]]]) -> None:
    for edit, shots in list(edits.values())[:4]:  # the edits the thresholds were set on
        kinds = {s.start: s.transition for s in shots[1:]}
        for frame, kind in zip(edit.boundaries, edit.kinds, strict=True):
            near = [kinds[f] for f in kinds if abs(f - frame) <= 1]
            assert near == [kind], (edit.path.name, frame, kinds)


def test_boundaries_are_exact_frames(edits: dict[str, tuple[Edit, list[Shot]]]) -> None:
    edit, shots = edits["mixed"]
    with av.open(str(edit.path)) as c:
        stream = c.streams.video[0]
        pts = [f.pts for f in c.decode(stream)]
    for shot in shots:
        assert shot.time_base == stream.time_base
        assert shot.start_pts == pts[shot.start]
        assert shot.start_time == pytest.approx(shot.start / 30)
    assert shots[-1].end_pts == pts[-1] + (pts[1] - pts[0])


@pytest.mark.parametrize("name", UNEDITED)
def test_no_boundaries_in_unedited_footage(fixtures_dir: Path, name: str) -> None:
    shots = detect_shots(fixtures_dir / name)
    assert [(s.start, s.transition) for s in shots[1:]] == []
    assert shots[0].start == 0 and shots[0].transition == "start"


@pytest.mark.parametrize("frames", [1, 2])
def test_a_flash_is_not_a_cut(tmp_path: Path, frames: int) -> None:
    clip = make_flash(tmp_path / "flash.mp4", Piece("doorknob-hd-no-bar", 0.5, 60), 30, frames)
    assert [s.start for s in detect_shots(clip)[1:]] == []


def test_no_video(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no video stream"):
        detect_shots(make_audio(tmp_path / "a.m4a"))


def test_a_long_edit_is_split_across_chunks(
    edits: dict[str, tuple[Edit, list[Shot]]], tmp_path: Path
) -> None:
    """Every edit twice over, in one file longer than the frames decided at once: boundaries
    near and across the chunk joins are found as in a short file (the joins between edits are
    cuts)."""
    path, truth, offset = tmp_path / "long.mp4", [], 0
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for edit, _ in [*edits.values(), *edits.values()]:
            truth += [offset] if offset else []  # the join with the edit before
            truth += [offset + b for b in edit.boundaries]
            with av.open(str(edit.path)) as source:
                for frame in source.decode(video=0):
                    frame.pts, frame.time_base = offset, Fraction(1, 30)
                    out.mux(stream.encode(frame))
                    offset += 1
        out.mux(stream.encode())
    assert offset > _CHUNK + 2 * _CONTEXT
    shots = detect_shots(path)
    assert f1(boundaries(shots), tuple(truth)) >= 0.95
    assert shots[0].start == 0 and shots[-1].end == offset
    assert all(a.end == b.start for a, b in zip(shots, shots[1:], strict=False))
