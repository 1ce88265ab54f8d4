"""The Inbox: replies, notes to one and on one's footage, status changes by others, the crews'
arrivals for reviewers, originals asked for and received; an unread count in the header, read
marks per item and all at once, and a later change making an item unread again."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from rushes.base import Base
from rushes.catalog.models import (
    Arrival,
    Asset,
    Assignment,
    AssignmentUser,
    Note,
    Project,
    utcnow,
)
from tests.web.conftest import Client, Team, user_id

KEYS = re.compile(r'class="me-card inbox-item ([^"]*)" data-key="([^"]+)"')


def _clip(base: Base, crew: str, n: int, *, in_vault: bool = True, via: str = "ingest") -> str:
    sha = f"{n:064x}"
    with base.catalog.write() as session:
        if session.get(Asset, sha) is None:
            session.add(
                Asset(sha256=sha, sha512="0" * 128, size=1, kind="video", in_vault=in_vault)
            )
        session.add(
            Arrival(
                asset_sha256=sha,
                project_id=_film(base),
                crew=crew,
                path=f"{n}.mp4",
                path_bytes=b"x",
                path_key=f"{n:064x}",
                size=1,
                actor=crew,
                via=via,
            )
        )
    return sha


def _items(client: Client) -> dict[str, str]:
    """The inbox's items as key -> the card's classes."""
    page = client.get("/inbox")
    assert page.status_code == 200, page.text
    return {key: classes for classes, key in KEYS.findall(page.text)}


def _count(client: Client, path: str = "/settings") -> int:
    found = re.search(r'id="unread-count">(\d+)<', client.get(path).text)
    return int(found.group(1)) if found else 0


def test_notes_and_status_changes_reach_the_others_and_are_marked_read(
    base: Base, login, team: Team
) -> None:
    his = _clip(base, "karim", 1)
    with base.catalog.write() as session:
        film = session.scalar(select(Arrival.project_id).where(Arrival.asset_sha256 == his))
        root = Note(
            project_id=film,
            asset_sha256=his,
            author_id=user_id(base, "dina"),
            body="get closer",
            start=96,
            rate="30/1",
            created_at=utcnow() - timedelta(minutes=5),
        )
        work = Assignment(project_id=film, title="Follow Khaled", created_by_id=root.author_id)
        session.add_all([root, work])
        session.flush()
        session.add(AssignmentUser(assignment_id=work.id, user_id=user_id(base, "karim")))
        root_id, work_id = root.id, work.id
    dina, karim, ivan = login("dina"), login("karim"), login("ivan")

    # Karim replies in dina's thread; ivan too; then dina answers.
    for who, text in ((karim, "on it"), (ivan, "check the sound"), (dina, "thanks")):
        sent = who.post(f"/p/film/notes/{root_id}/replies", data={"csrf": who.csrf, "body": text})
        assert sent.status_code == 303, sent.text
    with base.catalog.read() as session:
        replies = dict(
            session.execute(select(Note.body, Note.id).where(Note.parent_id == root_id)).all()
        )
    # Karim moves his assignment along: dina wrote it, so she hears of it, he does not.
    moved = karim.post(
        f"/p/film/assignments/{work_id}/status",
        data={"csrf": karim.csrf, "status": "in-progress"},
    )
    assert moved.status_code == 303

    theirs = _items(dina)
    arrived = next(key for key in theirs if key.startswith("arrivals:"))  # karim's clip
    assert set(theirs) == {
        arrived,
        f"note:{replies['on it']}",
        f"note:{replies['check the sound']}",
        f"status:{work_id}",
    }
    assert all("unread" in classes for classes in theirs.values())
    page = dina.get("/inbox").text
    assert "karim set “Follow Khaled” to" in page and "in-progress" in page
    assert f'href="/p/film/assignments/{work_id}"' in page
    assert "<script" not in page.split("<main>")[1].split("</main>")[0]
    assert _count(dina) == 4 and _count(dina, "/p/film/") == 4

    mine = _items(karim)
    # His clip's first note, and the replies after his own; never his own reply or status.
    assert set(mine) == {
        f"note:{root_id}",
        f"note:{replies['check the sound']}",
        f"note:{replies['thanks']}",
    }
    assert f'href="/p/film/a/{his}#t=3.200"' in karim.get("/inbox").text
    assert _count(karim, "/me") == 3

    # Mark one read: the form needs the session's CSRF token.
    key = f"note:{replies['on it']}"
    assert dina.post("/inbox/read", data={"key": key}).status_code == 403
    assert dina.post("/inbox/read", data={"csrf": dina.csrf, "key": "no such"}).status_code == 400
    done = dina.post("/inbox/read", data={"csrf": dina.csrf, "key": key})
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert "unread" not in _items(dina)[key] and _count(dina) == 3
    assert _count(karim) == 3  # read marks are per person

    assert dina.post("/inbox/read-all", data={"csrf": dina.csrf}).status_code == 303
    assert _count(dina) == 0 and 'id="read-all"' not in dina.get("/inbox").text
    # A new change of the same assignment brings its item back unread.
    karim.post(f"/p/film/assignments/{work_id}/status", data={"csrf": karim.csrf, "status": "done"})
    again = _items(dina)
    assert "unread" in again[f"status:{work_id}"] and _count(dina) == 1

    # Dina drops it from the edit page: now karim hears who changed it.
    assert f"status:{work_id}" not in _items(karim)
    dina.post(
        f"/p/film/assignments/{work_id}",
        data={
            "csrf": dina.csrf,
            "title": "Follow Khaled",
            "assignees": "karim",
            "status": "dropped",
        },
    )
    assert "unread" in _items(karim)[f"status:{work_id}"]
    assert "dina set “Follow Khaled” to" in karim.get("/inbox").text


def test_arrivals_and_originals(base: Base, login, team: Team) -> None:
    _clip(base, "karim", 1), _clip(base, "karim", 2)
    _clip(base, "karim", 2)  # the same clip again counts once
    listed = _clip(base, "karim", 3, in_vault=False, via="manifest")
    dina, ivan, karim, omar = login("dina"), login("ivan"), login("karim"), login("omar")
    today = utcnow().date().isoformat()

    for reviewer in (dina, ivan):
        page = reviewer.get("/inbox").text
        assert f"karim sent 3 clips on {today}" in page
        assert f'href="/p/film/?crew=karim&amp;day={today}"' in page
    assert not any(k.startswith("arrivals") for k in _items(karim))  # crew: not a reviewer
    assert _items(omar) == {}  # not in the project
    key = next(k for k in _items(dina) if k.startswith("arrivals:"))
    dina.post("/inbox/read", data={"csrf": dina.csrf, "key": key})
    assert "unread" not in _items(dina)[key]
    _clip(base, "karim", 4)  # a later arrival the same day
    assert "unread" in _items(dina)[key]
    assert f"karim sent 4 clips on {today}" in dina.get("/inbox").text

    # Dina asks for the original still in the field: karim is told, on the inbox and /me.
    asked = dina.post(f"/p/film/a/{listed}/send-original", data={"csrf": dina.csrf})
    assert asked.status_code == 303, asked.text
    assert "unread" in _items(karim)[f"wanted:{_film(base)}:{listed}"]
    me = karim.get("/me").text
    assert 'id="asked-originals"' in me and f'data-sha256="{listed}"' in me
    assert f"received:{_film(base)}:{listed}" not in _items(dina)

    # The bytes reach the vault: dina hears it came, karim's request goes away.
    with base.catalog.write() as session:
        session.execute(update(Asset).where(Asset.sha256 == listed).values(in_vault=True))
    _clip(base, "karim", 3, via="upload")
    received = _items(dina)
    assert "unread" in received[f"received:{_film(base)}:{listed}"]
    assert f'href="/p/film/a/{listed}"' in dina.get("/inbox").text
    assert not any(k.startswith("wanted") for k in _items(karim))
    assert 'id="asked-originals"' not in karim.get("/me").text


def _film(base: Base) -> int:
    with base.catalog.read() as session:
        found = session.scalar(select(Project.id).where(Project.slug == "film"))
    assert found is not None
    return found
