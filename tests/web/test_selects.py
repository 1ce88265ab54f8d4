"""Selects over real HTTP: circle takes, list them in order, reorder, edit and delete."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from rushes.catalog.models import Arrival, Asset, Project, Select, User


def _circle(client, sha: str, **fields) -> int:
    """Circle a take and go on to the list, whose anchor names the new select."""
    data = {"csrf": client.csrf, "start": 0, "end": 10, "back": "selects", **fields}
    response = client.post(f"/p/film/a/{sha}/selects", data=data)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/p/film/selects\?page=1#select-(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def _order(client) -> list[int]:
    response = client.get("/api/p/film/selects")
    assert response.status_code == 200
    selects = response.json()["selects"]
    assert [s["position"] for s in selects] == list(range(1, len(selects) + 1))
    return [s["id"] for s in selects]


def _rows(client) -> list[int]:
    page = client.get("/p/film/selects")
    assert page.status_code == 200
    return [
        int(i) for i in re.findall(r'class="select-row" id="select-\d+" data-id="(\d+)"', page.text)
    ]


def test_selects_are_circled_listed_reordered_and_deleted(base, login, team, footage):
    dina, karim, ivan = login("dina"), login("karim"), login("ivan")
    a, b = footage.karim
    c = footage.others[0]
    with base.catalog.read() as session:
        rate = session.get(Asset, a).media["frame_rate"]
    first = _circle(dina, a, start=15, end=45, rating=4, label="<script>x</script> wide")
    second = _circle(dina, b, start=0, end=20, rate=rate)
    third = _circle(dina, c, start=5, end=25, rating=5, label="close-up")
    assert _order(dina) == [first, second, third]

    listing = dina.get("/api/p/film/selects").json()["selects"][0]
    assert listing["sha256"] == a and listing["rate"] == rate and listing["rating"] == 4
    assert (listing["start"], listing["end"], listing["in"]) == (15, 45, "00:00:00:15")
    page = dina.get("/p/film/selects").text
    assert "&lt;script&gt;x&lt;/script&gt; wide" in page and "<script>x" not in page
    assert f'href="/p/film/a/{a}#t=0.500"' in page  # frame 15 at 30 fps
    assert "00:00:01:15" in page and "00:00:01:00" in page  # out at frame 45; 30 frames long
    assert _rows(dina) == [first, second, third]
    assert "/static/selects.js" in page  # reordering by drag for those who may

    # Without JavaScript: move the third to the top; with it: the whole order as JSON.
    response = dina.post(f"/p/film/selects/{third}/move", data={"csrf": dina.csrf, "to": 1})
    assert response.status_code == 303
    assert _order(dina) == [third, first, second] == _rows(dina)
    response = dina.post(
        "/api/p/film/selects/order",
        json={"ids": [second, third, first]},
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert response.status_code == 200
    assert _order(dina) == [second, third, first]
    for wrong in ([second, third], [second, third, first, first], [second, third, 999999]):
        response = dina.post(
            "/api/p/film/selects/order", json={"ids": wrong}, headers={"X-CSRF-Token": dina.csrf}
        )
        assert response.status_code == 400, wrong
        assert "exactly once" in response.json()["detail"]
    assert dina.post("/api/p/film/selects/order", json={"ids": []}).status_code == 403  # no CSRF
    assert _order(dina) == [second, third, first]

    # Edits keep the place; bad values are refused with a reason.
    response = dina.post(
        f"/p/film/selects/{first}",
        data={"csrf": dina.csrf, "start": 10, "end": 40, "rating": 2, "label": "wider"},
    )
    assert response.status_code == 303
    edited = dina.get("/api/p/film/selects").json()["selects"][2]
    assert (edited["id"], edited["start"], edited["rating"], edited["label"]) == (
        first,
        10,
        2,
        "wider",
    )
    for fields in (
        {"start": 20, "end": 20},
        {"start": 0, "end": 10_000},  # past the end of a 2-second clip
        {"rating": 6},
        {"rate": "fast"},
        {"label": "x" * 201},
    ):
        response = dina.post(
            f"/p/film/a/{a}/selects", data={"csrf": dina.csrf, "start": 0, "end": 10, **fields}
        )
        assert response.status_code == 400, fields
    for sha in (footage.foreign, "f" * 64):
        response = dina.post(
            f"/p/film/a/{sha}/selects", data={"csrf": dina.csrf, "start": 0, "end": 5}
        )
        assert response.status_code == 404
    assert dina.post(f"/p/film/a/{a}/selects", data={"start": 0, "end": 5}).status_code == 403

    # Only directors and admins circle and order; crew and investigators read.
    for client in (karim, ivan):
        data = {"csrf": client.csrf, "start": 0, "end": 5}
        assert client.post(f"/p/film/a/{a}/selects", data=data).status_code == 403
        assert (
            client.post(f"/p/film/selects/{first}/move", data={**data, "to": 1}).status_code == 403
        )
        assert client.post(f"/p/film/selects/{first}/delete", data=data).status_code == 403
        response = client.post(
            "/api/p/film/selects/order",
            json={"ids": [first, second, third]},
            headers={"X-CSRF-Token": client.csrf},
        )
        assert response.status_code == 403
    assert _rows(ivan) == [second, third, first]
    assert "selects.js" not in ivan.get("/p/film/selects").text
    assert _rows(karim) == [second, first]  # not rami's clip: karim cannot see it
    assert login("omar").get("/p/film/selects").status_code == 404
    assert (
        dina.post("/p/film/selects/999999/move", data={"csrf": dina.csrf, "to": 1}).status_code
        == 404
    )

    # Deleting one keeps positions dense; the player's form returns to the player.
    assert dina.post(f"/p/film/selects/{third}/delete", data={"csrf": dina.csrf}).status_code == 303
    assert _order(dina) == [second, first]
    response = dina.post(f"/p/film/a/{c}/selects", data={"csrf": dina.csrf, "start": 30, "end": 40})
    assert response.status_code == 303
    assert response.headers["location"] == f"/p/film/a/{c}#t=1.000"
    response = dina.post(
        f"/api/p/film/a/{b}/selects",
        json={"start": 3, "end": 9, "rating": 1, "label": "from the player"},
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert response.status_code == 201
    made = response.json()
    assert (made["position"], made["rate"], made["label"]) == (4, rate, "from the player")
    assert _order(dina)[-1] == made["id"]


def test_long_lists_page_and_concurrent_reorders_never_share_a_position(login, team, base):
    """Many directors moving takes at once: the list stays a permutation of 1..n."""
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        dina = session.scalar(select(User).where(User.username == "dina"))
        rows = []
        for n in range(60):
            sha = f"{n:064x}"
            session.add(Asset(sha256=sha, sha512="0" * 128, size=1, kind="video"))
            session.add(
                Arrival(
                    asset_sha256=sha,
                    project_id=film.id,
                    crew="rami",
                    path=f"{n}.mp4",
                    path_bytes=b"x",
                    path_key=sha,
                    size=1,
                    actor="test",
                )
            )
            rows.append(
                Select(
                    project_id=film.id,
                    asset_sha256=sha,
                    start=0,
                    end=5,
                    rate="25/1",
                    position=n + 1,
                    created_by_id=dina.id,
                )
            )
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    directors = [login("dina") for _ in range(4)]
    errors: list[str] = []

    def shuffle(client, offset: int) -> None:
        for round_ in range(6):
            moving = ids[(offset + round_) % len(ids)]
            to = (offset * 7 + round_ * 3) % len(ids) + 1
            response = client.post(
                f"/p/film/selects/{moving}/move", data={"csrf": client.csrf, "to": to}
            )
            if response.status_code != 303:
                errors.append(response.text)

    threads = [threading.Thread(target=shuffle, args=(c, i)) for i, c in enumerate(directors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    order = _order(directors[0])
    assert sorted(order) == sorted(ids)

    # 50 takes a page; the buttons still move across pages, and the server says where it went.
    dina = directors[0]
    first_page, second_page = dina.get("/p/film/selects").text, dina.get("/p/film/selects?page=2")
    assert first_page.count('class="select-row"') == 50 and "selects.js" not in first_page
    assert second_page.text.count('class="select-row"') == 10 and "page 2 of 2" in second_page.text
    response = dina.post(f"/p/film/selects/{order[55]}/move", data={"csrf": dina.csrf, "to": 1})
    assert response.headers["location"] == f"/p/film/selects?page=1#select-{order[55]}"
    assert _order(dina)[0] == order[55]
    editing = dina.get(f"/p/film/selects?page=1&edit={order[55]}").text
    assert editing.count('id="select-edit-form"') == 1
