"""What trusted timestamps cost (issue 15), against a real TSA on loopback (tests/tsa.py).

Goals: stamping adds < 5 % to the ingest of a card of 100 small files (ingest then stamp, as
`rushes ingest` does, against ingest alone, each into a fresh base); `verify_stamps` checks
10,000 tokens in <= 10 s. The tokens are one real reply stored 10,000 times: each is decoded
and verified in full, as distinct ones would be (making 10,000 with openssl takes minutes).

    .venv/bin/python bench/timestamps.py [--files 100] [--kib 256] [--tokens 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.tsa, beside bench/

from sqlalchemy import select

from rushes.base import Base, open_base
from rushes.cards import walk
from rushes.catalog.models import Timestamp
from rushes.ingest import Ingest
from rushes.settings import load
from rushes.stamps import stamp, verify_stamps
from tests.tsa import TSA


def opened(root: Path, extra: dict[str, str]) -> Base:
    return open_base(load({"RUSHES_DATA_DIR": str(root), "RUSHES_ACTOR": "bench", **extra}))


def ingest(root: Path, card: Path, extra: dict[str, str], stamped: bool) -> float:
    base = opened(root, extra)
    try:
        began = time.perf_counter()
        Ingest(base, project="bench", actor="bench").run(walk([card]))
        if stamped:
            assert stamp(base) is not None
        return time.perf_counter() - began
    finally:
        base.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--kib", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "tsa").mkdir()
        tsa = TSA(root / "tsa")
        configured = {"RUSHES_TSA_URLS": tsa.url, "RUSHES_TSA_CA": str(tsa.ca)}
        card = root / "card"
        card.mkdir()
        for n in range(args.files):
            (card / f"{n:03}.jpg").write_bytes(os.urandom(args.kib << 10))
        plain, stamped = [], []
        for run in range(args.runs):  # alternated, so drift hits both alike
            plain.append(ingest(root / f"plain-{run}", card, {}, stamped=False))
            stamped.append(ingest(root / f"stamped-{run}", card, configured, stamped=True))
        a, b = statistics.median(plain), statistics.median(stamped)
        print(
            f"ingest of {args.files} files of {args.kib} KiB: {a:.3f} s alone, {b:.3f} s "
            f"stamped (median of {args.runs}): +{(b / a - 1) * 100:.1f} % (goal < 5 %)"
        )

        base = opened(root / f"stamped-{args.runs - 1}", configured)
        try:
            with base.catalog.write() as session:
                token = session.scalars(select(Timestamp)).one()
                for _ in range(args.tokens - 1):
                    session.add(
                        Timestamp(
                            seq=token.seq,
                            head_hash=token.head_hash,
                            tsa=token.tsa,
                            gen_time=token.gen_time,
                            response=token.response,
                        )
                    )
            began = time.perf_counter()
            with base.catalog.read() as session:
                report = verify_stamps(session, base.settings)
            took = time.perf_counter() - began
        finally:
            base.close()
            tsa.stop()
        assert report.checked == args.tokens and not report.problems, report.problems[:3]
        print(f"verify of {report.checked} tokens: {took:.2f} s (goal <= 10 s)")


if __name__ == "__main__":
    main()
