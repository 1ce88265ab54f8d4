"""Time-coded notes over real HTTP: forms without JavaScript, the JSON API, bad input."""

from __future__ import annotations

import re

from rushes.base import Base
from tests.web.conftest import Footage


def note_form(client, **fields: str) -> dict[str, str]:  # noqa: ANN001 - a test client
    return {"csrf": client.csrf, "category": "framing", "rate": "30/1", **fields}


def test_notes_replies_and_resolving(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    karim, dina = login("karim"), login("dina")
    sha = footage.karim[0]
    url = f"/p/film/a/{sha}/notes"

    posted = karim.post(
        url, data=note_form(karim, body="<script>alert(1)</script> closer", start="12")
    )
    assert posted.status_code == 303
    anchor = re.fullmatch(rf"/p/film/a/{sha}#note-(\d+)", posted.headers["location"])
    assert anchor
    note_id = anchor.group(1)
    ranged = dina.post(
        url, data=note_form(dina, body="tighter", start="30", end="45", addressed_to="karim")
    )
    assert ranged.status_code == 303

    page = dina.get(f"/p/film/a/{sha}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; closer" in page
    assert (
        f'id="note-{note_id}" data-id="{note_id}" data-start="12" data-end="" data-rate="30/1"'
        in page
    )
    assert "00:00:00:12" in page and "00:00:01:00–00:00:01:15" in page
    assert page.count('class="marker') == 2
    assert "→ karim" in page

    # Replies join the thread; resolving and reopening show on the page.
    reply = dina.post(f"/p/film/notes/{note_id}/replies", data={"csrf": dina.csrf, "body": "yes"})
    assert reply.status_code == 303 and reply.headers["location"].endswith(f"#note-{note_id}")
    resolved = karim.post(f"/p/film/notes/{note_id}/resolve", data={"csrf": karim.csrf})
    assert resolved.status_code == 303
    page = karim.get(f"/p/film/a/{sha}").text
    assert 'class="note framing resolved"' in page and "resolved by karim" in page
    assert 'class="reply"' in page and ">yes</p>" in page
    assert dina.post(f"/p/film/notes/{note_id}/reopen", data={"csrf": dina.csrf}).status_code == 303
    assert "resolved by" not in dina.get(f"/p/film/a/{sha}").text

    # JSON: the same threads, and a note written with the header token.
    threads = karim.get(f"/api/p/film/a/{sha}/notes").json()["notes"]
    assert [t["start"] for t in threads] == [12, 30]
    assert threads[0]["replies"][0]["body"] == "yes" and threads[0]["timecode"] == "00:00:00:12"
    made = dina.post(
        f"/api/p/film/a/{sha}/notes",
        json={"body": "sound drops", "category": "sound", "start": 50},
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert made.status_code == 201
    assert made.json()["author"] == "dina" and made.json()["rate"] == "30/1"


def test_bad_notes_are_refused(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    karim, dina, omar = login("karim"), login("dina"), login("omar")
    sha = footage.karim[0]
    url = f"/p/film/a/{sha}/notes"

    def refused(data: dict[str, str], status: int = 400, client=karim) -> str:  # noqa: ANN001
        answer = client.post(url, data=data)
        assert answer.status_code == status, answer.text[:300]
        return answer.text

    assert "a note needs text" in refused(note_form(karim, body="   "))
    assert "at most 4000" in refused(note_form(karim, body="x" * 4001))
    assert "give a frame number" in refused(note_form(karim, body="b", start="1.5s"))
    assert "before start" in refused(note_form(karim, body="b", start="20", end="10"))
    assert "before the clip begins" in refused(note_form(karim, body="b", start="-1"))
    assert "past the end" in refused(note_form(karim, body="b", start="3000"))
    assert "category" in refused(note_form(karim, body="b", category="gossip"))
    assert "not a member" in refused(note_form(karim, body="b", addressed_to="omar"))
    assert "form token" in refused({"body": "no token", "category": "story"}, 403)
    # The form comes back with what was typed, and the problem.
    kept = refused(note_form(karim, body="keep me", start="x"))
    assert 'id="problem"' in kept and ">keep me</textarea>" in kept

    assert (
        karim.post(
            f"/p/film/a/{footage.others[0]}/notes", data=note_form(karim, body="b")
        ).status_code
        == 404
    )
    assert (
        dina.post(f"/p/film/a/{footage.foreign}/notes", data=note_form(dina, body="b")).status_code
        == 404
    )
    assert omar.post(url, data=note_form(omar, body="b")).status_code == 404
    api = dina.post(
        f"/api/p/film/a/{sha}/notes", json={"body": ""}, headers={"X-CSRF-Token": dina.csrf}
    )
    assert api.status_code == 400 and api.json()["detail"] == "a note needs text"
    assert dina.post(f"/api/p/film/a/{sha}/notes", json={"body": "x"}).status_code == 403

    # A note addressed to karim on footage he did not shoot lets him see it, and answer it.
    other = footage.others[0]
    assert karim.get(f"/p/film/a/{other}").status_code == 404
    note = dina.post(
        f"/api/p/film/a/{other}/notes",
        json={"body": "is this yours?", "addressed_to": "karim"},
        headers={"X-CSRF-Token": dina.csrf},
    ).json()
    assert note["start"] is None and note["addressed_to"] == "karim"
    assert karim.get(f"/p/film/a/{other}").status_code == 200
    answer = {"csrf": karim.csrf, "body": "no"}
    assert karim.post(f"/p/film/notes/{note['id']}/replies", data=answer).status_code == 303

    # Another project's note is a 404 here, as is a missing one.
    omar_note = omar.post(
        f"/api/p/other/a/{footage.foreign}/notes",
        json={"body": "elsewhere"},
        headers={"X-CSRF-Token": omar.csrf},
    ).json()
    for target in (omar_note["id"], 999_999):
        for action in ("replies", "resolve", "reopen"):
            sent = dina.post(
                f"/p/film/notes/{target}/{action}", data={"csrf": dina.csrf, "body": "x"}
            )
            assert sent.status_code == 404
    assert omar.get(f"/api/p/film/a/{sha}/notes").status_code == 404
