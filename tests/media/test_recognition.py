"""Near-duplicate floors on a slice of the generated evaluation set, not on the fixtures.

Two sources of the evaluation half of tests/evalset, recorded as small masters: a photograph
filmed hand-held, put through every edit of `TRANSFORMS`, and a street at night, through those
that depend on dark edges and little detail; a darker night street of the tuning half, whose
sky was once taken for bars by some copies and not others; a pillarboxed fixture cropped; and
a heavy phone clip a few seconds long with its small copy. bench/recognition.py measures the
whole set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rushes.media.fingerprint import FRAMED, Fingerprint, fingerprint
from rushes.media.matching import match
from rushes.pipeline.candidates import CopyIndex
from tests.evalset.copies import TRANSFORMS, Clip, Master, copy, master
from tests.evalset.sources import sources
from tests.shared import on_every_core, once

SMALL = Master(seconds=4.0, size=(320, 180), fps=30, keyint=60)
# More pixels a second than 720p30, a keyframe a second: "auto" would take keyframes only.
HEAVY = Master(seconds=3.0, size=(960, 540), fps=60, keyint=60)
# The night streets get the edits that depend on dark edges and little detail.
NIGHT_EDITS = (
    "crop-10", "letterbox", "pillarbox", "large-logo", "excerpt-2s", "rotate-90", "sepia",
    "small-logo", "low-quality",
)  # fmt: skip
# A pillarboxed clip cropped 10 % a side keeps part of its bars: its picture loses a tenth at
# the top and bottom only.
EDITS = {
    "coffee.png": TRANSFORMS,
    "night-1000": NIGHT_EDITS,
    "night-2": NIGHT_EDITS,
    "test-padded-dimensions": ("crop-10",),
}
SOURCES = tuple(EDITS)


@pytest.fixture(scope="module")
def evalset(request: pytest.FixtureRequest) -> dict[str, Clip]:
    return once(request, "recognition-evalset", _evalset)


def _evalset(folder: Path) -> dict[str, Clip]:
    chosen = {s.name: s for s in (*sources("eval"), *sources("tune"))}
    others = (chosen["rocket.jpg"], chosen["faces-1000"])
    made: dict[str, Clip] = {}
    for name in SOURCES:
        original = master(chosen[name], folder, SMALL)
        made[f"{name}/master"] = original
        for transform in EDITS[name]:
            made[f"{name}/{transform}"] = copy(original, transform, folder, others)
    heavy = master(chosen["text-1000"], folder, HEAVY)
    made["phone/master"] = heavy
    made["phone/small"] = copy(heavy, "half-size", folder)
    for other in others:
        made[f"{other.name}/master"] = master(other, folder, SMALL)
    return made


@pytest.fixture(scope="module")
def prints(request: pytest.FixtureRequest, evalset: dict[str, Clip]) -> dict[str, Fingerprint]:
    return once(
        request,
        "recognition-prints",
        lambda _: on_every_core(fingerprint, {key: clip.path for key, clip in evalset.items()}),
    )


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_edit_is_found_both_ways(prints: dict[str, Fingerprint], transform: str) -> None:
    for name in (name for name in SOURCES if transform in EDITS[name]):
        original, edited = prints[f"{name}/master"], prints[f"{name}/{transform}"]
        there, back = match(original, edited), match(edited, original)
        assert there is not None, f"{name}: {transform} copy not found"
        assert back is not None and back.swapped() == there, f"{name}: not symmetric"


def test_turned_copies_say_how(prints: dict[str, Fingerprint]) -> None:
    said = {
        t: match(prints["coffee.png/master"], prints[f"coffee.png/{t}"]).transform  # type: ignore[union-attr]
        for t in ("mirror", "rotate-90", "rotate-180", "rotate-270")
    }
    assert said == {
        "mirror": "mirrored",
        "rotate-90": "turned 90 counter-clockwise",  # numpy's rot90 turns counter-clockwise
        "rotate-180": "turned 180",
        "rotate-270": "turned 90 clockwise",
    }


def test_timing_edits_are_placed(prints: dict[str, Fingerprint]) -> None:
    for name in SOURCES[:1]:
        original = prints[f"{name}/master"]
        trim = match(original, prints[f"{name}/trim"])
        assert trim is not None and trim.segments[0].a_start - trim.segments[0].b_start == (
            pytest.approx(1.0, abs=0.05)
        )
        fast = match(original, prints[f"{name}/speed-1.25"])
        assert fast is not None
        seg = fast.segments[0]
        assert (seg.a_end - seg.a_start) / (seg.b_end - seg.b_start) == pytest.approx(
            1.25, abs=0.05
        )


def test_a_short_heavy_clip_matches_its_small_copy(prints: dict[str, Fingerprint]) -> None:
    heavy, small = prints["phone/master"], prints["phone/small"]
    assert len(heavy) >= 150  # decoded in full, not its three keyframes
    found = match(heavy, small)
    assert found is not None and found.score > 0.9
    assert match(small, heavy) == found.swapped()


def test_no_false_pairs(prints: dict[str, Fingerprint], evalset: dict[str, Clip]) -> None:
    false = []
    for key, fp in prints.items():
        for other in ("rocket.jpg/master", "faces-1000/master"):
            if evalset[other].source not in evalset[key].contains and match(fp, prints[other]):
                false.append((key, other))
    assert not false


def test_the_index_proposes_every_copy(
    prints: dict[str, Fingerprint], evalset: dict[str, Clip]
) -> None:
    index = CopyIndex()
    for key, fp in prints.items():
        index.add(key, fp)
    missed = []
    for key, fp in prints.items():
        source, transform = key.split("/")
        if source in SOURCES and transform != "master":
            proposed = index.search(fp, exclude=key)
            if f"{source}/master" not in proposed:
                missed.append(key)
            back = index.search(prints[f"{source}/master"], exclude=f"{source}/master")
            if key not in back:
                missed.append(f"{key} (from the master)")
    assert not missed


def test_a_big_watermark_over_the_middle_leaves_the_framed_code(
    prints: dict[str, Fingerprint],
) -> None:
    original, marked = prints["coffee.png/master"], prints["coffee.png/large-logo"]
    shared = np.intersect1d(original.seconds, marked.seconds)
    a = original.codes[np.isin(original.seconds, shared)]
    b = marked.codes[np.isin(marked.seconds, shared)]
    apart = np.unpackbits(a ^ b, axis=-1).sum(axis=-1)  # (frames, SLOTS) bits apart
    assert len(shared) > 60
    assert np.median(apart[:, 0]) > 30  # the whole picture: the watermark moved it
    assert np.median(apart[:, FRAMED]) <= 10
