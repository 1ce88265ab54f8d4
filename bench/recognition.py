"""Recognition on footage no threshold was set on: near-duplicates and shot boundaries.

    .venv/bin/python bench/recognition.py [--split eval] [--quick] [--keep DIR]

Generates the evaluation half of tests/evalset (the thresholds were chosen looking at the
"tune" half) and prints, per edit, the copies found and the false pairs among unrelated clips
(bench/recognition_copies.py), then shot precision, recall and F1 per transition kind next to
PySceneDetect's AdaptiveDetector on the same files, and the speed of both
(bench/recognition_shots.py; needs the bench extras: pip install -e '.[test,bench]'). Prints
figures; asserts nothing. Speed against the keyframe-decode ceiling: bench/fingerprint.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import recognition_copies
import recognition_shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="eval", choices=("tune", "eval"))
    parser.add_argument("--quick", action="store_true", help="a quarter of the sources")
    parser.add_argument("--keep", type=Path, help="where to keep the copies (reused next time)")
    args = parser.parse_args()
    recognition_copies.report(args.split, args.quick, args.keep)
    print()
    recognition_shots.report(args.split, args.quick)


if __name__ == "__main__":
    main()
