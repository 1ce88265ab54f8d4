"""The review room in a real Chromium: what a newcomer, a director and a crew member do.

Each test drives the real server (`server`, or a real `rushes serve` process) through the same
pages and keys a person would use, and saves screenshots of its steps (see conftest.py).
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import RUSHES, Env
from tests.e2e.conftest import Room
from tests.web.conftest import Footage
from tests.web.test_status import free_port

SETUP_LINK = re.compile(r"http://\S+/setup\?token=\S+")
ZERO = "00:00:00:00"
MAX_HTML = 150 * 1024  # the page budget at 256 kbit/s, excluding media


def open_player(page: Page, sha: str) -> None:
    """Open a clip's player and wait until the proxy's metadata is in (so keys can seek)."""
    page.goto(f"/p/film/a/{sha}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")


def note_items(page: Page) -> list[dict[str, str]]:
    """The note list as the page shows it: start, end and body of each top-level note."""
    return page.eval_on_selector_all(
        "#notes > li.note",
        """items => items.map(li => ({start: li.dataset.start, end: li.dataset.end,
            body: li.querySelector(':scope > .note-body').textContent}))""",
    )


def filter_of(element: Locator) -> str:
    """The CSS filter the browser applies to an element (e.g. "blur(14px)" or "none")."""
    return element.evaluate("e => getComputedStyle(e).filter")


def eager_images(page: Page) -> list[str]:
    """Images on the page that would load before they are scrolled into view."""
    return page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => i.loading !== 'lazy').map(i => i.src)"
    )


@pytest.fixture
def first_start(env: Env) -> Iterator[str]:
    """A real `rushes serve` on an empty base; yields the setup link it prints."""
    port = free_port()
    process = subprocess.Popen(
        [*RUSHES, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env.vars, "RUSHES_WORKERS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()  # None: the process closed its output
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        link, started, deadline = "", False, time.monotonic() + 60
        while not (link and started) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            found = SETUP_LINK.search(line)
            link = found.group(0) if found else link
            started = started or "Uvicorn running on" in line
        assert link, "rushes serve printed no setup link on an empty base:\n" + "".join(output)
        assert started, "rushes serve did not start listening:\n" + "".join(output)
        yield link
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_first_start_setup_link_makes_the_admin(first_start: str, room: Room) -> None:
    page = room.window()
    page.goto(first_start)
    room.shot(page, "1-setup")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create admin").click()
    expect(page, "the new admin should land on /admin").to_have_url(re.compile(r"/admin$"))
    expect(page.get_by_role("link", name="ada"), "ada should be signed in").to_be_visible()
    room.shot(page, "2-admin")
    page.goto(first_start)
    expect(page.get_by_text("used, expired or unknown"), "the link works once").to_be_visible()


def test_assignment_and_note_reach_the_crew_on_a_phone(footage: Footage, room: Room) -> None:
    sha = footage.others[0]  # shot by rami: karim sees it only through the assignment
    dina = room.sign_in("dina")
    dina.goto("/p/film/assignments")
    form = dina.locator("#assignment-form")
    form.get_by_label("Title").fill("Follow Khaled's story")
    form.get_by_label("Brief").fill("Get closer; use tighter frames.")
    form.get_by_label("karim").check()
    form.get_by_role("button", name="Create assignment").click()
    expect(dina, "creating an assignment should open its page").to_have_url(
        re.compile(r"/p/film/assignments/\d+$")
    )
    dina.locator("#attach-form input[name=sha256]").fill(sha)
    dina.locator("#attach-form").get_by_role("button", name="Attach").click()
    expect(dina.locator(f"#assignment-assets li[data-sha='{sha}']"), "attached").to_have_count(1)
    room.shot(dina, "1-director")
    open_player(dina, sha)
    dina.locator("#note-body").fill("Khaled walks in at the start: follow him")
    dina.locator("#note-to").select_option("karim")
    dina.get_by_role("button", name="Add note").click()
    expect(dina.locator("#notes > li.note"), "the note should be listed").to_have_count(1)

    karim = room.sign_in("karim", phone=True)
    karim.goto("/me")
    mine = karim.locator("#my-assignments")
    expect(mine, "karim's /me should list the assignment").to_contain_text("Follow Khaled's story")
    expect(mine, "karim's /me should show the brief").to_contain_text("tighter frames")
    expect(karim.locator("#my-notes"), "karim's /me should list the note to him").to_contain_text(
        "follow him"
    )
    width = karim.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"/me scrolls sideways on a 375 px phone: {width} px wide"
    room.shot(karim, "2-crew-phone")
    mine.get_by_role("button", name="Start").tap()
    expect(karim, "the status button should come back to /me").to_have_url(re.compile(r"/me$"))
    expect(mine, "the assignment should now be in progress").to_contain_text("in-progress")
    room.shot(karim, "3-started")
    mine.get_by_role("link", name="Follow Khaled's story").tap()
    expect(
        karim.locator(f"#assignment-assets li[data-sha='{sha}']"),
        "karim should see the footage attached to his assignment",
    ).to_have_count(1)
    width = karim.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"the assignment page scrolls sideways on a phone: {width} px wide"
    room.shot(karim, "4-assignment")

    expect(karim.locator("#unread-count"), "the header counts the note to him").to_have_text("1")
    karim.locator("#inbox-link").tap()
    new = karim.locator(".inbox-item.unread")
    expect(new, "karim's inbox should hold the note to him, new").to_contain_text("follow him")
    width = karim.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"/inbox scrolls sideways on a 375 px phone: {width} px wide"
    room.shot(karim, "5-inbox")
    new.get_by_role("button", name="Mark read").tap()
    expect(new, "marked read, the item is no longer new").to_have_count(0)
    expect(karim.locator("#unread-count"), "and the header has no count").to_have_count(0)
    dina.goto("/inbox")
    expect(dina.locator(".kind-status.unread"), "dina hears karim started").to_contain_text(
        "karim set “Follow Khaled's story” to"
    )


def test_director_plays_and_notes_with_the_keyboard(footage: Footage, room: Room) -> None:
    dina = room.sign_in("dina")
    open_player(dina, footage.karim[0])
    timecode = dina.locator("#timecode")
    expect(timecode, "the timecode should start at zero").to_have_text(ZERO)
    dina.keyboard.press("l")  # play
    dina.wait_for_function(
        "() => (v => v.currentTime > 0 && v.readyState >= 2)(document.getElementById('player'))"
    )
    expect(timecode, "the timecode should follow playback").not_to_have_text(ZERO)
    dina.keyboard.press("k")  # pause
    room.shot(dina, "1-played")

    dina.keyboard.press("n")
    expect(dina.locator("#note-body"), "N should put the cursor in the note").to_be_focused()
    dina.wait_for_function(  # the playhead's frame, once the pause has settled
        "() => document.getElementById('note-at').textContent"
        " === document.getElementById('timecode').textContent"
    )
    at = dina.locator("#note-at").text_content()
    assert at and at != ZERO, f"N should place the note at the playhead, not at {at!r}"
    dina.keyboard.type("Get closer here")
    dina.keyboard.press("Enter")
    dina.wait_for_url(re.compile(r"#note-\d+$"))
    [point] = note_items(dina)
    assert point["body"] == "Get closer here" and point["start"] != "" and point["end"] == "", (
        f"the point note should be listed at a frame: {point}"
    )
    point_note = dina.locator("#notes > li.note", has_text="Get closer here")
    expect(point_note.locator(".seek"), "the note shows its timecode").to_have_text(at)

    scrub = dina.locator("#scrub")
    box = scrub.bounding_box()
    assert box, "the scrub bar should be on screen"
    scrub.click(position={"x": box["width"] / 2, "y": box["height"] / 2})  # seek to the middle
    expect(timecode, "a click on the scrub bar should seek").not_to_have_text(at)
    dina.keyboard.press("i")
    for _ in range(10):
        dina.keyboard.press("ArrowRight")
    dina.keyboard.press("o")
    expect(dina.locator("#mark-out"), "O should mark the out point").not_to_have_text("—")
    dina.keyboard.press("n")
    dina.keyboard.type("Use tighter frames over this range")
    dina.keyboard.press("Enter")
    expect(dina.locator("#notes > li.note"), "both notes should be listed").to_have_count(2)
    ranged = next(n for n in note_items(dina) if n["body"].startswith("Use tighter"))
    assert ranged["end"] != "" and int(ranged["end"]) - int(ranged["start"]) == 10, (
        f"the range note should span the ten frames stepped with the arrow key: {ranged}"
    )
    markers = dina.eval_on_selector_all("#scrub .marker", "ms => ms.map(m => m.dataset.start)")
    assert sorted(markers) == sorted([point["start"], ranged["start"]]), (
        f"each timed note should have a marker on the scrub bar: {markers}"
    )
    point_note.locator(".seek").click()
    expect(timecode, "a click on a note's time should seek there").to_have_text(at)
    expect(point_note, "the list should follow the playhead").to_have_class(
        re.compile(r"\bcurrent\b")
    )
    room.shot(dina, "2-noted")

    note = dina.locator("#notes > li.note", has_text="Get closer here")
    note.locator("summary").click()
    note.get_by_label("reply").fill("Done, reshooting tomorrow")
    note.get_by_role("button", name="Reply").click()
    expect(note.locator(".reply"), "the reply should be shown under its note").to_contain_text(
        "Done, reshooting tomorrow"
    )
    note.get_by_role("button", name="Resolve").click()
    expect(note, "the resolved note should be marked").to_have_class(re.compile(r"\bresolved\b"))
    expect(note.locator(".resolved-badge")).to_contain_text("resolved by dina")
    room.shot(dina, "3-resolved")


def test_director_circles_a_select_from_the_player(footage: Footage, room: Room) -> None:
    dina = room.sign_in("dina")
    open_player(dina, footage.others[0])
    for _ in range(5):
        dina.keyboard.press("ArrowRight")
    dina.keyboard.press("i")
    for _ in range(20):
        dina.keyboard.press("ArrowRight")
    dina.keyboard.press("o")
    marked_in = dina.locator("#mark-in").text_content()
    marked_out = dina.locator("#mark-out").text_content()
    expect(dina.locator("#select-range"), "the select form should take the I/O marks").to_have_text(
        f"{marked_in}–{marked_out}"
    )
    form = dina.locator("#select-form")
    form.get_by_label("label").fill("Khaled at the door")
    form.get_by_label("rating").select_option("4")
    room.shot(dina, "1-marked")
    form.get_by_role("button", name="Circle take").click()
    dina.wait_for_url(re.compile(r"#t=[\d.]+$"))  # back on the player, at the take

    dina.get_by_role("link", name="Selects", exact=True).click()
    row = dina.locator(".select-row", has_text="Khaled at the door")
    expect(row, "the circled take should be on the selects list").to_have_count(1)
    expect(row.locator(".tc-in"), "the select should start at the in mark").to_have_text(marked_in)
    expect(row.locator(".tc-out"), "the select should end at the out mark").to_have_text(marked_out)
    expect(row.locator(".rating")).to_have_attribute("data-rating", "4")
    room.shot(dina, "2-selects")


def test_graphic_clip_is_blurred_for_others_and_pages_stay_light(
    footage: Footage, room: Room
) -> None:
    sha = footage.karim[0]
    dina = room.sign_in("dina")
    open_player(dina, sha)
    dina.get_by_role("button", name="Flag as graphic").click()
    badge = dina.locator(".graphic-badge")
    expect(badge, "the player should say the clip is graphic").to_be_visible()
    room.shot(dina, "1-flagged")

    karim = room.sign_in("karim")
    grid = karim.goto("/p/film/")
    assert grid is not None and len(grid.body()) < MAX_HTML, "the grid page is over 150 KB"
    thumb = karim.locator(f"#grid .card[data-sha='{sha}'] .thumb")
    expect(thumb, "the flagged clip's card should be marked graphic").to_have_class(
        re.compile(r"\bgraphic\b")
    )
    image = thumb.locator("img")
    expect(image).to_be_visible()
    blur = filter_of(image)
    assert "blur" in blur, f"a graphic thumbnail should be blurred for karim, filter is {blur!r}"
    others = karim.locator(f"#grid .card:not([data-sha='{sha}']) .thumb img").first
    assert "blur" not in filter_of(others), "an unflagged thumbnail should not be blurred"
    room.shot(karim, "2-blurred")
    thumb.click()
    expect(thumb, "a click should reveal the graphic thumbnail").to_have_class(
        re.compile(r"\brevealed\b")
    )
    expect(karim, "the first click only reveals").to_have_url(re.compile(r"/p/film/$"))
    assert filter_of(image) == "none", "a click should reveal the graphic thumbnail"
    room.shot(karim, "3-revealed")

    lazy = eager_images(karim)
    assert not lazy, f"images on the grid without loading=lazy: {lazy}"
    player = karim.goto(f"/p/film/a/{sha}")
    assert player is not None and len(player.body()) < MAX_HTML, "the player page is over 150 KB"
    lazy = eager_images(karim)
    assert not lazy, f"images on the player without loading=lazy: {lazy}"
