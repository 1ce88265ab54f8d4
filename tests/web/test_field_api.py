"""The base's side of the field kit over real HTTP: manifests, originals still in the field,
"send original", and the original arriving later on a drive."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, Asset, CustodyEvent
from rushes.ingest import Ingest
from rushes.review import accounts
from rushes.review.access import Role
from rushes.verify import verify
from tests.clips import make_video
from tests.tls import TLS
from tests.upload.conftest import encode
from tests.web.conftest import Client, Footage, Team


def token_for(base: Base, username: str, project: str) -> str:
    with base.catalog.write() as session:
        user = session.scalar(select(accounts.User).where(accounts.User.username == username))
        found = session.scalar(select(accounts.Project).where(accounts.Project.slug == project))
        assert user is not None and found is not None
        return accounts.create_api_token(session, user, found, "laptop")


def kit(login: Callable[..., Client], token: str) -> Client:
    client = login(None)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def entry(path: Path, card: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "path": str(path.relative_to(card)),
        "mtime_ns": path.stat().st_mtime_ns,
    }


def test_manifest_then_request_then_the_drive_arrives(
    base: Base, team: Team, login: Callable[..., Client], tmp_path: Path
) -> None:
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    clips = [make_video(card / "DCIM" / f"C000{i}.MP4", seed=i) for i in (1, 2)]
    field = kit(login, token_for(base, "karim", "film"))
    manifest = {"source": "card 3", "entries": [entry(c, card) for c in clips]}

    first = field.post("/api/p/film/field/manifest", json=manifest)
    assert first.status_code == 200, first.text
    assert [e["status"] for e in first.json()["entries"]] == ["new", "new"]
    assert not any(e["in_vault"] or e["proxy"] for e in first.json()["entries"])
    again = field.post("/api/p/film/field/manifest", json=manifest)  # resent after a cut link
    assert [e["status"] for e in again.json()["entries"]] == ["listed", "listed"]
    wanted_sha = manifest["entries"][0]["sha256"]
    with base.catalog.read() as session:
        assert session.get(Asset, wanted_sha).in_vault is False
        verbs = session.scalars(
            select(CustodyEvent.verb).where(CustodyEvent.asset_sha256 == wanted_sha)
        ).all()
        assert verbs == ["manifested"]
        arrival = session.scalar(select(Arrival).where(Arrival.asset_sha256 == wanted_sha))
        assert (arrival.crew, arrival.via, arrival.path) == ("karim", "manifest", "DCIM/C0001.MP4")
    assert verify(base.catalog, base.vault, actor="t").ok  # nothing to check in the field yet

    # A director asks for one original; only karim's kit is told, and only that one.
    dina = login("dina")
    player = dina.get(f"/p/film/a/{wanted_sha}").text
    assert "original missing" in player and 'id="send-original"' in player
    asked = dina.post(f"/p/film/a/{wanted_sha}/send-original", data={"csrf": dina.csrf})
    assert asked.status_code == 303
    assert 'id="original-requested"' in dina.get(f"/p/film/a/{wanted_sha}").text
    own_page = login("karim").get(f"/p/film/a/{wanted_sha}")
    assert own_page.status_code == 200 and 'id="send-original"' not in own_page.text
    assert field.get("/api/p/film/field/wanted").json() == {"originals": [wanted_sha]}
    with base.catalog.write() as session:
        user = accounts.create_user(session, "rami", "correct horse battery")
        film = session.scalar(select(accounts.Project).where(accounts.Project.slug == "film"))
        accounts.add_member(session, film, user, Role.CREW)
    other_crew = kit(login, token_for(base, "rami", "film"))
    assert other_crew.get("/api/p/film/field/wanted").json() == {"originals": []}
    assert login("karim").post(
        f"/p/film/a/{wanted_sha}/send-original", data={"csrf": login("karim").csrf}
    ).status_code in (403, 404)

    # The card reaches the base on a drive: the originals are linked by hash.
    Ingest(base, project="film", crew="karim", source="drive 1", actor="ada").run(walk([card]))
    with base.catalog.read() as session:
        asset = session.get(Asset, wanted_sha)
        assert asset.in_vault and asset.sha512 is not None
        events = session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.asset_sha256 == wanted_sha)
            .order_by(CustodyEvent.seq)
        ).all()
        assert [e.verb for e in events][:2] == ["manifested", "received"]
        assert json.loads(events[1].details)["via"] == "ingest"
    assert field.get("/api/p/film/field/wanted").json() == {"originals": []}
    report = verify(base.catalog, base.vault, actor="t")
    assert report.ok and report.checked == 2 and report.in_field == 0
    answer = field.post("/api/p/film/field/manifest", json=manifest).json()
    assert all(e["in_vault"] for e in answer["entries"])


def test_bad_manifests_are_refused_with_reasons(
    base: Base, team: Team, login: Callable[..., Client]
) -> None:
    field = kit(login, token_for(base, "karim", "film"))
    good = {"sha256": "a" * 64, "size": 10, "path": "x.mp4"}
    cases = [
        {"entries": [{**good, "sha256": "A" * 64}]},
        {"entries": [{**good, "sha256": "a" * 63}]},
        {"entries": [{**good, "size": -1}]},
        {"entries": [{**good, "path": ""}]},
        {"entries": [good] * 10_001},
        {"entries": "nope"},
    ]
    for body in cases:
        answer = field.post("/api/p/film/field/manifest", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["detail"]
    assert field.post("/api/p/film/field/manifest", json={"entries": [good]}).status_code == 200
    clash = field.post("/api/p/film/field/manifest", json={"entries": [{**good, "size": 11}]})
    assert clash.status_code == 400 and "hash the file again" in clash.json()["detail"]
    assert field.post("/api/p/other/field/manifest", json={"entries": [good]}).status_code == 403
    anonymous = login(None).post("/api/p/film/field/manifest", json={"entries": [good]})
    assert anonymous.status_code == 401


def test_a_hash_alone_opens_no_other_project(
    base: Base, team: Team, footage: Footage, login: Callable[..., Client]
) -> None:
    """Knowing a clip's SHA-256 (from a court filing, say) must not bring it into a project."""
    film_sha = footage.others[0]
    with base.catalog.read() as session:
        size = session.get(Asset, film_sha).size
    outsider = kit(login, token_for(base, "omar", "other"))
    for claimed in (size, size + 1):  # right or wrong size: the same answer as for a new file
        answer = outsider.post(
            "/api/p/other/field/manifest",
            json={"entries": [{"sha256": film_sha, "size": claimed, "path": "x.mp4"}]},
        )
        assert answer.status_code == 200
        assert answer.json()["entries"] == [
            {"sha256": film_sha, "status": "new", "in_vault": False, "proxy": False}
        ]
    omar = login("omar")
    assert omar.get(f"/p/other/a/{film_sha}").status_code == 404
    assert omar.get(f"/p/other/a/{film_sha}/original").status_code == 404
    with base.catalog.read() as session:
        projects = {a.project.slug for a in session.get(Asset, film_sha).arrivals}
        verbs = session.scalars(
            select(CustodyEvent.verb).where(CustodyEvent.asset_sha256 == film_sha)
        ).all()
    assert projects == {"film"} and "manifested" not in verbs


