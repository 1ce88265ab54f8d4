"""The incident dashboard over real HTTP: totals that keep unknown figures unknown, ISO weeks
across a year's end, filters carried by page and JSON alike, and who may look."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Incident, Project
from tests.web.conftest import Client, Team, user_id

MAX_HTML = 150 * 1024
TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # never fetched: no browser here
BUSY_TYPES = ("airstrike", "barrel-bomb", "artillery", "fire", "missile", "chemical")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def record(base: Base, project: str, *incidents: dict[str, Any]) -> None:
    """Write incidents straight into the catalog, as recorded by dina."""
    creator = user_id(base, "dina")
    with base.catalog.write() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == project))
        for number, fields in enumerate(incidents, 1):
            session.add(
                Incident(
                    project_id=project_id,
                    code=fields.pop("code", f"ALP-{number:04d}"),
                    title=fields.pop("title", f"Incident {number}"),
                    type=fields.pop("type", "airstrike"),
                    created_by_id=creator,
                    **fields,
                )
            )


# Five incidents in "film" around the turn of 2020/2021, figures partly unknown, and one in
# "other" that must never show up.
FILM = (
    dict(code="ALP-2020-0001", type="airstrike", started_at=at("2020-12-28T09:00"),
         rescued=12, killed=3, bodies=3, latitude=36.20, longitude=37.15, place="Bab al-Nairab",
         verification="verified"),
    dict(code="ALP-2020-0002", type="barrel-bomb", started_at=at("2020-12-31T21:30"),
         started_offset="+03:00", rescued=None, killed=5, latitude=36.21, longitude=37.13,
         verification="partly", title="<script>alert(1)</script> market"),
    dict(code="ALP-2021-0001", type="airstrike", started_at=at("2021-01-03T22:30"),
         started_offset="+03:00", rescued=4, killed=None, volunteers_killed=1),
    dict(code="ALP-2021-0002", type="chemical", started_at=at("2021-01-05T06:00"),
         rescued=0, killed=0, injured=40, latitude=36.18, longitude=37.10),
    dict(code="ALP-2021-0003", type="airstrike", started_at=at("2021-01-20T12:00"),
         rescued=7, killed=1, latitude=36.25, longitude=37.20),
)  # fmt: skip
FOREIGN = dict(
    code="ALP-2021-0099", type="airstrike", started_at=at("2021-01-05T06:00"), rescued=99
)


@pytest.fixture
def incidents(base: Base, team: Team) -> None:
    record(base, "film", *(dict(row) for row in FILM))
    record(base, "other", dict(FOREIGN))


def figures_on_page(html: str) -> dict[str, dict[str, int]]:
    """The totals as the page states them in its data attributes."""
    found = re.findall(r'data-figure="(\w+)" data-at-least="(\d+)" data-unknown="(\d+)"', html)
    return {name: {"at_least": int(a), "unknown": int(u)} for name, a, u in found}


def timeline_on_page(html: str) -> list[str]:
    return re.findall(r'<li><time [^\n]*?<a href="/p/film/incidents/([^"]+)">', html)


def points_on_page(html: str) -> list[str]:
    return re.findall(r'<a class="point" href="/p/film/incidents/([^"]+)"', html)


def weeks_on_page(html: str) -> dict[str, int]:
    """Week label -> incidents, from the chart's table."""
    rows = re.findall(r'<tr data-week="([\dW-]+)">(.*?)</tr>', html, re.S)
    return {label: int(re.findall(r"<td>(\d+)</td>", cells)[-1]) for label, cells in rows}


def test_totals_keep_unknown_figures_unknown(login: Callable[..., Client], incidents: None) -> None:
    dina = login("dina")
    data = dina.get("/api/p/film/dashboard").json()
    assert data["incident_count"] == 5
    assert data["totals"]["rescued"] == {"at_least": 23, "unknown": 1}
    assert data["totals"]["killed"] == {"at_least": 9, "unknown": 1}
    assert data["totals"]["volunteers_killed"] == {"at_least": 1, "unknown": 4}
    assert data["totals"]["volunteers_injured"] == {"at_least": 0, "unknown": 5}
    html = dina.get("/p/film/dashboard").text
    assert figures_on_page(html) == data["totals"]
    rescued = html[html.index('data-figure="rescued"') :]
    assert "at least 23" in rescued[:400] and "1 incident without this figure" in rescued[:400]
    volunteers = html[html.index('data-figure="volunteers_injured"') :]
    assert "unknown" in volunteers[:300] and "5 incidents without this figure" in volunteers[:400]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html


