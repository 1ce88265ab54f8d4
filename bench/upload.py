"""Field uploads (issue 5): one tus upload stream on loopback against writing the same bytes to
local disk and against tuspyserver, in the same run; then how soon bytes flow after a cut.

Goals: rushes/disk throughput >= 0.8, rushes/tuspyserver >= 1.5, resume after a cut < 1 s.

Both servers run in their own process the way `rushes serve` runs the base: uvicorn.run(app,
host, port, log_level="info") (uvicorn picks httptools when installed; printed below). The
client is the same for both: http.client, one creation POST, then one PATCH of the whole file
but its last byte and one PATCH of that byte, timed to the final answer; for rushes the last
answer waits for the intake (SHA-256 check, the vault taking the file, custody record), shown
apart. The disk baseline copies the same files (read from the page cache, as the uploads are)
in 1 MiB writes and fsyncs each.

This machine's disk runs at 1 GB/s for a while and at a quarter of that for the rest, by its
own schedule, so one measure of each says little. The benchmark runs rounds: new files each
round, the three contenders in each of their six orders in turn, and gives the median of the
per-round ratios.

Resume: a PATCH sends 2 MiB and then the link dies, either cut (the socket is reset) or hung
(the socket stays open and silent, so the server never hears of it). The link comes back at
once; the kit asks HEAD for the offset and sends the next 64 KiB, retrying every 20 ms. Timed
from the link's return to the server's 204 for bytes past the cut; "none in 10 s" if never.

    .venv/bin/pip install tuspyserver  # the benchmark's only extra
    .venv/bin/python bench/upload.py [--files 3] [--mib 128] [--rounds 6] [--trials 5]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ingest import make_files, warm  # bench/ingest.py, beside this script

from rushes.base import open_base
from rushes.review import accounts
from rushes.review.access import Role
from rushes.review.projects import create_project
from rushes.settings import load

HOST = "127.0.0.1"
CAP_S = 10.0


class Server:
    """A tus server in its own process, and what a client must send it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], token: str) -> None:
        self.name, self.command, self.env = name, command, env
        self.headers = {"Tus-Resumable": "1.0.0"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.port = free_port()

    @contextmanager
    def running(self, log: Path) -> Iterator[Server]:
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while not self.answers():
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit(f"{self.name} did not start: see {log}")
                time.sleep(0.1)
            yield self
        finally:
            process.terminate()
            process.wait(timeout=60)

    def answers(self) -> bool:
        try:
            self.request("OPTIONS", "/files/")
        except OSError:
            return False
        return True

    def connect(self, timeout: float | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout, blocksize=1 << 20)

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        timeout: float | None = None,
        **extra: str,
    ) -> http.client.HTTPResponse:
        conn = self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers={**self.headers, **extra})  # type: ignore[arg-type]
            response = conn.getresponse()
            response.read()
            return response
        finally:
            conn.close()

    def create(self, name: str, data_sha256: str, length: int) -> str:
        metadata = {  # rushes needs kind, sha256, filename; tuspyserver filename and filetype
            "kind": "original",
            "sha256": data_sha256,
            "filename": f"DCIM/100/{name}",
            "filetype": "application/octet-stream",
        }
        encoded = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items()
        )
        made = self.request(
            "POST", "/files/", **{"Upload-Length": str(length), "Upload-Metadata": encoded}
        )
        location = made.getheader("Location")
        if made.status != 201 or location is None:
            sys.exit(f"{self.name} refused the creation: {made.status}")
        return urlsplit(location).path

    def upload(self, path: Path, sha256: str) -> tuple[float, float]:
        """One creation, then the file in one PATCH but for its last byte, which a second PATCH
        sends: for rushes the first times the bytes alone, the second the intake. Returns the
        seconds of each (the creation counts in the first)."""
        size = path.stat().st_size
        started = time.perf_counter()
        target = self.create(path.name, sha256, size)
        conn = self.connect()
        with open(path, "rb") as body:
            for offset, length in ((0, size - 1), (size - 1, 1)):
                conn.request(
                    "PATCH",
                    target,
                    body=body.read(1) if length == 1 else _Window(body, length),
                    headers={
                        **self.headers,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                        "Content-Length": str(length),
                    },
                )
                answer = conn.getresponse()
                answer.read()
                if answer.status != 204:
                    sys.exit(f"{self.name} answered a PATCH of {path.name} with {answer.status}")
                if length != 1:
                    body_done = time.perf_counter()
        conn.close()
        if self.request("HEAD", target).getheader("Upload-Offset") != str(size):
            sys.exit(f"{self.name} does not hold all of {path.name}")
        return body_done - started, time.perf_counter() - body_done

    def resume(self, hung: bool) -> float | None:
        """Seconds from a dead link's return to bytes past the cut acknowledged."""
        data = os.urandom(8 << 20)
        target = self.create("resume.bin", hashlib.sha256(data).hexdigest(), len(data))
        dying = socket.create_connection((HOST, self.port))
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        dying.sendall(
            f"PATCH {target} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{head}Upload-Offset: 0\r\n"
            f"Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data[: (2 << 20) + 777]
        )
        time.sleep(0.3)  # the server has read it
        if not hung:
            dying.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            dying.close()  # reset
        back = time.perf_counter()
        try:
            while (waited := time.perf_counter() - back) < CAP_S:
                try:
                    known = self.request("HEAD", target, timeout=CAP_S - waited)
                    offset = int(known.getheader("Upload-Offset") or "-1")
                    if offset >= 0:
                        sent = self.request(
                            "PATCH",
                            target,
                            data[offset : offset + (64 << 10)],
                            timeout=CAP_S - waited,
                            **{
                                "Upload-Offset": str(offset),
                                "Content-Type": "application/offset+octet-stream",
                            },
                        )
                        moved = int(sent.getheader("Upload-Offset") or "-1")
                        if sent.status == 204 and moved > offset and moved > 2 << 20:
                            return time.perf_counter() - back
                except OSError:
                    pass
                time.sleep(0.02)
            return None
        finally:
            dying.close()


