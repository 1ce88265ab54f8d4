"""Selects timelines of clips at real-world rates (23.976, 29.97 drop-frame, 25, 10 fps and a
variable-rate phone clip), made by the tests, ingested and probed for real, exported over real
HTTP and the real CLI, and read back by OTIO's own adapters: every EDL event's source length
equals its record length, record ranges follow each other without overlap, and the timeline is
as long as its selects."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import httpx
import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, from_timecode, to_timecode
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, Asset
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from rushes.review import notes, selects
from tests.clips import make_video
from tests.conftest import Env
from tests.exports.test_timeline import _viewer
from tests.web.conftest import Client, Team

NTSC = Fraction(30000, 1001)
DROP = (NTSC, Fraction(60000, 1001))  # rates whose timecode drops frames
# The rates an editor's software counts timecode in, as the tests know them.
STANDARD = [Fraction(24000, 1001), 24, 25, NTSC, 30, 50, Fraction(60000, 1001), 60]
TC = r"\d\d:\d\d:\d\d[:;]\d\d"
EVENT = re.compile(rf"^(\d{{3}})  \S+\s+V\s+C\s+({TC}) ({TC}) ({TC}) ({TC})\s*$")


@dataclass(frozen=True)
class Take:
    name: str  # the file name on the card
    sha256: str
    probed: Fraction  # the probe's frame_rate (the mean for variable-rate video)
    vfr: bool
    start: int  # frames at the probed rate
    end: int

    @property
    def rate(self) -> Fraction:
        """The rate the clip is counted in: a variable rate at the nearest standard one."""
        return min(STANDARD, key=lambda r: abs(r - self.probed)) if self.vfr else self.probed

    @property
    def own(self) -> tuple[int, int]:
        """(in, out) at the clip's rate: every frame the take touches."""
        scale = self.rate / self.probed
        return math.floor(self.start * scale), math.ceil(self.end * scale)

    def at(self, rate: Fraction) -> tuple[int, int]:
        """(first frame, record length) at `rate`: the frame showing at the in point, and the
        clip's seconds in whole frames."""
        start, end = self.own
        first = math.floor(Fraction(start) / self.rate * rate)
        return first, max(1, round(Fraction(end - start) / self.rate * rate))


CARD = [  # name, rate, options, (start, end) in the probed rate's frames
    ("A001.MP4", NTSC, {}, (7, 52)),
    ("B002.MOV", Fraction(24000, 1001), {}, (5, 41)),
    ("C003.MKV", Fraction(25), {}, (3, 44)),
    ("D004.MP4", Fraction(10), {}, (2, 17)),
    ("IMG_0005.MOV", Fraction(30), {"vfr": True, "rotation": 90, "make": "Apple"}, (4, 33)),
]


@pytest.fixture
def takes(base: Base, team: Team, tmp_path: Path) -> list[Take]:
    """The card ingested and probed, each clip a select in card order, two of them noted."""
    card = tmp_path / "card"
    card.mkdir()
    for seed, (name, rate, options, _) in enumerate(CARD):
        make_video(card / name, seconds=2, fps=rate, seed=seed + 1, **options)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    with base.catalog.read() as session:
        arrived = {
            Path(path).name: sha
            for path, sha in session.execute(select(Arrival.path, Arrival.asset_sha256))
        }
    found = [(name, arrived[name], start, end) for name, _, _, (start, end) in CARD]
    run_inline(base, ["probe"], [sha for _, sha, _, _ in found])
    out = []
    with base.catalog.write() as session:
        dina = _viewer(session, "dina")
        for name, sha, start, end in found:
            media = session.get(Asset, sha).media
            out.append(Take(name, sha, Fraction(media["frame_rate"]), media["vfr"], start, end))
            selects.create_select(session, dina, sha, selects.Take(start, end))
        for take, frame in ((out[0], 30), (out[3], 5)):
            draft = notes.Draft(f"look at {take.name}", "story", frame, None, "")
            notes.add_note(session, dina, take.sha256, draft)
    assert [t.vfr for t in out] == [False, False, False, False, True]
    return out


def fps(rate: Fraction) -> str:
    """A rate as editors write it: 23.976, 25, 29.97."""
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def record_lengths(takes: list[Take], rate: Fraction) -> list[int]:
    return [take.at(rate)[1] for take in takes]


