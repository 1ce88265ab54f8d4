"""Faces hidden in share copies: per-frame recall by face size, and area hidden on footage with
no face. Prints per case, including the failures.

    PYTHONPATH=.:src .venv/bin/python bench/faces.py

Face footage: the astronaut's face from scikit-image (tests/faces.py) growing across a clip
from one height to another, upright and turned 15 and 30 degrees, one face or three, over a
rubble-like texture, 640x360 and 1920x1080. A face is *hidden* in a frame when the copy has
lost at least 80 % of the detail inside it (`tests.faces.hidden_share`). Face-free footage:
the evaluation half's sources of tests/evalset other than its drawn faces (street by day and
night, signs, rubble, photographs), where every hidden pixel is a false one.

Goals: faces 40 px and taller hidden in >= 99 % of frames; 20-40 px in >= 90 %; false hidden
area <= 2 % of the frame on face-free footage.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from rushes.media.faces import detector  # noqa: E402
from rushes.media.redact import redact  # noqa: E402
from tests.evalset.copies import Master, master  # noqa: E402
from tests.evalset.sources import sources  # noqa: E402
from tests.faces import decoded, face_clip, hidden_share  # noqa: E402

BANDS = ((10, 20), (20, 40), (40, 80), (80, 1000))
GOALS = {(20, 40): 0.90, (40, 80): 0.99, (80, 1000): 0.99}
FALSE_AREA_GOAL = 0.02
CASES = [  # name, size, heights, faces, rotation
    ("small-360p", (640, 360), (10, 45), 1, 0.0),
    ("growing-360p", (640, 360), (30, 200), 1, 0.0),
    ("three-360p", (640, 360), (25, 90), 3, 0.0),
    ("turned-15", (640, 360), (30, 150), 1, 15.0),
    ("turned-30", (640, 360), (30, 150), 1, 30.0),
    ("small-1080p", (1920, 1080), (16, 60), 2, 0.0),
    ("large-1080p", (1920, 1080), (60, 400), 1, 0.0),
]


def main() -> None:
    detect = detector()
    per_band: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'case':14} {'frames':>6} {'hidden':>7} {'fps':>5}")
        for n, (name, size, heights, faces, turn) in enumerate(CASES):
            shot = face_clip(
                folder / f"{name}.mp4", seconds=3.0, size=size, heights=heights, faces=faces,
                rotate=turn, seed=n,
            )  # fmt: skip
            t0 = time.perf_counter()
            copy = redact(shot.path, folder / f"{name}-copy.mp4", detect=detect)
            speed = copy.frames / (time.perf_counter() - t0)
            originals, copies = decoded(shot.path), decoded(copy.path)
            hidden = total = 0
            for frame, boxes in enumerate(shot.boxes):
                for box in boxes:
                    tall = box[3] - box[1]
                    band = next(b for b in BANDS if b[0] <= tall < b[1])
                    ok = hidden_share(originals[frame], copies[frame], box) >= 0.8
                    per_band[band][0] += ok
                    per_band[band][1] += 1
                    hidden += ok
                    total += 1
            print(f"{name:14} {total:6} {hidden / total:7.1%} {speed:5.1f}")
        print(f"\n{'face height':12} {'hidden':>14} {'goal':>6}")
        for band in BANDS:
            ok, total = per_band[band]
            goal = GOALS.get(band)
            verdict = "" if goal is None else ("met" if ok / total >= goal else "NOT met")
            goal_text = f"{goal:.0%}" if goal else "-"
            share = f"{ok:5}/{total:<5} {ok / total:6.1%}"
            print(f"{band[0]:3}-{band[1]:<4} px   {share} {goal_text:>6} {verdict}")

        print(f"\n{'face-free':28} {'hidden area':>11}")
        worst = 0.0
        for source in sources("eval"):
            if source.name.startswith("faces-"):
                continue
            clip = master(source, folder, Master(seconds=3.0))
            copy = redact(clip.path, folder / "free-copy.mp4", detect=detect)
            worst = max(worst, copy.face_area)
            print(f"{source.name:28} {copy.face_area:11.2%}")
        print(
            f"worst false hidden area {worst:.2%}; goal {FALSE_AREA_GOAL:.0%}: "
            f"{'met' if worst <= FALSE_AREA_GOAL else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