def test_weeks_are_iso_weeks_across_new_year(login: Callable[..., Client], incidents: None) -> None:
    data = login("ivan").get("/api/p/film/dashboard").json()
    weeks = {w["week"]: w for w in data["weeks"]}
    # Monday 28 Dec 2020 to Sunday 3 Jan 2021 is 2020-W53 (UTC days, as the filters count them);
    # the weeks between the first and the last are all there, empty ones too.
    assert list(weeks) == ["2020-W53", "2021-W01", "2021-W02", "2021-W03"]
    assert weeks["2020-W53"] == {
        "week": "2020-W53",
        "monday": "2020-12-28",
        "counts": {"airstrike": 2, "barrel-bomb": 1},
    }
    assert weeks["2021-W01"]["counts"] == {"chemical": 1}
    assert weeks["2021-W02"]["counts"] == {}
    assert [t["started_local"] for t in data["timeline"]] == [
        "2021-01-20T12:00:00+00:00", "2021-01-05T06:00:00+00:00", "2021-01-04T01:30:00+03:00",
        "2021-01-01T00:30:00+03:00", "2020-12-28T09:00:00+00:00",
    ]  # fmt: skip
    html = login("ivan").get("/p/film/dashboard").text
    assert weeks_on_page(html) == {"2020-W53": 3, "2021-W01": 1, "2021-W03": 1}
    assert "2021-01-04 01:30 +03:00" in html  # the timeline shows the wall clock there
    bars = re.findall(r'<rect class="bar"[^>]*><title>([^<]+)</title>', html)
    assert bars == [
        "2020-W53 (week of 2020-12-28): 3 — Airstrike 2, Barrel bomb 1",
        "2021-W01 (week of 2021-01-04): 1 — Chemical attack 1",
        "2021-W03 (week of 2021-01-18): 1 — Airstrike 1",
    ]
    segments = re.findall(r'<path class="c(\d)" d="([^"]+)"/>', html)  # one path per type
    assert {hue: d.count("M") for hue, d in segments} == {"0": 2, "1": 1, "3": 1}


FILTERED = [
    ("from=2021-01-01&to=2021-01-05", ["ALP-2021-0002", "ALP-2021-0001"]),
    ("to=2020-12-31", ["ALP-2020-0002", "ALP-2020-0001"]),  # whole UTC days, as in exports
    ("type=airstrike", ["ALP-2021-0003", "ALP-2021-0001", "ALP-2020-0001"]),
    ("type=airstrike&verification=verified", ["ALP-2020-0001"]),
    ("type=fire", []),
]


def test_filters_carry_to_every_view_and_to_the_json(
    login: Callable[..., Client], incidents: None
) -> None:
    ivan = login("ivan")
    for query, codes in FILTERED:
        check_filtered(ivan, query, codes)


def check_filtered(reader: Client, query: str, codes: list[str]) -> None:
    data = reader.get(f"/api/p/film/dashboard?{query}").json()
    html = reader.get(f"/p/film/dashboard?{query}").text
    assert [t["code"] for t in data["timeline"]] == codes
    assert timeline_on_page(html) == codes
    assert data["incident_count"] == len(codes)
    assert figures_on_page(html) == data["totals"]
    located = [p["code"] for p in data["points"]]
    assert points_on_page(html) == located
    assert set(located) <= set(codes)
    assert weeks_on_page(html) == {w["week"]: sum(w["counts"].values()) for w in data["weeks"]
                                   if w["counts"]}  # fmt: skip
    assert sum(weeks_on_page(html).values()) == len(codes)
    assert f'href="/api/p/film/dashboard?{query.replace("&", "&amp;")}"' in html
    for name, value in (pair.split("=") for pair in query.split("&")):  # the form keeps them
        shown = (
            f'name="{name}" value="{value}"' if name in ("from", "to") else f'"{value}" selected'
        )
        assert shown in html, (query, name)


REFUSED = [
    ("from=2021-13-01", "from: give a date as YYYY-MM-DD, not '2021-13-01'"),
    ("from=2021-02-01&to=2021-01-01", "ends (2021-01-01) before it starts (2021-02-01)"),
    ("type=napalm", "no incident type 'napalm'"),
    ("verification=maybe", "verification: one of unverified, partly, verified"),
]