def check_edl(text: str, takes: list[Take], rate: Fraction) -> list[int]:
    """The EDL against its grammar and OTIO's reader; the record starts of its events."""
    drop = rate in DROP
    lines = text.split("\n")
    assert lines[1] == f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}"
    events = [m for line in lines if (m := EVENT.match(line))]
    assert len(events) == len(takes)
    fps = float(rate)
    starts, at = [], 0
    for event, take, length in zip(events, takes, record_lengths(takes, rate), strict=True):
        src_in, src_out, rec_in, rec_out = (from_timecode(tc, fps) for tc in event.groups()[1:])
        assert all((";" in tc) == drop for tc in event.groups()[1:])
        assert src_out - src_in == rec_out - rec_in == RationalTime(length, fps)
        assert round(src_in.value) == take.at(rate)[0]
        assert round(rec_in.value) == at  # each event starts where the last ended
        starts.append(at)
        at += length
    timeline = otio.adapters.read_from_string(text, "cmx_3600", rate=fps)
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == [t.name for t in takes]
    assert round(timeline.duration().value) == sum(record_lengths(takes, rate))
    return starts


def check_otio(text: str, takes: list[Take], rate: Fraction) -> otio.schema.Timeline:
    """The OTIO file read by OTIO: the timeline at `rate`, each clip exactly as selected in its
    own rate (a variable-rate clip at the standard rate nearest its mean)."""
    timeline = otio.adapters.read_from_string(text, "otio_json")
    assert timeline.global_start_time.rate == float(rate)
    for clip, take in zip(timeline.find_clips(), takes, strict=True):
        got = clip.source_range
        assert got.start_time.rate == float(take.rate)
        start, end = take.own
        assert (got.start_time.value, got.duration.value) == (start, end - start)
    return timeline


def check_xml(text: str, takes: list[Take], rate: Fraction) -> list[str]:
    """The FCP XML read by OTIO: sources in their own rates where timecode exists (else the
    timeline's), the record side in whole frames of `rate`, as in the EDL, and drop-frame where
    the counted rate drops. Returns each file's timecode display format."""
    track = otio.adapters.read_from_string(text, "fcp_xml").video_tracks()[0]
    clips = list(track.find_clips())
    assert [c.name for c in clips] == [t.name for t in takes]
    counted = [take.rate if take.rate in STANDARD else rate for take in takes]
    for index, (clip, take) in enumerate(zip(clips, takes, strict=True)):
        first, _ = take.at(counted[index])
        got = clip.source_range
        assert got.start_time.rate == pytest.approx(float(counted[index]))
        assert round(got.start_time.value) == first
        # The record side is whole timeline frames; the source is the same seconds.
        placed = track.range_of_child_at_index(index)
        assert placed.start_time.rescaled_to(float(rate)).value == pytest.approx(
            sum(record_lengths(takes[:index], rate))
        )
        assert placed.duration.rescaled_to(float(rate)).value == pytest.approx(take.at(rate)[1])
        assert abs(got.duration.to_seconds() - take.at(rate)[1] / rate) < 1e-6
    assert round(track.duration().rescaled_to(float(rate)).value) == sum(
        record_lengths(takes, rate)
    )
    tree = ElementTree.fromstring(text.encode("utf-8"))
    drop = "DF" if rate in DROP else "NDF"
    assert tree.find(".//sequence/timecode/displayformat").text == drop
    formats = [f.find("./timecode/displayformat").text for f in tree.iter("file")]
    assert formats == ["DF" if r in DROP else "NDF" for r in counted]
    return formats


def download(login: Callable[..., Client], fmt: str) -> httpx.Response:
    got = login("dina").get(f"/p/film/selects/timeline.{fmt}")
    assert got.status_code == 200, got.text[:500]
    return got


def test_otio_keeps_each_clip_in_its_own_rate(
    takes: list[Take], login: Callable[..., Client]
) -> None:
    """Exactly as selected; the variable-rate clip at the standard rate nearest its mean."""
    rate = takes[0].rate  # the first select's: 29.97
    timeline = check_otio(download(login, "otio").text, takes, rate)
    assert [t.own for t in takes[:4]] == [(t.start, t.end) for t in takes[:4]]
    assert (
        f"select 5 has a variable frame rate (mean {fps(takes[4].probed)} fps): counted at 24 fps"
        in timeline.metadata["rushes"]["warnings"]
    )


