"""How fast search answers on a big project, on SQLite and PostgreSQL. Prints timings.

    .venv/bin/python bench/search.py [--notes 100000] [--incidents 10000] [--rounds 20]
        [--database sqlite|postgresql|both]

Fills a catalog with N notes (6-16 words each from an Arabic and an English vocabulary of the
trade, a fifth of the Arabic words carrying harakat, some with the article or و), M incidents
and the clips they sit on, through the catalog's own writer (so the index is kept as in use);
then times `rushes.review.search.search` for a director and for a crew member over a set of
queries: rare and common words, Arabic and English, with diacritics, two words, a two-letter
word (no trigram: a scan), a substring. Goal: p95 <= 50 ms for each database.
PostgreSQL: a temporary database on RUSHES_TEST_PG's server (default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, select

from rushes.base import Base, open_base
from rushes.catalog.models import Arrival, Asset, Incident, Note, User
from rushes.review import accounts
from rushes.review.access import Role, viewer_for
from rushes.review.projects import create_project
from rushes.review.search import search
from rushes.settings import load

GOAL_MS = 50.0
PG_ADMIN = os.environ.get("RUSHES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ARABIC = [
    "مستشفى",
    "رجل",
    "طفل",
    "طفلة",
    "امرأة",
    "سترة",
    "حمراء",
    "ركام",
    "أنقاض",
    "إسعاف",
    "سيارة",
    "مدرسة",
    "سوق",
    "شارع",
    "حي",
    "بناء",
    "طابق",
    "سقف",
    "جدار",
    "نار",
    "دخان",
    "غبار",
    "صاروخ",
    "برميل",
    "قصف",
    "غارة",
    "ضربة",
    "طائرة",
    "مروحية",
    "متطوع",
    "دفاع",
    "مدني",
    "فريق",
    "إنقاذ",
    "جريح",
    "قتيل",
    "شهيد",
    "جثة",
    "عائلة",
    "أب",
    "أم",
    "أخ",
    "جار",
    "صوت",
    "صراخ",
    "بكاء",
    "ليل",
    "نهار",
    "صباح",
    "مساء",
    "ساعة",
    "دقيقة",
    "قريب",
    "بعيد",
    "زاوية",
    "كاميرا",
    "لقطة",
    "وجه",
    "يد",
    "باب",
    "نافذة",
    "درج",
    "مخبز",
    "مسجد",
    "حديقة",
    "جسر",
    "طريق",
    "حلب",
    "إدلب",
    "الشعار",
    "الصاخور",
    "الكلاسة",
    "بستان",
    "القصر",
    "المشهد",
    "الفردوس",
    "قاضي",
    "عسكر",
    "الميسر",
    "الأنصاري",
]
ENGLISH = [
    "hospital",
    "man",
    "child",
    "girl",
    "woman",
    "jacket",
    "red",
    "rubble",
    "ambulance",
    "car",
    "school",
    "market",
    "street",
    "building",
    "floor",
    "roof",
    "wall",
    "fire",
    "smoke",
    "dust",
    "rocket",
    "barrel",
    "strike",
    "jet",
    "helicopter",
    "volunteer",
    "rescue",
    "team",
    "wounded",
    "dead",
    "family",
    "father",
    "mother",
    "brother",
    "neighbour",
    "voice",
    "night",
    "morning",
    "closer",
    "angle",
    "camera",
    "shot",
    "face",
    "hand",
    "door",
    "window",
    "stairs",
    "bakery",
    "mosque",
    "garden",
    "bridge",
    "road",
    "follow",
    "story",
    "again",
    "wider",
    "tighter",
    "sound",
    "focus",
    "light",
    "steady",
    "hold",
    "cut",
]
HARAKAT = "\u064e\u064f\u0650\u0651\u0652"
QUERIES = [
    "مستشفى",
    "المستشفى",
    "السُّترة الحمراء",
    "والمستشفى",
    "إسعاف",
    "الصاخور",
    "حي",
    "hospital",
    "red jacket",
    "closer angle",
    "bakery",
    "spital",
    "نحو",  # in no note
    "zzzqx",  # in no note
]


def sentence(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(6, 16)):
        if rng.random() < 0.6:
            word = rng.choice(ARABIC)
            if rng.random() < 0.2:
                word = "".join(c + rng.choice(HARAKAT) if rng.random() < 0.5 else c for c in word)
            if rng.random() < 0.2:
                word = rng.choice(("ال", "و", "بال")) + word
        else:
            word = rng.choice(ENGLISH)
        words.append(word)
    return " ".join(words)


def fill(url: str, data: Path, notes: int, incidents: int) -> Base:
    base = open_base(load({"RUSHES_DATA_DIR": str(data), "RUSHES_DATABASE_URL": url}))
    rng = random.Random(7)
    with base.catalog.write() as session:
        project = create_project(session, "film", "Bench")
        for name, role in (("dina", Role.DIRECTOR), ("karim", Role.CREW)):
            user = accounts.create_user(session, name, "bench password 123")
            accounts.add_member(session, project, user, role)
        project_id, author = project.id, user.id
        clips = [f"{n:064x}" for n in range(1, 501)]
        session.execute(insert(Asset), [{"sha256": s, "size": 1, "kind": "video"} for s in clips])
        session.execute(
            insert(Arrival),
            [
                {"asset_sha256": s, "project_id": project_id, "crew": ("karim", "rami")[n % 2],
                 "path": f"DCIM/C{n:04d}.MP4", "path_bytes": b"x", "path_key": s, "size": 1,
                 "actor": "bench"}
                for n, s in enumerate(clips)
            ],
        )  # fmt: skip
    start = datetime(2025, 1, 1, tzinfo=UTC)
    batch = 5000
    for first in range(0, notes, batch):
        with base.catalog.write() as session:
            session.add_all(
                Note(project_id=project_id, asset_sha256=rng.choice(clips), author_id=author,
                     body=sentence(rng), created_at=start + timedelta(minutes=n))
                for n in range(first, min(notes, first + batch))
            )  # fmt: skip
    for first in range(0, incidents, batch):
        with base.catalog.write() as session:
            session.add_all(
                Incident(project_id=project_id, code=f"ALP-{n:06d}", title=sentence(rng)[:200],
                         type="airstrike", started_at=start + timedelta(hours=n),
                         place=" ".join(rng.sample(ARABIC[-14:], 2)),
                         description=sentence(rng), created_by_id=author)
                for n in range(first, min(incidents, first + batch))
            )  # fmt: skip
    return base


def measure(base: Base, rounds: int) -> list[tuple[str, str, float, float, int]]:
    rows = []
    with base.catalog.read() as session:
        for who in ("dina", "karim"):
            user = session.scalar(select(User).where(User.username == who))
            viewer = viewer_for(session, user, "film")
            for query in QUERIES:
                search(session, viewer, query)  # warm
                times = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    found = search(session, viewer, query)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                rows.append((who, query, statistics.median(times), p95, found.count))
    return rows


def run(kind: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = None
        if kind == "sqlite":
            url = f"sqlite:///{tmp}/catalog.sqlite3"
        else:
            database = f"rushes_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{database}"')
            url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            url += f"/{database}"
        try:
            t0 = time.perf_counter()
            base = fill(url, Path(tmp) / "data", args.notes, args.incidents)
            filled = time.perf_counter() - t0
            if kind == "postgresql":
                with base.catalog.engine.connect() as connection:
                    connection.exec_driver_sql("ANALYZE")
                    connection.commit()
            rows = measure(base, args.rounds)
            base.close()
        finally:
            if database:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"\n{kind}: {args.notes:,} notes, {args.incidents:,} incidents, filled in {filled:.0f} s")
    print(f"{'as':6} {'query':22} {'median ms':>10} {'p95 ms':>8} {'results':>8}")
    for who, query, median, p95, count in rows:
        print(f"{who:6} {query:22} {median:10.1f} {p95:8.1f} {count:8}")
    worst = max(p95 for *_, p95, _ in rows)
    all_times = sorted(p95 for *_, p95, _ in rows)
    print(
        f"{kind}: worst query p95 {worst:.1f} ms, median query p95 "
        f"{statistics.median(all_times):.1f} ms; goal {GOAL_MS:.0f} ms: "
        f"ratio worst/goal {worst / GOAL_MS:.2f} -> {'met' if worst <= GOAL_MS else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
        run(kind, args)


if __name__ == "__main__":
    main()
