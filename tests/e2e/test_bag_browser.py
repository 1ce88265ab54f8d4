"""An investigator makes the incident's evidence bag from its page in a real browser, sees the
job finish (jobs.js following it under the CSP), downloads the zip, and the bag inside validates
with bagit and with its own verify_bag.py under a plain python3."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import Room
from tests.web.test_incident_bag import CODE, bagged, check_bag

__all__ = ["bagged"]  # the HTTP tests' fixture, seen by pytest here


def test_an_investigator_makes_sees_and_downloads_the_bag(
    room: Room, bagged: list[str], tmp_path: Path
) -> None:
    page = room.sign_in("ivan")
    page.goto(f"/p/film/incidents/{CODE}")
    page.get_by_role("button", name="Make evidence bag").click()
    job = page.locator(".bag-job").first
    expect(job).to_be_visible()
    room.shot(page, "started")
    link = job.get_by_role("link", name="Download")
    expect(link).to_be_visible(timeout=120_000)  # a bound on the job, not a timing claim
    expect(job.locator(".bag-state")).to_have_text("ready")
    expect(job.locator(".bag-error")).to_be_hidden()
    room.shot(page, "finished")
    with page.expect_download() as download:
        link.click()
    zipped = tmp_path / download.value.suggested_filename
    download.value.save_as(zipped)
    assert zipped.name == f"film-{CODE}-evidence.zip"
    bag = check_bag(zipped, tmp_path)
    assert sorted(p.name[:64] for p in (bag / "data" / "originals").iterdir()) == sorted(bagged)
