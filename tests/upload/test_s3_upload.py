"""A crew's upload through tus (tuspy, stopped half-way and resumed) into a base whose vault is an
S3 store with Object Lock, on both databases: the original lands in the store under its hash,
locked, and the pipeline runs on it; and one upload whose PATCHes alternate between two
`rushes serve` processes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Arrival, CustodyEvent, StepState
from rushes.pipeline.runner import run_inline
from rushes.vault.s3 import S3Backend
from tests.clips import make_video
from tests.conftest import Env
from tests.s3 import SeaweedFS
from tests.upload.conftest import Crews, enrol, original_metadata
from tests.upload.test_faults import serving
from tests.upload.test_protocol import create, offset_of, patch
from tests.upload.test_tuspy import send
from tests.web.test_status import free_port


@pytest.fixture
def env(tmp_path: Path, db_url: str, s3_server: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name, value in s3_server.env.items():  # the in-process server's boto3 reads these
        monkeypatch.setenv(name, value)
    url = f"s3://{s3_server.bucket()}/vault"
    return Env(tmp_path / "data", db_url, {**s3_server.env, "RUSHES_VAULT_URL": url})


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
def test_two_serve_processes_take_alternate_patches_of_one_upload(env: Env, tmp_path: Path) -> None:
    """Two base processes (as behind a load balancer without sticky sessions) share the
    catalog, the S3 vault and the upload folder: each PATCH may land on either, and the upload
    finishes once, on whichever takes the last byte."""
    ports = [free_port(), free_port()]
    with env.open() as base:
        crews = enrol(base, f"http://127.0.0.1:{ports[0]}/files/")
    data = os.urandom(3 << 20)
    log = tmp_path / "serve.log"
    with serving(env, ports[0], log), serving(env, ports[1], log):
        location = create(crews, data).headers["Location"]
        path = location.split("/files/", 1)[1]
        urls = [f"http://127.0.0.1:{port}/files/{path}" for port in ports]
        step = 1 << 20
        for n, start in enumerate(range(0, len(data), step)):
            url = urls[n % 2]
            assert offset_of(url, crews.karim) == start  # each sees the other's bytes
            answer = patch(url, crews.karim, data[start : start + step], start)
            assert answer.status_code == 204, answer.text
    sha = hashlib.sha256(data).hexdigest()
    with env.open() as base:
        assert base.vault.quick_check(sha, len(data)).ok
        with base.vault.open(sha) as stored:
            assert stored.read() == data
        with base.catalog.read() as session:
            verbs = session.scalars(
                select(CustodyEvent.verb).where(CustodyEvent.asset_sha256 == sha)
            ).all()
    assert verbs.count("received") == 1
