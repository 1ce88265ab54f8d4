"""The S3 vault against a real S3 server (SeaweedFS, `weed mini` on loopback), in one run.

- Ingest into S3 (`rushes` ingest: read once, SHA-256 + SHA-512, spool, then sent with the store
  checking the SHA-256) against boto3's own `upload_file` of the same files to the same server
  (its default multipart transfer, no checksum of ours). Goal: ratio >= 0.8. The store runs on
  the same two cores, so both vary by a third between runs: best of several, alternating. The
  machine's CPU is counted: where upload_file alone keeps the cores busy, the ceiling is its
  CPU plus the hashing ingest must do, and the ratio to that ceiling is printed too.
- `rushes verify --quick` (the real command) over N originals. Goal: 10,000 in <= 30 s. Its
  ceiling, printed beside it: boto3's own HEAD of the same originals, 16 threads, in one process.
- The player's proxy over real HTTP (`rushes serve`'s app on a loopback port): time to the
  first byte of a range request, derivatives in S3 against derivatives in a local folder, the
  same proxy, requests alternating. Goal: ratio <= 2.

    PYTHONPATH=.:src:bench .venv/bin/python bench/s3.py [--files 4] [--mib 256] [--rounds 3]
        [--originals 10000]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import uvicorn  # noqa: E402
from botocore.config import Config  # noqa: E402
from ingest import make_files, warm  # noqa: E402 - bench/ingest.py beside this file

from rushes.base import open_base  # noqa: E402
from rushes.cards import walk  # noqa: E402
from rushes.ingest import Ingest, ensure_project, record_arrival  # noqa: E402
from rushes.pipeline.runner import run_inline  # noqa: E402
from rushes.settings import load  # noqa: E402
from rushes.vault.pump import pump  # noqa: E402
from rushes.vault.s3_parts import PART, PartDigests  # noqa: E402
from rushes.vault.store import Digest  # noqa: E402
from rushes.web.app import create_app  # noqa: E402
from tests.clips import make_video  # noqa: E402
from tests.s3 import SeaweedFS  # noqa: E402
from tests.web.conftest import Client, make_team, sign_in  # noqa: E402
from tests.web.test_status import free_port  # noqa: E402

# What the store must check of every original: boto3 computes each part's SHA-256, the store
# verifies it.
SHA256_CHECKED = {"ChecksumAlgorithm": "SHA256"}


def settings_for(root: Path, server: SeaweedFS) -> dict[str, str]:
    return {
        **os.environ,
        **server.env,
        "RUSHES_DATA_DIR": str(root / "data"),
        "RUSHES_VAULT_URL": f"s3://{server.bucket()}/vault",
        "RUSHES_ACTOR": "bench",
    }


def ingest_ratio(root: Path, server: SeaweedFS, files: int, mib: int, rounds: int) -> None:
    """Best of `rounds` for each, alternating, into one warmed bucket (a new bucket's first
    writes wait for the store to allocate volumes). The machine's CPU is counted too: with the
    store on the same cores, upload_file keeps them busy, and the hashing an original needs
    (SHA-256 for its name, SHA-512, each part's SHA-256 for the store to check) can only add."""
    card = root / "card"
    card.mkdir()
    paths = make_files(card, files, mib)
    total = sum(p.stat().st_size for p in paths)
    os.sync()
    client = server.client()
    environ = settings_for(root, server)
    bucket = environ["RUSHES_VAULT_URL"].removeprefix("s3://").split("/")[0]
    client.upload_file(str(paths[0]), bucket, "warm-up")
    os.environ.update(server.env)
    runs: dict[str, list[tuple[float, float]]] = {"peer": [], "checked": [], "ours": []}
    for round_ in range(rounds):
        with Measured(paths, runs["peer"]):
            for path in paths:
                client.upload_file(str(path), bucket, f"peer{round_}/{path.name}")
        with Measured(paths, runs["checked"]):
            for path in paths:
                client.upload_file(
                    str(path), bucket, f"checked{round_}/{path.name}", ExtraArgs=SHA256_CHECKED
                )
        environ["RUSHES_VAULT_URL"] = f"s3://{bucket}/vault{round_}"
        environ["RUSHES_DATA_DIR"] = str(root / f"data{round_}")
        base = open_base(load(environ))
        with Measured(paths, runs["ours"]):
            report = Ingest(base, project="bench", actor="bench").run(walk([card]))
        base.close()
        if not report.ok or report.count("new") != len(paths):
            sys.exit(f"ingest did not take every file: {report}")
    (peer, peer_cpu), (checked, _), (ours, ours_cpu) = (min(runs[k]) for k in runs)
    hashing = hash_cpu(paths)
    mb = total / 1e6
    print(f"files: {files} x {mib} MiB = {mb:,.0f} MB; best of {rounds} rounds, alternating")
    for name, (best, cpu), key in (
        ("boto3 upload_file", min(runs["peer"]), "peer"),
        ("  with SHA-256 checksums", min(runs["checked"]), "checked"),
        ("rushes ingest", min(runs["ours"]), "ours"),
    ):
        times = [t for t, _ in runs[key]]
        print(
            f"{name:26} {best:6.2f} s ({mb / best:,.0f} MB/s), {cpu:4.1f} core-s"
            f"  all: {_list(times)}"
        )
    ratio = peer / ours
    verdict = "OK" if ratio >= 0.8 else "BELOW"
    print(f"ingest/upload_file ratio: {ratio:.2f} (goal >= 0.8) {verdict}")
    print(f"ingest/upload_file with SHA-256 checksums: {checked / ours:.2f}")
    cores = os.cpu_count() or 1
    busy = peer_cpu / (peer * cores)
    ceiling = (peer_cpu + hashing) / (cores * busy)
    print(
        f"CPU: upload_file keeps {busy:.0%} of the {cores} cores busy; the hashing rushes adds "
        f"takes {hashing:.1f} core-s alone, so at that use ingest cannot beat {ceiling:.2f} s "
        f"(best possible ratio {peer / ceiling:.2f}); ingest/that ceiling: {ceiling / ours:.2f}"
    )


class Measured:
    """Time and machine CPU (core-seconds, all processes: the store's too) of a block, the
    files read into the page cache first."""

    def __init__(self, paths: list[Path], into: list[tuple[float, float]]) -> None:
        self.paths, self.into = paths, into

    def __enter__(self) -> None:
        warm(self.paths)
        self.started, self.cpu = time.perf_counter(), _busy()

    def __exit__(self, *_exc: object) -> None:
        self.into.append((time.perf_counter() - self.started, _busy() - self.cpu))


def _busy() -> float:
    """Seconds of CPU the machine has spent busy since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def hash_cpu(paths: list[Path]) -> float:
    """Core-seconds of the hashing one ingest does, alone: SHA-256 and SHA-512 of every byte
    and the SHA-256 of each part sent (rushes.vault.s3_parts.PartDigests)."""
    warm(paths)
    started = time.process_time()
    for path in paths:
        digest, parts = Digest(), PartDigests(PART)
        with open(path, "rb", buffering=0) as f:
            pump(f.read, [*digest.sinks, parts])
    return time.process_time() - started


def _list(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def quick_verify(root: Path, server: SeaweedFS, originals: int) -> None:
    environ = settings_for(root / "many", server)
    os.environ.update(server.env)
    base = open_base(load(environ))
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        stored = list(pool.map(lambda n: base.vault.put_stream(_body(n)), range(originals)))
    project = ensure_project(base.catalog, "bench")
    with base.catalog.write() as session:
        for item in stored:
            record_arrival(
                session,
                item,
                project_id=project,
                crew="bench",
                source="bench",
                raw_path=item.sha256.encode(),
                mtime_ns=None,
                sample=None,
                actor="bench",
            )
    print(f"\n{originals:,} originals stored and recorded in {time.perf_counter() - started:.1f} s")
    base.close()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "rushes", "verify", "--quick"],
        env=environ,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    print(result.stdout.splitlines()[0] if result.stdout else result.stderr[-500:])
    verdict = "OK" if seconds <= 30 * originals / 10_000 else "BELOW"
    print(f"rushes verify --quick: {seconds:.1f} s for {originals:,} (goal <= 30 s) {verdict}")
    # The ceiling: boto3 asking the store for the same checksums and retentions, nothing else
    # (no command start, catalog, custody events), with as many threads, in this process.
    client = boto3.client(  # its credentials in this process's environment (above)
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32),
    )
    bucket, prefix = environ["RUSHES_VAULT_URL"].removeprefix("s3://").split("/", 1)
    keys = [f"{prefix}/originals/{item.sha256}" for item in stored]
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda k: client.head_object(Bucket=bucket, Key=k, ChecksumMode="ENABLED"), keys
            )
        )
    peer = time.perf_counter() - started
    print(
        f"boto3 head_object of the same {originals:,} (16 threads, no more): {peer:.1f} s; "
        f"verify --quick / that: {seconds / peer:.2f}"
    )


def proxy_first_byte(root: Path, server: SeaweedFS, requests: int) -> None:
    bucket = server.bucket()
    os.environ.update(server.env)
    firsts: dict[str, list[float]] = {}
    clip = make_video(root / "clip.mp4", seconds=20)
    for label, extra in (
        ("local folder", {}),
        ("S3", {"RUSHES_DERIVATIVES_URL": f"s3://{bucket}/copies"}),
    ):
        environ = {**settings_for(root / label.replace(" ", "-"), server), **extra}
        base = open_base(load(environ))
        make_team(base)
        card = root / f"card-{len(firsts)}"
        card.mkdir()
        shutil.copyfile(clip, card / "clip.mp4")
        Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
        sha = next(base.vault.hashes())
        run_inline(base, ["probe", "proxy"], [sha])
        port = free_port()
        app = uvicorn.Server(
            uvicorn.Config(create_app(base), host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=app.run, daemon=True).start()
        while not app.started:
            time.sleep(0.02)
        with Client(base_url=f"http://127.0.0.1:{port}") as client:
            sign_in(client, "dina")
            url = f"/p/film/a/{sha}/media/proxy-360.mp4"
            times = []
            for n in range(requests):
                offset = (n * 7919) % 100_000
                started = time.perf_counter()
                with client.stream("GET", url, headers={"Range": f"bytes={offset}-"}) as answer:
                    next(answer.iter_raw())
                    times.append(time.perf_counter() - started)
            firsts[label] = times
        app.should_exit = True
        base.close()
    local, remote = (statistics.median(firsts[k]) for k in ("local folder", "S3"))
    print(f"\nproxy first byte over HTTP, median of {requests} range requests:")
    print(f"  local folder {local * 1000:.1f} ms, S3 {remote * 1000:.1f} ms")
    verdict = "OK" if remote <= 2 * local else "ABOVE"
    print(f"S3/local time-to-first-byte ratio: {remote / local:.2f} (goal <= 2) {verdict}")


def _body(n: int) -> io.BytesIO:
    return io.BytesIO(b"%08d" % n * 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, default=256, help="size of each file")
    parser.add_argument("--originals", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="proxy range requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        server = SeaweedFS(root / "seaweedfs")
        try:
            ingest_ratio(root, server, args.files, args.mib, args.rounds)
            if args.originals:
                quick_verify(root, server, args.originals)
            proxy_first_byte(root, server, args.requests)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