class _Window:
    """The next `length` bytes of a file, read in 1 MiB blocks by http.client."""

    def __init__(self, source: BinaryIO, length: int) -> None:
        self.source, self.left = source, length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.source.read(size)
        self.left -= len(data)
        return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def rushes_server(root: Path) -> Server:
    """A fresh base with one crew member's token; served by `rushes serve`."""
    env = {
        **os.environ,
        "RUSHES_DATA_DIR": str(root / "rushes"),
        "RUSHES_DATABASE_URL": f"sqlite:///{root / 'rushes' / 'catalog.sqlite3'}",
        "RUSHES_WORKERS": "1",
        "RUSHES_ACTOR": "bench",
    }
    base = open_base(load(env))
    with base.catalog.write() as session:
        project = create_project(session, "bench", "Benchmark")
        user = accounts.create_user(session, "karim", "correct horse battery")
        accounts.add_member(session, project, user, Role.CREW)
        token = accounts.create_api_token(session, user, project, "bench")
    base.close()
    return Server("rushes", [sys.executable, "-m", "rushes", "serve"], env, token)


def tuspyserver_server(root: Path) -> Server:
    command = [sys.executable, __file__, "--serve-tuspyserver", str(root / "tuspyserver")]
    return Server("tuspyserver", command, dict(os.environ), "")


def serve_tuspyserver(folder: str, port: int) -> None:
    """tuspyserver's router in a FastAPI app, run as `rushes serve` runs the base."""
    import uvicorn
    from fastapi import FastAPI
    from tuspyserver import create_tus_router

    app = FastAPI()
    app.include_router(create_tus_router(prefix="files", files_dir=folder))
    uvicorn.run(app, host=HOST, port=port, log_level="info")


def http_protocol() -> str:
    import uvicorn

    config = uvicorn.Config(app=None)  # type: ignore[arg-type]
    config.load()
    return str(config.http_protocol_class.__name__)


