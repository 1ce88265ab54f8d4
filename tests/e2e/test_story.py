"""The whole story, through the clients people use, on SQLite and on PostgreSQL (issue 13).

A crew member imports a card of clips at real-world rates (29.97 drop-frame, 25, 10 fps, a
variable-rate clip, a rotated phone clip) with the field kit and syncs it to a real `rushes
serve` through a link cut several times; the server's own pipeline processes what arrives. In a
real Chromium the director finds the clips by their arrival day, plays one, leaves a point and a
range note, assigns a story; the crew member, on a phone, sees it and replies; the director's
inbox shows the reply. Selects are circled and ordered and the timeline exported in all four
formats, each read back by OpenTimelineIO's adapters with equal durations. An investigator
records an incident, accepts the field clip suggested for it and makes the evidence bag from
the incident page; the bag verifies with bagit and with its own verifier under a plain python3.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime
from playwright.sync_api import Page, expect
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Asset, Select, StepState
from rushes.pipeline.runner import pending_count
from tests.clips import make_video
from tests.conftest import Env, db_url
from tests.e2e.conftest import Room
from tests.e2e.test_review_room import note_items, open_player
from tests.exports.test_timeline_rates import (
    EVENT,
    NTSC,
    Take,
    check_edl,
    check_otio,
    check_xml,
    record_lengths,
)
from tests.field.test_sync import Cutter, Kit, sha
from tests.upload.test_faults import serving
from tests.web.conftest import Team
from tests.web.test_incident_bag import check_bag
from tests.web.test_status import free_port

__all__ = ["db_url"]  # both databases: the browser tests' conftest keeps to SQLite

LOCAL = timezone(timedelta(hours=3))
SHOT = datetime(2026, 3, 14, 23, 40, tzinfo=LOCAL)  # the card's day, not the day it arrives
PLACE = (36.2021, 37.1345)
CUTS = 4  # connections the relay breaks mid-request
PHONE = "IMG_0005.MOV"
CARD = {  # file name on the card -> how tests/clips.py makes it
    "A001.MP4": {"fps": NTSC},  # 29.97, drop-frame timecode
    "B002.MOV": {"fps": 25},
    "C003.MKV": {"fps": 10},
    "D004.MP4": {"fps": 30, "vfr": True},
    PHONE: {"fps": 30, "rotation": 90, "make": "Apple", "model": "iPhone 8", "gps": PLACE},
}
POINT = "Khaled comes in here: stay on him"
RANGE = "Too wide over this stretch, get closer"
REPLY = "Going back tomorrow morning for the close-ups"
STORY = "Khaled's street after the strike"


@pytest.fixture
def server(env: Env, team: Team, tmp_path: Path) -> Iterator[str]:
    """A real `rushes serve` (its pipeline running in the background) on the team's base."""
    port = free_port()
    with serving(env, port, tmp_path / "serve.log"):
        yield f"http://127.0.0.1:{port}"


def make_card(folder: Path) -> dict[str, str]:
    """The crew's card: one to two seconds of each clip; file name -> SHA-256."""
    dcim = folder / "DCIM"
    dcim.mkdir(parents=True)
    return {
        name: sha(make_video(dcim / name, seconds=1.5, creation_time=SHOT, seed=n + 1, **options))
        for n, (name, options) in enumerate(CARD.items())
    }


def processed(base: Base, serve_log: Path) -> None:
    """Wait (a bound, not a timing claim) until the server's pipeline has run every step, and
    check that none failed."""
    deadline = time.monotonic() + 240
    while pending_count(base):
        assert time.monotonic() < deadline, "the pipeline did not finish:\n" + serve_log.read_text()
        time.sleep(0.5)
    with base.catalog.read() as session:
        failed = session.execute(
            select(StepState.asset_sha256, StepState.step, StepState.error).where(
                StepState.status == "failed"
            )
        ).all()
    assert not failed, f"pipeline steps failed: {failed}"


def circle(page: Page, sha256: str, skip: int, length: int) -> None:
    """Circle a take in the player: `length` frames from frame `skip`; the whole clip if 0."""
    open_player(page, sha256)
    if length:
        for _ in range(skip):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("i")
        for _ in range(length):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("o")
    page.locator("#select-form").get_by_role("button", name="Circle take").click()
    page.wait_for_url(re.compile(r"#t=[\d.]+$"))


def download(page: Page, fmt: str, folder: Path) -> str:
    """The selects page's export form, as the director uses it: the file's text."""
    page.locator("#timeline-export select[name=format]").select_option(fmt)
    with page.expect_download() as started:
        page.locator("#timeline-export").get_by_role("button", name="Download").click()
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path.read_text(encoding="utf-8")