def test_edl_has_one_rate_and_equal_lengths(
    env: Env, takes: list[Take], login: Callable[..., Client], tmp_path: Path
) -> None:
    """Drop-frame at 29.97; clips at other rates converted, and said so; any standard rate
    chosen on the CLI or the selects page's form."""
    edl = download(login, "edl")
    check_edl(edl.text, takes, takes[0].rate)
    warning = edl.headers["x-rushes-warning"]
    for position in (2, 3, 4, 5):
        assert f"select {position} runs at {fps(takes[position - 1].rate)} fps;" in warning
    assert "select 1 runs" not in warning
    assert "* RUSHES: SELECT 4 RUNS AT 10 FPS" in edl.text

    done = env.run("export", "timeline", "film", "-o", str(tmp_path / "cut.edl"), "--rate", "25")
    assert "warning: select 1 runs at 29.97 fps" in done.stderr
    check_edl((tmp_path / "cut.edl").read_text(encoding="utf-8"), takes, Fraction(25))

    dina = login("dina")
    page = dina.get("/p/film/selects")
    assert 'action="/p/film/selects/timeline"' in page.text
    assert '<option value="24000/1001">23.976 fps</option>' in page.text
    chosen = dina.get("/p/film/selects/timeline", params={"format": "edl", "rate": "23.976"})
    assert chosen.status_code == 200
    assert "film-selects.edl" in chosen.headers["content-disposition"]
    check_edl(chosen.text, takes, Fraction(24000, 1001))


def test_fcp_xml_keeps_rates_with_timecode_and_drop_frame(
    env: Env, takes: list[Take], login: Callable[..., Client], tmp_path: Path
) -> None:
    """Own rates where timecode exists, 10 fps counted at the timeline's rate; the record side
    in whole frames of the timeline, as in the EDL; the CLI writes the same file."""
    rate = takes[0].rate
    written = download(login, "xml")
    formats = check_xml(written.text, takes, rate)
    assert formats == ["DF", "NDF", "NDF", "DF", "NDF"]  # 10 fps is counted at 29.97
    assert "select 4 runs at 10 fps, which has no timecode" in written.headers["x-rushes-warning"]
    done = env.run("export", "timeline", "film", "-o", str(tmp_path / "cut.xml"))
    assert (tmp_path / "cut.xml").read_text(encoding="utf-8") == written.text
    assert "warning: select 4 runs at 10 fps" in done.stderr


def test_resolve_markers_sit_where_the_edl_puts_their_frames(
    takes: list[Take], login: Callable[..., Client]
) -> None:
    rate = takes[0].rate
    starts = check_edl(download(login, "edl").text, takes, rate)
    lines = download(login, "resolve.edl").text.split("\n")
    assert lines[1] == "FCM: DROP FRAME"
    events = [m for line in lines if (m := EVENT.match(line))]
    first_note = starts[0] + 30 - takes[0].at(rate)[0]
    second_note = (
        starts[3] + math.floor(Fraction(5) / takes[3].probed * rate) - takes[3].at(rate)[0]
    )
    expected = [
        to_timecode(RationalTime(at, float(rate)), float(rate)) for at in (first_note, second_note)
    ]
    assert [e.group(4) for e in events] == expected
    # OTIO's EDL reader takes the file too (the |C:|M:|D: lines are Resolve's own, it skips
    # them) and puts each marker's event at the same frame.
    read = otio.adapters.read_from_string("\n".join(lines), "cmx_3600", rate=float(rate))
    placed = [to_timecode(c.source_range.start_time, float(rate)) for c in read.find_clips()]
    assert placed == expected


def test_a_timeline_that_cannot_be_made_says_why(
    env: Env, takes: list[Take], login: Callable[..., Client], tmp_path: Path
) -> None:
    """A rate without timecode is refused with the rates there are, never a 500 or a trace."""
    got = login("dina").get("/p/film/selects/timeline.edl", params={"rate": "10"})
    assert got.status_code == 400
    assert "rate &#39;10&#39;: a timeline runs at one of 23.976, 24, 25, 29.97" in got.text
    for rate in ("10", "fast"):
        done = env.run(
            "export", "timeline", "film", "-o", str(tmp_path / "x.xml"), "-r", rate, check=False
        )
        assert done.returncode == 1, done.stderr
        assert f"rate '{rate}': a timeline runs at one of" in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "x.xml").exists()
