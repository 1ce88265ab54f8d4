"""Shot boundaries on montages of the evaluation footage, which no threshold was set on.

A small slice of tests/evalset/montages.py (three 320x180 montages of split "eval", the third
under a logo); bench/recognition_shots.py measures the whole set against PySceneDetect. Each
failure class users reported has its own assertion.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rushes.media.shots import detect_shots
from tests.evalset.montages import Montage, make_montages, score, tolerance

Found = list[tuple[Montage, list[int]]]


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Found:
    folder: Path = tmp_path_factory.mktemp("montages")
    montages = make_montages(folder, "eval", count=3, seed=7, shots=7, size=(320, 180))
    return [(m, [s.start for s in detect_shots(m.path)[1:]]) for m in montages]


def near(found: list[int], frame: int, reach: int) -> list[int]:
    return [f for f in found if abs(f - frame) <= reach]


def of_kind(montage: Montage, kind: str) -> list[tuple[int, int]]:
    return [
        (b, tolerance(k, n))
        for b, k, n in zip(montage.boundaries, montage.kinds, montage.lengths, strict=True)
        if k == kind
    ]


def test_a_cut_into_a_night_scene(found: Found) -> None:
    for montage, frames in found:
        night = montage.boundaries[0]  # the second shot, a dim night scene, follows a cut
        assert montage.kinds[0] == "cut" and montage.sources[1].startswith("night")
        assert near(frames, night, 2), f"cut into night at {night}, found {frames}"


@pytest.mark.parametrize("kind", ["fade-black", "fade-watermarked-black", "fade-white"])
def test_fades(found: Found, kind: str) -> None:
    for montage, frames in found:
        truth = of_kind(montage, kind)
        assert truth, montage.kinds
        missed = [b for b, reach in truth if len(near(frames, b, reach)) != 1]
        assert not missed, f"{kind} at {missed} of {montage.path.name}: found {frames}"


def test_a_dissolve_is_found_once(found: Found) -> None:
    for montage, frames in found:
        for boundary, reach in of_kind(montage, "dissolve"):
            within = near(frames, boundary, 2 * reach + 2)  # a second report nearby is an error
            assert len(within) == 1, f"dissolve at {boundary}: found {within} of {frames}"
            assert abs(within[0] - boundary) <= reach, f"dissolve at {boundary}: {within}"


def test_a_logo_overlay_adds_no_boundary(found: Found) -> None:
    montage, frames = next((m, f) for m, f in found if m.logo)
    spurious = {k: v for k, v in score(frames, montage).spurious.items() if v}
    assert not spurious, f"found {frames}, truth {montage.boundaries}"


def test_a_flash_is_not_a_cut(found: Found) -> None:
    flashes = [(m.flashes, f) for m, f in found if m.flashes]
    assert flashes
    for at, frames in flashes:
        assert not [f for f in frames if any(-2 <= f - x <= 4 for x in at)], (at, frames)


def test_cuts_and_transitions_overall(found: Found) -> None:
    scores = [score(frames, m) for m, frames in found]
    for kind, floor in [("cut", 0.95), ("fade-black", 0.85), ("dissolve", 0.85)]:
        hits = sum(s.hits[kind] for s in scores)
        missed = [b for s in scores for b in s.missed[kind]]
        spurious = [b for s in scores for b in s.spurious[kind]]
        f1 = 2 * hits / (2 * hits + len(missed) + len(spurious))
        assert f1 >= floor, f"{kind}: F1 {f1:.2f}, missed {missed}, spurious {spurious}"
