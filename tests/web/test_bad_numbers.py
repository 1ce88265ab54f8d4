"""Numbers and dates too large for Python or the database are the caller's mistake: 400."""

from __future__ import annotations

from collections.abc import Callable

from tests.web.conftest import Client, Team

HUGE = "9" * 30


def test_out_of_range_numbers_and_dates_answer_400(
    team: Team, login: Callable[..., Client]
) -> None:
    dina = login("dina")
    refused = [
        ("/p/film/", {"assignment": "²"}),
        ("/p/film/", {"assignment": HUGE}),
        ("/api/p/film/assets", {"after": "9" * 20 + "." + "a" * 64}),
        ("/api/me/notes", {"since": "9999-12-31T23:59:59-14:00"}),
    ]
    for path, params in refused:
        answer = dina.get(path, params=params)
        assert answer.status_code == 400, (path, params, answer.status_code, answer.text[:200])
    for path in (f"/p/film/assignments/{HUGE}", f"/api/p/film/incidents/{HUGE}"):
        # SQLite cannot hold the number (400); PostgreSQL compares it and finds nothing (404).
        assert dina.get(path).status_code in (400, 404), path
    incident = {
        "csrf": dina.csrf,
        "title": "Strike",
        "type": "airstrike",
        "started_at": "0001-01-01T00:00",
        "started_offset": "+14:00",
    }
    answer = dina.post("/p/film/incidents", data=incident)
    assert answer.status_code == 400, answer.text[:300]
