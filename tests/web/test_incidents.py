"""The incident register over real HTTP: record, edit with history, refuse impossible figures,
link footage, suggest clips from real videos with known times and places, export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geojson
import pytest
from sqlalchemy import select, text

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Asset, Incident, IncidentChange, User
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from rushes.review.access import viewer_for
from rushes.review.incidents import create_incident
from tests.clips import make_video

ALEPPO = (36.2, 37.15)
SYRIA = timezone(timedelta(hours=3))
START = datetime(2016, 4, 12, 14, 30, tzinfo=SYRIA)
FORM = {
    "title": "Barrel bomb on the market",
    "type": "barrel-bomb",
    "started_at": "2016-04-12T14:30",
    "started_offset": "+03:00",
    "ended_at": "",
    "ended_offset": "+03:00",
    "place": "Aleppo, al-Shaar",
    "latitude": str(ALEPPO[0]),
    "longitude": str(ALEPPO[1]),
    "accuracy_m": "100",
    "people_present": "40",
    "rescued": "12",
    "bodies": "3",
    "injured": "",
    "killed": "5",
    "volunteers_injured": "",
    "volunteers_killed": "1",
    "verification": "unverified",
    "description": "Second strike <b>on rescuers</b>",
}
API = {
    "title": "Missile on the bakery",
    "type": "missile",
    "started_at": "2016-05-01T09:00:00+03:00",
    "place": "Idlib",
}


def _post_json(client, path: str, body: object, method: str = "POST"):
    return client.request(method, path, json=body, headers={"X-CSRF-Token": client.csrf})


def _history(base: Base, code: str) -> list[tuple[str, str | None, str | None]]:
    with base.catalog.read() as session:
        incident = session.scalar(select(Incident).where(Incident.code == code))
        rows = session.scalars(
            select(IncidentChange)
            .where(IncidentChange.incident_id == incident.id)
            .order_by(IncidentChange.id)
        )
        return [(r.field, r.old and json.loads(r.old), r.new and json.loads(r.new)) for r in rows]


def _form(html: str, form_id: str) -> str:
    found = re.search(rf'<form [^>]*id="{form_id}".*?</form>', html, re.S)
    assert found, form_id
    return found.group(0)


def test_incidents_are_recorded_edited_and_refused_with_reasons(base, login, team):
    dina, ivan, karim, omar, ada = (login(n) for n in ("dina", "ivan", "karim", "omar", "ada"))
    anonymous = login(None)

    # Record from the form: the id is made from the place and the local date.
    response = dina.post("/p/film/incidents", data={"csrf": dina.csrf, **FORM})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/p/film/incidents/ALE-2016-0412"
    again = dina.post("/p/film/incidents", data={"csrf": dina.csrf, **FORM})
    assert again.headers["location"] == "/p/film/incidents/ALE-2016-0412-2"
    listing = dina.get("/p/film/incidents")
    assert listing.status_code == 200
    assert "2016-04-12 14:30 +03:00" in listing.text and "ALE-2016-0412-2" in listing.text
    page = dina.get("/p/film/incidents/ALE-2016-0412")
    assert page.status_code == 200
    assert "&lt;b&gt;on rescuers&lt;/b&gt;" in page.text and "<b>on rescuers" not in page.text

    # Crew read none of the register (places, figures, witnesses' words): not a page, an
    # export, the API, the dashboard or a search; their menu does not offer it.
    for path in (
        "/p/film/incidents",
        "/p/film/incidents/ALE-2016-0412",
        "/p/film/incidents.csv",
        "/p/film/incidents.geojson",
        "/api/p/film/incidents",
        "/api/p/film/incidents/ALE-2016-0412",
        "/p/film/dashboard",
        "/api/p/film/dashboard",
    ):
        assert karim.get(path).status_code == 403, path
    home = karim.get("/p/film/").text
    assert "/p/film/incidents" not in home and "/p/film/dashboard" not in home
    assert "ALE-2016-0412" not in home and "ALE-2016-0412" in dina.get("/p/film/").text
    assert "ALE-2016-0412" not in karim.get("/p/film/search", params={"q": "Aleppo"}).text
    assert "ALE-2016-0412" in dina.get("/p/film/search", params={"q": "Aleppo"}).text
    with base.catalog.read() as session:
        stored = session.scalar(select(Incident).where(Incident.code == "ALE-2016-0412"))
        assert stored.started_at == START and stored.started_offset == "+03:00"
        assert stored.started_at.tzinfo is not None and stored.injured is None

    # With no project time zone the form offers no offset of its own: a time typed in Aleppo
    # is not taken as UTC. An offset corrected alone keeps the clock time it was given for.
    form = dina.get("/p/film/incidents").text
    assert 'name="started_offset" size="6" pattern="[+\\-]\\d\\d:\\d\\d" dir="ltr" value=""' in form
    assert "This project has no time zone" in form
    moved = _post_json(
        dina, "/api/p/film/incidents/ALE-2016-0412-2", {"started_offset": "+02:00"}, "PATCH"
    )
    assert moved.status_code == 200, moved.text
    with base.catalog.read() as session:
        second = session.scalar(select(Incident).where(Incident.code == "ALE-2016-0412-2"))
        assert second.started_offset == "+02:00"
        assert second.started_at == START + timedelta(hours=1)  # 14:30 at +02:00, not +03:00

    # Who may: crew may not write, an outsider and anonymous see nothing.
    assert karim.post("/p/film/incidents", data={"csrf": karim.csrf, **FORM}).status_code == 403
    assert _post_json(karim, "/api/p/film/incidents", API).status_code == 403
    edit = {"csrf": karim.csrf, **FORM, "killed": "6"}
    assert karim.post("/p/film/incidents/ALE-2016-0412", data=edit).status_code == 403
    assert omar.get("/p/film/incidents").status_code == 404
    assert omar.get("/api/p/film/incidents/ALE-2016-0412").status_code == 404
    assert anonymous.get("/p/film/incidents").status_code == 303
    assert anonymous.get("/api/p/film/incidents").status_code == 401
    assert _post_json(dina, "/api/p/film/incidents", API).status_code == 201
    theirs = _post_json(omar, "/api/p/other/incidents", {**API, "code": "OTHER-1"})
    assert theirs.status_code == 201, theirs.text
    assert dina.get("/p/film/incidents/OTHER-1").status_code == 404
    assert dina.get("/api/p/film/incidents/OTHER-1").status_code == 404
    assert _post_json(
        dina, "/api/p/film/incidents/OTHER-1", {"killed": 1}, "PATCH"
    ).status_code == (404)

    # Impossible values: 400 naming the field; nothing is written.
    bad = {
        "killed": ({"killed": -1}, "killed: cannot be negative"),
        "more than present": (
            {"people_present": 4, "killed": 5},
            "killed: 5 is more than the 4 people present",
        ),
        "volunteers": (
            {"people_present": 4, "volunteers_killed": 9},
            "volunteers_killed: 9 is more than",
        ),
        "latitude": ({"latitude": 91, "longitude": 0}, "latitude: 91 is outside -90 to 90"),
        "longitude": ({"latitude": 0, "longitude": -180.5}, "longitude: -180.5 is outside"),
        "half a place": ({"latitude": 10}, "give both or neither"),
        "accuracy": ({"accuracy_m": -5}, "accuracy_m: -5 is outside"),
        "end": ({"ended_at": "2016-05-01T08:00:00+03:00"}, "ended_at: the end is before the start"),
        "type": ({"type": "meteor"}, "type: 'meteor' is unknown"),
        "title": ({"title": "  "}, "title: cannot be empty"),
        "offset": ({"started_at": "2016-05-01T09:00"}, "started_at: give the UTC offset"),
        "figure": ({"injured": "many"}, "injured: give a whole number"),
        "verification": ({"verification": "probably"}, "verification: one of"),
        "duplicate": ({"code": "ALE-2016-0412"}, "code: 'ALE-2016-0412' is already used"),
        "field": ({"casualties": 3}, "unknown field(s): casualties"),
    }
    for name, (change, message) in bad.items():
        response = _post_json(dina, "/api/p/film/incidents", {**API, **change})
        assert response.status_code == 400, name
        assert message in response.json()["detail"], (name, response.json())
    response = dina.post("/p/film/incidents", data={"csrf": dina.csrf, **FORM, "rescued": "-2"})
    assert response.status_code == 400 and "rescued: cannot be negative" in response.text
    assert 'value="Barrel bomb on the market"' in response.text  # the form keeps what was typed
    assert len(dina.get("/api/p/film/incidents").json()["incidents"]) == 3

    # Edits: each changed field is one history row, with who and old -> new.
    changed = {**FORM, "killed": "7", "verification": "partly", "csrf": ivan.csrf}
    assert ivan.post("/p/film/incidents/ALE-2016-0412", data=changed).status_code == 303
    response = _post_json(ivan, "/api/p/film/incidents/ALE-2016-0412", {"rescued": 14}, "PATCH")
    assert response.status_code == 200 and response.json()["rescued"] == 14
    record = response.json()
    assert record["verification"] == "partly" and record["verified_by"] == "ivan"
    assert record["started_at"] == "2016-04-12T14:30:00+03:00"
    history = _history(base, "ALE-2016-0412")
    assert history[0] == ("created", None, "web")
    assert ("killed", None, 5) in history
    assert history[-3:] == [
        ("killed", 5, 7),
        ("verification", "unverified", "partly"),
        ("rescued", 12, 14),
    ]
    whom = [(h["user"], h["field"]) for h in record["history"][-3:]]
    assert whom == [("ivan", "killed"), ("ivan", "verification"), ("ivan", "rescued")]
    page = dina.get("/p/film/incidents/ALE-2016-0412").text
    assert re.search(
        r'data-field="killed">.*?ivan.*?<td class="old">5</td><td class="new">7</td>', page
    )
    response = _post_json(dina, "/api/p/film/incidents/ALE-2016-0412", {"killed": 41}, "PATCH")
    assert response.status_code == 400 and "killed: 41 is more than the 40" in response.text
    response = _post_json(dina, "/api/p/film/incidents/ALE-2016-0412", {"code": "X"}, "PATCH")
    assert response.status_code == 400 and "does not change" in response.text

    # Related incidents, kept in both histories.
    related = {"csrf": dina.csrf, "other": "ALE-2016-0412-2"}
    assert dina.post("/p/film/incidents/ALE-2016-0412/related", data=related).status_code == 303
    assert dina.get("/api/p/film/incidents/ALE-2016-0412-2").json()["related"] == ["ALE-2016-0412"]
    self_link = {"csrf": dina.csrf, "other": "ALE-2016-0412"}
    assert dina.post("/p/film/incidents/ALE-2016-0412/related", data=self_link).status_code == 400
    foreign = {"csrf": dina.csrf, "other": "OTHER-1"}
    answer = dina.post("/p/film/incidents/ALE-2016-0412/related", data=foreign)
    assert answer.status_code == 404
    form = _form(answer.text, "related-form")
    assert re.search(r'id="related-problem">[^<]*OTHER-1', form) and 'value="OTHER-1"' in form
    gone = dina.post(
        "/p/film/incidents/ALE-2016-0412/related/ALE-2016-0412-2/delete", data={"csrf": dina.csrf}
    )
    assert gone.status_code == 303
    assert _history(base, "ALE-2016-0412-2")[-2:] == [
        ("related", None, "ALE-2016-0412"),
        ("related", "ALE-2016-0412", None),
    ]

    # The vocabulary: admins add and retire; a retired type stays on old incidents only.
    form = {"csrf": dina.csrf, "name": "drone", "label": "Drone strike"}
    assert dina.post("/p/film/incident-types", data=form).status_code == 403
    assert ada.post("/p/film/incident-types", data={**form, "csrf": ada.csrf}).status_code == 303
    assert _post_json(dina, "/api/p/film/incidents", {**API, "type": "drone"}).status_code == 201
    retire = ada.post("/p/film/incident-types/barrel-bomb/retire", data={"csrf": ada.csrf})
    assert retire.status_code == 303
    response = _post_json(dina, "/api/p/film/incidents", {**API, "type": "barrel-bomb"})
    assert response.status_code == 400 and "'barrel-bomb' is retired" in response.text
    keep = _post_json(dina, "/api/p/film/incidents/ALE-2016-0412", {"bodies": 4}, "PATCH")
    assert keep.status_code == 200 and keep.json()["type"] == "barrel-bomb"

    # Filters: type, dates (UTC days) and verification.
    def codes(query: str) -> list[str]:
        return [i["code"] for i in dina.get(f"/api/p/film/incidents?{query}").json()["incidents"]]

    assert codes("type=barrel-bomb") == ["ALE-2016-0412", "ALE-2016-0412-2"]
    assert codes("verification=partly") == ["ALE-2016-0412"]
    assert len(codes("from=2016-05-01&to=2016-05-01")) == 2
    assert codes("to=2016-04-12") == ["ALE-2016-0412", "ALE-2016-0412-2"]
    assert dina.get("/api/p/film/incidents?from=yesterday").status_code == 400


@pytest.fixture
def scene(base: Base, team, tmp_path: Path) -> dict[str, str]:
    """Clips with known capture times and places around an incident at ALEPPO at START."""
    near = (round(ALEPPO[0] + 0.0045, 4), ALEPPO[1])  # 500 m north
    far = (round(ALEPPO[0] + 0.27, 4), ALEPPO[1])  # 30 km north
    clips = {
        "karim": {
            "near.mp4": dict(seed=11, gps=near, creation_time=START + timedelta(minutes=40)),
            "late.mp4": dict(seed=12, gps=ALEPPO, creation_time=START + timedelta(days=2)),
        },
        "rami": {
            "far.mp4": dict(
                seed=13, seconds=3, gps=far, creation_time=START + timedelta(minutes=40)
            ),
            "copy.mp4": dict(seed=13, seconds=2),  # a trimmed copy of far.mp4
        },
    }
    names: dict[str, str] = {}
    for crew, files in clips.items():
        card = tmp_path / crew
        card.mkdir()
        for name, options in files.items():
            make_video(card / name, **{"seconds": 1, **options})
        Ingest(base, project="film", crew=crew, actor=crew).run(walk([card]))
    with base.catalog.read() as session:
        for asset in session.scalars(select(Asset)):
            names[Path(asset.arrivals[0].path).stem] = asset.sha256
    run_inline(
        base, ["probe", "thumbnails", "fingerprint", "near-duplicates"], list(names.values())
    )
    return names


def _suggested(client, code: str) -> dict[str, str]:
    record = client.get(f"/api/p/film/incidents/{code}").json()
    return {s["sha256"]: s["reason"] for s in record["suggestions"]}


def test_footage_is_suggested_linked_and_exported(base, login, team, scene):
    dina, karim = login("dina"), login("karim")
    near, late, far, copy = (scene[n] for n in ("near", "late", "far", "copy"))
    given = {**FORM, "started_offset": None, "started_at": START.isoformat(), "code": "ALP-1"}
    assert _post_json(dina, "/api/p/film/incidents", given).status_code == 201

    # Close in time and place: suggested with why; two days later or 30 km away: not. Only to
    # a role that may see where clips were filmed: a director moving the incident's point
    # around while watching the list would otherwise locate the crew.
    ivan = login("ivan")
    assert _suggested(dina, "ALP-1") == {}
    assert _suggested(ivan, "ALP-1") == {near: "filmed 40 min after the start, 500 m away"}
    page = ivan.get("/p/film/incidents/ALP-1").text
    assert "filmed 40 min after the start, 500 m away" in page
    assert f'href="/p/film/a/{near}"' in page and f"/p/film/a/{near}/media/" in page  # poster
    assert "36.2045" not in page  # the clip's own coordinates are never shown
    assert "which never deletes one" in page and 'id="hold-form"' not in page  # folder vault

    # Link far.mp4 by hand: its trimmed copy is then proposed.
    link = {"csrf": dina.csrf, "sha256": far[:10], "relation": "strike"}
    assert dina.post("/p/film/incidents/ALP-1/footage", data=link).status_code == 303
    assert _suggested(ivan, "ALP-1") == {
        near: "filmed 40 min after the start, 500 m away",
        copy: "a copy of a linked clip",
    }
    assert _suggested(dina, "ALP-1") == {copy: "a copy of a linked clip"}
    # Reject the copy: it is not offered again. Accept near.mp4 as the rescue.
    reject = {"csrf": dina.csrf, "decision": "reject"}
    assert dina.post(f"/p/film/incidents/ALP-1/suggestions/{copy}", data=reject).status_code == 303
    accept = {"csrf": dina.csrf, "decision": "accept", "relation": "rescue"}
    assert dina.post(f"/p/film/incidents/ALP-1/suggestions/{near}", data=accept).status_code == 303
    assert _suggested(dina, "ALP-1") == {}
    crew_try = {"csrf": karim.csrf, "decision": "accept"}
    assert (
        karim.post(f"/p/film/incidents/ALP-1/suggestions/{late}", data=crew_try).status_code == 403
    )
    bad = {"csrf": dina.csrf, "sha256": late, "relation": "selfie"}
    assert dina.post("/p/film/incidents/ALP-1/footage", data=bad).status_code == 400
    # A mistyped hash: the incident's page again, saying so beside the form, the typing kept.
    typo = {"csrf": dina.csrf, "sha256": "0123abcd9", "relation": "rescue"}
    answer = dina.post("/p/film/incidents/ALP-1/footage", data=typo)
    assert answer.status_code == 404
    form = _form(answer.text, "link-form")
    assert re.search(r'id="link-problem">no clip 0123abcd9 in project &#39;film&#39;<', form)
    assert 'name="sha256"' in form and 'value="0123abcd9"' in form
    assert '<option value="rescue" selected>' in form
    missing = _post_json(dina, "/api/p/film/incidents/ALP-1/footage", {"sha256": "ab" * 32})
    assert missing.status_code == 404
    response = _post_json(dina, "/api/p/film/incidents/ALP-1/footage", {"sha256": late})
    assert response.status_code == 200
    response = dina.request(
        "DELETE", f"/api/p/film/incidents/ALP-1/footage/{late}", headers={"X-CSRF-Token": dina.csrf}
    )
    assert response.status_code == 200
    linked = {a["sha256"]: a["relation"] for a in response.json()["assets"]}
    assert linked == {far: "strike", near: "rescue"}
    footage = [(f, o, n) for f, o, n in _history(base, "ALP-1") if f in ("footage", "suggestion")]
    assert footage == [
        ("footage", None, f"{far} strike"),
        ("suggestion", None, f"{copy} rejected"),
        ("footage", None, f"{near} rescue"),
        ("footage", None, f"{late} aftermath"),
        ("footage", f"{late} aftermath", None),
    ]

    # Crew read none of it, the footage they shot included (the register is not theirs).
    assert karim.get("/api/p/film/incidents/ALP-1").status_code == 403
    assert karim.get("/p/film/incidents/ALP-1").status_code == 403

    # Exports, read back by independent parsers.
    rows = list(csv.DictReader(io.StringIO(dina.get("/p/film/incidents.csv").text)))
    assert [r["code"] for r in rows] == ["ALP-1"]
    assert rows[0]["killed"] == "5" and rows[0]["injured"] == ""
    assert rows[0]["started_at"] == "2016-04-12T14:30:00+03:00"
    assert sorted(rows[0]["assets"].split()) == sorted([f"{far}:strike", f"{near}:rescue"])
    assert karim.get("/p/film/incidents.csv").status_code == 403
    response = dina.get("/p/film/incidents.geojson")
    assert response.headers["content-type"].startswith("application/geo+json")
    assert "attachment" in response.headers["content-disposition"]
    collection = geojson.loads(response.text)
    assert collection.is_valid, collection.errors()
    feature = collection["features"][0]
    assert feature["geometry"]["coordinates"] == [ALEPPO[1], ALEPPO[0]]  # [lon, lat]
    assert feature["properties"]["killed"] == 5
    data = dina.get("/p/film/incidents.json?type=barrel-bomb").json()
    assert [i["code"] for i in data["incidents"]] == ["ALP-1"]
    assert dina.get("/p/film/incidents.json?type=fire").json()["incidents"] == []
    assert login("omar").get("/p/film/incidents.csv").status_code == 404


def test_two_writers_racing_for_one_code_both_record_their_incident(base, team):
    """The second writer looked before the first committed, so both chose ALE-2016-0412; the
    database refuses the second insert and the second writer takes the next code."""

    def record() -> str:
        with base.catalog.write() as session:
            dina = session.scalar(select(User).where(User.username == "dina"))
            return create_incident(session, viewer_for(session, dina, "film"), FORM).code

    codes: list[str] = []
    with base.catalog.write() as first:
        dina = first.scalar(select(User).where(User.username == "dina"))
        codes.append(create_incident(first, viewer_for(first, dina, "film"), FORM).code)
        second = threading.Thread(target=lambda: codes.append(record()))
        second.start()
        if base.catalog.dialect == "postgresql":  # until it waits on our uncommitted code
            deadline = time.monotonic() + 10
            # Each look in a transaction of its own: one transaction sees one snapshot of it.
            autocommit = base.catalog.engine.execution_options(isolation_level="AUTOCOMMIT")
            with autocommit.connect() as watcher:
                while not watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ):
                    assert time.monotonic() < deadline and second.is_alive()
                    time.sleep(0.01)
        else:
            time.sleep(0.2)  # SQLite: it waits for the write lock, then sees our code
    second.join(timeout=30)
    assert codes == ["ALE-2016-0412", "ALE-2016-0412-2"]


def test_a_clip_that_arrived_twice_is_linked_by_its_full_hash(base, login, team, scene, tmp_path):
    """Two arrivals of one clip (its card ingested again by another crew, as when a field
    upload follows its manifest) are one clip: linking it by hash or by accepting it works."""
    card = tmp_path / "card-2"
    card.mkdir()
    shutil.copy(tmp_path / "karim" / "near.mp4", card / "near.mp4")
    Ingest(base, project="film", crew="rami", actor="rami").run(walk([card]))
    near, late = scene["near"], scene["late"]
    with base.catalog.read() as session:
        assert len(session.get(Asset, near).arrivals) == 2
    dina, ivan = login("dina"), login("ivan")
    given = {**FORM, "started_offset": None, "started_at": START.isoformat(), "code": "ALP-2"}
    assert _post_json(dina, "/api/p/film/incidents", given).status_code == 201
    assert _suggested(ivan, "ALP-2") == {near: "filmed 40 min after the start, 500 m away"}
    accept = {"csrf": ivan.csrf, "decision": "accept", "relation": "rescue"}
    assert ivan.post(f"/p/film/incidents/ALP-2/suggestions/{near}", data=accept).status_code == 303
    link = {"csrf": dina.csrf, "sha256": late, "relation": "strike"}
    assert dina.post("/p/film/incidents/ALP-2/footage", data=link).status_code == 303
    linked = dina.get("/api/p/film/incidents/ALP-2").json()["assets"]
    assert {a["sha256"]: a["relation"] for a in linked} == {near: "rescue", late: "strike"}
