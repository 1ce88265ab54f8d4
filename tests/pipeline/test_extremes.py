"""Extreme inputs through the real pipeline: a 0-second file, a 1-frame video, an audio-only
file, an 8K video and a 10-hour video end in recorded states, and memory does not grow with
them.

Each card is ingested and processed by the real `rushes process` (a spawned process pool, as
in production) in a child that then reads the peak RSS of the largest process it waited for:
the coordinator or a pool worker. The 10-hour video has a run of its own, so its bound can
be tight. SQLite only: these are media extremes, and the catalog paths they take are the ones
tests/pipeline/test_process.py runs on both databases. The 10-hour video is 64x36 at one
frame every 4 s (9,000 frames, written in seconds), without sound (ten hours of AAC would take
minutes to encode), and lasts ten hours of media time.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from rushes.catalog import Asset
from rushes.catalog.models import Derivative, Fingerprint, ShotBoundary, StepState
from rushes.pipeline.steps import STEPS
from tests.clips import make_audio, make_video
from tests.conftest import RUSHES, Env

TEN_HOURS = 36_000
# Every process carries ~130 MB of code (Python, PyAV, NumPy, FAISS, SQLAlchemy). The 10-hour
# run adds only bounded windows (the shot detector's: ~60 MB), ~190 MB measured; the shot
# detector that kept every frame took 267 MB on this file (1.5 GB at 1 fps), and the candidate
# search that held every pair of a static clip's frames 5.8 GB.
TEN_HOURS_PEAK_MB = 256
# An 8K picture is 50 MB; FFmpeg's frame threads keep ~7 in flight (a plain decode on 2 cores
# peaks at ~340 MB above the code), thumbnails keep up to 8 pictures, and a worker keeps what
# the allocator does not hand back between steps: 520-620 MB measured, by which steps share a
# worker. The bound catches a step that would hold a whole 8K video, not those constants.
EIGHT_K_PEAK_MB = 1024
# Runs a command and prints the peak RSS (KiB) of the largest process it waited for; pool
# workers are joined before `rushes process` exits, so they count.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('peak-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


@dataclass
class Run:
    env: Env
    shas: dict[str, str]  # file name -> sha256
    peak_mb: float

    def states(self, name: str) -> dict[str, StepState]:
        with self.env.open() as base, base.catalog.read() as session:
            query = select(StepState).where(StepState.asset_sha256 == self.shas[name])
            return {r.step: r for r in session.scalars(query)}


def make_empty(path: Path) -> Path:
    """An MP4 header with a video track and not one frame: 0 seconds."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        out.start_encoding()
    return path


def make_8k(path: Path) -> Path:
    """Two 7680x4320 H.264 frames of a checkerboard (written straight as YUV: cheap)."""
    width, height = 7680, 4320
    y = np.arange(height, dtype=np.int32)[:, None] // 40
    x = np.arange(width, dtype=np.int32)[None, :] // 40
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(2):
            yuv = np.full((height * 3 // 2, width), 128, np.uint8)
            yuv[:height] = 40 + 160 * ((x + y + i) % 2)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def ingest_and_process(root: Path) -> Run:
    """Ingest the files in ``root / "card"`` into a new base and process them, measured."""
    env = Env(root / "data", f"sqlite:///{root / 'catalog.sqlite3'}")
    env.run("ingest", str(root / "card"), "-p", "p")
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *RUSHES, "process"],
        env=env.vars,
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = result.stdout.splitlines()[-1]
    assert last.startswith("peak-kb ") and "Traceback" not in result.stderr, result
    shas = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "card").iterdir()}
    return Run(env, shas, int(last.split()[1]) / 1024)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """0 seconds, 1 frame, sound only, 8K, a photo."""
    root = tmp_path_factory.mktemp("short")
    card = root / "card"
    card.mkdir()
    make_empty(card / "zero.mp4")
    make_video(card / "one-frame.mp4", seconds=1 / 30, audio=False)
    make_audio(card / "voice.m4a", seconds=2)
    make_8k(card / "8k.mp4")
    picture = np.random.default_rng(5).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    Image.fromarray(picture).save(card / "photo.jpg", quality=90)
    return ingest_and_process(root)


