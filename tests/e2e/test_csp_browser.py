"""The Content-Security-Policy in a real Chromium: the main pages work under it with no
violation (no inline script, handler or style left), the moved styles still apply, and the
dashboard's Leaflet map still draws its tiles from the configured tile host."""

from __future__ import annotations

import dataclasses
import re

from playwright.sync_api import ConsoleMessage, Page, expect

from rushes.base import Base
from tests.e2e.conftest import Room
from tests.e2e.test_dashboard_browser import Tiles, incidents, tiles
from tests.web.conftest import Footage

__all__ = ["incidents", "tiles"]  # fixtures, seen by pytest here

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} line ${e.lineNumber}`);
});
"""


def watched(room: Room, username: str) -> tuple[Page, list[str]]:
    """A signed-in window whose console errors and CSP violation reports are collected."""
    page = room.sign_in(username)
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.add_init_script(WATCH)
    return page, errors


def visit(page: Page, path: str, errors: list[str]) -> None:
    page.goto(path)
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__violations")
    assert not violations, f"{path}: {violations}"
    assert not errors, errors


def test_main_pages_work_under_the_csp(footage: Footage, incidents: None, room: Room) -> None:
    page, errors = watched(room, "dina")
    sha = footage.karim[0]
    visit(page, f"/p/film/a/{sha}", errors)
    csrf = page.locator("meta[name=csrf]").get_attribute("content") or ""
    noted = page.request.post(
        f"/api/p/film/a/{sha}/notes",
        data={"body": "the second strike", "start": 30},
        headers={"X-CSRF-Token": csrf},
    )
    assert noted.status == 201
    visit(page, f"/p/film/a/{sha}", errors)
    marker = page.locator("#scrub .marker").first
    left = marker.evaluate("m => parseFloat(m.style.left)")
    assert 0 < left <= 100, "player.js places the note's marker on the scrub bar"
    room.shot(page, "player")

    for path in ("/p/film/", "/p/film/selects", "/me", "/inbox", "/settings", "/p/film/incidents"):
        visit(page, path, errors)
    visit(page, "/p/film/dashboard", errors)
    segment = page.locator("#week-chart path").first
    fill = segment.evaluate("p => getComputedStyle(p).fill")
    assert fill not in ("", "rgb(0, 0, 0)"), "the palette stylesheet colours the chart"
    room.shot(page, "dashboard")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()  # a form POST with the page's Origin
    expect(page).to_have_url(re.compile(r"/login$"))


def test_leaflet_draws_tiles_from_the_tile_host_under_the_csp(
    base: Base, incidents: None, tiles: Tiles, room: Room
) -> None:
    base.settings = dataclasses.replace(base.settings, map_tiles=tiles.url)
    page, errors = watched(room, "dina")
    visit(page, "/p/film/dashboard", errors)
    expect(page.locator("#leaflet-map .leaflet-tile-loaded").first).to_be_visible()
    assert tiles.served, "tiles were fetched from the tile host"
    violations = page.evaluate("window.__violations")
    assert not violations and not errors, (violations, errors)
    room.shot(page, "leaflet")
