"""Near-duplicate recall and false pairs on generated copies that no threshold was set on.

Every source of the chosen half of tests/evalset (`--split eval` by default; the thresholds were
chosen looking at "tune") is recorded as a 640x360 master and put through every edit of
`tests.evalset.copies.TRANSFORMS`; a third of them are also recorded as 4-second 1080p phone
clips (a keyframe a second) and copied at 360p, and a few as 20-second ones, longer than
`SHORT_S`, so that they are fingerprinted by keyframes. A copy is *found* when `match` pairs it
with its master both ways round, and *proposed* when the candidate index (what the pipeline
searches before matching) offers each for the other. Unrelated pairs are every pair of masters
and a sample of copies against the masters of other sources; any match among them is a false pair.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.evalset

from rushes.media.fingerprint import Fingerprint, fingerprint  # noqa: E402
from rushes.media.matching import Match, match  # noqa: E402
from rushes.pipeline.candidates import CopyIndex  # noqa: E402
from tests.evalset.copies import (  # noqa: E402
    SHORT_PHONE,
    TRANSFORMS,
    Clip,
    Master,
    copy,
    master,
)
from tests.evalset.sources import Source, sources  # noqa: E402

LONG_PHONE = Master(seconds=20.0, size=(1920, 1080), fps=30, keyint=30)
UNRELATED_PAIRS = 1000


@dataclass
class Outcome:
    clip: Clip
    found: bool
    symmetric: bool
    proposed: bool
    distance: float | None


def _make(job: tuple[str, Source, str, Path, tuple[Source, Source] | None, Master]) -> Clip:
    kind, source, transform, folder, others, spec = job
    made = master(source, folder, spec)
    return made if kind == "master" else copy(made, transform, folder, others)


def _fingerprint(path: Path) -> tuple[Fingerprint, float]:
    start = time.process_time()
    fp = fingerprint(path, threads=1)
    return fp, time.process_time() - start


def clips(split: str, folder: Path, quick: bool) -> list[Clip]:
    """Masters and copies of every source of ``split`` (written once into ``folder``)."""
    chosen = sources(split)  # type: ignore[arg-type]
    if quick:
        chosen = chosen[::4]
    rng = random.Random(14)
    jobs: list[tuple[str, Source, str, Path, tuple[Source, Source] | None, Master]] = []
    for number, source in enumerate(chosen):
        others = tuple(rng.sample([s for s in chosen if s != source], 2))
        jobs.append(("master", source, "master", folder, None, Master()))
        jobs += [("copy", source, t, folder, others, Master()) for t in TRANSFORMS]  # type: ignore[misc]
        if number % 3 == 0:
            jobs.append(("master", source, "master", folder, None, SHORT_PHONE))
            jobs.append(("copy", source, "phone-360p", folder, None, SHORT_PHONE))
        if number % 7 == 0:
            jobs.append(("master", source, "master", folder, None, LONG_PHONE))
            jobs.append(("copy", source, "phone-360p", folder, None, LONG_PHONE))
            jobs.append(("copy", source, "phone-reencoded", folder, None, LONG_PHONE))
    # Masters first: copies decode them.
    with ProcessPoolExecutor(2) as pool:
        made = list(pool.map(_make, [j for j in jobs if j[0] == "master"]))
        return made + list(pool.map(_make, [j for j in jobs if j[0] == "copy"]))


def report(split: str = "eval", quick: bool = False, folder: Path | None = None) -> dict:
    """Generate (or reuse) the set in ``folder``, measure, print per transform; return figures."""
    import tempfile

    scratch = None
    if folder is None:
        scratch = tempfile.TemporaryDirectory()
        folder = Path(scratch.name)
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    made = clips(split, folder, quick)
    if only := os.environ.get("ONLY"):
        made = [c for c in made if only in c.path.name]
    print(f"near-duplicates on split {split!r}: {len(made)} clips in {folder}")
    print(f"  made in {time.perf_counter() - began:.0f} s")
    with ProcessPoolExecutor(2) as pool:
        done = list(pool.map(_fingerprint, [c.path for c in made]))
    prints = {c.path: fp for c, (fp, _) in zip(made, done, strict=True)}
    print(f"  fingerprinted in {sum(s for _, s in done):.0f} CPU s")

    index = CopyIndex()
    for c in made:
        index.add(str(c.path), prints[c.path])

    def proposed(a: Clip, b: Clip) -> bool:
        return str(b.path) in index.search(prints[a.path], exclude=str(a.path))

    masters = {(c.source, c.path.stem): c for c in made if c.transform == "master"}
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    matched_s = 0.0
    for c in made:
        if c.transform == "master":
            continue
        origin = masters[(c.source, c.path.stem.split("--")[0])]
        start = time.process_time()
        there = match(prints[origin.path], prints[c.path])
        back = match(prints[c.path], prints[origin.path])
        matched_s += time.process_time() - start
        outcomes[_family(c)].append(
            Outcome(
                c,
                there is not None and back is not None,
                (there is None) == (back is None) and _same(there, back),
                proposed(c, origin) and proposed(origin, c),
                None if there is None else min(s.distance for s in there.segments),
            )
        )

    unrelated = _unrelated(made)
    false = []
    start = time.process_time()
    for a, b in unrelated:
        found = match(prints[a.path], prints[b.path])
        if found is not None:
            false.append((a, b, found))
    unrelated_s = time.process_time() - start

    print(f"\n  {'transform':20s} {'found':>9s} {'proposed':>9s} {'symmetric':>9s}  distance")
    totals = {}
    for name in [*TRANSFORMS, "phone-360p", "long-phone-360p", "long-phone-reencoded"]:
        rows = outcomes.get(name, [])
        if not rows:
            continue
        found = sum(o.found for o in rows)
        distances = sorted(o.distance for o in rows if o.distance is not None)
        median = f"{distances[len(distances) // 2]:.0f}" if distances else "-"
        proposed = sum(o.proposed for o in rows)
        symmetric = sum(o.symmetric for o in rows)
        n = len(rows)
        print(
            f"  {name:20s} {found:4d}/{n:<4d} {proposed:4d}/{n:<4d} {symmetric:4d}/{n:<4d}"
            f"  {median:>5s}"
        )
        totals[name] = (found, len(rows))
        for o in rows:
            if not (o.found and o.proposed and o.symmetric):
                print(
                    f"      missed: {o.clip.path.name} (found {o.found}, proposed {o.proposed},"
                    f" symmetric {o.symmetric})"
                )
    print(f"\n  unrelated pairs: {len(unrelated)}, false pairs: {len(false)}")
    for a, b, found in false:
        print(
            f"      false: {a.path.name} ~ {b.path.name}: {found.transform}, {found.segments[:2]}"
        )
    pairs = sum(len(v) for v in outcomes.values()) * 2 + len(unrelated)
    print(f"  matching: {1000 * (matched_s + unrelated_s) / pairs:.1f} ms CPU a pair")
    if scratch is not None:
        scratch.cleanup()
    return {"copies": totals, "unrelated": len(unrelated), "false": len(false)}


def _family(c: Clip) -> str:
    if c.transform.startswith("phone") and "-20s" in c.path.stem:
        return "long-" + c.transform
    return c.transform


def _same(x: Match | None, y: Match | None) -> bool:
    """Whether two answers for (a, b) and (b, a) say the same thing."""
    if x is None or y is None:
        return x is y
    return x.swapped() == y


def _unrelated(made: list[Clip]) -> list[tuple[Clip, Clip]]:
    """Every pair of 8-second masters, then copies against other sources' masters, sampled."""
    masters = [c for c in made if c.transform == "master" and "-8s" in c.path.stem]
    pairs = [(a, b) for a, b in itertools.combinations(masters, 2) if not (a.contains & b.contains)]
    rest = [
        (c, m)
        for c in made
        if c.transform != "master"
        for m in masters
        if not (c.contains & m.contains)
    ]
    random.Random(0).shuffle(rest)
    return pairs + rest[: max(0, UNRELATED_PAIRS - len(pairs))]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="eval", choices=("tune", "eval"))
    parser.add_argument("--quick", action="store_true", help="a quarter of the sources")
    parser.add_argument("--keep", type=Path, help="where to keep the clips (reused next time)")
    args = parser.parse_args()
    report(args.split, args.quick, args.keep)
