"""One incident must not break the dashboard for everyone: dates are bounded wherever people
type them, the dashboard copes with any date already stored, and admins delete incidents with
their history kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Asset, Incident, IncidentChange, Project
from rushes.review.dashboard import MAX_WEEKS
from tests.conftest import Env
from tests.web.conftest import Client, Footage, Team, user_id

EDGES = ("9999-12-31T23:59:59+14:00", "0001-01-01T00:00+14:00", "1899-12-31T12:00+03:00")


def _incident(started_at: str, title: str = "Strike") -> dict[str, str]:
    return {"title": title, "type": "airstrike", "started_at": started_at}


def test_dates_out_of_range_are_refused_wherever_they_are_typed(
    env: Env, team: Team, login: Callable[..., Client], tmp_path: Path
) -> None:
    ivan = login("ivan")
    headers = {"X-CSRF-Token": ivan.csrf}
    for edge in EDGES:
        made = ivan.post("/api/p/film/incidents", json=_incident(edge), headers=headers)
        assert made.status_code == 400 and "1900-01-01" in made.text, (edge, made.text)
        form = ivan.post("/p/film/incidents", data={"csrf": ivan.csrf, **_incident(edge)})
        assert form.status_code == 400, edge
    fine = ivan.post(
        "/api/p/film/incidents", json=_incident("2016-04-12T09:30+03:00"), headers=headers
    )
    assert fine.status_code == 201
    code = fine.json()["code"]
    edit = ivan.patch(f"/api/p/film/incidents/{code}", json={"ended_at": EDGES[0]}, headers=headers)
    assert edit.status_code == 400
    for path, params in (
        ("/p/film/dashboard", {"to": "9999-12-31"}),
        ("/api/p/film/incidents", {"from": "0001-01-01"}),
        ("/p/film/", {"day": "0001-01-01"}),
        ("/api/me/notes", {"since": "0001-01-01T00:00Z"}),
    ):
        assert ivan.get(path, params=params).status_code == 400, (path, params)
    dina = login("dina")
    due = {"csrf": dina.csrf, "title": "Night shift", "due": "9999-12-31"}
    assert dina.post("/p/film/assignments", data=due).status_code == 400
    sheet = tmp_path / "incidents.csv"
    sheet.write_text(
        "title,type,started_at\nStrike,airstrike,9999-12-31T23:59:59+14:00\n", encoding="utf-8"
    )
    imported = env.run(
        "incidents",
        "import",
        str(sheet),
        "--project",
        "film",
        "--as",
        "ivan",
        "--commit",
        check=False,
    )
    assert imported.returncode == 1 and "line 2: started_at" in imported.stdout, imported.stdout


def test_the_dashboard_copes_with_any_stored_date(
    base: Base, team: Team, login: Callable[..., Client]
) -> None:
    """Dates stored before input was bounded: the latest and earliest Python knows."""
    ivan = user_id(base, "ivan")
    with base.catalog.write() as session:
        film = session.scalar(select(Project.id).where(Project.slug == "film"))
        for code, started, offset in (
            ("LATE", datetime(9999, 12, 31, 9, 59, 59, tzinfo=UTC), "+14:00"),
            ("EARLY", datetime(1, 1, 1, 0, 0, tzinfo=UTC), "+00:00"),
            ("NOW", datetime(2016, 4, 12, 6, 30, tzinfo=UTC), "+03:00"),
        ):
            session.add(
                Incident(
                    project_id=film,
                    code=code,
                    title=code,
                    type="airstrike",
                    started_at=started,
                    started_offset=offset,
                    created_by_id=ivan,
                )
            )
    dina = login("dina")
    assert dina.get("/p/film/dashboard").status_code == 200
    board = dina.get("/api/p/film/dashboard").json()
    assert board["incident_count"] == 3
    assert len(board["weeks"]) == MAX_WEEKS and board["weeks"][-1]["week"] == "9999-W52"
    assert board["weeks_left_out"] > 500_000
    assert dina.get("/p/film/incidents/LATE").status_code == 200
    assert dina.get("/p/film/incidents.csv").status_code == 200


def test_admins_delete_incidents_and_the_record_is_kept(
    base: Base, team: Team, login: Callable[..., Client]
) -> None:
    ivan, ada = login("ivan"), login("ada")
    made = ivan.post(
        "/api/p/film/incidents",
        json=_incident("2016-04-12T09:30+03:00", "Typed by mistake"),
        headers={"X-CSRF-Token": ivan.csrf},
    )
    code = made.json()["code"]
    refused = ivan.request(
        "DELETE",
        f"/api/p/film/incidents/{code}",
        json={"reason": "duplicate"},
        headers={"X-CSRF-Token": ivan.csrf},
    )
    assert refused.status_code == 403
    no_reason = ada.post(f"/p/film/incidents/{code}/delete", data={"csrf": ada.csrf})
    assert no_reason.status_code == 400
    gone = ada.post(
        f"/p/film/incidents/{code}/delete", data={"csrf": ada.csrf, "reason": "a duplicate"}
    )
    assert gone.status_code == 303
    for client in (ivan, ada):
        assert client.get(f"/p/film/incidents/{code}").status_code == 404
        assert client.get(f"/api/p/film/incidents/{code}").status_code == 404
        assert client.get("/api/p/film/incidents").json()["incidents"] == []
        assert code not in client.get("/p/film/incidents.csv").text
        assert client.get("/api/p/film/dashboard").json()["incident_count"] == 0
    again = ada.request(
        "DELETE",
        f"/api/p/film/incidents/{code}",
        json={"reason": "twice"},
        headers={"X-CSRF-Token": ada.csrf},
    )
    assert again.status_code == 404
    with base.catalog.read() as session:
        kept = session.scalar(select(Incident).where(Incident.code == code))
        assert kept is not None and kept.title == "Typed by mistake"
        assert kept.deleted_by_id == user_id(base, "ada") and kept.deleted_reason == "a duplicate"
        fields = session.scalars(
            select(IncidentChange.field).where(IncidentChange.incident_id == kept.id)
        ).all()
    assert fields[-1] == "deleted" and "created" in fields


def test_the_rushes_grid_copes_with_a_camera_clock_at_the_last_day(
    base: Base, footage: Footage, login: Callable[..., Client]
) -> None:
    """A file's own metadata is not checked like typed input: its time is shown as it came."""
    with base.catalog.write() as session:
        clip = session.get(Asset, footage.karim[0])
        assert clip is not None
        clip.captured_at = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
        clip.captured_offset = "+14:00"
    page = login("dina").get("/p/film/")
    assert page.status_code == 200 and "9999-12-31 23:30 UTC" in page.text
