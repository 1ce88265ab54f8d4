"""The rushes browser over real HTTP: who sees which cards, filters, cursors, badges, blur."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select, update

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Incident, IncidentAsset, Project, User
from tests.web.conftest import Footage

CARD = re.compile(r'<li class="card[^"]*" data-sha="([0-9a-f]{64})"')


def cards(html: str) -> list[str]:
    return CARD.findall(html)


def walk(client, **params: str) -> list[str]:  # noqa: ANN001 - a test client
    """Every SHA-256 the JSON list gives, one asset a page, following the cursors."""
    seen, after = [], ""
    while True:
        body = client.get("/api/p/film/assets", params={**params, "limit": 1, "after": after})
        body = body.json()
        seen += [a["sha256"] for a in body["assets"]]
        if body["next"] is None:
            return seen
        after = body["next"]


def test_who_sees_what_and_paging(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    karim, dina, omar = login("karim"), login("dina"), login("omar")

    mine = karim.get("/p/film/")
    assert mine.status_code == 200
    assert sorted(cards(mine.text)) == sorted(footage.karim)
    assert 'loading="lazy"' in mine.text and "/media/poster" in mine.text
    assert len(mine.content) < 150_000

    everything = dina.get("/p/film/")
    assert sorted(cards(everything.text)) == sorted(footage.all)
    assert omar.get("/p/film/").status_code == 404
    assert omar.get("/api/p/film/assets").status_code == 404
    assert login(None).get("/p/film/").status_code == 303

    # Two dated clips and one undated: a page boundary in each part, stable on a second walk.
    with base.catalog.write() as session:
        for sha, hour in zip(footage.all[:2], (9, 17), strict=True):
            session.execute(
                update(Asset)
                .where(Asset.sha256 == sha)
                .values(captured_at=datetime(2026, 3, 1, hour, tzinfo=UTC))
            )
    newest = walk(dina)
    assert newest == [footage.all[1], footage.all[0], footage.all[2]]
    assert walk(dina) == newest
    oldest = walk(dina, order="oldest")
    assert oldest == [footage.all[0], footage.all[1], footage.all[2]]

    day = dina.get("/api/p/film/assets", params={"day": "2026-03-01"}).json()
    assert {a["sha256"] for a in day["assets"]} == set(footage.all[:2])
    assert dina.get("/api/p/film/assets", params={"after": "nonsense"}).status_code == 400
    assert dina.get("/p/film/", params={"day": "March"}).status_code == 400
    assert dina.get("/api/p/film/assets", params={"order": "sideways"}).status_code == 400

    rami = dina.get("/api/p/film/assets", params={"crew": "rami"}).json()["assets"]
    assert [a["sha256"] for a in rami] == footage.others
    assert rami[0]["crew"] == ["rami"] and rami[0]["status"] == "new"
    assert dina.get("/api/p/film/assets", params={"has_notes": "1"}).json()["assets"] == []
    assert dina.get("/api/p/film/assets", params={"selected": "1"}).json()["assets"] == []

    # Footage of one incident: the strike's clip only, in the grid and in the API.
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        dina_id = session.scalar(select(User.id).where(User.username == "dina"))
        strike = Incident(
            project_id=film.id,
            code="ALP-2016-0412",
            title="Strike",
            type="airstrike",
            started_at=datetime(2016, 4, 12, 11, tzinfo=UTC),
            created_by_id=dina_id,
        )
        session.add(strike)
        session.flush()
        session.add(
            IncidentAsset(
                incident_id=strike.id,
                asset_sha256=footage.others[0],
                relation="rescue",
                added_by_id=dina_id,
            )
        )
    linked = dina.get("/p/film/", params={"incident": "ALP-2016-0412"})
    assert cards(linked.text) == footage.others and "ALP-2016-0412 · Strike" in linked.text
    api = dina.get("/api/p/film/assets", params={"incident": "ALP-2016-0412"}).json()
    assert [a["sha256"] for a in api["assets"]] == footage.others
    assert cards(karim.get("/p/film/", params={"incident": "ALP-2016-0412"}).text) == []


def test_location_badges_copies_and_blur(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    dina, ivan, karim = login("dina"), login("ivan"), login("karim")

    # Location and device only for roles that may see them.
    hidden = dina.get("/api/p/film/assets").json()["assets"][0]["media"]
    shown = ivan.get("/api/p/film/assets").json()["assets"][0]["media"]
    assert "location" not in hidden and "device" not in hidden
    assert shown["location"]["latitude"] == 36.2

    # Near-duplicates folded into one card with a count.
    with base.catalog.write() as session:
        cluster = min(footage.all[:2])
        session.execute(
            update(Asset).where(Asset.sha256.in_(footage.all[:2])).values(cluster=cluster)
        )
    folded = dina.get("/api/p/film/assets", params={"collapse": "1"}).json()["assets"]
    assert [a["sha256"] for a in folded if a["copies"]] == [cluster]
    assert len(folded) == 2
    assert "+1 copy" in dina.get("/p/film/", params={"collapse": "1"}).text

    # An original gone from the vault shows on its card.
    base.vault.local_path(footage.others[0]).unlink()
    page = dina.get("/p/film/").text
    assert page.count("original missing") == 1

    # A clip flagged graphic is blurred for everyone; a user's setting blurs every thumbnail.
    sha = footage.karim[0]
    flagged = dina.post(f"/p/film/a/{sha}/graphic", data={"csrf": dina.csrf, "graphic": "1"})
    assert flagged.status_code == 303
    for client in (dina, ivan, karim):
        html = client.get("/p/film/").text
        card = html[html.index(f'data-sha="{sha}"') :][:600]
        assert 'class="thumb graphic"' in card
        assert "blur-all" not in html[: html.index("<header")]
    with base.catalog.write() as session:
        session.execute(update(User).where(User.username == "karim").values(blur_thumbnails=True))
    assert '<body class="browse-page blur-all">' in karim.get("/p/film/").text
    assert karim.post(f"/p/film/a/{sha}/graphic", data={"csrf": karim.csrf}).status_code == 403
    unflag = ivan.post(f"/p/film/a/{sha}/graphic", data={"csrf": ivan.csrf, "graphic": "0"})
    assert unflag.status_code == 303
    assert "thumb graphic" not in dina.get("/p/film/").text


def test_day_of_arrival_and_crew_chosen_from_the_project(
    base: Base,
    footage: Footage,
    login,  # noqa: ANN001
) -> None:
    dina = login("dina")
    with base.catalog.write() as session:
        session.execute(
            update(Arrival)
            .where(Arrival.asset_sha256 == footage.others[0])
            .values(received_at=datetime(2026, 3, 2, 8, tzinfo=UTC))
        )
        session.execute(  # shot the day before it arrived
            update(Asset)
            .where(Asset.sha256 == footage.others[0])
            .values(captured_at=datetime(2026, 3, 1, 22, tzinfo=UTC))
        )
    arrived = {"day": "2026-03-02", "day_of": "arrived"}
    assert walk(dina, **arrived) == footage.others
    assert walk(dina, day="2026-03-02") == []
    assert walk(dina, day="2026-03-01") == footage.others
    grid = dina.get("/p/film/", params=arrived).text
    assert cards(grid) == footage.others and 'value="arrived" selected' in grid
    assert dina.get("/p/film/", params={"day_of": "sideways"}).status_code == 400

    # Crew is a choice of the project's crew (and labels its footage came under), any case.
    page = dina.get("/p/film/").text
    choice = re.search(r'<select name="crew">(.*?)</select>', page, re.S)
    assert choice is not None
    assert re.findall(r'<option value="([^"]*)"', choice.group(1)) == ["", "karim", "rami"]
    assert walk(dina, crew="Rami") == footage.others
    assert 'value="rami" selected' in dina.get("/p/film/", params={"crew": "RAMI"}).text
