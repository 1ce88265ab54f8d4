"""The same bytes brought by two crew members, over real HTTP: each is shown their own arrival
of it and no one else's, and of its notes only their own, those addressed to them and those
of the people who see the whole project, never an investigator's evidence notes. Found by a
trial: a copy brought from another account showed who filmed the clip, their card, their
file name and every note (a seized phone signed in as a volunteer would tell all that)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, User
from rushes.ingest import Ingest
from rushes.review import accounts
from rushes.review.access import Role, viewer_for
from rushes.review.names import file_name
from rushes.review.notes import Draft, add_note
from rushes.review.projects import find_project
from tests.web.conftest import PASSWORD, Footage


def note(base: Base, author: str, sha: str, body: str, category: str = "story") -> None:
    with base.catalog.write() as session:
        user = session.scalar(select(User).where(User.username == author))
        add_note(session, viewer_for(session, user, "film"), sha, Draft(body, category))


def test_two_crews_holding_the_same_bytes_see_neither_each_other_nor_the_evidence(
    base: Base,
    footage: Footage,
    login,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clip = footage.karim[0]
    with base.catalog.write() as session:
        nadia = accounts.create_user(session, "nadia", PASSWORD)
        accounts.add_member(session, find_project(session, "film"), nadia, Role.CREW)
        arrivals = session.scalars(select(Arrival).where(Arrival.asset_sha256 == clip))
        (karim_file,) = {file_name(bytes(a.path_bytes)) for a in arrivals}
    card = tmp_path / "nadia-card"
    card.mkdir()
    with base.vault.open(clip) as source, (card / "N0001.MP4").open("wb") as copy:
        shutil.copyfileobj(source, copy)
    Ingest(base, project="film", crew="nadia", source="NADIA-CARD", actor="nadia").run(walk([card]))
    note(base, "dina", clip, "Stay on the rescuer, wider")
    note(base, "ivan", clip, "Shrapnel pattern: cluster munition", category="evidence")
    note(base, "karim", clip, "Khaled is my neighbour")
    note(base, "nadia", clip, "Sent to me by a friend")

    def shown(username: str) -> tuple[str, list[str]]:
        client = login(username)
        page = client.get(f"/p/film/a/{clip}")
        assert page.status_code == 200, page.text
        threads = client.get(f"/api/p/film/a/{clip}/notes").json()["notes"]
        return page.text + client.get("/p/film/").text, sorted(t["body"] for t in threads)

    text, notes = shown("nadia")
    assert notes == ["Sent to me by a friend", "Stay on the rescuer, wider"]
    for secret in ("karim", "Khaled", "Shrapnel", karim_file):
        assert secret not in text, secret
    assert "N0001.MP4" in text and "NADIA-CARD" in text
    nadia = login("nadia")
    for words in ("Khaled", "Shrapnel", karim_file):
        found = str(nadia.get("/api/p/film/search", params={"q": words}).json()["results"])
        assert "Khaled" not in found and "Shrapnel" not in found and karim_file not in found
        director = login("dina").get("/api/p/film/search", params={"q": words}).json()
        assert words in str(director["results"]), director  # there to be found

    text, notes = shown("karim")
    assert notes == ["Khaled is my neighbour", "Stay on the rescuer, wider"]
    assert "nadia" not in text and "NADIA-CARD" not in text and "N0001" not in text

    text, notes = shown("dina")  # a director sees the whole project
    assert len(notes) == 4 and "NADIA-CARD" in text and "karim" in text
