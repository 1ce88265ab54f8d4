"""How fast fingerprinting is, and what the speed costs in recall. Prints ratios; asserts nothing.

    .venv/bin/python bench/fingerprint.py [--clip PATH]

Speed: a 1080p phone-like H.264 clip (16 Mb/s, a keyframe every second, no B-frames) made from
the fixture clips upscaled. The pipeline's fingerprint and thumbnail steps run on it on one
thread, with each sampling, against the vPDQ way (decode every frame, hash one a second), all
timed as CPU seconds of this process (best of two), so other work on the machine counts
little. Recall: the 14 fixture clips (31 pairs that share footage, 60 that do not) with each
sampling, and with vPDQ's own rule (a pair matches if 80 % of one side's frames of quality 50
or more have a hash within 31 bits on the other side). The fixture clips are light enough for
"auto" to decode them densely; the "keyframes" line is what "auto" does on heavy footage.
``--clip`` keeps the generated clip at PATH and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pdqhash
from av.video.reformatter import VideoReformatter

from rushes.media.fingerprint import Fingerprint, fingerprint
from rushes.media.matching import match
from rushes.media.thumbnails import make_thumbnails

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.evalset
from tests.evalset.copies import looped  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "video" / "threatexchange"
SOURCES = ("chair-orig-22-sd-bar", "pattern-longer-no-bar", "doorknob-hd-no-bar")
SAMPLINGS = ("auto", "keyframes", "dense")


def make_clip(path: Path) -> None:
    """1080p30 H.264 at 16 Mb/s with a keyframe every second, like a phone's."""
    with av.open(str(path), "w") as out:
        params = "keyint=30:min-keyint=30:scenecut=0:bframes=0"
        options = {"preset": "veryfast", "x264-params": params}
        stream = out.add_stream("libx264", rate=30, options=options)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.bit_rate = 16_000_000
        index = 0
        for name in SOURCES:
            with av.open(str(FIXTURES / f"{name}.mp4")) as source:
                for frame in source.decode(video=0):
                    big = frame.reformat(width=1920, height=1080, format="yuv420p")
                    big.pts, big.time_base = index, Fraction(1, 30)
                    out.mux(stream.encode(big))
                    index += 1
        out.mux(stream.encode(None))


def one_per_second(path: Path) -> list[tuple[np.ndarray, int]]:
    """vPDQ's sampling: decode every frame on one thread, PDQ-hash the first of each second."""
    hashes = []
    scaler = VideoReformatter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        due = 0.0
        for frame in container.decode(stream):
            if frame.time is None or frame.time < due:
                continue
            due = np.floor(frame.time) + 1.0
            small = scaler.reformat(frame, 64, 64, "rgb24", interpolation="AREA").to_ndarray()
            bits, quality = pdqhash.compute(small)
            hashes.append((np.packbits(bits.astype(np.uint8)), quality))
    return hashes


