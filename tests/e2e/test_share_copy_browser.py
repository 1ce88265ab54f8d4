"""Redactions, the share preview and the share copy in a real Chromium, on a real clip with a
face: a director draws a box at two moments, saves it, finds it after a reload listed and
drawn where share copies hide it (interpolated between its keyframes), mutes a sound from the
I/O marks and deletes it; previews the share copy and plays the preview; makes the share copy
of the I/O-marked range and downloads a zip whose copy carries nothing identifying, with its
`shared` custody event.
A crew member sees the redaction drawn, none of the buttons, and is refused by the endpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from rushes.base import Base
from rushes.media.redact import Keyframe, Region
from tests.e2e.conftest import Room
from tests.exports.test_share import assert_carries_nothing_identifying
from tests.web.test_share_copies import (
    BADGE,
    SECRETS,
    Faced,
    face_footage,
    faced,
    shared_events,
    unzipped_share,
)

__all__ = ["face_footage", "faced"]  # the HTTP tests' fixtures, seen by pytest here

SEEK = """t => new Promise((done) => {
  const v = document.getElementById("player");
  v.pause();
  v.addEventListener("seeked", () => done(), { once: true });
  v.currentTime = t;
})"""
PLACED = "b => [b.style.left, b.style.top, b.style.width, b.style.height].map(parseFloat)"


def open_player(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")


def seek(page: Page, seconds: float) -> None:
    page.evaluate(SEEK, seconds)


def drag(page: Page, area: Locator, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag the mouse between two points given as shares of the area."""
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    assert box is not None
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in (start, end)]
    page.mouse.move(*at[0])
    page.mouse.down()
    page.mouse.move(*at[1], steps=6)
    page.mouse.up()


def saved(page: Page, faced: Faced) -> list[dict]:
    answer = page.request.get(f"/api/p/film/a/{faced.sha256}/redactions")
    assert answer.ok
    return answer.json()["redactions"]


