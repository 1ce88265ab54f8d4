"""Share previews and share copies from the player over real HTTP: a director previews a clip
with a face (on SQLite; the CLI shares on PostgreSQL), the job followed as JSON, the preview
served and read back frame by frame, a redaction drops the preview, the share copy is made in
the background and downloaded as a zip whose copy carries nothing identifying, with its
`shared` custody event; crew see the clip's redactions and none of the buttons, and are refused
(on both databases); a failed preview says why."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import CustodyEvent, Derivative
from rushes.custody import Verb
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from tests.exports.test_share import assert_carries_nothing_identifying
from tests.faces import FaceClip, decoded, face_clip, hidden_share
from tests.shared import once
from tests.web.conftest import Client, Team

# A name badge a director boxed over the first two seconds.
BADGE = {
    "kind": "region",
    "start": 0,
    "end": 2,
    "label": "badge",
    "keyframes": [{"t": 0, "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}],
}
# What the clip's name and tags say, none of which may reach a copy.
SECRETS = (b"KARIM", b"clinic", b"Acme", b"ZPhone", b"36.20", b"2016")


@dataclass(frozen=True)
class Faced:
    sha256: str
    shot: FaceClip

    @property
    def player(self) -> str:
        return f"/p/film/a/{self.sha256}"


@pytest.fixture(scope="session")
def face_footage(request: pytest.FixtureRequest) -> FaceClip:
    """Two seconds of a face drifting over rubble (10 frames a second, 320x180: small, so
    finding faces in every frame stays quick), with a phone's GPS, make, model and date;
    written once for the run."""

    def make(folder: Path) -> FaceClip:
        return face_clip(
            folder / "KARIM_0412_clinic.mp4",
            seconds=2.0,
            fps=10,
            size=(320, 180),
            heights=(60, 90),
            gps=(36.2021, 37.1343),
            creation_time=datetime(2016, 4, 12, 9, 30, tzinfo=UTC),
            make="Acme",
            model="ZPhone 9",
        )

    return once(request, "face-footage", make)


@pytest.fixture
def faced(base: Base, team: Team, tmp_path: Path, face_footage: FaceClip) -> Faced:
    """`face_footage` shot by crew member karim in project film, probed, with its proxies."""
    card = tmp_path / "card"
    card.mkdir()
    shutil.copyfile(face_footage.path, card / face_footage.path.name)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    sha = hashlib.sha256(face_footage.path.read_bytes()).hexdigest()
    run_inline(base, ["probe", "proxy"], [sha])
    return Faced(sha, face_footage)


def job_of(client: Client, faced: Faced, kind: str) -> str:
    """The newest job of this kind the player lists."""
    found = re.findall(
        rf"/api/p/film/a/{faced.sha256}/{kind}/([0-9a-f]{{16}})", client.get(faced.player).text
    )
    assert found, f"no {kind} job on the player page"
    return found[0]


def finished(client: Client, url: str) -> dict:
    """Poll a job's JSON until it ends (a bound, not a timing claim)."""
    deadline = time.monotonic() + 180
    while True:
        status = client.get(url).json()
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def shared_events(base: Base, sha256: str) -> list[CustodyEvent]:
    with base.catalog.read() as session:
        query = select(CustodyEvent).where(
            CustodyEvent.asset_sha256 == sha256, CustodyEvent.verb == Verb.SHARED
        )
        return list(session.scalars(query))


