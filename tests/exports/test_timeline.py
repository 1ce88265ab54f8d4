"""Selects timelines over real HTTP and the real CLI, on real footage, read back by OTIO's own
adapters: every clip (name, range, order, references) and every marker (text, frame, colour
where the format keeps one); Resolve's marker EDL against its grammar."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.base import Base
from rushes.catalog.models import Arrival, Derivative, Project, User
from rushes.exports import timeline as timelines
from rushes.ingest import record_manifest
from rushes.media.proxy import make_proxy
from rushes.review import notes, selects
from rushes.review.access import Viewer, viewer_for
from tests.clips import make_video
from tests.conftest import Env
from tests.web.conftest import Client, Footage, Team

RATE = 30  # the footage fixture's frame rate


@dataclass(frozen=True)
class Mark:
    frame: int  # in the clip's source frames
    frames: int  # duration; 0 for a note at one frame
    colour: str
    name: str


@dataclass(frozen=True)
class Shot:
    name: str
    sha256: str
    original: str  # the file name on the card
    start: int
    end: int
    marks: tuple[Mark, ...]


def _viewer(session: Session, username: str) -> Viewer:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return viewer_for(session, user, "film")


def _note(
    session: Session,
    viewer: Viewer,
    sha: str,
    body: str,
    category: str,
    start: int | None = None,
    end: int | None = None,
    rate: str = "",
) -> int:
    draft = notes.Draft(body, category, start, end, rate)
    return notes.add_note(session, viewer, sha, draft).id


def circle_and_note(base: Base, footage: Footage) -> list[Shot]:
    """Three selects (the last one moved first) and notes in, across and outside them."""
    a, b = footage.karim
    c = footage.others[0]
    with base.catalog.write() as session:
        dina, ivan, ada, karim = (_viewer(session, n) for n in ("dina", "ivan", "ada", "karim"))
        take = selects.Take
        selects.create_select(session, dina, a, take(10, 40, "30/1", 5, "Rescue — the stairs"))
        selects.create_select(session, dina, c, take(0, 45))
        wide = selects.create_select(session, dina, b, take(6, 30, "", 3, "wide"))
        selects.move_select(session, dina, wide.id, 1)
        first = _note(session, dina, a, "get closer", "framing", 12)
        notes.reply(session, karim, first, "the battery died")  # replies stay off the timeline
        _note(session, ivan, a, "the second strike", "evidence", 20, 50)  # runs past the out
        _note(session, dina, a, "after the out point", "story", 45)
        _note(session, dina, a, "wind | noise\non the mic", "sound", 500, 700, "1000/1")
        _note(session, dina, a, "untimed notes are no markers", "story")
        _note(session, ada, c, "dropped frames", "technical", 0)
    return [
        Shot("wide (b.mp4)", b, "b.mp4", 6, 30, ()),
        Shot(
            "Rescue — the stairs (a.mp4)",
            a,
            "a.mp4",
            10,
            40,
            (
                Mark(12, 0, "BLUE", "dina: get closer"),
                Mark(15, 6, "CYAN", "dina: wind | noise on the mic"),
                Mark(20, 20, "RED", "ivan: the second strike"),
            ),
        ),
        Shot("c.mp4", c, "c.mp4", 0, 45, (Mark(0, 0, "YELLOW", "ada: dropped frames"),)),
    ]


def frames(time: otio.opentime.RationalTime) -> int:
    return round(time.rescaled_to(RATE).value)


def check_clips(
    timeline: otio.schema.Timeline, shots: list[Shot], upper_markers: bool = False
) -> None:
    """Clip by clip: name, source range, original, and each marker's frame and name."""
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == [s.name for s in shots]
    for clip, shot in zip(clips, shots, strict=True):
        got = clip.source_range
        assert (frames(got.start_time), frames(got.end_time_exclusive())) == (shot.start, shot.end)
        assert clip.media_reference.target_url == f"originals/{shot.sha256}.mp4"
        assert [(frames(m.marked_range.start_time), m.name) for m in clip.markers] == [
            (mark.frame, mark.name.upper() if upper_markers else mark.name) for mark in shot.marks
        ]


