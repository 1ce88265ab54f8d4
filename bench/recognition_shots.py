"""Shot boundaries on montages of footage the thresholds were not set on, against PySceneDetect.

    PYTHONPATH=src:. .venv/bin/python bench/recognition_shots.py [--split eval] [--quick]

Montages from tests/evalset/montages.py (cuts, fades through black, watermarked black and
white, dissolves of 10-30 frames, flashes that are not boundaries, a logo over some), written to
a temporary folder; `detect_shots` and PySceneDetect's AdaptiveDetector (default settings,
PyAV backend) read the same files. A found boundary counts if within ±2 frames of a cut, or
within half a fade's or dissolve's length (at least 2) of it, each true boundary matched once;
a found boundary left over is charged to "flash" if it is at a flash, else to the kind of the
nearest true boundary. Speed: CPU seconds of each over all montages (best of two), one
decoding thread, in this process; the ratio is our frames/s over PySceneDetect's (goal
>= 1.5). Goals on "eval": F1 >= 0.95 on cuts, >= 0.85 on fades and dissolves, and >=
PySceneDetect's on every kind.
Nothing is asserted: the figures are printed and returned.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.evalset

from rushes.media.shots import detect_shots  # noqa: E402
from tests.evalset.montages import KINDS, Montage, Score, make_montages, score  # noqa: E402

Detector = Callable[[Path], list[int]]


def ours(path: Path) -> list[int]:
    return [shot.start for shot in detect_shots(path, threads=1)[1:]]


def pyscenedetect(path: Path) -> list[int]:
    from scenedetect import AdaptiveDetector, SceneManager, open_video

    video = open_video(str(path), backend="pyav", threading_mode="NONE")
    manager = SceneManager()
    manager.add_detector(AdaptiveDetector())
    manager.detect_scenes(video)
    return [start.frame_num for start, _ in manager.get_scene_list()[1:]]


def report(split: str = "eval", quick: bool = False) -> dict:
    """Generate the montages of ``split``, run both detectors, print and return the figures:
    {"kinds": {kind: {"ours": {...}, "pyscenedetect": {...}}}, "speed_ratio", "montages"}."""
    count = 3 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        montages = make_montages(Path(tmp), split, count=count)  # type: ignore[arg-type]
        made = time.perf_counter() - started
        frames = sum(m.frames for m in montages)
        print(f"shots: {len(montages)} montages of split {split!r}, {frames} frames ({made:.0f} s)")
        runs = {name: _run(detector, montages) for name, detector in DETECTORS.items()}
    rates = {name: frames / seconds for name, (seconds, _) in runs.items()}
    scores = {
        name: [score(f, m) for f, m in zip(found, montages, strict=True)]
        for name, (_, found) in runs.items()
    }
    kinds = {kind: {name: _pooled(s, kind) for name, s in scores.items()} for kind in KINDS}
    flashes = sum(len(m.flashes) for m in montages)
    print(f"\n{'kind':24} {'n':>3}  {'ours P / R / F1':>20}  {'PySceneDetect P / R / F1':>26}")
    for kind, row in kinds.items():
        a, b = row["ours"], row["pyscenedetect"]
        print(
            f"{kind:24} {a['n']:3d}  {a['precision']:6.3f} {a['recall']:6.3f} {a['f1']:6.3f}"
            f"  {b['precision']:8.3f} {b['recall']:8.3f} {b['f1']:8.3f}"
        )
    at_flash = {n: sum(len(x.spurious["flash"]) for x in s) for n, s in scores.items()}
    print(
        f"{'flash (false positives)':24} {flashes:3d}  {at_flash['ours']:20d}"
        f"  {at_flash['pyscenedetect']:26d}"
    )
    ratio = rates["ours"] / rates["pyscenedetect"]
    print(
        f"\nspeed: ours {rates['ours']:.0f} frames/s, PySceneDetect {rates['pyscenedetect']:.0f}"
        f" frames/s (CPU time, one thread): ratio {ratio:.2f} (goal >= 1.5)"
    )
    rows = []
    print("\nper montage (F1 over all kinds; misses and spurious boundaries of ours)")
    for m, mine, theirs in zip(montages, scores["ours"], scores["pyscenedetect"], strict=True):
        row = _montage_row(m, mine, theirs)
        rows.append(row)
        print(
            f"  {m.path.stem:22} {m.size[0]}x{m.size[1]}@{m.fps}{' logo' if m.logo else '':5}"
            f"  ours {row['ours_f1']:.3f}  PySceneDetect {row['pyscenedetect_f1']:.3f}"
            + (f"  missed {row['missed']}" if row["missed"] else "")
            + (f"  spurious {row['spurious']}" if row["spurious"] else "")
        )
    return {
        "kinds": kinds,
        "flash_false_positives": at_flash,
        "flashes": flashes,
        "frames_per_second": rates,
        "speed_ratio": ratio,
        "montages": rows,
    }


DETECTORS: dict[str, Detector] = {"ours": ours, "pyscenedetect": pyscenedetect}


def _run(detector: Detector, montages: list[Montage]) -> tuple[float, list[list[int]]]:
    """CPU seconds (best of two runs, as other work on the machine only adds) and boundaries."""
    best, found = float("inf"), []
    for _ in range(2):
        started = time.process_time()
        found = [detector(m.path) for m in montages]
        best = min(best, time.process_time() - started)
    return best, found


def _pooled(scores: list[Score], kind: str) -> dict[str, float]:
    hits = sum(s.hits[kind] for s in scores)
    missed = sum(len(s.missed[kind]) for s in scores)
    spurious = sum(len(s.spurious[kind]) for s in scores)
    precision = hits / (hits + spurious) if hits + spurious else 1.0
    recall = hits / (hits + missed) if hits + missed else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": hits + missed, "precision": precision, "recall": recall, "f1": f1}


def _overall(s: Score) -> float:
    hits = sum(s.hits.values())
    truth = hits + sum(len(v) for v in s.missed.values())
    found = hits + sum(len(v) for v in s.spurious.values())
    return 2 * hits / (truth + found) if truth + found else 1.0


def _montage_row(m: Montage, mine: Score, theirs: Score) -> dict:
    return {
        "montage": m.path.stem,
        "size": m.size,
        "fps": m.fps,
        "logo": m.logo,
        "ours_f1": _overall(mine),
        "pyscenedetect_f1": _overall(theirs),
        "missed": {k: v for k, v in mine.missed.items() if v},
        "spurious": {k: v for k, v in mine.spurious.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "eval"), default="eval")
    parser.add_argument("--quick", action="store_true", help="3 montages instead of 9")
    args = parser.parse_args()
    report(args.split, args.quick)


if __name__ == "__main__":
    main()