def test_a_director_redacts_previews_and_shares_a_clip(
    room: Room, base: Base, faced: Faced, tmp_path: Path
) -> None:
    page = room.sign_in("dina")
    open_player(page, faced.player)
    layer = page.locator("#redaction-layer")
    page.get_by_role("button", name="Redact").click()
    seek(page, 0.5)
    drag(page, layer, (0.1, 0.2), (0.3, 0.4))
    seek(page, 1.5)
    drag(page, layer, (0.6, 0.5), (0.8, 0.7))
    seek(page, 1.0)  # the box in between, moved right by a tenth of the picture
    drag(page, layer, (0.45, 0.45), (0.55, 0.45))
    expect(page.locator("#redact-boxes")).to_contain_text("boxes: 3")
    page.get_by_label("what the region hides").fill("name tag")
    page.get_by_role("button", name="Save region").click()
    expect(page.locator("#redaction-list .redaction")).to_have_count(1)
    room.shot(page, "drawn")

    (region,) = saved(page, faced)
    assert region["label"] == "name tag" and region["start"] == 0.5
    first, moved, last = region["keyframes"]
    assert (first["t"], moved["t"], last["t"]) == (0.5, 1.0, 1.5)
    assert abs(first["x"] - 0.1) < 0.02 and abs(last["w"] - 0.2) < 0.02, region
    assert abs(moved["x"] - 0.45) < 0.02 and abs(moved["y"] - 0.35) < 0.02, region

    page.reload()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    expect(page.locator("#redaction-list .redaction")).to_contain_text("name tag")
    seek(page, 0.75)
    box = page.locator(".redaction-box:not(.draft)").first
    expect(box).to_be_visible()
    shown = box.evaluate(PLACED)
    keyframes = tuple(Keyframe(**k) for k in region["keyframes"])
    expected = Region(region["start"], region["end"], keyframes).at(0.75)
    assert expected is not None
    assert all(abs(s - e * 100) < 1e-9 for s, e in zip(shown, expected, strict=True)), (
        shown,
        expected,
    )
    assert abs(expected[0] - 0.275) < 0.02  # halfway between the first box and the moved one
    room.shot(page, "interpolated")

    # A sound muted from the I/O marks, then deleted.
    seek(page, 0.2)
    page.keyboard.press("i")
    seek(page, 0.8)
    page.keyboard.press("o")
    page.get_by_label("what the sound gives away").fill("a name")
    page.get_by_role("button", name="Mute in–out").click()
    expect(page.locator("#redaction-list .redaction")).to_have_count(2)
    mute = saved(page, faced)[1]
    assert (mute["kind"], mute["start"], mute["end"], mute["label"]) == ("mute", 0.2, 0.9, "a name")
    page.locator(f'.redaction[data-id="{mute["id"]}"]').get_by_role("button", name="Delete").click()
    expect(page.locator("#redaction-list .redaction")).to_have_count(1)
    assert [r["kind"] for r in saved(page, faced)] == ["region"]

    # The share preview: made in the background, then played in place of the proxy.
    page.get_by_role("button", name="Preview share copy").click()
    watch = page.locator(".preview-job .job-link")
    expect(watch).to_be_visible(timeout=120_000)  # a bound on the job, not a timing claim
    watch.click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert "/media/preview-" in page.evaluate("document.getElementById('player').currentSrc")
    page.keyboard.press("l")
    page.wait_for_function(
        "() => (v => v.currentTime > 0.3 && v.readyState >= 2)(document.getElementById('player'))"
    )
    assert page.evaluate(
        "(v => [v.videoWidth, v.videoHeight])(document.getElementById('player'))"
    ) == [320, 180]
    room.shot(page, "preview")

    # The share copy of the marked range: to whom and why, then the zip.
    page.get_by_role("link", name="Back to the proxy").click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    seek(page, 0.5)
    page.keyboard.press("i")
    seek(page, 1.5)
    page.keyboard.press("o")
    page.get_by_label("Only from the In mark to the Out mark").check()
    page.get_by_label("To whom").fill("Agence X")
    page.get_by_label("Why").fill("report on the clinic")
    page.get_by_role("button", name="Make share copy").click()
    job = page.locator(".share-job").first
    link = job.get_by_role("link", name="Download")
    expect(link).to_be_visible(timeout=120_000)
    expect(job.locator(".job-error")).to_be_hidden()
    room.shot(page, "shared")
    with page.expect_download() as download:
        link.click()
    zipped = tmp_path / download.value.suggested_filename
    download.value.save_as(zipped)
    folder = unzipped_share(zipped, tmp_path / "unzipped")
    assert_carries_nothing_identifying(folder / "clip-001.mp4", *SECRETS)
    manifest = json.loads((folder / "share.json").read_text(encoding="utf-8"))
    assert manifest["to"] == "Agence X" and manifest["faces_hidden"]
    assert manifest["copies"][0]["hidden"]["frames_with_regions"] > 0
    assert manifest["copies"][0]["range_s"] == [0.5, 1.6]  # frame 5 to the end of frame 15
    (event,) = shared_events(base, faced.sha256)
    assert event.actor == "dina" and json.loads(event.details)["why"] == "report on the clinic"


def test_crew_see_the_redaction_drawn_and_no_buttons(room: Room, faced: Faced) -> None:
    dina = room.sign_in("dina")
    csrf = dina.locator("meta[name=csrf]").get_attribute("content") or ""
    made = dina.request.post(
        f"/api/p/film/a/{faced.sha256}/redactions",
        data=BADGE,
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status == 201
    karim = room.sign_in("karim")
    open_player(karim, faced.player)
    seek(karim, 1.0)
    expect(karim.locator(".redaction-box").first).to_be_visible()
    expect(karim.locator("#redaction-list .redaction")).to_contain_text("badge")
    for name in ("Redact", "Preview share copy", "Make share copy", "Delete"):
        expect(karim.get_by_role("button", name=name)).to_have_count(0)
    expect(karim.locator("#share-copy")).to_have_count(0)
    room.shot(karim, "crew")
    csrf = karim.locator("meta[name=csrf]").get_attribute("content") or ""
    for path, form in (("previews", {}), ("shares", {"to": "press", "why": "a report"})):
        refused = karim.request.post(f"{faced.player}/{path}", form={"csrf": csrf, **form})
        assert refused.status == 403, path
    refused = karim.request.delete(
        f"/api/p/film/a/{faced.sha256}/redactions/{made.json()['id']}",
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403
