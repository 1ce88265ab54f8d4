"""Assignments over real HTTP: a director assigns crew and attaches footage; crew closes it."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from rushes.base import Base
from rushes.catalog.models import Assignment, AssignmentAsset, User
from rushes.review.access import can_see_asset, viewer_for


def _karim_sees(base: Base, sha256: str) -> bool:
    with base.catalog.read() as session:
        karim = session.scalar(select(User).where(User.username == "karim"))
        assert karim is not None
        return can_see_asset(session, viewer_for(session, karim, "film"), sha256)


def _create(client, slug: str = "film", **fields) -> int:
    data = {"csrf": client.csrf, "title": "Follow Khaled", **fields}
    response = client.post(f"/p/{slug}/assignments", data=data)
    assert response.status_code == 303, response.text
    found = re.match(rf"^/p/{slug}/assignments/(\d+)$", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def test_director_assigns_crew_who_sees_the_footage_and_closes_it(base, login, team, footage):
    dina, karim, ivan = login("dina"), login("karim"), login("ivan")
    clip = footage.others[0]  # shot by rami: karim cannot see it yet
    assert not _karim_sees(base, clip)

    title = "<script>alert(1)</script> Follow Khaled"
    assignment = _create(
        dina,
        title=title,
        brief="Market, morning.\nTight frames.",
        assignees="karim",
        due="2026-12-24",
    )
    for given in (clip, clip[:8]):  # twice is the same as once; a unique prefix names it
        response = dina.post(
            f"/p/film/assignments/{assignment}/assets", data={"csrf": dina.csrf, "sha256": given}
        )
        assert response.status_code == 303
    with base.catalog.read() as session:
        attached = session.scalar(
            select(func.count()).where(AssignmentAsset.assignment_id == assignment)
        )
    assert attached == 1
    assert _karim_sees(base, clip)

    listing = karim.get("/p/film/assignments")
    assert listing.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Follow Khaled" in listing.text
    assert "<script>alert(1)" not in listing.text
    detail = karim.get(f"/p/film/assignments/{assignment}")
    assert detail.status_code == 200
    assert f'data-sha="{clip}"' in detail.text
    assert f'href="/p/film/a/{clip}"' in detail.text
    poster = rf'<img src="/p/film/a/{clip}/media/poster\.\w+"[^>]* loading="lazy"'
    assert re.search(poster, detail.text)
    assert 'id="assignment-status-buttons"' in detail.text
    assert 'id="assignment-form"' not in detail.text and 'id="attach-form"' not in detail.text
    mine = karim.get("/me")
    assert mine.status_code == 200
    section = mine.text.split('id="my-assignments"')[1].split('id="my-notes"')[0]
    assert "Follow Khaled" in section and "2026-12-24" in section and "The Rescue" in section

    # The crew member may not write or edit assignments, nor attach footage.
    assert (
        karim.post("/p/film/assignments", data={"csrf": karim.csrf, "title": "x"}).status_code
        == 403
    )
    assert (
        karim.post(
            f"/p/film/assignments/{assignment}", data={"csrf": karim.csrf, "title": "mine now"}
        ).status_code
        == 403
    )
    assert (
        karim.post(
            f"/p/film/assignments/{assignment}/assets", data={"csrf": karim.csrf, "sha256": clip}
        ).status_code
        == 403
    )
    # The investigator reads every assignment but writes none.
    assert "Follow Khaled" in ivan.get("/p/film/assignments").text
    assert (
        ivan.post("/p/film/assignments", data={"csrf": ivan.csrf, "title": "x"}).status_code == 403
    )

    # Karim moves it along from his phone page, and it comes back there.
    response = karim.post(
        f"/p/film/assignments/{assignment}/status",
        data={"csrf": karim.csrf, "status": "done", "back": "me"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/me"
    with base.catalog.read() as session:
        assert session.get(Assignment, assignment).status == "done"
    assert "Follow Khaled" in karim.get("/p/film/assignments?status=done").text
    assert "Follow Khaled" not in karim.get("/p/film/assignments?status=open").text
    assert karim.get("/p/film/assignments?status=bogus").status_code == 400
    assert (
        karim.post(
            f"/p/film/assignments/{assignment}/status", data={"csrf": karim.csrf, "status": "lost"}
        ).status_code
        == 400
    )

    # One karim is not on: invisible to him, like a missing one; so are other projects'.
    other = _create(dina, title="For ivan only", assignees="ivan")
    assert karim.get(f"/p/film/assignments/{other}").status_code == 404
    assert "For ivan only" not in karim.get("/p/film/assignments").text
    assert (
        karim.post(
            f"/p/film/assignments/{other}/status", data={"csrf": karim.csrf, "status": "done"}
        ).status_code
        == 404
    )
    omar = login("omar")
    foreign = _create(omar, slug="other", title="Elsewhere")
    assert dina.get(f"/p/film/assignments/{foreign}").status_code == 404
    assert (
        dina.post(
            f"/p/film/assignments/{foreign}/assets", data={"csrf": dina.csrf, "sha256": clip}
        ).status_code
        == 404
    )
    assert omar.get(f"/p/film/assignments/{assignment}").status_code == 404
    # Another project's footage cannot be attached; it is as unknown as a made-up one.
    for sha in (footage.foreign, "0" * 64):
        response = dina.post(
            f"/p/film/assignments/{assignment}/assets", data={"csrf": dina.csrf, "sha256": sha}
        )
        assert response.status_code == 404

    # Detaching takes the clip out of karim's sight again.
    response = dina.post(
        f"/p/film/assignments/{assignment}/assets/{clip}/remove", data={"csrf": dina.csrf}
    )
    assert response.status_code == 303
    assert not _karim_sees(base, clip)


def test_assignment_form_rejects_bad_input(login, team):
    dina = login("dina")
    for fields, problem in [
        ({"due": "2026-13-01"}, "YYYY-MM-DD"),
        ({"due": "24/12/2026"}, "YYYY-MM-DD"),
        ({"assignees": "omar"}, "not members of this project: omar"),
        ({"assignees": "nobody-here"}, "not members"),
        ({"title": "   "}, "needs a title"),
        ({"title": "x" * 301}, "at most 300"),
        ({"status": "finished"}, "one of open, in-progress, done, dropped"),
    ]:
        data = {"csrf": dina.csrf, "title": "Roof shots", **fields}
        response = dina.post("/p/film/assignments", data=data)
        assert response.status_code == 400, (fields, response.text)
        assert problem in response.text
        assert 'id="assignment-form"' in response.text  # the form comes back to fix
    assert dina.post("/p/film/assignments", data={"title": "no token"}).status_code == 403
    assert dina.get("/p/film/assignments/999999").status_code == 404
    assert dina.get("/p/other/assignments").status_code == 404

    # Several assignees by checkbox; an edit with a bad date changes nothing.
    assignment = _create(dina, assignees=["karim", "ivan"], due="2027-01-05")
    page = dina.get(f"/p/film/assignments/{assignment}").text
    assert "karim, ivan" in page or "ivan, karim" in page
    response = dina.post(
        f"/p/film/assignments/{assignment}",
        data={"csrf": dina.csrf, "title": "Renamed", "due": "2027-02-30", "assignees": "karim"},
    )
    assert response.status_code == 400
    assert "Renamed" not in dina.get(f"/p/film/assignments/{assignment}").text
    response = dina.post(
        f"/p/film/assignments/{assignment}",
        data={"csrf": dina.csrf, "title": "Renamed", "due": "", "assignees": "karim"},
    )
    assert response.status_code == 303
    page = dina.get(f"/p/film/assignments/{assignment}").text
    assert "Renamed" in page and 'datetime="2027' not in page

    anonymous = login(None).get("/p/film/assignments")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
