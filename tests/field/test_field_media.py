"""Before its original arrives, a field clip is described by the kit's own probe: the player
counts frames at the clip's real rate and the Day filter finds it by capture day. The base's
probe of the original replaces those claims; notes made meanwhile keep their moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Asset
from rushes.pipeline.runner import run_inline
from rushes.pipeline.steps import STEPS
from tests.clips import make_video
from tests.field.test_sync import Kit, sha, token_for
from tests.tls import TLS
from tests.web.conftest import Client as WebClient
from tests.web.conftest import Team

SHOT = datetime(2026, 3, 14, 23, 30, tzinfo=timezone(timedelta(hours=3)))  # 20:30 UTC


def test_kit_probe_gives_rate_and_day_until_the_original_replaces_it(
    base: Base, team: Team, server: str, login: Callable[..., WebClient], tmp_path: Path
) -> None:
    (tmp_path / "card").mkdir()
    clip = make_video(tmp_path / "card" / "C0007.mov", seconds=2, fps=25, creation_time=SHOT)
    digest = sha(clip)
    kit = Kit(tmp_path / "kit")
    kit.login(server, token_for(base, "karim", "film"))
    kit.run("import", str(tmp_path / "card"), "--source", "card 7")
    with kit.sync() as sync:
        sync.send_manifests()  # only the manifest crossed the link

    with base.catalog.read() as session:
        asset = session.get(Asset, digest)
        assert asset is not None and not asset.in_vault
        assert asset.media is not None and asset.media["from"] == "field kit"
        assert (asset.media["frame_rate"], asset.media["size"]["width"]) == ("25/1", 160)
        assert asset.captured_at == datetime(2026, 3, 14, 20, 30, tzinfo=UTC)
        assert asset.captured_offset == "+03:00"

    dina = login("dina")
    day = dina.get("/api/p/film/assets", params={"day": "2026-03-14"}).json()
    assert [a["sha256"] for a in day["assets"]] == [digest]
    player = dina.get(f"/p/film/a/{digest}")
    assert player.status_code == 200 and 'data-rate="25/1"' in player.text
    assert "as the field kit read it" in player.text

    # A note made at milliseconds (as before the rate was known) shows at 25 fps.
    made = dina.post(
        f"/api/p/film/a/{digest}/notes",
        json={"body": "the flag", "start": 1500, "rate": "1000/1"},
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert made.status_code == 201, made.text
    assert made.json()["timecode"] == "00:00:01:12"
    assert "00:00:01:12" in dina.get(f"/p/film/a/{digest}").text

    kit.run("sync", "--once")
    run_inline(base, [step.name for step in STEPS], [digest])
    with base.catalog.read() as session:
        asset = session.get(Asset, digest)
        assert asset is not None and asset.in_vault
        assert asset.media is not None and "from" not in asset.media  # the base's own probe
        assert asset.media["frame_rate"] == "25/1"
    assert "as the field kit read it" not in dina.get(f"/p/film/a/{digest}").text
    notes = dina.get(f"/api/p/film/a/{digest}/notes").json()["notes"]
    assert [n["timecode"] for n in notes] == ["00:00:01:12"]


def test_bad_claims_are_dropped_and_the_entry_still_counts(
    base: Base, team: Team, server: str
) -> None:
    token = token_for(base, "karim", "film")
    entries = [
        {
            "sha256": "a" * 64,
            "size": 10,
            "path": "A.MP4",
            "media": {"kind": "video", "frame_rate": "5000/1"},
        },
        {
            "sha256": "b" * 64,
            "size": 10,
            "path": "B.MP4",
            "media": {"kind": "video", "duration_s": -1},
        },
        {
            "sha256": "c" * 64,
            "size": 10,
            "path": "C.MP4",
            "media": {"kind": "video", "created_at": "junk"},
        },
        {
            "sha256": "d" * 64,
            "size": 10,
            "path": "D.MP4",
            "media": {"kind": "video", "width": 10**9},
        },
        {"sha256": "e" * 64, "size": 10, "path": "E.MP4", "media": {"kind": "film"}},
    ]
    answer = httpx.post(
        f"{server}/api/p/film/field/manifest",
        json={"source": "card", "entries": entries},
        headers={"Authorization": f"Bearer {token}"},
        verify=TLS,
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()["entries"]
    assert [e["status"] for e in found] == ["new"] * 5
    assert all(e["problem"].startswith("media ignored") for e in found)
    with base.catalog.read() as session:
        stored = session.scalars(select(Asset).where(Asset.in_vault.is_(False))).all()
        assert len(stored) == 5 and all(a.media is None for a in stored)
