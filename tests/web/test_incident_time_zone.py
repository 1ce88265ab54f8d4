"""The project's time zone gives an incident time its UTC offset when none is typed: the
offset of that zone on that date, summer time included (Syria kept DST until 2022)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Incident
from tests.web.conftest import Client, Team
from tests.web.test_incidents import FORM


def _offsets(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(started_offset|ended_offset)"[^>]*value="([^"]*)"', html))


def _record(client: Client, slug: str, **fields: str) -> str:
    answer = client.post(f"/p/{slug}/incidents", data={"csrf": client.csrf, **FORM, **fields})
    assert answer.status_code == 303, answer.text[-800:]
    return answer.headers["location"].rsplit("/", 1)[1]


def test_the_incident_form_takes_its_offset_from_the_project_time_zone(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    ada, dina = login("ada"), login("dina")
    # Without a time zone the form offers no offset (a time typed in Aleppo was once taken as
    # UTC): each time needs its offset typed, and the form says an admin can set the zone.
    form = dina.get("/p/film/incidents").text
    assert _offsets(form) == {"started_offset": "", "ended_offset": ""}
    assert "This project has no time zone" in form
    blank = {"started_offset": "", "ended_offset": ""}
    refused = dina.post("/p/film/incidents", data={"csrf": dina.csrf, **FORM, **blank})
    assert refused.status_code == 400 and "give the UTC offset too" in refused.text

    ada.post("/p/film/time-zone", data={"csrf": ada.csrf, "time_zone": "Asia/Damascus"})
    form = dina.get("/p/film/incidents").text
    assert _offsets(form) == {"started_offset": "", "ended_offset": ""}
    assert "Asia/Damascus" in form
    winter = _record(dina, "film", started_at="2016-01-15T10:00", **blank)
    summer = _record(
        dina, "film", started_at="2016-04-12T14:30", ended_at="2016-04-12T18:00", **blank
    )
    typed = _record(dina, "film", started_at="2016-04-12T14:30", started_offset="+04:30")
    with base.catalog.read() as session:
        found = {
            i.code: i
            for i in session.scalars(
                select(Incident).where(Incident.code.in_([winter, summer, typed]))
            )
        }
    assert (found[winter].started_at, found[winter].started_offset) == (
        datetime(2016, 1, 15, 8, 0, tzinfo=UTC),
        "+02:00",
    )
    assert (found[summer].started_at, found[summer].started_offset) == (
        datetime(2016, 4, 12, 11, 30, tzinfo=UTC),
        "+03:00",
    )
    assert (found[summer].ended_at, found[summer].ended_offset) == (
        datetime(2016, 4, 12, 15, 0, tzinfo=UTC),
        "+03:00",
    )
    assert found[typed].started_offset == "+04:30"  # a typed offset wins over the zone
    # Editing keeps each stored offset; an end not known yet takes the zone's when given.
    assert _offsets(dina.get(f"/p/film/incidents/{winter}").text) == {
        "started_offset": "+02:00",
        "ended_offset": "",
    }
