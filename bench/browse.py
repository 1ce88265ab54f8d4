"""How fast the rushes browser pages through a big project. Prints timings; asserts nothing.

    .venv/bin/python bench/browse.py [--assets 100000] [--pages 2000]

Makes a SQLite catalog in a temporary folder with N synthetic assets (one arrival each, three
crews, capture times over a year, a tenth without one, some near-duplicate clusters, notes on
a few), then times, as a director and as a crew member: the first page, and a deep page reached
by following cursors (about `--pages` pages in, fewer where a filter leaves fewer; measured on
that page itself). The goal is a deep page
within 2x of the first page, both well under 100 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from rushes.base import Base, open_base
from rushes.catalog.models import Arrival, Asset, Note, User
from rushes.review import accounts
from rushes.review.access import Role, viewer_for
from rushes.review.browse import PAGE_SIZE, Cursor, Filters, browse
from rushes.review.projects import create_project
from rushes.settings import load

GOAL_RATIO = 2.0
GOAL_MS = 100.0
CREWS = ("karim", "rami", "lina")


def fill(base_dir: Path, count: int) -> Base:
    base = open_base(load({"RUSHES_DATA_DIR": str(base_dir)}))
    with base.catalog.write() as session:
        project = create_project(session, "film", "Bench")
        for name, role in (("dina", Role.DIRECTOR), ("karim", Role.CREW)):
            user = accounts.create_user(session, name, "bench password 123")
            accounts.add_member(session, project, user, role)
        project_id = project.id
    start = datetime(2025, 1, 1, tzinfo=UTC)
    batch = 10_000
    for first in range(0, count, batch):
        assets, arrivals = [], []
        for i in range(first, min(first + batch, count)):
            sha = hashlib.sha256(str(i).encode()).hexdigest()
            captured = None if i % 10 == 0 else start + timedelta(seconds=i * 317 % 31_536_000)
            assets.append(
                {
                    "sha256": sha,
                    "sha512": "0" * 128,
                    "size": 1000 + i,
                    "kind": "video",
                    "media": {"duration_s": 12.5, "frame_rate": "30/1"},
                    "captured_at": captured,
                    "first_received_at": start,
                    "cluster": hashlib.sha256(str(i // 3).encode()).hexdigest()
                    if i % 50 < 3
                    else None,
                }
            )
            arrivals.append(
                {
                    "asset_sha256": sha,
                    "project_id": project_id,
                    "crew": CREWS[i % len(CREWS)],
                    "path": f"DCIM/{i}.mp4",
                    "path_bytes": f"DCIM/{i}.mp4".encode(),
                    "path_key": hashlib.sha256(f"DCIM/{i}.mp4".encode()).hexdigest(),
                    "size": 1000 + i,
                    "received_at": start,
                    "actor": "bench",
                }
            )
        with base.catalog.write() as session:
            session.execute(insert(Asset), assets)
            session.execute(insert(Arrival), arrivals)
    with base.catalog.write() as session:
        author = session.scalar(select(User.id).where(User.username == "dina"))
        shas = session.scalars(select(Asset.sha256).limit(count // 20)).all()
        session.execute(
            insert(Note),
            [
                {"project_id": project_id, "asset_sha256": s, "author_id": author, "body": "x"}
                for s in shas
            ],
        )
    return base


def timed(base: Base, username: str, filters: Filters, pages: int) -> tuple[float, float]:
    """Milliseconds for the first page and for the page `pages` cursors in (median of 5)."""
    with base.catalog.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        viewer = viewer_for(session, user, "film")
        after: Cursor | None = None
        for _ in range(pages):
            page = browse(session, viewer, base.vault, filters, after)
            if page.next is None:
                break
            after = Cursor.decode(page.next)

        def median(cursor: Cursor | None) -> float:
            runs = []
            for _ in range(5):
                began = time.perf_counter()
                browse(session, viewer, base.vault, filters, cursor)
                runs.append((time.perf_counter() - began) * 1000)
            return statistics.median(runs)

        return median(None), median(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=1_500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        base = fill(Path(folder), args.assets)
        print(f"{args.assets} assets made in {time.perf_counter() - began:.1f} s")
        print(f"goal: deep page within {GOAL_RATIO}x of the first, both under {GOAL_MS:.0f} ms")
        tail = args.assets * 9 // 10 // PAGE_SIZE + 20  # a page among the undated tenth
        cases = [
            ("director, newest", "dina", Filters(), args.pages),
            ("director, oldest", "dina", Filters(order="oldest"), args.pages),
            ("director, undated tail", "dina", Filters(), tail),
            ("director, crew filter", "dina", Filters(crew="rami"), args.pages // 3),
            ("director, duplicates folded", "dina", Filters(collapse=True), args.pages),
            ("director, has notes", "dina", Filters(has_notes=True), args.pages // 20),
            ("crew (own uploads)", "karim", Filters(), args.pages // 3),
        ]
        for label, username, filters, pages in cases:
            first, deep = timed(base, username, filters, pages)
            print(
                f"{label:28} first page {first:6.1f} ms   page {pages:>5} {deep:6.1f} ms"
                f"   ratio {deep / first:4.2f} (goal <= {GOAL_RATIO})"
            )
        print(f"({PAGE_SIZE} cards a page)")
        base.close()


if __name__ == "__main__":
    main()
