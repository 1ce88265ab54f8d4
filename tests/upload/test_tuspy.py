"""Uploads from the real Python tus client (tuspy): videos and random bytes into the vault, with
their custody and pipeline, and field proxies beside their originals."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tusclient.client import TusClient
from tusclient.uploader import Uploader

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, Asset, CustodyEvent, Derivative, StepState
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from tests.clips import make_video
from tests.upload.conftest import Crews, manifest, original_metadata


def client(crews: Crews, token: str | None = None) -> TusClient:
    return TusClient(crews.url, headers={"Authorization": f"Bearer {token or crews.karim}"})


def send(crews: Crews, path: Path, stop_at: int | None = None, **options: Any) -> Uploader:
    """Upload `path` with tuspy (from a stream we close: tuspy leaks the files it opens)."""
    with open(path, "rb") as stream:
        uploader = client(crews).uploader(file_stream=stream, **options)
        uploader.upload(stop_at=stop_at)
    return uploader


def test_videos_and_random_bytes_arrive_with_custody_and_pipeline(
    crews: Crews, base: Base, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "C0001.MP4", seconds=2)
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom((5 << 20) + 12345))
    listed = manifest(base, crews.film_id, video.read_bytes())  # the kit sent its manifest first
    for path, checksum in ((video, False), (noise, True)):
        meta = {**original_metadata(path.read_bytes(), f"DCIM/100/{path.name}"), "source": "card 3"}
        send(crews, path, chunk_size=1 << 20, metadata=meta, upload_checksum=checksum)
        sha256 = meta["sha256"]
        assert base.vault.local_path(sha256).read_bytes() == path.read_bytes()

    with base.catalog.read() as session:
        for path in (video, noise):
            sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            asset = session.get(Asset, sha256)
            assert asset is not None and asset.in_vault and asset.sha512
            arrival = session.scalars(
                select(Arrival).where(Arrival.asset_sha256 == sha256, Arrival.via == "upload")
            ).one()
            assert (arrival.crew, arrival.actor, arrival.source) == ("karim", "karim", "card 3")
            assert arrival.path == f"DCIM/100/{path.name}" and not arrival.duplicate
            verbs = [
                (e.verb, json.loads(e.details).get("via"))
                for e in session.scalars(
                    select(CustodyEvent)
                    .where(CustodyEvent.asset_sha256 == sha256)
                    .order_by(CustodyEvent.seq)
                )
            ]
            assert verbs[-1] == ("received", "upload")
            steps = session.scalars(select(StepState.step).where(StepState.asset_sha256 == sha256))
            assert {"probe", "proxy", "fingerprint"} <= set(steps)
        assert verbs[0][0] == "received"
        video_events = session.scalars(
            select(CustodyEvent.verb)
            .where(CustodyEvent.asset_sha256 == listed)
            .order_by(CustodyEvent.seq)
        ).all()
        assert video_events == ["manifested", "received"]  # the whole path, card to vault


def test_tuspy_resumes_where_it_stopped(crews: Crews, base: Base, tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(3 << 20))
    meta = original_metadata(path.read_bytes())
    first = send(crews, path, stop_at=1 << 20, chunk_size=1 << 20, metadata=meta)
    assert first.url is not None and first.get_offset() == 1 << 20
    # Another run of the kit, knowing only the URL: tuspy asks HEAD for the offset.
    again = send(crews, path, url=first.url, chunk_size=2 << 20)
    assert again.offset == 3 << 20
    assert base.vault.local_path(meta["sha256"]).read_bytes() == path.read_bytes()


def test_the_same_upload_twice_is_recorded_once(crews: Crews, base: Base, tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(100_000))
    meta = original_metadata(path.read_bytes())
    for _ in range(2):  # a kit that lost its state sends the same file again
        send(crews, path, metadata=meta)
    with base.catalog.read() as session:
        arrivals = session.scalars(select(Arrival).where(Arrival.via == "upload")).all()
        received = session.scalars(select(CustodyEvent).where(CustodyEvent.verb == "received"))
        assert len(arrivals) == 1 and len(received.all()) == 1


def test_a_field_proxy_never_replaces_the_base_s_own(
    crews: Crews, base: Base, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    original = make_video(card / "a.mp4", seconds=1)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    sha256 = hashlib.sha256(original.read_bytes()).hexdigest()
    run_inline(base, ["probe", "proxy"], [sha256])
    own = base.derivatives.path(sha256, "proxy-360.mp4")
    made_here = own.read_bytes()

    proxy = make_video(tmp_path / "proxy.mp4", seconds=1, seed=9)
    meta = {
        "kind": "proxy",
        "sha256": hashlib.sha256(proxy.read_bytes()).hexdigest(),
        "original": sha256,
    }
    send(crews, proxy, metadata=meta)
    assert own.read_bytes() == made_here
    with base.catalog.read() as session:
        row = session.get(Derivative, (sha256, "proxy-360.mp4"))
        assert row is not None and (row.details or {}).get("source") != "field"
    assert [p.name for p in own.parent.iterdir() if p.name.startswith(".")] == []
