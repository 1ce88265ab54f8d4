"""A crew's upload through tus (tuspy, stopped half-way and resumed) into a base whose vault is an
S3 store with Object Lock, on both databases: the original lands in the store under its hash,
locked, and the pipeline runs on it; and one upload whose PATCHes alternate between two
`rushes serve` processes that share no disk."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Arrival, CustodyEvent, StepState
from rushes.errors import ConfigError
from rushes.pipeline.runner import run_inline
from rushes.upload.shared import SharedUploads
from rushes.vault.s3 import S3Backend
from tests.clips import make_video
from tests.conftest import Env, vault_on
from tests.s3 import SeaweedFS
from tests.upload.conftest import Crews, enrol, original_metadata
from tests.upload.test_faults import resume_with_tuspy, serving
from tests.upload.test_protocol import create, offset_of, patch
from tests.upload.test_tuspy import send
from tests.web.test_status import free_port


@pytest.fixture
def env(tmp_path: Path, db_url: str, s3_server: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Env:
    return vault_on(s3_server, tmp_path, db_url, monkeypatch)


def test_a_resumed_upload_lands_in_the_store_locked_and_is_processed(
    crews: Crews, base: Base, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "C0007.MP4", seconds=2)
    data = video.read_bytes()
    meta = original_metadata(data, "DCIM/100/C0007.MP4")
    send(crews, video, stop_at=len(data) // 2, chunk_size=64 << 10, metadata=meta)
    send(crews, video, chunk_size=1 << 20, metadata=meta)  # the kit comes back and resumes
    sha = hashlib.sha256(data).hexdigest()
    backend = base.vault.backend
    assert isinstance(backend, S3Backend)
    assert base.vault.quick_check(sha, len(data)).ok  # the store's own checksum and retention
    with base.vault.open(sha) as stored:
        assert stored.read() == data
    # The upload's file stays on this disk as the cached copy the pipeline decodes.
    assert base.settings.vault_cache_dir / sha == base.vault.local_path(sha)
    with base.catalog.read() as session:
        arrival = session.scalars(select(Arrival).where(Arrival.asset_sha256 == sha)).one()
        assert arrival.via == "upload" and arrival.crew == "karim"
    run_inline(base, ["probe", "proxy", "fingerprint"], [sha])
    with base.catalog.read() as session:
        states = dict(
            session.execute(
                select(StepState.step, StepState.status).where(StepState.asset_sha256 == sha)
            ).all()
        )
    assert states["proxy"] == states["fingerprint"] == "done", states


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_hosts_sharing_no_disk_take_alternate_patches_and_a_cut_one(
    env: Env, s3_server: SeaweedFS, tmp_path: Path
) -> None:
    """Two base processes as on two hosts behind a load balancer without sticky sessions: one
    PostgreSQL and one S3 store, each its own data folder (uploads, cache, derivatives). Each
    PATCH may land on either; a HEAD on one takes over a request hung on the other, which keeps
    and stores what arrived; the upload is taken in once, and its pieces removed."""
    bucket = env.extra["RUSHES_VAULT_URL"].removeprefix("s3://").split("/")[0]
    stores = {
        "RUSHES_UPLOAD_URL": f"s3://{bucket}/up",
        "RUSHES_DERIVATIVES_URL": f"s3://{bucket}/derived",
    }
    hosts = [
        replace(env, data_dir=tmp_path / name, extra={**env.extra, **stores})
        for name in ("host-a", "host-b")
    ]
    ports = [free_port(), free_port()]
    with hosts[0].open() as base:
        crews = enrol(base, f"http://127.0.0.1:{ports[0]}/files/")
    data = os.urandom(3 << 20)
    log = tmp_path / "serve.log"
    with serving(hosts[0], ports[0], log), serving(hosts[1], ports[1], log):
        location = create(crews, data).headers["Location"]
        path = location.split("/files/", 1)[1]
        urls = [f"http://127.0.0.1:{port}/files/{path}" for port in ports]
        step = 1 << 20
        for n, start in enumerate(range(0, 2 * step, step)):
            url = urls[n % 2]
            assert offset_of(url, crews.karim) == start  # each sees the other's bytes
            answer = patch(url, crews.karim, data[start : start + step], start)
            assert answer.status_code == 204, answer.text
        # The link to host A hangs half-way through a PATCH; the kit asks host B where to go on:
        # B takes the upload over, A keeps and stores what it got, B reports it.
        with hung_patch(ports[0], f"/files/{path}", crews.karim, data, 2 * step, 300_000):
            started = time.monotonic()
            resumed = offset_of(urls[1], crews.karim)
            took = time.monotonic() - started
        assert resumed == 2 * step + 300_000 and took < 3, (resumed, took)
        answer = patch(urls[1], crews.karim, data[resumed:], resumed)
        assert answer.status_code == 204, answer.text
        assert offset_of(urls[0], crews.karim) == len(data)  # the first host knows it is done
        assert path in os.listdir(tmp_path / "host-a/uploads")  # each host has its own copy
    sha = hashlib.sha256(data).hexdigest()
    with hosts[0].open() as base:
        assert base.vault.quick_check(sha, len(data)).ok
        with base.vault.open(sha) as stored:
            assert stored.read() == data
        with base.catalog.read() as session:
            verbs = session.scalars(
                select(CustodyEvent.verb).where(CustodyEvent.asset_sha256 == sha)
            ).all()
    assert verbs.count("received") == 1
    left = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="up/uploads/")
    assert left.get("KeyCount", 0) == 0, left.get("Contents")


@contextmanager
def hung_patch(
    port: int, path: str, token: str, data: bytes, offset: int, sent: int
) -> Iterator[None]:
    """A PATCH whose link stops after `sent` bytes of its body (and stays open)."""
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: Bearer {token}\r\nUpload-Offset: {offset}\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data) - offset}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port)) as link:
        link.sendall(head.encode() + data[offset : offset + sent])
        time.sleep(0.5)  # the server has read what came
        yield


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_shared_uploads_need_postgresql_and_a_store_that_answers(
    base: Base, s3_server: SeaweedFS
) -> None:
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        SharedUploads(
            base.catalog, f"s3://{s3_server.bucket()}/up", endpoint=s3_server.endpoint, region=""
        )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_patch_while_the_store_is_down_is_503_and_the_upload_resumes_once_it_is_back(
    db_url: str, own_s3: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tuspy sends 3 of 8 MiB; the store stops: the next PATCH gets 503 with Retry-After (not a
    500 begun before the handler failed), and HEAD still says only what the store holds; the
    store comes back, tuspy sends the rest, and the original lands byte-exact."""
    for name, value in own_s3.env.items():  # the in-process base's boto3 reads these
        monkeypatch.setenv(name, value)
    bucket = own_s3.bucket()
    stores = {"RUSHES_VAULT_URL": f"s3://{bucket}/vault", "RUSHES_UPLOAD_URL": f"s3://{bucket}/up"}
    env = Env(tmp_path / "data", db_url, {**own_s3.env, **stores})
    port = free_port()
    with env.open() as base:
        crews = enrol(base, f"http://127.0.0.1:{port}/files/")
    path = tmp_path / "C0001.MP4"
    path.write_bytes(data := os.urandom(8 << 20))
    log = tmp_path / "serve.log"
    with serving(env, port, log):
        sent = 3 << 20
        url = send(crews, path, sent, chunk_size=1 << 20, metadata=original_metadata(data)).url
        own_s3.stop()
        refused = patch(url, crews.karim, data[sent : sent + (1 << 20)], sent)
        assert refused.status_code == 503, (refused.status_code, refused.text)
        assert refused.headers["retry-after"] == "30" and "does not answer" in refused.text
        assert offset_of(url, crews.karim) == sent
        own_s3.start()
        assert resume_with_tuspy(crews, url, path) == sent
    assert "Traceback" not in log.read_text()
    with env.open() as base, base.vault.open(hashlib.sha256(data).hexdigest()) as stored:
        assert stored.read() == data
