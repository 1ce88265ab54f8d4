"""Search over real HTTP and the real CLI, on both databases: Arabic and English as people type
them, the pages' role rules, and input meant to break it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Arrival, Assignment, AssignmentUser, Incident, Note, Project
from tests.conftest import Env
from tests.web.conftest import Footage, user_id

# The notes: Arabic with and without diacritics, alef and ta marbuta forms, tatweel, prefixes,
# Eastern digits, direction marks and zero-width characters; English in mixed case.
NOTES = {
    "red": "الرجلُ ذو السُّترة الحمراء يركض نحو المستشفى",
    "medics": "صوِّر المُسعِفين عند مدخل المشفى الميداني",
    "shaar": "إسعاف الجرحى في حيّ الشعّار",
    "school": "مدرسة الأطفال تضررت بالكامل",
    "national": "والمستشفى الوطني خارج الخدمة",
    "volunteer": "أُصيب متطوع من الدفاع المدني",
    "khaled": "Follow Khaled's story from the rubble",
    "closer": "Get closer to the hospital entrance",
    "jacket": "The man with the RED jacket again",
    "angle": "Change the angle: too much sky",
    "doubletap": "ضربة جوية ثانية على فرق الإنقاذ",
    "girl": "انتشال طفلةٍ حيّة من تحت الأنقاض",
    "ambulance": "سيارة الإسعاف وصلت متأخرة",
    "mother": "مقابلة مع أمّ خالد",
    "mixed": "Khaled خالد at the مشفى",
    "tatweel": "المـــستشفى الصغير",
    "maqsura": "مستشفي القدس",  # typed with yeh for alef maqsura
    "time": "الساعة ٣:٤٠ صباحاً",
    "hidden": "Ale\u200bppo street, \u200fsecond floor",
    "roof": "HOSPITAL ROOF collapsed",
}
HOSPITAL = {"red", "national", "tatweel", "maqsura"}
# Query -> notes it must find (more may be found). 44 queries.
EXPECTED: dict[str, set[str]] = {
    "المستشفى": HOSPITAL,
    "مستشفى": HOSPITAL,
    "مستشفي": HOSPITAL,
    "والمستشفى": HOSPITAL,
    "بالمستشفى": HOSPITAL,
    "للمستشفى": HOSPITAL,
    "المـــستشفى": HOSPITAL,
    "المُستشفى": HOSPITAL,
    "الحمراء": {"red"},
    "السترة الحمراء": {"red"},
    "سترة": {"red"},
    "ستره": {"red"},
    "المُسعِفين": {"medics"},
    "مسعفين": {"medics"},
    "مشفى": {"medics", "mixed"},
    "اسعاف": {"shaar", "ambulance"},
    "إسعاف": {"shaar", "ambulance"},
    "الإسعاف": {"shaar", "ambulance"},
    "الأنقاض": {"girl"},
    "انقاض": {"girl"},
    "مدرسه": {"school"},
    "مدرسة": {"school"},
    "أطفال": {"school"},
    "حي": {"shaar", "girl"},
    "٣:٤٠": {"time"},
    "3:40": {"time"},
    "خالد": {"mother", "mixed"},
    "ام خالد": {"mother"},
    "khaled": {"khaled", "mixed"},
    "KHALED": {"khaled", "mixed"},
    "Khaled's story": {"khaled"},
    "aleppo": {"hidden"},
    "Ale\u200bppo": {"hidden"},
    "\u202eخالد": {"mother", "mixed"},
    "ضربة جوية": {"doubletap"},
    "الانقاذ": {"doubletap"},
    "متطوع": {"volunteer"},
    "اصيب": {"volunteer"},
    "الدفاع المدني": {"volunteer"},
    "closer hospital": {"closer"},
    "hospital": {"closer", "roof"},
    "red jacket": {"jacket"},
    "sky": {"angle"},
    "متأخره": {"ambulance"},
}


def _write_notes(base: Base, sha: str) -> dict[int, str]:
    with base.catalog.write() as session:
        project = session.scalar(select(Project).where(Project.slug == "film"))
        author = user_id(base, "dina")
        made = {
            key: Note(project_id=project.id, asset_sha256=sha, author_id=author, body=body)
            for key, body in NOTES.items()
        }
        session.add_all(made.values())
        session.flush()
        return {note.id: key for key, note in made.items()}


def _found(client, query: str, kind: str = "") -> dict:  # noqa: ANN001 - a test client
    response = client.get("/api/p/film/search", params={"q": query, "kind": kind})
    assert response.status_code == 200, (query, response.text)
    return response.json()


def test_forty_arabic_and_english_queries_find_every_expected_note(
    base: Base, footage: Footage, login
) -> None:  # noqa: ANN001
    keys = _write_notes(base, footage.karim[0])
    dina = login("dina")
    missed = {}
    for query, expected in EXPECTED.items():
        results = _found(dina, query, "note")["results"].get("note", [])
        got = {keys[int(hit["link"].rsplit("note-", 1)[1])] for hit in results}
        if not expected <= got:
            missed[query] = sorted(expected - got)
    assert not missed, missed
    assert len(EXPECTED) >= 40
    # Nothing found where nothing matches, and a word found marked in its snippet.
    assert _found(dina, "وزارة")["results"] == {}
    assert _found(dina, "hospital parking")["results"] == {}
    for controls in ("\x00", "\x01\x1b", "\x7f"):  # no words: nothing, not everything
        assert _found(dina, controls)["results"] == {}
    hit = _found(dina, "السترة")["results"]["note"][0]
    start, end = hit["marks"][0]
    assert hit["snippet"][start:end] == "السُّترة"


def test_results_follow_the_pages_role_rules(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    karim_clip, rami_clip = footage.karim[0], footage.others[0]
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film")).id
        dina = user_id(base, "dina")
        for sha, body in ((karim_clip, "rubble on karim's clip"), (rami_clip, "rubble on rami's")):
            session.add(Note(project_id=film, asset_sha256=sha, author_id=dina, body=body))
        mine = Assignment(project_id=film, title="Rubble: follow the diggers", created_by_id=dina)
        other = Assignment(project_id=film, title="Rubble at the market", created_by_id=dina)
        session.add_all([mine, other])
        session.flush()
        session.add(AssignmentUser(assignment_id=mine.id, user_id=user_id(base, "karim")))
        session.add(
            Incident(
                project_id=film,
                code="ALP-0001",
                title="Barrel bomb on the market",
                type="airstrike",
                started_at=datetime(2016, 4, 12, tzinfo=UTC),
                place="حي الشعار",
                description="Rubble everywhere",
                created_by_id=dina,
            )
        )

    crew = _found(login("karim"), "rubble")
    assert [h["snippet"] for h in crew["results"]["note"]] == ["rubble on karim's clip"]
    assert [h["title"] for h in crew["results"]["assignment"]] == ["Rubble: follow the diggers"]
    assert "incident" not in crew["results"]  # the register is not crew's
    director = _found(login("dina"), "rubble")["results"]
    assert len(director["note"]) == 2 and len(director["assignment"]) == 2
    assert _found(login("dina"), "الشعار")["results"]["incident"][0]["title"] == (
        "Barrel bomb on the market"
    )
    # Files: by name, card and crew; karim sees his own only.
    assert {h["title"] for h in _found(login("dina"), "mp4")["results"]["file"]} == {
        "a.mp4",
        "b.mp4",
        "c.mp4",
    }
    assert {h["title"] for h in _found(login("karim"), ".mp4")["results"]["file"]} == {
        "a.mp4",
        "b.mp4",
    }
    # Another project's member: the same 404 as a missing project.
    assert login("omar").get("/api/p/film/search", params={"q": "rubble"}).status_code == 404

    # A deleted incident is found no more; an edited title is found by its new words.
    with base.catalog.write() as session:
        incident = session.scalar(select(Incident).where(Incident.code == "ALP-0001"))
        incident.title = "Second strike on rescuers"
        assert _found_in(session, "rescuers")
        incident.deleted_at = datetime.now(UTC)
    assert "incident" not in _found(login("dina"), "rubble")["results"]


def _found_in(session, word: str) -> bool:  # noqa: ANN001
    from rushes.catalog.models import SearchEntry

    session.flush()
    rows = session.scalars(select(SearchEntry.text).where(SearchEntry.kind == "incident")).all()
    return any(word in row for row in rows)


HOSTILE = [
    '"',
    "' OR 1=1 --",
    "%",
    "_",
    "*",
    "NEAR(a b)",
    "hospital*",
    "a AND OR NOT",
    "\\",
    "\u202e\u200b\u200f",
    "مستشفى hospital \u0000",
    "x" * 200,
]


def test_hostile_queries_get_an_answer_never_a_500(base: Base, team, login) -> None:  # noqa: ANN001
    dina = login("dina")
    for query in HOSTILE:
        response = dina.get("/p/film/search", params={"q": query})
        assert response.status_code in (200, 400), (query, response.text)
        if response.status_code == 200:
            _found(dina, query)  # the API answers it too


def test_a_query_too_long_is_refused_with_the_reason(base: Base, team, login) -> None:  # noqa: ANN001
    response = login("dina").get("/p/film/search", params={"q": "مستشفى " * 40})
    assert response.status_code == 400
    assert "at most 200 characters" in response.text


def test_the_header_box_and_the_cli_find_a_note_and_its_time(
    env: Env, base: Base, footage: Footage, login
) -> None:  # noqa: ANN001
    dina = login("dina")
    sha = footage.karim[0]
    posted = dina.post(
        f"/p/film/a/{sha}/notes",
        data={"csrf": dina.csrf, "category": "story", "rate": "30/1", "start": "45",
              "body": "تابع قصة الرجل ذو السترة الحمراء"},
    )  # fmt: skip
    assert posted.status_code == 303
    page = dina.get(f"/p/film/a/{sha}").text
    assert 'id="search-box"' in page and 'action="/p/film/search"' in page
    results = dina.get("/p/film/search", params={"q": "السترة الحمراء"}).text
    assert f'href="/p/film/a/{sha}#t=1.500"' in results
    assert "<mark>السترة</mark>" in results and "<mark>الحمراء</mark>" in results

    shown = env.run("search", "سترة", "-p", "film").stdout
    assert "Notes 1" in shown and "تابع قصة الرجل" in shown and "at 1.5 s" in shown
    as_crew = env.run("search", "سترة", "-p", "film", "--as", "karim").stdout
    assert "تابع قصة" in as_crew  # on karim's own clip
    refused = env.run("search", "x" * 201, "-p", "film", check=False)
    assert refused.returncode == 1 and "at most 200 characters" in refused.stderr
    with base.catalog.read() as session:
        assert session.scalar(select(Arrival.id).limit(1)) is not None
