"""Evidence bags from the incident page over real HTTP: who may make one, the background job
followed as JSON until done, the zip downloaded, checked by bagit and by its own verifier
under a plain python3, each step in the custody log; and a failed job saying why."""

from __future__ import annotations

import json
import re
import subprocess
import time
import zipfile
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, CustodyEvent, User
from rushes.custody import Verb
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from rushes.review.access import viewer_for
from rushes.review.incidents import create_incident, link_asset
from tests.clips import make_video
from tests.exports.test_evidence import PYTHON

CODE = "ALP-1"
JOB = re.compile(r'data-status="/api/p/film/bags/([0-9a-f]{16})"')


@pytest.fixture
def bagged(base: Base, team, tmp_path: Path) -> list[str]:
    """Two real clips shot by karim, probed, linked to incident ALP-1 by investigator ivan."""
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4", seconds=1, seed=21, gps=(36.2, 37.1))
    make_video(card / "b.mp4", seconds=1, seed=22)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    with base.catalog.write() as session:
        ivan = session.scalar(select(User).where(User.username == "ivan"))
        viewer = viewer_for(session, ivan, "film")
        raw = {"title": "Strike", "type": "airstrike", "started_at": "2016-04-12T09:30:00+03:00"}
        create_incident(session, viewer, {**raw, "code": CODE})
        shas = []
        for arrival in session.scalars(select(Arrival).order_by(Arrival.path)):
            link_asset(session, viewer, CODE, arrival.asset_sha256, "strike")
            shas.append(arrival.asset_sha256)
    run_inline(base, ["probe"], shas)
    return shas


def finished(client, job: str) -> dict:
    """Poll the job's JSON until it ends (a bound, not a timing claim)."""
    deadline = time.monotonic() + 180
    while True:
        status = client.get(f"/api/p/film/bags/{job}").json()
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def start(client, **options: str) -> str:
    data = {"csrf": client.csrf, **options}
    response = client.post(f"/p/film/incidents/{CODE}/bag", data=data)
    assert response.status_code == 303, response.text
    page = client.get(f"/p/film/incidents/{CODE}").text
    return JOB.findall(page)[0]  # newest first


def check_bag(zipped: Path, tmp_path: Path) -> Path:
    """Unzip, then validate with bagit and with the bag's own verifier under a plain python3."""
    folder = tmp_path / f"unzipped-{zipped.stem}"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(folder)
    (bag,) = list(folder.iterdir())
    bagit.Bag(str(bag)).validate()
    result = subprocess.run(
        [PYTHON, "-I", "verify_bag.py", "."],
        cwd=bag,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.startswith("VERIFIED: "), result.stdout
    return bag


def events(base: Base, verb: str) -> list[CustodyEvent]:
    with base.catalog.read() as session:
        query = select(CustodyEvent).where(CustodyEvent.verb == verb)
        return list(session.scalars(query))


# an organisation's; tests/exports/test_evidence.py bags an incident on both
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_investigator_makes_and_downloads_the_incidents_bag(
    base: Base, login, bagged: list[str], tmp_path: Path
) -> None:
    for name in ("karim", "dina"):  # crew and directors may not take originals
        client = login(name)
        refused = client.post(f"/p/film/incidents/{CODE}/bag", data={"csrf": client.csrf})
        assert refused.status_code == 403
        assert 'id="bag-form"' not in client.get(f"/p/film/incidents/{CODE}").text
    ivan = login("ivan")
    job = start(ivan)
    status = finished(ivan, job)
    assert status["state"] == "done", status
    assert status["file"] == f"film-{CODE}-evidence.zip"
    assert login("dina").get(f"/api/p/film/bags/{job}").status_code == 403
    assert login("omar").get(f"/api/p/film/bags/{job}").status_code == 404

    made = events(base, Verb.EXPORTED)
    assert sorted(e.asset_sha256 for e in made) == sorted(bagged)
    assert {(e.actor, json.loads(e.details)["incident"]) for e in made} == {("ivan", CODE)}
    assert events(base, Verb.ORIGINAL_DOWNLOADED) == []

    response = ivan.get(f"/p/film/bags/{job}/download")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    zipped = tmp_path / status["file"]
    zipped.write_bytes(response.content)
    bag = check_bag(zipped, tmp_path)
    assert sorted(p.name[:64] for p in (bag / "data" / "originals").iterdir()) == sorted(bagged)
    assert "a.mp4" in (bag / "README.txt").read_text(encoding="utf-8")

    taken = events(base, Verb.ORIGINAL_DOWNLOADED)
    assert sorted(e.asset_sha256 for e in taken) == sorted(bagged)
    for event in taken:
        details = json.loads(event.details)
        assert event.actor == "ivan" and details["bag"] == status["file"]
        assert details["tag_manifest_sha256"] == json.loads(made[0].details)["tag_manifest_sha256"]


def test_a_failed_bag_says_why_on_the_page(base: Base, login, bagged: list[str], env) -> None:
    vault_copy = (env.vault / "originals").joinpath(bagged[0][:2], bagged[0][2:4], bagged[0])
    vault_copy.chmod(0o644)
    data = bytearray(vault_copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    vault_copy.write_bytes(bytes(data))
    ivan = login("ivan")
    job = start(ivan)
    status = finished(ivan, job)
    assert status["state"] == "failed"
    assert "no longer matches its hash" in status["error"]
    page = ivan.get(f"/p/film/incidents/{CODE}").text
    assert "no longer matches its hash" in page
    assert ivan.get(f"/p/film/bags/{job}/download").status_code == 404
    assert events(base, Verb.EXPORTED) == []
    assert not list((env.data_dir / "jobs" / "bags" / job).glob("*.zip"))


def test_a_bag_for_outside_eyes_leaves_out_place_device_and_crew_names(
    base: Base, login, bagged: list[str], tmp_path: Path
) -> None:
    ivan = login("ivan")
    page = ivan.get(f"/p/film/incidents/{CODE}").text
    assert 'name="no_location"' in page and 'name="pseudonymise_crew"' in page
    job = start(ivan, no_location="1", pseudonymise_crew="1")
    status = finished(ivan, job)
    assert status["state"] == "done", status
    zipped = tmp_path / status["file"]
    zipped.write_bytes(ivan.get(f"/p/film/bags/{job}/download").content)
    bag = check_bag(zipped, tmp_path)
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "Location-And-Device-Metadata: removed" in info and "Crew-Names: pseudonyms" in info
    for path in bag.rglob("*"):
        if path.is_file() and "originals" not in path.parts:
            assert b"karim" not in path.read_bytes(), path
    (made,) = {json.loads(e.details)["crew_pseudonyms"] for e in events(base, Verb.EXPORTED)}
    assert made and made in info
