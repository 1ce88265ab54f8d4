"""Find footage by a still: recall per edit on footage nobody tuned on, and latency at scale.

    PYTHONPATH=.:src .venv/bin/python bench/find_frame.py [--clips 100000] [--anchors 10]
        [--stills 3] [--split eval]

Every source of one half of tests/evalset (`--split eval`: the thresholds were set looking at
"tune" and the fixtures) is recorded as an 8-second 640x360 master and fingerprinted into a
SQLite base, as the pipeline would. From each master `--stills` frames at seeded random times
(not on whole seconds, where the index's anchors are) are taken as screenshots and edited as
people pass them on; each is searched with `rushes.review.find` as a director. A still is
*found* when the first clip is its master and the moment's range includes its time (0.1 s
slack). Stills of the other half's sources, which are not in the base, measure false finds.

Scale: the process's find-by-frame index also holds `--clips` synthetic clips of `--seconds`
each (random codes, as bench/neardup_index.py; their catalog rows are placeholders), so each
search runs against that many clips' fingerprints. Goal: p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.evalset

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageOps  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from rushes.base import open_base  # noqa: E402
from rushes.catalog.models import Arrival, Asset, Fingerprint, User  # noqa: E402
from rushes.errors import InvalidInput  # noqa: E402
from rushes.media.fingerprint import fingerprint  # noqa: E402
from rushes.pipeline.candidates import FRAME_S, FRAME_SLOTS, frame_index_for  # noqa: E402
from rushes.review import accounts  # noqa: E402
from rushes.review.access import Role, viewer_for  # noqa: E402
from rushes.review.find import find, read_query  # noqa: E402
from rushes.review.projects import create_project  # noqa: E402
from rushes.settings import load  # noqa: E402
from tests.evalset.copies import Master, decoded, master  # noqa: E402
from tests.evalset.sources import sources  # noqa: E402

GOAL_S = 1.0
SPEC = Master(seconds=8.0, size=(640, 360), fps=30, keyint=60)


def edits(picture: Image.Image) -> dict[str, Image.Image]:
    w, h = picture.size

    def crop(share: float) -> Image.Image:
        dx, dy = round(w * share), round(h * share)
        return picture.crop((dx, dy, w - dx, h - dy))

    logo = picture.copy()
    ImageDraw.Draw(logo).rectangle((w - w // 5, 10, w - 10, 10 + h // 6), fill=(230, 30, 30))
    framed = ImageOps.expand(picture, border=(0, h // 3, 0, h // 2), fill=(255, 255, 255))
    ImageDraw.Draw(framed).text((10, 10), "@someone · 2h", fill=(20, 20, 20))
    return {
        "as-is": picture,
        "jpeg-q20": picture,  # saved at quality 20
        "quarter-size": picture.resize((w // 4, h // 4)),
        "mirror": ImageOps.mirror(picture),
        "turned-90": picture.rotate(90, expand=True),
        "crop-5": crop(0.05),
        "crop-10": crop(0.10),
        "app-frame": framed,
        "grey": ImageOps.grayscale(picture),
        "logo": logo,
    }


def stills_of(path: Path, count: int, rng: random.Random) -> list[tuple[float, Image.Image]]:
    frames = list(decoded(path))
    picked = []
    for _ in range(count):
        index = rng.randrange(len(frames))
        while index % SPEC.fps == 0:  # not on an anchor
            index = rng.randrange(len(frames))
        picked.append((index / SPEC.fps, Image.fromarray(frames[index])))
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="length of a synthetic clip")
    parser.add_argument("--stills", type=int, default=3, help="screenshots per master")
    parser.add_argument("--split", choices=("eval", "tune"), default="eval")
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = open_base(load({"RUSHES_DATA_DIR": str(folder / "data")}))
        with base.catalog.write() as session:
            project = create_project(session, "film", "Bench")
            user = accounts.create_user(session, "dina", "bench password 123")
            accounts.add_member(session, project, user, Role.DIRECTOR)
            project_id = project.id

        t0 = time.perf_counter()
        masters = {}
        for source in sources(args.split):
            clip = master(source, folder, SPEC)
            sha = f"{len(masters) + 1:064x}"
            fp = fingerprint(clip.path)
            masters[sha] = (source.name, clip.path)
            with base.catalog.write() as session:
                session.add(Asset(sha256=sha, size=1, kind="video"))
                session.flush()
                session.add(
                    Arrival(asset_sha256=sha, project_id=project_id, crew="rami",
                            path=clip.path.name, path_bytes=b"x", path_key=sha, size=1,
                            actor="bench")
                )  # fmt: skip
                session.add(Fingerprint(asset_sha256=sha, data=fp.to_bytes(), frames=len(fp),
                                        tool_version="bench"))  # fmt: skip
        print(f"{len(masters)} masters of the {args.split} half, made and fingerprinted in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip

        t0 = time.perf_counter()
        anchors = round(args.seconds / FRAME_S)
        codes = np.random.default_rng(0).integers(
            0, 256, (args.clips, anchors, len(FRAME_SLOTS), 32), dtype=np.uint8
        )
        fakes = [f"f{n:063x}" for n in range(args.clips)]
        with base.catalog.write() as session:
            for start in range(0, args.clips, 20_000):
                chunk = fakes[start : start + 20_000]
                session.execute(insert(Asset), [{"sha256": s, "size": 1} for s in chunk])
                session.execute(
                    insert(Fingerprint),
                    [{"asset_sha256": s, "data": b"", "frames": args.seconds * 30,
                      "tool_version": "placeholder"} for s in chunk],
                )  # fmt: skip
        with base.catalog.read() as session:
            index = frame_index_for(session)
            index.add_many(zip(fakes, codes, strict=True), frames=args.seconds * 30)
            index.refresh(session)  # adds the masters
        print(f"index: {len(index):,} clips, {index.anchors:,} anchors ({index.kind}), built in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip

        times: list[float] = []
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        failures: list[str] = []
        with base.catalog.read() as session:
            dina = session.scalar(select(User).where(User.username == "dina"))
            viewer = viewer_for(session, dina, "film")
            for sha, (name, path) in masters.items():
                for at, picture in stills_of(path, args.stills, rng):
                    for edit, edited in edits(picture).items():
                        file = folder / f"still.{'jpg' if edit == 'jpeg-q20' else 'png'}"
                        edited.save(file, quality=20) if edit == "jpeg-q20" else edited.save(file)
                        t = time.perf_counter()
                        try:
                            result = find(session, viewer, read_query(file))
                        except Exception as exc:  # noqa: BLE001 - reported per case
                            result, why = [], f"{type(exc).__name__}: {exc}"
                        else:
                            why = "not found" if not result else "wrong clip or time"
                        times.append(time.perf_counter() - t)
                        ok = (
                            bool(result)
                            and result[0].sha256 == sha
                            and any(m.start - 0.1 <= at <= m.end + 0.1 for m in result[0].moments)
                        )
                        found[edit][0] += ok
                        found[edit][1] += 1
                        if not ok:
                            failures.append(f"{name} at {at:.2f} s, {edit}: {why}")
            false_finds = false_total = 0
            other = "tune" if args.split == "eval" else "eval"
            for source in sources(other)[:10]:
                clip = master(source, folder, SPEC)
                for _, picture in stills_of(clip.path, 2, rng):
                    picture.save(folder / "other.png")
                    with contextlib.suppress(InvalidInput):  # a flat picture: no false find
                        false_finds += bool(find(session, viewer, read_query(folder / "other.png")))
                    false_total += 1

        print(f"\n{'edit':14} {'found':>9}")
        for edit, (ok, total) in found.items():
            print(f"{edit:14} {ok:4}/{total:<4} {ok / total:6.0%}")
        all_ok = sum(ok for ok, _ in found.values())
        all_total = sum(total for _, total in found.values())
        print(f"{'all':14} {all_ok:4}/{all_total:<4} {all_ok / all_total:6.0%}")
        print(f"false finds: {false_finds}/{false_total} stills of sources not in the base")
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"latency over {len(times)} searches against {len(index):,} clips: median "
            f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; goal "
            f"{GOAL_S * 1000:.0f} ms: ratio {p95 / GOAL_S:.2f} -> "
            f"{'met' if p95 <= GOAL_S else 'NOT met'}"
        )
        print("\nnot found:")
        for line in failures:
            print(f"  {line}")
        base.close()


if __name__ == "__main__":
    main()