def unzipped_share(zipped: Path, into: Path) -> Path:
    """The share folder inside a downloaded zip: clip-001.mp4 and share.json."""
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(into)
    (folder,) = list(into.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == ["clip-001.mp4", "share.json"]
    return folder


def assert_names_no_original(names: list[str], faced: Faced) -> None:
    """No name holds 8 hex digits in a row of the original's SHA-256, its file name, its crew
    member or its project (whose name may be a place's)."""
    for name in names:
        lowered = name.lower()
        runs = [faced.sha256[i : i + 8] for i in range(len(faced.sha256) - 7)]
        assert not [run for run in runs if run in lowered], name
        assert not [word for word in ("karim", "clinic", "film") if word in lowered], name


# the faces' work costs the most; tests/exports/test_share.py shares on PostgreSQL
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_director_previews_a_clip_and_shares_it_without_faces_or_tags(
    base: Base, faced: Faced, login, tmp_path: Path
) -> None:
    dina = login("dina")
    page = dina.get(faced.player).text
    assert 'id="preview-form"' in page and 'id="share-form"' in page and 'id="redact-tools"' in page

    # The preview: one job however often it is asked for while it renders.
    for _ in range(2):
        started = dina.post(f"{faced.player}/previews", data={"csrf": dina.csrf})
        assert started.status_code == 303 and started.headers["location"].endswith("#share-copy")
    job = job_of(dina, faced, "previews")
    assert len(list((base.settings.data_dir / "jobs" / "previews" / faced.sha256).iterdir())) == 1
    status = finished(dina, f"/api/p/film/a/{faced.sha256}/previews/{job}")
    assert status["state"] == "done" and status["current"], status
    assert status["done"] == status["total"] == 100, status  # its progress was told, in %
    watching = dina.get(f"{faced.player}?copy=preview").text
    name = status["file"]
    assert (
        f'src="{faced.player}/media/{name}"' in watching and 'id="redaction-layer"' not in watching
    )
    served = dina.get(f"{faced.player}/media/{name}")
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    previewed = tmp_path / name
    previewed.write_bytes(served.content)
    assert_carries_nothing_identifying(previewed, *SECRETS)
    frames = decoded(previewed)  # the proxy keeps the original's size: the boxes hold
    originals = decoded(faced.shot.path)
    assert len(frames) == len(faced.shot.boxes)
    hidden = [
        hidden_share(o, c, faced.shot.boxes[i][0])
        for i, (o, c) in enumerate(zip(originals, frames, strict=True))
    ]
    assert min(hidden) > 0.8, hidden

    # A new redaction: the preview no longer shows what a copy hides, and is gone.
    drawn = dina.post(
        f"/api/p/film/a/{faced.sha256}/redactions",
        json={"kind": "bleep", "start": 0.5, "end": 1.0, "label": "a name"},
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert drawn.status_code == 201
    assert dina.get(f"{faced.player}/media/{name}").status_code == 404
    assert not dina.get(f"/api/p/film/a/{faced.sha256}/previews/{job}").json()["current"]
    assert 'id="preview-ready"' not in dina.get(faced.player).text
    with base.catalog.read() as session:
        assert not session.scalars(select(Derivative).where(Derivative.kind == "preview")).all()
    assert not list(base.derivatives.folder(faced.sha256).glob("preview-*"))

    # The share copy: to whom and why are required; made in the background, then downloaded.
    refused = dina.post(f"{faced.player}/shares", data={"csrf": dina.csrf, "to": "Agence X"})
    assert refused.status_code == 400 and "to whom and why" in refused.text
    asked = {
        "csrf": dina.csrf,
        "to": "Agence X",
        "why": "report on the clinic",
        "pseudonymise_crew": "1",
    }
    assert dina.post(f"{faced.player}/shares", data=asked).status_code == 303
    job = job_of(dina, faced, "shares")
    status = finished(dina, f"/api/p/film/a/{faced.sha256}/shares/{job}")
    assert status["state"] == "done", status
    response = dina.get(f"{faced.player}/shares/{job}/download")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert status["file"] in response.headers["content-disposition"]
    zipped = tmp_path / status["file"]
    zipped.write_bytes(response.content)
    with zipfile.ZipFile(zipped) as archive:
        members = archive.namelist()
    assert_names_no_original([response.headers["content-disposition"], *members], faced)
    folder = unzipped_share(zipped, tmp_path / "unzipped")
    copy = folder / "clip-001.mp4"
    assert_carries_nothing_identifying(copy, *SECRETS)
    manifest = json.loads((folder / "share.json").read_text(encoding="utf-8"))
    assert (manifest["to"], manifest["why"], manifest["faces_hidden"]) == (
        asked["to"],
        asked["why"],
        True,
    )
    entry = manifest["copies"][0]
    assert entry["crew"][0].startswith("crew-") and b"karim" not in zipped.read_bytes().lower()
    assert entry["hidden"]["frames_with_faces"] == len(faced.shot.boxes)
    assert entry["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    (event,) = shared_events(base, faced.sha256)
    details = json.loads(event.details)
    assert event.actor == "dina" and details["copy_sha256"] == entry["sha256"]
    assert (details["to"], details["why"]) == (asked["to"], asked["why"])
    assert (
        hashlib.sha256(base.vault.local_path(faced.sha256).read_bytes()).hexdigest() == faced.sha256
    )


def test_crew_see_the_redactions_but_may_not_preview_or_share(
    base: Base, faced: Faced, login
) -> None:
    dina, karim, ivan = login("dina"), login("karim"), login("ivan")
    drawn = dina.post(
        f"/api/p/film/a/{faced.sha256}/redactions",
        json=BADGE,
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert drawn.status_code == 201
    page = karim.get(faced.player).text  # karim shot it: he sees it, and what will be hidden
    assert 'class="redaction"' in page and "badge" in page
    for absent in (
        'id="redact-tools"',
        'id="share-copy"',
        'id="preview-form"',
        "redaction-delete",
        "jobs.js",
    ):
        assert absent not in page, absent
    for client in (karim, ivan):
        for path, data in (("previews", {}), ("shares", {"to": "press", "why": "a report"})):
            refused = client.post(f"{faced.player}/{path}", data={"csrf": client.csrf, **data})
            assert refused.status_code == 403, (path, refused.text)
        for url in (
            f"/api/p/film/a/{faced.sha256}/previews/{'0' * 16}",
            f"/api/p/film/a/{faced.sha256}/shares/{'0' * 16}",
            f"{faced.player}/shares/{'0' * 16}/download",
        ):
            assert client.get(url).status_code == 403, url
    assert not (base.settings.data_dir / "jobs").exists()
    assert shared_events(base, faced.sha256) == []


def test_a_failed_preview_says_why(base: Base, faced: Faced, login) -> None:
    with base.catalog.read() as session:
        proxies = session.scalars(select(Derivative.name).where(Derivative.kind == "proxy")).all()
    for name in proxies:  # damaged on disk, unnoticed: the same size, nothing playable
        path = base.derivatives.path(faced.sha256, name)
        path.write_bytes(b"\0" * path.stat().st_size)
    dina = login("dina")
    assert dina.post(f"{faced.player}/previews", data={"csrf": dina.csrf}).status_code == 303
    job = job_of(dina, faced, "previews")
    status = finished(dina, f"/api/p/film/a/{faced.sha256}/previews/{job}")
    assert status["state"] == "failed" and "cannot be read as video" in status["error"], status
    page = dina.get(faced.player).text
    assert "cannot be read as video" in page and 'id="preview-form"' in page
    assert 'id="preview-form" class="inline" hidden' not in page  # asked again, it starts again
    assert 'data-copy="proxy"' in dina.get(f"{faced.player}?copy=preview").text  # none to play
    # In Arabic: the API keeps the English for programs and says it in Arabic for the page.
    arabic = {"Accept-Language": "ar"}
    said = dina.get(f"/api/p/film/a/{faced.sha256}/previews/{job}", headers=arabic).json()
    assert "تتعذّر قراءته فيديو" in said["problem"] and "cannot be read" in said["error"], said
    assert "تتعذّر قراءته فيديو" in dina.get(faced.player, headers=arabic).text


def test_refusals_come_in_the_page_s_language(faced: Faced, login) -> None:
    """A refusal as JSON says it in English (`detail`) and in the asker's language
    (`message`, which the pages' scripts show); FastAPI's own checks are translated too."""
    dina = login("dina")
    arabic = {"Accept-Language": "ar", "X-CSRF-Token": dina.csrf}
    url = f"/api/p/film/a/{faced.sha256}/redactions"
    bad = dina.post(url, json={"kind": "smudge", "start": 0, "end": 1}, headers=arabic)
    assert bad.status_code == 400 and bad.json()["detail"].isascii(), bad.text
    assert not bad.json()["message"].isascii(), bad.text
    broken = dina.post(
        url, content=b"{not json", headers={**arabic, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "متن الطلب ليس JSON صالحاً" in broken.json()["message"]
    assert "not valid JSON" in broken.json()["detail"]
    listed = dina.post(url, json=[1, 2], headers=arabic)
    assert listed.status_code == 400 and "الطلب: ليس كائن JSON" in listed.json()["message"]
    too_long = {"csrf": dina.csrf, "to": "x" * 500, "why": "a report"}
    came_from = {**arabic, "Referer": f"{str(dina.base_url).rstrip('/')}{faced.player}"}
    page = dina.post(f"{faced.player}/shares", data=too_long, headers=came_from)
    assert page.status_code == 400 and "تعذّرت قراءة الطلب" in page.text
    assert f'<a href="{came_from["Referer"]}">' in page.text  # back, without a script
    assert "حرفاً على الأكثر" in page.text, page.text


def test_a_share_copy_of_the_marked_range_only(
    base: Base, faced: Faced, login, tmp_path: Path
) -> None:
    dina = login("dina")
    asked = {"csrf": dina.csrf, "to": "Agence X", "why": "the rescue", "keep_faces": "1"}
    unmarked = dina.post(f"{faced.player}/shares", data={**asked, "ranged": "1"})
    assert unmarked.status_code == 400 and "set the In and Out marks" in unmarked.text
    backwards = {**asked, "ranged": "1", "start": "1.5", "end": "0.5"}
    assert dina.post(f"{faced.player}/shares", data=backwards).status_code == 400
    marked = {**asked, "ranged": "1", "start": "0.5", "end": "1.5"}
    assert dina.post(f"{faced.player}/shares", data=marked).status_code == 303
    job = job_of(dina, faced, "shares")
    status = finished(dina, f"/api/p/film/a/{faced.sha256}/shares/{job}")
    assert status["state"] == "done", status
    zipped = tmp_path / status["file"]
    zipped.write_bytes(dina.get(f"{faced.player}/shares/{job}/download").content)
    folder = unzipped_share(zipped, tmp_path / "unzipped")
    entry = json.loads((folder / "share.json").read_text(encoding="utf-8"))["copies"][0]
    assert entry["range_s"] == [0.5, 1.5]
    with av.open(str(folder / "clip-001.mp4")) as copy:
        assert abs(float(copy.duration / av.time_base) - 1.0) < 0.2  # a second, not the clip's 2
    (event,) = shared_events(base, faced.sha256)
    assert json.loads(event.details)["span_s"] == [0.5, 1.5]