def test_a_hash_and_size_give_no_crew_another_crews_clip(
    base: Base, team: Team, footage: Footage, login: Callable[..., Client], server: str
) -> None:
    """Karim knows the hash of rami's clip (same project) and guesses its size: he gains nothing,
    learns no size, and no custody event says he listed it; the tus server says no size either."""
    rami_sha = footage.others[0]
    with base.catalog.read() as session:
        size = session.get(Asset, rami_sha).size
    field = kit(login, token_for(base, "karim", "film"))
    for claimed in (0, size):
        answer = field.post(
            "/api/p/film/field/manifest",
            json={"entries": [{"sha256": rami_sha, "size": claimed, "path": "x.mp4"}]},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["entries"] == [
            {"sha256": rami_sha, "status": "new", "in_vault": False, "proxy": False}
        ]
    upload = httpx.post(
        f"{server}/files/",
        headers={
            "Tus-Resumable": "1.0.0",
            "Authorization": field.headers["Authorization"],
            "Upload-Length": "1",
            "Upload-Metadata": encode(kind="original", sha256=rami_sha, filename="x.mp4"),
        },
        verify=TLS,
    )
    assert upload.status_code == 201 and str(size) not in upload.text
    karim = login("karim")
    assert karim.get(f"/p/film/a/{rami_sha}").status_code == 404
    assert rami_sha not in karim.get("/api/p/film/assets").text
    with base.catalog.read() as session:
        crews = {a.crew for a in session.get(Asset, rami_sha).arrivals}
        actors = session.scalars(
            select(CustodyEvent.actor).where(
                CustodyEvent.asset_sha256 == rami_sha, CustodyEvent.verb == "manifested"
            )
        ).all()
    assert crews == {"rami"} and actors == []
