"""Ingest throughput against `sha256sum` over the same files in the same run.

Goal (issue 2): ratio >= 0.9, i.e. ingest (read once, SHA-256 + SHA-512, write, fsync, catalog
and custody records) is nearly as fast as merely hashing the files. Both runs read from the page
cache (each file is read once beforehand), so the comparison is of the work, not of the disk.

    .venv/bin/python bench/ingest.py [--files 4] [--mib 512]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rushes.base import open_base
from rushes.cards import walk
from rushes.ingest import Ingest
from rushes.settings import load


def make_files(folder: Path, count: int, mib: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"clip-{i}.mov"
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        paths.append(path)
    return paths


def warm(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(8 << 20):
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, default=512, help="size of each file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        card = root / "card"
        card.mkdir()
        paths = make_files(card, args.files, args.mib)
        total = sum(p.stat().st_size for p in paths)
        os.sync()  # the sources' own writeback must not compete with the vault's writes
        warm(paths)

        started = time.perf_counter()
        subprocess.run(["sha256sum", *map(str, paths)], check=True, capture_output=True)
        baseline = time.perf_counter() - started

        warm(paths)
        base = open_base(load({"RUSHES_DATA_DIR": str(root / "data")}))
        runner = Ingest(base, project="bench", actor="bench")
        started = time.perf_counter()
        report = runner.run(walk([card]))
        ingest = time.perf_counter() - started
        base.close()
        if not report.ok or report.count("new") != len(paths):
            sys.exit(f"ingest did not take every file: {report}")

    mb = total / 1e6
    print(f"files: {len(paths)} x {args.mib} MiB = {mb:,.0f} MB")
    print(f"sha256sum: {baseline:.2f} s ({mb / baseline:,.0f} MB/s)")
    print(f"ingest:    {ingest:.2f} s ({mb / ingest:,.0f} MB/s)")
    ratio = baseline / ingest
    verdict = "OK" if ratio >= 0.9 else "BELOW GOAL"
    print(f"ingest/sha256sum throughput ratio: {ratio:.2f} (goal >= 0.9) {verdict}")


if __name__ == "__main__":
    main()