def test_bad_filters_are_refused_with_what_to_give(
    login: Callable[..., Client], team: Team
) -> None:
    dina = login("dina")
    for query, problem in REFUSED:
        api = dina.get(f"/api/p/film/dashboard?{query}")
        assert api.status_code == 400 and problem in api.json()["detail"], query
        page = dina.get(f"/p/film/dashboard?{query}")
        assert page.status_code == 400 and problem.replace("'", "&#39;") in page.text, query


def test_who_may_look(login: Callable[..., Client], incidents: None) -> None:
    for name in ("ada", "dina", "ivan"):
        client = login(name)
        assert client.get("/p/film/dashboard").status_code == 200, name
        assert client.get("/api/p/film/dashboard").json()["incident_count"] == 5, name
    karim = login("karim")  # crew: the register is not theirs (review.incidents)
    assert karim.get("/p/film/dashboard").status_code == 403
    assert karim.get("/api/p/film/dashboard").status_code == 403
    omar = login("omar")
    assert omar.get("/p/film/dashboard").status_code == 404
    assert omar.get("/api/p/film/dashboard").status_code == 404
    assert omar.get("/api/p/other/dashboard").json()["incident_count"] == 1  # his own project
    anonymous = login(None)
    page = anonymous.get("/p/film/dashboard?type=airstrike")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fp%2Ffilm%2Fdashboard%3Ftype%3Dairstrike"
    assert anonymous.get("/api/p/film/dashboard").status_code == 401


def test_map_offline_draws_points_and_tiles_bring_leaflet(
    base: Base, login: Callable[..., Client], incidents: None
) -> None:
    dina = login("dina")
    offline = dina.get("/p/film/dashboard").text
    assert "No map tiles configured (offline)" in offline
    assert "leaflet" not in offline.lower()  # nothing to fetch without tiles
    assert points_on_page(offline) == [
        "ALP-2021-0003", "ALP-2021-0002", "ALP-2020-0002", "ALP-2020-0001"
    ]  # fmt: skip
    assert "3 of 5 incidents" not in offline and "4 of 5 incidents have coordinates" in offline
    base.settings = dataclasses.replace(base.settings, map_tiles=TILES)
    tiled = dina.get("/p/film/dashboard").text
    assert "No map tiles configured" not in tiled
    assert 'data-tiles="http://127.0.0.1:9/{z}/{x}/{y}.png"' in tiled
    assert "/static/vendor/leaflet/leaflet.js" in tiled
    assert "/static/vendor/leaflet/leaflet.css" in tiled
    assert dina.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert "/static/vendor/leaflet/leaflet.js" not in dina.get("/p/film/").text


def test_a_busy_project_stays_under_the_page_budget(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    """Three years of daily strikes: the page cuts its lists and chart, the totals count all."""
    record(
        base,
        "film",
        *(
            dict(
                code=f"ALP-{n:05d}",
                title=f"Strike on the market street, rescue number {n}",
                type=BUSY_TYPES[n % len(BUSY_TYPES)],
                started_at=at("2018-01-01T10:00") + timedelta(days=n),
                place="Aleppo, al-Shaar",
                rescued=n % 7,
                killed=n % 3 if n % 5 else None,
                latitude=36.0 + (n % 40) / 100,
                longitude=37.0 + (n % 33) / 100,
            )
            for n in range(1100)
        ),
    )  # fmt: skip
    dina = login("dina")
    response = dina.get("/p/film/dashboard")
    assert response.status_code == 200
    assert len(response.content) < MAX_HTML, len(response.content)
    data = dina.get("/api/p/film/dashboard").json()
    assert data["incident_count"] == 1100
    assert data["totals"]["rescued"]["at_least"] == sum(n % 7 for n in range(1100))
    assert data["totals"]["killed"]["unknown"] == 220
    assert len(data["weeks"]) == 104 and data["weeks_left_out"] > 0
    assert len(data["timeline"]) == 100 and len(data["points"]) == 200
    assert len(timeline_on_page(response.text)) == 100
    assert len(points_on_page(response.text)) == 200
    assert "earlier weeks are in the totals but not drawn" in response.text
    base.settings = dataclasses.replace(base.settings, map_tiles=TILES)
    tiled = dina.get("/p/film/dashboard").content
    assert len(tiled) < MAX_HTML and b"data-lat=" in tiled, len(tiled)  # Leaflet reads them
