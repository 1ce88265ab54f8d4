"""Fifty-odd real and random files through a relay that keeps cutting the link, with `rushes
serve` SIGKILLed and restarted mid-run: every file arrives byte-exact, and once. Then how soon
bytes flow again when a dead link comes back: at once, not after the dead PATCH's 60 s idle
timeout (the 1 s goal itself is measured by bench/upload.py, not asserted on a busy machine)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, CustodyEvent
from tests.clips import make_video
from tests.conftest import Env
from tests.upload.conftest import enrol, original_metadata
from tests.upload.test_faults import serving
from tests.web.test_status import free_port

SEED = 5


@dataclass
class Link:
    """One relayed connection: the crew's socket and the one to the server."""

    client: socket.socket
    server: socket.socket
    cut_up: int | None  # cut after this many bytes towards the server
    cut_down: int | None  # ...or after this many bytes of the reply
    closed: bool = False
    opened: float = field(default_factory=time.monotonic)
    request: bytes = b""  # its first request line, for the timeline
    answered: float = 0.0  # when the first reply byte came back


@dataclass
class Relay:
    """A TCP relay on loopback between the field kit and the base that breaks the link.

    Each connection draws its fate from a seeded RNG: with probability `cut` the bytes towards
    the server stop after a random count from 16 to `up_to` (in the request line, the headers or
    the body), and with probability `cut_reply` the reply stops before its status code is whole (a
    request that happened, whose answer the kit never hears; http.client takes a reply cut any
    later for a whole one, and tuspy then reads a 204 without Upload-Offset). `outage()` refuses
    new connections and drops the live ones until `restore()`; with `hang` the server's side of
    each stays open and silent, as when a link dies without a FIN reaching the server. Bytes are
    passed on unchanged, Host header included, so the Location the base builds points back
    through the relay.
    """

    target: int
    cut: float = 0.0
    up_to: int = 0
    cut_reply: float = 0.0
    rate: float | None = None  # bytes a second towards the server, or unlimited
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    cuts: int = 0
    forwarded: int = 0  # bytes passed towards the server, all connections
    down: bool = False
    hang: bool = False
    links: list[Link] = field(default_factory=list)
    history: list[Link] = field(default_factory=list)
    hung: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def outage(self, *, hang: bool = False) -> None:
        with self.lock:
            self.down, self.hang = True, hang
            for link in self.links:
                self._close(link)

    def restore(self) -> None:
        with self.lock:
            self.down = False

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            self.hang = False
            for link in self.links:
                self._close(link)
            for sock in self.hung:
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:  # the base is down
                client.close()
                continue
            cut_up = None
            if self.rng.random() < self.cut:  # log-uniform: as many in headers as in bodies
                cut_up = int(2 ** self.rng.uniform(4, math.log2(self.up_to)))
            cut_down = self.rng.randrange(12) if self.rng.random() < self.cut_reply else None
            link = Link(client, server, cut_up, cut_down)
            with self.lock:
                self.links = [*(old for old in self.links if not old.closed), link]
                self.history.append(link)
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, False), daemon=True).start()

    def _pump(self, link: Link, up: bool) -> None:
        src, dst = (link.client, link.server) if up else (link.server, link.client)
        limit = link.cut_up if up else link.cut_down
        moved, started = 0, time.monotonic()
        try:
            while data := src.recv(1 << 16):
                if up and not link.request:
                    link.request = data.split(b"\r\n", 1)[0][:60]
                if not up and not link.answered:
                    link.answered = time.monotonic()
                if limit is not None and moved + len(data) >= limit:
                    dst.sendall(data[: limit - moved])
                    with self.lock:
                        self.cuts += 1
                    break
                dst.sendall(data)
                moved += len(data)
                if up:
                    with self.lock:
                        self.forwarded += len(data)
                    if self.rate:
                        time.sleep(max(0.0, started + moved / self.rate - time.monotonic()))
        except OSError:
            pass
        with self.lock:
            self._close(link)

    def timeline(self, since: float) -> str:
        """Each connection opened after `since`: when, what it asked, when the reply began."""
        return "\n".join(
            f"{link.opened - since:+.3f} s {link.request.decode('latin-1')!r}, reply at "
            + (f"{link.answered - since:+.3f} s" if link.answered else "none")
            for link in self.history
            if link.opened >= since
        )

    def _close(self, link: Link) -> None:
        """Drop both ends (under the lock); in a hanging outage the server's end stays open."""
        if link.closed:
            return
        link.closed = True
        ends = [link.client] if self.hang else [link.client, link.server]
        if self.hang:
            self.hung.append(link.server)
        for sock in ends:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def deliver(
    url: str, token: str, path: Path, meta: dict[str, str], chunk: int, give_up: float
) -> int:
    """Upload `path` with tuspy the way a field kit does on a bad link: after any failure, a
    new uploader knowing only the upload's URL asks HEAD where to go on. Returns the attempts."""
    client = TusClient(url, headers={"Authorization": f"Bearer {token}"})
    location: str | None = None
    attempt = 0
    while True:
        attempt += 1
        try:
            with open(path, "rb") as stream:
                uploader = client.uploader(
                    file_stream=stream, url=location, metadata=meta, chunk_size=chunk
                )
                if uploader.url is None:
                    uploader.set_url(uploader.create_url())
                location = uploader.url
                uploader.upload()
            return attempt
        except TusCommunicationError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.02)