def width(page: Page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_field_card_to_review_selects_exports_and_evidence_bag(
    env: Env, base: Base, server: str, room: Room, tmp_path: Path
) -> None:
    began = time.monotonic()
    serve_log = tmp_path / "serve.log"

    # The crew: a token from the base's CLI, then the field kit's own commands on the laptop.
    shas = make_card(tmp_path / "card")
    names = {digest: name for name, digest in shas.items()}
    token = env.run("user", "token", "karim", "film", "--label", "laptop").stdout.strip()
    relay = Cutter(server, after=20_000, cuts=0)  # the link holds for the login ...
    kit = Kit(tmp_path / "kit")
    try:
        kit.login(relay.url, token)
        imported = kit.run("import", str(tmp_path / "card"), "--source", "card 1")
        assert "5 new, 0 unchanged, 0 skipped, 0 failed; 5 proxies made" in imported, imported
        relay.cuts = CUTS  # ... and then breaks, again and again, 20 kB into a connection
        synced = kit.run("sync")
    finally:
        relay.close()
    assert relay.cuts < 0, "the relay made fewer cuts than planned"
    assert synced.count("the base is unreachable") >= CUTS, synced
    assert "everything is on the base" in synced, synced
    assert "left: 0 manifest entries, 0 proxies, 0 originals" in kit.run("status")
    arrived_day = datetime.now(UTC).date().isoformat()
    synced_at = time.monotonic()

    # The director finds the card by the day it arrived (it was shot days before).
    dina = room.sign_in("dina")
    dina.goto("/p/film/")
    filters = dina.locator("#filters")
    filters.locator("input[name=day]").fill(arrived_day)
    filters.get_by_role("button", name="Show").click()
    expect(dina.locator("#empty"), "nothing was filmed on the day it arrived").to_be_visible()
    filters.locator("select[name=day_of]").select_option("arrived")
    filters.get_by_role("button", name="Show").click()
    cards = dina.locator("#grid .card")
    expect(cards, "the day's arrivals should all be on the grid").to_have_count(len(CARD))
    shown = dict(
        zip(
            cards.evaluate_all("cs => cs.map(c => c.dataset.sha)"),
            dina.locator("#grid .card .file-name").all_text_contents(),
            strict=True,
        )
    )
    assert shown == names, "each card should carry its file name from the card"
    room.shot(dina, "1-arrivals")

    # ... plays the 29.97 clip and leaves a point note (to the crew) and a range note.
    played = shas["A001.MP4"]
    open_player(dina, played)
    expect(dina.locator("#file-name")).to_have_text("A001.MP4")
    timecode = dina.locator("#timecode")
    expect(timecode, "29.97 fps counts in drop-frame timecode").to_have_text("00:00:00;00")
    dina.keyboard.press("l")
    expect(timecode, "the timecode should follow playback").not_to_have_text("00:00:00;00")
    dina.keyboard.press("k")
    dina.keyboard.press("n")
    dina.wait_for_function(
        "() => document.getElementById('note-at').textContent"
        " === document.getElementById('timecode').textContent"
    )
    dina.keyboard.type(POINT)
    dina.locator("#note-to").select_option("karim")
    dina.get_by_role("button", name="Add note").click()
    dina.wait_for_url(re.compile(r"#note-\d+$"))
    scrub = dina.locator("#scrub")
    box = scrub.bounding_box()
    assert box, "the scrub bar should be on screen"
    scrub.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    dina.keyboard.press("i")
    for _ in range(10):
        dina.keyboard.press("ArrowRight")
    dina.keyboard.press("o")
    dina.keyboard.press("n")
    dina.keyboard.type(RANGE)
    dina.keyboard.press("Enter")
    expect(dina.locator("#notes > li.note"), "both notes should be listed").to_have_count(2)
    noted = {n["body"]: n for n in note_items(dina)}
    assert noted[POINT]["end"] == "" and int(noted[POINT]["start"]) > 0, noted
    assert int(noted[RANGE]["end"]) - int(noted[RANGE]["start"]) == 10, noted
    for seek in dina.locator("#notes > li.note .seek").all_text_contents():
        assert ";" in seek, f"a note on a 29.97 clip should show drop-frame timecode: {seek}"
    room.shot(dina, "2-noted")

    # ... and assigns the story to the crew member, with the clip (by a hash prefix).
    dina.goto("/p/film/assignments")
    form = dina.locator("#assignment-form")
    form.get_by_label("Title").fill(STORY)
    form.get_by_label("Brief").fill("Find Khaled again; close-ups of the door.")
    form.get_by_label("karim").check()
    form.get_by_role("button", name="Create assignment").click()
    expect(dina).to_have_url(re.compile(r"/p/film/assignments/\d+$"))
    dina.locator("#attach-form input[name=sha256]").fill(played[:12])
    dina.locator("#attach-form").get_by_role("button", name="Attach").click()
    expect(dina.locator(f"#assignment-assets li[data-sha='{played}']")).to_have_count(1)
    dina.goto("/inbox")  # the crew's arrivals are news; read, so that the reply stands out
    expect(dina.locator(".inbox-item.kind-arrivals.unread")).to_contain_text(
        f"karim sent {len(CARD)} clips on {arrived_day}"
    )
    dina.locator("#read-all").click()
    expect(dina.locator("#unread-count"), "nothing unread before the reply").to_have_count(0)

    # The crew member, on a phone, sees the story and the note, and replies from the player.
    karim = room.sign_in("karim", phone=True)
    karim.goto("/me")
    expect(karim.locator("#my-assignments"), "the story is on /me").to_contain_text(STORY)
    mine = karim.locator("#my-notes .my-note", has_text=POINT)
    expect(mine, "the note to him is on /me").to_have_count(1)
    assert width(karim) <= 375, f"/me scrolls sideways on a phone: {width(karim)} px"
    room.shot(karim, "3-crew-me")
    mine.get_by_role("link", name=re.compile(r"^Open clip")).tap()
    note = karim.locator("#notes > li.note", has_text=POINT)
    note.locator("summary").tap()
    note.get_by_label("reply").fill(REPLY)
    note.get_by_role("button", name="Reply").tap()
    expect(note.locator(".reply"), "the reply is under the note").to_contain_text(REPLY)
    assert width(karim) <= 375, f"the player scrolls sideways on a phone: {width(karim)} px"
    room.shot(karim, "4-crew-replied")

    # The director's header counts the reply; the inbox says who replied, and what.
    dina.goto("/p/film/")
    expect(dina.locator("#unread-count"), "the header counts the reply").to_have_text("1")
    dina.locator("#inbox-link").click()
    reply = dina.locator(".inbox-item.kind-reply.unread")
    expect(reply).to_contain_text("karim replied in a thread you wrote in")
    expect(reply).to_contain_text(REPLY)
    room.shot(dina, "5-inbox")

    # Selects: once the server's pipeline has probed the originals, one take of every clip
    # (the whole played clip, with its notes), then the phone clip moved up one place.
    processed(base, serve_log)
    processing = time.monotonic() - synced_at
    order = ["A001.MP4", "B002.MOV", "C003.MKV", "D004.MP4", PHONE]
    for name in order:
        circle(dina, shas[name], *((0, 0) if name == "A001.MP4" else (2, 9)))
        if name == PHONE:  # held upright, the phone filmed a portrait picture
            dina.wait_for_function("() => player.readyState >= 1")  # back on the player
            shape = dina.evaluate("(v => [v.videoWidth, v.videoHeight])(player)")
            assert shape[0] < shape[1], f"the phone clip plays on its side: {shape}"
    dina.goto("/p/film/selects")
    rows = dina.locator("#select-list .select-row .select-label")
    expect(rows).to_have_text(order)
    with dina.expect_response(re.compile(r"/api/p/film/selects/order$")) as saved:
        dina.locator(".select-row", has_text=PHONE).get_by_role("button", name="Move up").click()
    assert saved.value.ok, saved.value.text()
    order[3:] = [PHONE, "D004.MP4"]
    dina.reload()
    expect(rows, "the new order is kept").to_have_text(order)
    room.shot(dina, "6-selects")

    # The timeline in all four formats, each read back by OpenTimelineIO's adapters.
    with base.catalog.read() as session:
        takes = [
            take_of(session.get(Asset, row.asset_sha256), row, names[row.asset_sha256])
            for row in session.scalars(select(Select).order_by(Select.position))
        ]
    assert [t.name for t in takes] == order
    assert [t.vfr for t in takes] == [False, False, False, False, True]
    rate = takes[0].rate  # the first select's: 29.97, drop-frame
    folder = tmp_path / "exports"
    folder.mkdir()
    cut = check_otio(download(dina, "otio", folder), takes, rate)
    check_edl(download(dina, "edl", folder), takes, rate)  # as long as the selects, in frames
    check_xml(download(dina, "xml", folder), takes, rate)  # the same frames
    frames = sum(record_lengths(takes, rate))
    seconds = cut.duration().to_seconds()  # each clip exactly, in its own rate
    assert abs(seconds - frames / rate) <= len(takes) / 2 / rate, (seconds, frames)
    resolve = download(dina, "resolve.edl", folder)
    placed = [m.group(4) for line in resolve.split("\n") if (m := EVENT.match(line))]
    markers = read_markers(cut, takes, rate)
    assert len(placed) == len(markers) == 2, (placed, markers)
    assert placed == markers, "Resolve's markers should sit where the notes are on the timeline"
    room.shot(dina, "7-exported")

    # The investigator records the incident where and when the phone clip was filmed, accepts
    # the field clip suggested for it and makes the evidence bag from the incident's page.
    ivan = room.sign_in("ivan")
    ivan.goto("/p/film/incidents")
    ivan.locator("#new-incident summary").click()
    form = ivan.locator("#incident-form")
    form.locator("input[name=code]").fill("ALP-1")
    form.locator("input[name=title]").fill("Strike on the market street")
    form.locator("select[name=type]").select_option("airstrike")
    form.locator("input[name=started_at]").fill("2026-03-14T23:15:00")
    form.locator("input[name=started_offset]").fill("+03:00")
    form.locator("input[name=latitude]").fill("36.2030")
    form.locator("input[name=longitude]").fill("37.1350")
    form.get_by_role("button", name="Record").click()
    expect(ivan).to_have_url(re.compile(r"/p/film/incidents/ALP-1"))
    phone = shas[PHONE]
    suggestion = ivan.locator("#incident-suggestions .suggestion")
    expect(suggestion, "the phone clip filmed there is suggested").to_have_count(1)
    expect(suggestion).to_have_attribute("data-sha", phone)
    suggestion.get_by_role("button", name="Accept").click()
    expect(ivan.locator(f"#incident-footage .footage-item[data-sha='{phone}']")).to_have_count(1)
    ivan.get_by_role("button", name="Make evidence bag").click()
    job = ivan.locator(".bag-job").first
    link = job.get_by_role("link", name="Download")
    expect(link).to_be_visible(timeout=120_000)  # a bound on the job, not a timing claim
    expect(job.locator(".bag-error")).to_be_hidden()
    room.shot(ivan, "8-bag")
    with ivan.expect_download() as started:
        link.click()
    zipped = tmp_path / started.value.suggested_filename
    started.value.save_as(zipped)
    bag = check_bag(zipped, tmp_path)  # bagit, and verify_bag.py under /usr/bin/python3 -I
    (original,) = (bag / "data" / "originals").iterdir()
    assert original.name.startswith(phone), original.name
    assert original.read_bytes() == (tmp_path / "card" / "DCIM" / PHONE).read_bytes()
    readme = (bag / "README.txt").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith(PHONE) and phone in line]
    where = f"{PLACE[0]:.5f}, {PLACE[1]:.5f}"
    for cell in ("karim", "2026-03-14 20:40:00 UTC", where, "manifest, upload"):
        assert cell in row, f"the README's table should say {cell!r} of the clip: {row}"

    print(
        f"\nstory on {env.database_url.split(':')[0]}: {time.monotonic() - began:.1f} s "
        f"(pipeline after sync {processing:.1f} s)"
    )


def take_of(asset: Asset | None, row: Select, name: str) -> Take:
    """A select as tests/exports/test_timeline_rates.py checks it: frames at the probed rate."""
    assert asset is not None and asset.media is not None and "from" not in asset.media
    probed = Fraction(asset.media["frame_rate"])
    assert Fraction(row.rate) == probed, "the player circles takes at the probed rate"
    return Take(name, asset.sha256, probed, asset.media["vfr"], row.start, row.end)


def read_markers(timeline: otio.schema.Timeline, takes: list[Take], rate: Fraction) -> list[str]:
    """Where each note's marker falls on the record side (each clip placed after the whole
    frames of those before it, as in the EDL), as timecode at the timeline's rate."""
    placed = []
    for index, clip in enumerate(timeline.find_clips()):
        start = sum(record_lengths(takes[:index], rate))
        for marker in clip.markers:
            inside = marker.marked_range.start_time - clip.source_range.start_time
            at = RationalTime(
                start + math.floor(inside.rescaled_to(float(rate)).value), float(rate)
            )
            placed.append(otio.opentime.to_timecode(at, float(rate)))
    return placed
