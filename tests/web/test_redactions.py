"""Redactions over real HTTP: drawn, listed and removed by a director; bad boxes refused with
the reason; what a clip's redactions are is what `rushes export share` hides."""

from __future__ import annotations

from rushes.base import Base
from rushes.review.redactions import of_asset, plan
from tests.web.conftest import Footage

NAME_TAG = {
    "kind": "region",
    "label": "name tag",
    "start": 0.5,
    "end": 1.5,
    "keyframes": [
        {"t": 1.5, "x": 0.5, "y": 0.5, "w": 0.2, "h": 0.1},
        {"t": 0.5, "x": 0.1, "y": 0.5, "w": 0.2, "h": 0.1},
    ],
}


def test_a_director_draws_lists_and_removes_redactions(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    sha = footage.karim[0]
    url = f"/api/p/film/a/{sha}/redactions"
    dina, karim = login("dina"), login("karim")
    made = dina.post(url, json=NAME_TAG, headers={"X-CSRF-Token": dina.csrf})
    assert made.status_code == 201, made.text
    assert [k["t"] for k in made.json()["keyframes"]] == [0.5, 1.5]  # kept in time order
    bleep = dina.post(
        url, json={"kind": "bleep", "start": 0.2, "end": 0.4}, headers={"X-CSRF-Token": dina.csrf}
    )
    assert bleep.status_code == 201
    # The crew member who shot it sees what will be hidden, and may not change it.
    listed = karim.get(url).json()["redactions"]
    assert [r["kind"] for r in listed] == ["region", "bleep"] and listed[0]["label"] == "name tag"
    refused = karim.post(url, json=NAME_TAG, headers={"X-CSRF-Token": karim.csrf})
    assert refused.status_code == 403

    with base.catalog.read() as session:
        regions, mutes = plan(of_asset(session, 1, sha))
    assert regions[0].at(1.0) == (0.30000000000000004, 0.5, 0.2, 0.1)
    assert regions[0].at(1.6) is None and mutes[0].bleep

    for bad, reason in (
        ({**NAME_TAG, "kind": "smudge"}, "kind: one of"),
        ({**NAME_TAG, "end": 0.1}, "end: after start"),
        ({**NAME_TAG, "keyframes": [{"t": 1, "x": 1.5, "y": 0, "w": 0.1, "h": 0.1}]}, "x: between"),
        (
            {**NAME_TAG, "keyframes": [{"t": "soon", "x": 0, "y": 0, "w": 0.1, "h": 0.1}]},
            "t: a number",
        ),
        (
            {**NAME_TAG, "keyframes": [NAME_TAG["keyframes"][0]] * 501},
            "keyframes: a list of 1 to 500",
        ),
        ({**NAME_TAG, "keyframes": "everywhere"}, "keyframes: a list"),
        ({**NAME_TAG, "label": ["x"]}, "label: text"),
        ({"kind": "mute", "start": 100, "end": 200}, "start: between 0 and"),  # past the clip
        (
            {**NAME_TAG, "keyframes": [{"t": 9, "x": 0, "y": 0, "w": 0.1, "h": 0.1}]},
            "t: between 0.5 and 1.5",  # outside the region's own span
        ),
    ):
        response = dina.post(url, json=bad, headers={"X-CSRF-Token": dina.csrf})
        assert response.status_code == 400 and reason in response.text, (bad, response.text)
    nan = dina.post(
        url,
        content=b'{"kind": "mute", "start": NaN, "end": 2}',
        headers={"X-CSRF-Token": dina.csrf, "Content-Type": "application/json"},
    )
    assert nan.status_code in (400, 422)

    gone = dina.delete(f"{url}/{made.json()['id']}", headers={"X-CSRF-Token": dina.csrf})
    assert gone.status_code == 204
    assert [r["kind"] for r in dina.get(url).json()["redactions"]] == ["bleep"]
    again = dina.delete(f"{url}/{made.json()['id']}", headers={"X-CSRF-Token": dina.csrf})
    assert again.status_code == 404
