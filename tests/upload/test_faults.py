"""Uploads through faults: a PATCH that hangs, a connection dropped mid-body, and `rushes serve`
killed with SIGKILL mid-PATCH and mid-intake, then restarted. Every file arrives byte-exact."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select
from tusclient.client import TusClient

from rushes.base import Base
from rushes.catalog.models import Arrival, CustodyEvent, StepState
from tests.conftest import RUSHES, Env
from tests.tls import TLS
from tests.upload.conftest import Crews, enrol
from tests.upload.test_protocol import create, offset_of, patch
from tests.web.test_status import free_port


def open_patch(url: str, token: str, offset: int, total: int) -> socket.socket:
    """A PATCH from a raw socket: headers sent, body to follow at the test's pace."""
    target = httpx.URL(url)
    assert target.port is not None
    sock = socket.create_connection((target.host, target.port))
    sock.sendall(
        (
            f"PATCH {target.raw_path.decode()} HTTP/1.1\r\n"
            f"Host: {target.host}:{target.port}\r\n"
            f"Tus-Resumable: 1.0.0\r\nAuthorization: Bearer {token}\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {total}\r\n\r\n"
        ).encode()
    )
    return sock


def test_head_takes_the_upload_back_from_a_hung_patch(crews: Crews, base: Base) -> None:
    data = os.urandom(3 << 20)
    url = create(crews, data).headers["Location"]
    sent = (1 << 20) + 5000
    with open_patch(url, crews.karim, 0, len(data)) as hung:
        hung.sendall(data[:sent])
        time.sleep(0.3)  # ...and then nothing: the link is down, the socket still open
        busy = patch(url, crews.karim, data[sent:], sent)
        assert busy.status_code == 423  # never two writers
        started = time.monotonic()
        assert offset_of(url, crews.karim) == sent  # every byte that arrived was kept
        # At once, not after the hung writer's 60 s idle timeout (bench/upload.py times it).
        assert time.monotonic() - started < 5.0
        done = patch(url, crews.karim, data[sent:], sent)
        assert done.status_code == 204, done.text
    assert base.vault.local_path(hashlib.sha256(data).hexdigest()).read_bytes() == data


def test_a_dropped_connection_keeps_what_arrived(crews: Crews, base: Base) -> None:
    data = os.urandom(2 << 20)
    url = create(crews, data).headers["Location"]
    with open_patch(url, crews.karim, 0, len(data)) as cut:
        cut.sendall(data[:300_000])
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while (kept := offset_of(url, crews.karim)) != 300_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kept == 300_000
    assert patch(url, crews.karim, data[kept:], kept).status_code == 204
    assert base.vault.local_path(hashlib.sha256(data).hexdigest()).read_bytes() == data


@contextmanager
def serving(env: Env, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`rushes serve` in its own process, as a base runs it."""
    with open(log, "ab") as output:
        server = subprocess.Popen(
            [*RUSHES, "serve", "--port", str(port)],
            env={**env.vars, "RUSHES_WORKERS": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", verify=TLS)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def resume_with_tuspy(crews: Crews, url: str, path: Path) -> int:
    """tuspy, knowing only the upload's URL, asks HEAD where to go on and sends the rest."""
    with open(path, "rb") as stream:
        client = TusClient(crews.url, headers={"Authorization": f"Bearer {crews.karim}"})
        uploader = client.uploader(file_stream=stream, url=url, chunk_size=1 << 20)
        resumed_at = uploader.offset
        uploader.upload()
    return resumed_at


def test_serve_killed_mid_patch_then_resumed(env: Env, tmp_path: Path) -> None:
    port = free_port()
    with env.open() as base:
        crews = enrol(base, f"http://127.0.0.1:{port}/files/")
        upload_dir = base.settings.upload_dir
    path = tmp_path / "clip.bin"
    path.write_bytes(data := os.urandom(4 << 20))
    log = tmp_path / "serve.log"

    with serving(env, port, log) as server:
        url = create(crews, data).headers["Location"]
        stored = upload_dir / url.rsplit("/", 1)[1] / "data"
        with open_patch(url, crews.karim, 0, len(data)) as slow:
            slow.sendall(data[: (2 << 20) + 777])
            deadline = time.monotonic() + 10
            while (written := stored.stat().st_size) < 1 << 20:  # the first chunk is on disk
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.01)
            server.send_signal(signal.SIGKILL)
            server.wait()

    with serving(env, port, log):
        assert resume_with_tuspy(crews, url, path) >= written
    with env.open() as base:
        sha256 = hashlib.sha256(data).hexdigest()
        assert base.vault.local_path(sha256).read_bytes() == data
        with base.catalog.read() as session:
            assert session.scalars(select(Arrival.via).where(Arrival.asset_sha256 == sha256)).all()
            assert session.scalars(select(StepState).where(StepState.asset_sha256 == sha256)).all()


def test_serve_killed_mid_intake_finishes_it_on_restart(env: Env, tmp_path: Path) -> None:
    port = free_port()
    with env.open() as base:
        crews = enrol(base, f"http://127.0.0.1:{port}/files/")
        staging = base.settings.vault_dir / "tmp"
    data = os.urandom(96 << 20)
    sha256 = hashlib.sha256(data).hexdigest()
    log = tmp_path / "serve.log"

    with serving(env, port, log):
        url = create(crews, data).headers["Location"]
        folder = env.data_dir / "uploads" / url.rsplit("/", 1)[1]
        assert patch(url, crews.karim, data[: 1 << 20], 0).status_code == 204

    # A new process holds no running digest of the first MiB: its intake hashes the whole file
    # from disk, long enough to be killed in.
    with serving(env, port, log) as server:
        failed: list[BaseException] = []

        def last_patch() -> None:
            try:
                patch(url, crews.karim, data[1 << 20 :], 1 << 20)
            except httpx.TransportError as exc:
                failed.append(exc)

        sender = threading.Thread(target=last_patch)
        sender.start()
        deadline = time.monotonic() + 60
        while not list(staging.glob("*.part")):  # the vault copy has begun
            assert time.monotonic() < deadline and sender.is_alive()
            time.sleep(0.001)
        server.send_signal(signal.SIGKILL)
        server.wait()
        sender.join()
        assert failed  # the kit never heard back
        assert (folder / "data").stat().st_size == len(data)
        assert not (folder / "outcome.json").exists()

    with serving(env, port, log):
        assert offset_of(url, crews.karim) == len(data)
        with env.open() as base:
            deadline = time.monotonic() + 30
            while not (folder / "outcome.json").exists():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert offset_of(url, crews.karim) == len(data)
            with base.vault.open(sha256) as stored:
                assert hashlib.sha256(stored.read()).hexdigest() == sha256
            with base.catalog.read() as session:
                arrivals = session.scalars(select(Arrival).where(Arrival.via == "upload")).all()
                received = session.scalars(
                    select(CustodyEvent).where(CustodyEvent.verb == "received")
                ).all()
                assert len(arrivals) == 1 and len(received) == 1
    assert not (folder / "data").exists()
