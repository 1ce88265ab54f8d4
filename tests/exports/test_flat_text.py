"""Text from people and cards leaves the base on one line: a CR/LF in a select's label is no
event line of its own in an EDL, no raw break (or invalid control character) in FCP XML, and
no record of its own in a CSV of incidents."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable

from tests.web.conftest import Client, Footage

INJECTED = "999  AX       V     C        00:00:00:00 00:00:09:00 00:00:00:00 00:00:09:00"


def test_a_label_with_line_breaks_stays_inside_its_event(
    footage: Footage, login: Callable[..., Client]
) -> None:
    dina = login("dina")
    take = {"start": 0, "end": 20, "label": f"take one\r\n{INJECTED}\x0b\u2028end"}
    circled = dina.post(
        f"/api/p/film/a/{footage.karim[0]}/selects",
        json=take,
        headers={"X-CSRF-Token": dina.csrf},
    )
    assert circled.status_code == 201, circled.text
    edl = dina.get("/p/film/selects/timeline.edl").text
    assert not any(line.startswith("999") for line in edl.splitlines()), edl
    xml = dina.get("/p/film/selects/timeline.xml").text
    names = [e.text or "" for e in ET.fromstring(xml).iter("name")]  # parses: no \x0b left
    assert f"take one {INJECTED} end (a.mp4)" in names
    assert not any(c in name for name in names for c in "\r\n\x0b\u2028")
    resolve = dina.get("/p/film/selects/timeline.resolve.edl").text
    assert not any(line.startswith("999") for line in resolve.splitlines())
    otio_names = json.dumps(dina.get("/p/film/selects/timeline.otio").json())
    assert INJECTED in otio_names and "\\r\\n" not in otio_names


def test_incident_exports_keep_one_line_per_record(
    footage: Footage, login: Callable[..., Client]
) -> None:
    ivan = login("ivan")
    incident = {
        "title": "Strike\r\nFAKE-1,forged,airstrike",
        "type": "airstrike",
        "started_at": "2016-04-12T09:30:00+03:00",
        "description": "first line\nsecond line",
    }
    made = ivan.post("/api/p/film/incidents", json=incident, headers={"X-CSRF-Token": ivan.csrf})
    assert made.status_code == 201, made.text
    rows = ivan.get("/p/film/incidents.csv").text.split("\r\n")
    assert [row for row in rows if row] == rows[:2], rows
    assert "Strike FAKE-1,forged,airstrike" in rows[1]
    geo = ivan.get("/p/film/incidents.geojson").json()["features"][0]["properties"]
    assert geo["title"] == "Strike FAKE-1,forged,airstrike"
    assert geo["description"] == "first line second line"
    # The API and the page still show what was typed: only exports are flattened.
    kept = ivan.get("/api/p/film/incidents").json()
    assert "first line\nsecond line" in json.dumps(kept).replace("\\n", "\n")