# the formats' writing, whatever the catalog (test_timeline_rates reads selects on both)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_selects_timeline_in_every_format(
    base: Base, env: Env, team: Team, footage: Footage, login: Callable[..., Client], tmp_path: Path
) -> None:
    shots = circle_and_note(base, footage)
    dina = login("dina")
    files = {}
    for fmt in ("otio", "edl", "xml", "resolve.edl"):
        got = dina.get(f"/p/film/selects/timeline.{fmt}")
        assert got.status_code == 200, got.text
        assert f"film-selects.{fmt}" in got.headers["content-disposition"]
        assert "x-rushes-warning" not in got.headers
        files[fmt] = got.text

    # OTIO JSON keeps everything: both references, durations, colours, the whole text.
    timeline = otio.adapters.read_from_string(files["otio"], "otio_json")
    check_clips(timeline, shots)
    for clip, shot in zip(timeline.find_clips(), shots, strict=True):
        assert clip.active_media_reference_key == "original"
        references = clip.media_references()
        assert set(references) == {"original", "proxy"}
        original = references["original"]
        assert original.name == shot.original
        assert dict(original.metadata["rushes"])["sha256"] == shot.sha256
        assert original.metadata["rushes"]["original_path"].endswith(f"/{shot.original}")
        assert references["proxy"].target_url == f"proxies/{shot.sha256}.mp4"
        assert clip.source_range.start_time.rate == RATE
        assert [(frames(m.marked_range.duration), m.color) for m in clip.markers] == [
            (mark.frames, mark.colour) for mark in shot.marks
        ]
    wind = list(timeline.find_clips())[1].markers[1]
    assert wind.comment == "wind | noise\non the mic"  # the whole note, as written
    about = wind.metadata["rushes"]
    assert (about["author"], about["category"]) == ("dina", "sound")

    # CMX 3600: one rate, upper-cased marker names, colours, no durations.
    edl = otio.adapters.read_from_string(files["edl"], "cmx_3600", rate=RATE)
    check_clips(edl, shots, upper_markers=True)
    assert [m.color for c in edl.find_clips() for m in c.markers] == [
        mark.colour for s in shots for mark in s.marks
    ]

    # FCP7 XML: names and frames as written; the colour as FCP's RGB.
    xml = otio.adapters.read_from_string(files["xml"], "fcp_xml")
    check_clips(xml, shots)
    rgb = {
        "BLUE": (0, 128, 255),
        "CYAN": (48, 191, 191),
        "RED": (255, 0, 0),
        "YELLOW": (255, 255, 0),
    }
    for clip, shot in zip(xml.find_clips(), shots, strict=True):
        colours = [m.metadata["fcp_xml"]["color"] for m in clip.markers]
        got = [tuple(int(c[k]) for k in ("red", "green", "blue")) for c in colours]
        assert got == [rgb[mark.colour] for mark in shot.marks]
        assert [frames(m.marked_range.duration) for m in clip.markers] == [
            mark.frames for mark in shot.marks
        ]

    # Resolve's marker EDL: a header, then per marker a one-frame event and its marker line.
    lines = files["resolve.edl"].split("\n")
    assert lines[:3] == ["TITLE: The Rescue selects", "FCM: NON-DROP FRAME", ""]
    tc = r"\d\d:\d\d:\d\d[:;]\d\d"
    event = re.compile(rf"^(\d{{3}})  001      V     C        ({tc}) ({tc}) \2 \3  $")
    marker = re.compile(
        r"^(?P<note>[^|]*) \|C:ResolveColor(?P<colour>[A-Z][a-z]+)"
        r" \|M:(?P<name>[^|]*) \|D:(?P<frames>\d+)$"
    )
    body = lines[3:]
    marks = [mark for s in shots for mark in s.marks]
    assert len(body) == 3 * len(marks)
    offsets = [0, 24, 24 + 30]  # each clip's first frame on the record side
    expected = [
        (offsets[i] + mark.frame - shot.start, mark)
        for i, shot in enumerate(shots)
        for mark in shot.marks
    ]
    for number, (at, mark) in enumerate(expected, start=1):
        head, line, blank = body[3 * (number - 1) : 3 * number]
        found = event.match(head)
        assert found, head
        assert int(found.group(1)) == number
        assert found.group(2) == otio.opentime.to_timecode(
            otio.opentime.RationalTime(at, RATE), RATE
        )
        parts = marker.match(line)
        assert parts, line
        assert parts["colour"] == mark.colour.title()
        assert parts["name"] == mark.name.replace("|", "/")
        assert int(parts["frames"]) == max(1, mark.frames)
        assert blank == ""

    # The CLI writes the same files (one through OTIO, one direct); the format from the name.
    for fmt in ("otio", "resolve.edl"):
        target = tmp_path / f"cut.{fmt}"
        env.run("export", "timeline", "film", "-o", str(target))
        assert target.read_text(encoding="utf-8") == files[fmt]
    wrong = env.run("export", "timeline", "film", "-o", str(tmp_path / "cut.mov"), check=False)
    assert wrong.returncode == 2 and "--format" in wrong.stderr
    nobody = env.run("export", "timeline", "nope", "-o", str(tmp_path / "x.otio"), check=False)
    assert nobody.returncode == 1 and "no project 'nope'" in nobody.stderr

    # Every select is in the file: only roles that see all the project's footage get it.
    statuses = {
        name: (login(name) if name else login(None)).get("/p/film/selects/timeline.otio")
        for name in ("ada", "ivan", "karim", "omar", None)
    }
    assert {k: r.status_code for k, r in statuses.items()} == {
        "ada": 200,
        "ivan": 200,
        "karim": 403,
        "omar": 404,
        None: 303,
    }
    assert dina.get("/p/film/selects/timeline.mov").status_code == 400


