"""A base whose originals and derivatives are both in S3 (SeaweedFS on loopback), served over
real HTTP on both databases: the player's proxy streams from the store range by range, a
derivative damaged in the store is named by verify and no longer served, and nothing of it
is kept on the server's disk."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import StepState
from rushes.ingest import Ingest
from rushes.pipeline.runner import requeue, run_inline
from rushes.pipeline.steps import STEPS
from rushes.verify import verify_derivatives
from tests.conftest import Env
from tests.s3 import SeaweedFS
from tests.web.conftest import Client, Team
from tests.web.test_status import free_port


@pytest.fixture
def env(tmp_path: Path, db_url: str, s3_server: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name, value in s3_server.env.items():  # the in-process server's boto3 reads these
        monkeypatch.setenv(name, value)
    bucket = s3_server.bucket()
    stores = {
        "RUSHES_VAULT_URL": f"s3://{bucket}/vault",
        "RUSHES_DERIVATIVES_URL": f"s3://{bucket}/c",
    }
    return Env(tmp_path / "data", db_url, {**s3_server.env, **stores})


def test_the_proxy_streams_from_s3_by_ranges_and_a_damaged_one_is_not_served(
    base: Base,
    team: Team,
    login: Callable[..., Client],
    s3_server: SeaweedFS,
    footage_clips: Path,
    tmp_path: Path,
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    shutil.copyfile(footage_clips / "a.mp4", card / "a.mp4")
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    sha = next(base.vault.hashes())
    run_inline(base, [step.name for step in STEPS], [sha])
    assert not [p for p in base.settings.derivatives_dir.rglob("*") if p.is_file()]

    bucket = base.settings.derivatives_url.removeprefix("s3://").split("/")[0]
    key = f"c/derivatives/{sha[:2]}/{sha}/proxy-360.mp4"
    client = s3_server.client()
    proxy = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    dina = login("dina")
    media = f"/p/film/a/{sha}/media/proxy-360.mp4"
    part = dina.get(media, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == proxy[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(proxy)}"
    assert part.headers["content-type"] == "video/mp4"
    assert dina.get(media, headers={"Range": "bytes=-500"}).content == proxy[-500:]
    assert dina.get(media, headers={"Range": "bytes=1000-"}).content == proxy[1000:]
    whole = dina.get(media)
    assert whole.status_code == 200 and whole.content == proxy
    beyond = dina.get(media, headers={"Range": f"bytes={len(proxy)}-"})
    assert beyond.status_code == 416
    assert dina.get(f"/p/film/a/{sha}/media/poster.webp").status_code == 200
    head = dina.head(media)  # what a player or download manager asks first
    assert head.status_code == 200 and head.headers["content-length"] == str(len(proxy))
    assert 'src="/p/film/a/' in dina.get(f"/p/film/a/{sha}").text

    client.put_object(Bucket=bucket, Key=key, Body=b"rot")
    report = verify_derivatives(base.catalog, base.derivatives)
    assert [(d.name, d.problem) for d in report.damaged] == [
        ("proxy-360.mp4", f"size is 3 bytes, recorded {len(proxy)}")
    ]
    assert dina.get(media).status_code == 404

    # The store stops answering (its address now leads nowhere): a viewer gets 503 with
    # Retry-After, not a traceback; the status page names the store that does not answer; a
    # step that needs the store waits, pending, and runs once the store is back.
    live = base.vault.backend.client, base.derivatives.client
    dead = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    base.vault.backend.client = base.derivatives.client = dead
    base.vault.backend._present.clear()
    base.vault.backend.cache.path(sha).unlink(missing_ok=True)
    poster = dina.get(f"/p/film/a/{sha}/media/poster.webp")
    assert poster.status_code == 503 and poster.headers["retry-after"] == "30"
    assert "does not answer" in poster.text and "rushes-" not in poster.text
    ada = login("ada")
    assert 'id="store-list"' in ada.get("/status").text
    stores = ada.get("/api/status").json()["stores"]
    assert [(s["what"], bool(s["problem"])) for s in stores] == [
        ("originals", True),
        ("derivatives", True),
    ]
    requeue(base, ["fingerprint"], outdated_only=False, assets=[sha])
    [waiting] = run_inline(base, ["fingerprint"], [sha])
    assert waiting.status == "waiting" and "waiting for the store" in (waiting.note or "")
    assert run_inline(base, ["fingerprint"], [sha]) == []  # not before a minute has passed
    base.vault.backend.client, base.derivatives.client = live
    with base.catalog.write() as session:  # a minute later
        session.get(StepState, (sha, "fingerprint")).lease_until = None
    [done] = run_inline(base, ["fingerprint"], [sha])
    assert done.status == "done"
    assert ada.get("/api/status").json()["stores"][0]["problem"] is None