def make_files(folder: Path) -> dict[Path, str]:
    """Ten short videos and forty-two random files from 0 bytes to 4 MiB (log-uniform)."""
    rng = random.Random(SEED)
    files = [make_video(folder / f"C{n:04}.MP4", seconds=1, seed=n) for n in range(10)]
    for n, size in enumerate([0, 1, *(int(2 ** rng.uniform(10, 22)) for _ in range(40))]):
        files.append(folder / f"noise-{n:02}.bin")
        files[-1].write_bytes(rng.randbytes(size))
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def partial_uploads(upload_dir: Path) -> list[Path]:
    """Uploads with some bytes stored but not yet complete (a PATCH is under way)."""
    found = []
    for info in upload_dir.glob("*/info.json"):
        data = info.with_name("data")
        with contextlib.suppress(FileNotFoundError):
            if data.stat().st_size > 0 and not info.with_name("outcome.json").exists():
                found.append(data)
    return found


def test_fifty_files_through_cuts_and_a_sigkill_arrive_once_and_exact(
    env: Env, tmp_path: Path
) -> None:
    port = free_port()
    with env.open() as base:
        crews = enrol(base, "")  # the URL is the relay's, made below
        upload_dir = base.settings.upload_dir
    card = tmp_path / "card"
    card.mkdir()
    files = make_files(card)
    log = tmp_path / "serve.log"
    done: list[int] = []
    give_up = time.monotonic() + 75

    def send(path: Path) -> None:
        meta = {"kind": "original", "sha256": files[path], "filename": f"DCIM/100/{path.name}"}
        chunk = random.Random(path.name).choice([256 << 10, 1 << 20, 1 << 30])
        done.append(deliver(f"{relay.url}/files/", crews.karim, path, meta, chunk, give_up))

    with Relay(port, cut=0.5, up_to=3 << 20, cut_reply=0.1) as relay, ThreadPoolExecutor(3) as pool:
        with serving(env, port, log) as server:
            sent = [pool.submit(send, path) for path in files]
            wait_for(lambda: len(done) >= 20, 60, "20 files before the SIGKILL")
            wait_for(lambda: bool(partial_uploads(upload_dir)), 20, "an upload under way")
            server.send_signal(signal.SIGKILL)
            server.wait()
        killed_at = len(done)
        with serving(env, port, log):
            for future in sent:
                future.result()
        cuts = relay.cuts
    assert 20 <= killed_at < len(files)
    assert cuts >= 50 and sum(done) > 2 * len(files), (cuts, sum(done))

    with env.open() as base, base.catalog.read() as session:
        assert_stored_once(base, session, set(files.values()))


def assert_stored_once(base: Base, session: Session, shas: set[str]) -> None:
    """Each file is in the vault byte-exact, its SHA-512 (hashed as the bytes arrived, across
    cuts) right, with one upload arrival and one `received`."""
    for sha256 in shas:
        with base.vault.open(sha256) as stored:
            data = stored.read()
        assert hashlib.sha256(data).hexdigest() == sha256
        asset = session.get(Asset, sha256)
        assert asset is not None and asset.sha512 == hashlib.sha512(data).hexdigest()
    arrivals = session.execute(
        select(Arrival.asset_sha256, func.count()).group_by(Arrival.asset_sha256)
    ).all()
    assert dict(arrivals) == dict.fromkeys(shas, 1)
    received = session.execute(
        select(CustodyEvent.asset_sha256, func.count())
        .where(CustodyEvent.verb == "received")
        .group_by(CustodyEvent.asset_sha256)
    ).all()
    assert dict(received) == dict.fromkeys(shas, 1)
    assert set(session.scalars(select(Asset.sha256).where(Asset.in_vault))) == shas


def stored(upload_dir: Path) -> int:
    """Bytes the base holds of the one upload in `upload_dir`: 0 before it exists, its length
    once it concluded."""
    for info in upload_dir.glob("*/info.json"):
        if info.parent.suffix:  # still being made (.new)
            continue
        try:
            return info.with_name("data").stat().st_size
        except FileNotFoundError:
            return int(json.loads(info.read_text())["length"])
    return 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the catalog plays no part here
@pytest.mark.parametrize("hang", [False, True], ids=["cut", "hung"])
def test_bytes_flow_within_a_second_of_the_link_coming_back(
    env: Env, tmp_path: Path, hang: bool
) -> None:
    """The link dies mid-PATCH (closed, or hung: the base never hears of it) for 1.5 s, while
    the kit retries every 20 ms. Timed from the link's return to the base storing a byte it did
    not have before, read from the upload's data file: a HEAD would take the upload back from
    the very PATCH being timed. `rushes serve` runs in its own process, as in the field, so the
    relay and the client here do not slow it down (one GIL)."""
    port = free_port()
    with env.open() as base:
        crews = enrol(base, "")
        upload_dir = base.settings.upload_dir
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(24 << 20))
    meta = original_metadata(path.read_bytes())
    with (
        serving(env, port, tmp_path / "serve.log"),
        Relay(port, rate=8 << 20) as relay,
        ThreadPoolExecutor() as pool,
    ):
        url = f"{relay.url}/files/"
        sending = pool.submit(deliver, url, crews.karim, path, meta, 1 << 30, time.monotonic() + 60)
        wait_for(lambda: stored(upload_dir) >= 4 << 20, 30, "4 MiB sent")
        relay.outage(hang=hang)
        time.sleep(1.5)
        before = relay.forwarded  # every byte the base may hold so far, and then some (headers)
        relay.rate = None  # the first MiB after the return reaches the disk at once
        relay.restore()
        reopened = time.monotonic()
        wait_for(lambda: stored(upload_dir) > before, 10, "bytes after the link came back")
        resumed = time.monotonic() - reopened
        sending.result()
    assert resumed < 5.0, (
        f"the next byte was stored {resumed:.2f} s after the link came back; connections since:\n"
        + relay.timeline(reopened)
    )
    with env.open() as base, base.vault.open(meta["sha256"]) as kept:
        assert kept.read() == path.read_bytes()