def test_an_original_still_in_the_field_exports_on_its_proxy(
    base: Base, env: Env, team: Team, footage: Footage, login: Callable[..., Client], tmp_path: Path
) -> None:
    """Listed by the field kit and its proxy sent, the original itself not arrived."""
    assert set(timelines.CATEGORY_COLOURS) == set(notes.CATEGORIES)
    empty = login("dina").get("/p/film/selects/timeline.otio")
    assert empty.status_code == 400 and "has no selects yet" in empty.text
    card = tmp_path / "field-card"
    card.mkdir()
    far = make_video(card / "FAR.MP4", seconds=2, seed=7)
    sha = hashlib.sha256(far.read_bytes()).hexdigest()
    proxy = make_proxy(far, tmp_path / "proxy-360.mp4")
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        record_manifest(
            session,
            sha256=sha,
            size=far.stat().st_size,
            project_id=film.id,
            crew="karim",
            source="card 9",
            raw_path=b"DCIM/FAR.MP4",
            mtime_ns=None,
            actor="karim",
        )
    folder = base.derivatives.prepare(sha)
    shutil.copyfile(proxy.path, folder / "proxy-360.mp4")
    with base.catalog.write() as session:
        session.add(
            Derivative(
                asset_sha256=sha,
                name="proxy-360.mp4",
                kind="proxy",
                media_type="video/mp4",
                size=proxy.path.stat().st_size,
                details={"source": "field", "crew": "karim"},
            )
        )
        dina = _viewer(session, "dina")
        selects.create_select(session, dina, footage.karim[0], selects.Take(0, 30))
        # No probe of an original in the field: its positions are milliseconds.
        selects.create_select(session, dina, sha, selects.Take(500, 1500, "", 0, "far away"))
        assert session.scalar(select(Arrival.via).where(Arrival.asset_sha256 == sha)) == "manifest"

    got = login("dina").get("/p/film/selects/timeline.otio")
    assert got.status_code == 200
    assert got.headers["x-rushes-warning"] == (
        f"1 select(s) on the proxy, original not in the vault yet: {sha[:12]}"
    )
    timeline = otio.adapters.read_from_string(got.text, "otio_json")
    first, in_field = timeline.find_clips()
    assert first.active_media_reference_key == "original"
    assert in_field.name == "far away (FAR.MP4)"
    assert in_field.active_media_reference_key == "proxy"
    assert in_field.media_reference.target_url == f"proxies/{sha}.mp4"
    original = in_field.media_references()["original"]
    assert (original.name, original.target_url) == ("FAR.MP4", f"originals/{sha}.mp4")
    assert original.metadata["rushes"]["in_vault"] is False
    # Milliseconds become frames at the timeline's rate (the footage's 30 fps).
    assert in_field.source_range == otio.opentime.TimeRange(
        otio.opentime.RationalTime(15, RATE), otio.opentime.RationalTime(30, RATE)
    )
    warnings = list(timeline.metadata["rushes"]["warnings"])
    assert len(warnings) == 1 and f"originals/{sha}.mp4 when it arrives" in warnings[0]

    edl = otio.adapters.read_from_string(
        login("dina").get("/p/film/selects/timeline.edl").text, "cmx_3600", rate=RATE
    )
    assert [c.media_reference.target_url for c in edl.find_clips()] == [
        f"originals/{footage.karim[0]}.mp4",
        f"proxies/{sha}.mp4",
    ]
    done = env.run("export", "timeline", "film", "-o", str(tmp_path / "cut.xml"))
    assert f"warning: select 2 (far away (FAR.MP4)): the original {sha[:12]}" in done.stderr
    assert otio.adapters.read_from_file(str(tmp_path / "cut.xml"), "fcp_xml").find_clips()
