"""A crew member's page of notes and assignments, and the field kit's JSON of the same."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import (
    Arrival,
    Asset,
    Assignment,
    AssignmentUser,
    Note,
    Project,
    User,
    utcnow,
)
from rushes.review import accounts
from rushes.review.access import Role
from tests.tls import TLS


def _asset(session, project: Project, crew: str, n: int) -> str:
    sha = f"{n:064x}"
    session.add(Asset(sha256=sha, sha512="0" * 128, size=1, kind="video"))
    session.add(
        Arrival(
            asset_sha256=sha,
            project_id=project.id,
            crew=crew,
            path=f"{n}.mp4",
            path_bytes=b"x",
            path_key=sha,
            size=1,
            actor="test",
        )
    )
    return sha


def _inbox(base: Base) -> dict[str, Any]:
    """Karim's world: his clip and rami's in "film", omar's in "other", where karim is crew too.

    Returns the note ids by name and a film field-kit token for karim (as "token").
    """
    now = utcnow()
    with base.catalog.write() as session:
        users = {u.username: u for u in session.scalars(select(User)).all()}
        film = session.scalar(select(Project).where(Project.slug == "film"))
        other = session.scalar(select(Project).where(Project.slug == "other"))
        accounts.add_member(session, other, users["karim"], Role.CREW)
        his, ramis = _asset(session, film, "karim", 1), _asset(session, film, "rami", 2)
        elsewhere = _asset(session, other, "omar", 3)

        def note(author: str, sha: str, body: str, minutes: int, **extra) -> Note:
            row = Note(
                project_id=(other if sha == elsewhere else film).id,
                asset_sha256=sha,
                author_id=users[author].id,
                body=body,
                category="framing",
                created_at=now - timedelta(minutes=minutes),
                **extra,
            )
            session.add(row)
            return row

        notes = {
            "on_his": note(
                "dina",
                his,
                "<script>alert(1)</script> get closer",
                50,
                start=96,
                end=120,
                rate="30/1",
            ),
            "to_him": note(
                "dina", ramis, "film the same corner", 40, addressed_to_id=users["karim"].id
            ),
            "resolved": note("ivan", his, "sound is clipped", 10, resolved_at=now),
            "not_his": note("dina", ramis, "for rami only", 5),
            "own": note("karim", his, "my own remark", 3),
            "other": note(
                "omar", elsewhere, "from the other project", 20, addressed_to_id=users["karim"].id
            ),
        }
        for project, title in ((film, "Follow Khaled"), (other, "Other job")):
            work = Assignment(project_id=project.id, title=title, created_by_id=users["ada"].id)
            session.add(work)
            session.flush()
            session.add(AssignmentUser(assignment_id=work.id, user_id=users["karim"].id))
        session.flush()
        ids = {name: row.id for name, row in notes.items()}
        ids["token"] = accounts.create_api_token(session, users["karim"], film, "laptop")
    return ids


def test_me_page_lists_what_is_waiting_for_the_crew_member(base, login, team):
    ids = _inbox(base)
    karim = login("karim")
    page = karim.get("/me")
    assert page.status_code == 200
    assert len(page.content) < 150_000
    assert (
        'name="viewport"' in page.text
        and "<script" not in page.text.split("<main>")[1].split("</main>")[0]
    )
    assignments, notes = page.text.split('id="my-notes"')
    assert "Follow Khaled" in assignments and "Other job" in assignments
    assert 'value="done"' in assignments and 'name="back" value="me"' in assignments
    shown = [int(i) for i in re.findall(r'class="me-card my-note[^"]*" data-id="(\d+)"', notes)]
    # Unresolved first, newest first; never his own notes nor notes meant for others.
    assert shown == [ids["other"], ids["to_him"], ids["on_his"], ids["resolved"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; get closer" in notes
    assert "00:00:03:06" in notes and "00:00:04:00" in notes  # frames 96-120 at 30 fps
    assert f'href="/p/film/a/{1:064x}#t=3.200"' in notes
    assert "dina" in notes and "framing" in notes

    # The director sees none of it: nothing addressed to her, she shot nothing.
    dina_page = login("dina").get("/me").text
    assert 'class="me-card my-note' not in dina_page and "No assignments for you." in dina_page


def test_field_kit_token_gets_only_its_projects_notes(base, server, login, team):
    ids = _inbox(base)
    headers = {"Authorization": f"Bearer {ids['token']}"}
    with httpx.Client(base_url=server, headers=headers, verify=TLS) as kit:
        response = kit.get("/api/me/notes")
        assert response.status_code == 200
        body = response.json()
        got = [note["id"] for note in body["notes"]]
        assert got == [ids["to_him"], ids["on_his"], ids["resolved"]]  # not "other"'s note
        assert [a["title"] for a in body["assignments"]] == ["Follow Khaled"]
        first = next(note for note in body["notes"] if note["id"] == ids["on_his"])
        assert first["in"] == "00:00:03:06" and first["author"] == "dina"
        assert first["body"].startswith("<script>")  # JSON carries the text as written
        assert body["last_note_id"] == max(got)

        # Cursors: after a note id, after a time; junk is refused.
        newer = kit.get("/api/me/notes", params={"since": str(ids["on_his"])}).json()
        assert [note["id"] for note in newer["notes"]] == [ids["to_him"], ids["resolved"]]
        assert kit.get("/api/me/notes", params={"since": str(max(got))}).json()["notes"] == []
        later = kit.get("/api/me/notes", params={"since": body["now"]}).json()
        assert later["notes"] == [] and later["assignments"] == []
        recent = (utcnow() - timedelta(minutes=30)).isoformat()
        newer = kit.get("/api/me/notes", params={"since": recent}).json()
        assert [note["id"] for note in newer["notes"]] == [ids["resolved"]]
        for junk in ("yesterday", "2026-05-01T10:00:00", "-3"):
            response = kit.get("/api/me/notes", params={"since": junk})
            assert response.status_code == 400, junk
    # Signed in with a password, the same API covers every project.
    karim = login("karim")
    every = karim.get("/api/me/notes").json()
    assert ids["other"] in [note["id"] for note in every["notes"]]
    assert {a["title"] for a in every["assignments"]} == {"Follow Khaled", "Other job"}
    assert login(None).get("/api/me/notes").status_code == 401
    with httpx.Client(
        base_url=server, headers={"Authorization": "Bearer rsh_nope"}, verify=TLS
    ) as stranger:
        assert stranger.get("/api/me/notes").status_code == 401