@pytest.fixture(scope="module")
def long(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("long")
    (root / "card").mkdir()
    make_video(
        root / "card" / "ten-hours.mp4",
        seconds=TEN_HOURS,
        fps=Fraction(1, 4),
        size=(64, 36),
        audio=False,
    )
    return ingest_and_process(root)


def settled(run: Run, name: str) -> dict[str, str]:
    """Each step's final status; every one is finished, and any not done says why."""
    rows = run.states(name)
    assert set(rows) == {s.name for s in STEPS}, name
    for step, row in rows.items():
        assert row.status in ("done", "failed", "skipped"), (name, step, row.status)
        assert row.status == "done" or row.error, (name, step)
        assert "worker died" not in (row.error or ""), (name, step, row.error)
    return {step: row.status for step, row in rows.items()}


def test_short_extremes_end_in_recorded_states(short: Run) -> None:
    zero = short.states("zero.mp4")
    assert zero["probe"].error == "no decodable streams: the original"
    assert settled(short, "zero.mp4") == {  # a C2PA manifest needs no decodable stream
        s.name: "done" if s.name in ("probe", "provenance") else "skipped" for s in STEPS
    }
    voice = settled(short, "voice.m4a")
    assert voice["probe"] == "done"
    assert {voice[s] for s in ("thumbnails", "fingerprint", "shots")} == {"skipped"}
    for name in ("one-frame.mp4", "8k.mp4"):
        assert set(settled(short, name).values()) == {"done"}, name


def test_a_photo_gets_a_poster_and_a_fingerprint_as_a_frame_would(short: Run) -> None:
    steps = settled(short, "photo.jpg")
    assert steps["thumbnails"] == steps["fingerprint"] == "done"
    assert steps["near-duplicates"] == steps["shots"] == steps["proxy"] == "skipped"
    sha = short.shas["photo.jpg"]
    with short.env.open() as base, base.catalog.read() as session:
        made = session.scalars(select(Derivative).where(Derivative.asset_sha256 == sha)).all()
        poster = next(d for d in made if d.kind == "poster")
        assert (poster.details["width"], poster.details["height"]) == (480, 360)
        assert session.get(Fingerprint, sha).frames == 1


def test_an_8k_video_stays_within_its_memory_bound(short: Run) -> None:
    with short.env.open() as base, base.catalog.read() as session:
        assert session.get(Asset, short.shas["8k.mp4"]).media["size"]["width"] == 7680
    assert short.peak_mb <= EIGHT_K_PEAK_MB, f"peak RSS {short.peak_mb:.0f} MB"


def test_a_ten_hour_video_is_processed_whole_in_bounded_memory(long: Run) -> None:
    assert set(settled(long, "ten-hours.mp4").values()) == {"done"}
    sha = long.shas["ten-hours.mp4"]
    frames = TEN_HOURS // 4
    with long.env.open() as base, base.catalog.read() as session:
        assert session.get(Asset, sha).media["duration_s"] == pytest.approx(TEN_HOURS, abs=5)
        assert session.get(Fingerprint, sha).frames >= frames - 1
        shots = session.scalars(select(ShotBoundary).where(ShotBoundary.asset_sha256 == sha))
        assert max(s.end_frame for s in shots) == frames
        proxies = session.scalars(
            select(Derivative).where(Derivative.asset_sha256 == sha, Derivative.kind == "proxy")
        ).all()
    assert len(proxies) == 2
    for proxy in proxies:
        assert proxy.details["duration"] == pytest.approx(TEN_HOURS, abs=5)
    assert long.peak_mb <= TEN_HOURS_PEAK_MB, f"peak RSS {long.peak_mb:.0f} MB"