def keyframes_alone(path: Path) -> None:
    """Decode the keyframes on one thread and nothing else: the ceiling for keyframe sampling."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for packet in container.demux(stream):
            if packet.is_keyframe or not packet.size:
                stream.codec_context.decode(packet)


def vpdq_match(a: list[tuple[np.ndarray, int]], b: list[tuple[np.ndarray, int]]) -> bool:
    good_a = np.array([h for h, q in a if q >= 50]).reshape(-1, 32)
    good_b = np.array([h for h, q in b if q >= 50]).reshape(-1, 32)
    if not len(good_a) or not len(good_b):
        return False
    d = np.unpackbits(good_a[:, None, :] ^ good_b[None, :, :], axis=2).sum(axis=2)
    close = d <= 31
    return max(close.any(axis=1).mean(), close.any(axis=0).mean()) >= 0.8


def timed(run, repeat: int = 1) -> tuple[float, object]:
    """Best CPU seconds of this process over ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def recall(matches: dict[tuple[str, str], bool]) -> str:
    def family(name: str) -> str:
        return name.split("-")[0] if name.split("-")[0] in ("chair", "pattern") else name

    true = [found for (a, b), found in matches.items() if family(a) == family(b)]
    false = [found for (a, b), found in matches.items() if family(a) != family(b)]
    return f"{sum(true)}/{len(true)} true pairs, {sum(false)}/{len(false)} false"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="where to keep the 1080p clip (reused)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clip = args.clip or Path(scratch) / "phone-1080p.mp4"
        if not clip.exists():
            start = time.perf_counter()
            make_clip(clip)
            print(f"made {clip.name} in {time.perf_counter() - start:.0f} s")
        with av.open(str(clip)) as container:
            duration = float(container.duration / av.time_base)
        print(f"1080p30 H.264, 16 Mb/s, 1 s GOP, {duration:.1f} s; one thread, CPU time")

        base, _ = timed(lambda: one_per_second(clip), repeat=2)
        print(f"  1-fps full decode (vPDQ):  {duration / base:6.1f}x realtime")
        ceiling, _ = timed(lambda: keyframes_alone(clip), repeat=2)
        print(f"  keyframe decode alone:     {duration / ceiling:6.1f}x realtime (no hashing)")
        pictures, _ = timed(lambda: make_thumbnails(clip, Path(scratch) / "t"), repeat=2)
        print(f"  thumbnails alone:          {duration / pictures:6.1f}x realtime")
        speed = {}
        for sampling in SAMPLINGS:
            seconds, print_ = timed(
                lambda s=sampling: fingerprint(clip, sampling=s, threads=1), repeat=2
            )
            speed[sampling] = seconds + pictures
            print(
                f"  {sampling:9s} {len(print_):5d} hashes: {duration / seconds:6.1f}x realtime, "
                f"with thumbnails {duration / speed[sampling]:6.1f}x"
            )
        for sampling in ("auto", "keyframes"):
            realtime, versus = duration / speed[sampling], base / speed[sampling]
            print(f"[{sampling}] fingerprint + thumbnails: {realtime:.0f}× realtime (goal ≥ 100×)")
            print(f"[{sampling}] vs 1-fps full decode: {versus:.1f}× (goal ≥ 8×)")
            print(f"[{sampling}] vs keyframe decode: {ceiling / speed[sampling]:.2f}")
        hour = looped(clip, Path(scratch) / "hour.mp4", round(3600 / duration))
        ceiling, _ = timed(lambda: keyframes_alone(hour))
        seconds, _ = timed(lambda: fingerprint(hour, threads=1))
        pictures, _ = timed(lambda: make_thumbnails(hour, Path(scratch) / "h"))
        ratio = ceiling / (seconds + pictures)
        print(f"the same looped to an hour ({round(3600 / duration)} times, packets copied):")
        print(f"  keyframe decode alone:     {3600 / ceiling:6.1f}x realtime")
        print(f"  fingerprint + thumbnails:  {3600 / (seconds + pictures):6.1f}x realtime")
        print(
            f"[auto, 1 hour] fingerprint + thumbnails vs keyframe decode: {ratio:.2f} (goal ≥ 0.85)"
        )

    clips = sorted(FIXTURES.glob("*.mp4"))
    pairs = list(itertools.combinations([c.stem for c in clips], 2))
    print(f"recall on the {len(clips)} fixture clips (goal: vPDQ's or better; 31/31, 0/60):")
    for sampling in SAMPLINGS:
        prints: dict[str, Fingerprint] = {c.stem: fingerprint(c, sampling=sampling) for c in clips}
        found = {(a, b): match(prints[a], prints[b]) is not None for a, b in pairs}
        print(f"  {sampling:9s} + aligned matching: {recall(found)}")
    hashes = {c.stem: one_per_second(c) for c in clips}
    found = {(a, b): vpdq_match(hashes[a], hashes[b]) for a, b in pairs}
    print(f"  1-fps vPDQ + vPDQ rule:      {recall(found)}")


if __name__ == "__main__":
    main()