def to_disk(paths: list[Path], folder: Path) -> float:
    folder.mkdir()
    started = time.perf_counter()
    for path in paths:
        with open(path, "rb", buffering=0) as source, open(folder / path.name, "wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
    return time.perf_counter() - started


def timed_uploads(
    server: Server, paths: list[Path], digests: dict[Path, str]
) -> tuple[float, float]:
    """Seconds for the bytes and for the last PATCHes, summed over the files."""
    body = last = 0.0
    for path in paths:
        took = server.upload(path, digests[path])
        body, last = body + took[0], last + took[1]
    return body, last


def latency(figures: list[float | None]) -> str:
    done = [f for f in figures if f is not None]
    if not done:
        return f"none in {CAP_S:.0f} s ({len(figures)} tries)"
    text = f"median {statistics.median(done):.3f} s, max {max(done):.3f} s"
    return text + (
        f", {len(figures) - len(done)} of {len(figures)} none in {CAP_S:.0f} s"
        if len(done) < len(figures)
        else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--mib", type=int, default=128, help="size of each file")
    parser.add_argument("--rounds", type=int, default=6, help="rounds; 6 runs every order once")
    parser.add_argument("--trials", type=int, default=5, help="resume trials per case")
    parser.add_argument("--serve-tuspyserver", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_tuspyserver:
        serve_tuspyserver(args.serve_tuspyserver, args.port)
        return

    contenders = ["disk", "rushes", "tuspyserver"]
    orders = list(itertools.permutations(contenders))
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    last: dict[str, list[float]] = {name: [] for name in contenders}
    resumes: dict[str, dict[str, list[float | None]]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp, ExitStack() as up:
        root = Path(tmp)
        servers = {
            server.name: up.enter_context(server.running(root / f"{server.name}.log"))
            for server in (rushes_server(root), tuspyserver_server(root))
        }
        for turn in range(args.rounds):
            card = root / f"card-{turn}"
            card.mkdir()
            paths = make_files(card, args.files, args.mib)  # new bytes: nothing is known yet
            digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
            for name in orders[turn % len(orders)]:
                os.sync()  # earlier writeback must not land on this contender's fsyncs
                warm(paths)
                if name == "disk":  # kept, as the servers keep theirs: the disk fills alike
                    took = (to_disk(paths, root / f"disk-{turn}"), 0.0)
                else:
                    took = timed_uploads(servers[name], paths, digests)
                seconds[name].append(sum(took))
                last[name].append(took[1])
            shutil.rmtree(card)
        for name, server in servers.items():
            resumes[name] = {
                case: [server.resume(case == "hung") for _ in range(args.trials)]
                for case in ("cut", "hung")
            }

    mb = args.files * args.mib * (1 << 20) / 1e6
    print(f"files: {args.files} x {args.mib} MiB = {mb:,.0f} MB a round, one stream, loopback")
    print(f"uvicorn http protocol: {http_protocol()}")
    print(f"{args.rounds} rounds, each in another order; MB/s per round, then the median:")
    for name in contenders:
        rates = [mb / took for took in seconds[name]]
        detail = f" (last PATCH: median {statistics.median(last[name]):.2f} s)"
        print(
            f"{name + ':':13} {' '.join(f'{r:5,.0f}' for r in rates)}  median "
            f"{statistics.median(rates):5,.0f}{detail if name != 'disk' else ''}"
        )
    for against, goal in (("disk", 0.8), ("tuspyserver", 1.5)):
        ratios = [a / r for a, r in zip(seconds[against], seconds["rushes"], strict=True)]
        ratio = statistics.median(ratios)
        verdict = "OK" if ratio >= goal else "BELOW GOAL"
        print(
            f"rushes/{against} throughput: median {ratio:.2f} of rounds "
            f"{' '.join(f'{r:.2f}' for r in ratios)} (goal >= {goal}) {verdict}"
        )
    for name, cases in resumes.items():
        for case, figures in cases.items():
            done = [f for f in figures if f is not None]
            verdict = "OK" if len(done) == len(figures) and max(done) < 1 else "BELOW GOAL"
            print(f"{name} resume after a {case} link: {latency(figures)} (goal < 1 s) {verdict}")


if __name__ == "__main__":
    main()
