"""The incident dashboard in a real Chromium: the weekly chart's bars and the map's points are
drawn and lead to their incidents, offline (no tiles: the server's own map) and on tiles from a
tile server on this machine (Leaflet). Screenshots of both are kept (see conftest.py)."""

from __future__ import annotations

import dataclasses
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from rushes.base import Base
from tests.e2e.conftest import Room
from tests.web.conftest import Team
from tests.web.test_dashboard import FILM, record

LOCATED = ["ALP-2021-0003", "ALP-2021-0002", "ALP-2020-0002", "ALP-2020-0001"]  # newest first
WEEKS_WITH_INCIDENTS = 3


@dataclass
class Tiles:
    url: str  # a Leaflet URL template
    served: list[str] = field(default_factory=list)  # paths asked for


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (222, 235, 214)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def tiles() -> Iterator[Tiles]:
    """A tile server on a loopback port that answers every tile with one small green PNG."""
    png = _tile_png()
    found = Tiles("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found.served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            """Quiet: the test asserts on `served` instead."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{httpd.server_port}/{{z}}/{{x}}/{{y}}.png"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield found
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def incidents(base: Base, team: Team) -> None:
    record(base, "film", *(dict(row) for row in FILM))


def check_chart(page: Page) -> None:
    """Every week with incidents has a bar, and each bar's segments are painted."""
    bars = page.locator("#week-chart rect.bar")
    expect(bars).to_have_count(WEEKS_WITH_INCIDENTS)
    for index in range(WEEKS_WITH_INCIDENTS):
        box = bars.nth(index).bounding_box()
        assert box and box["height"] > 10 and box["width"] > 5, box
    segments = page.locator("#week-chart path")
    expect(segments).to_have_count(3)  # airstrike, barrel bomb, chemical
    for index in range(3):
        expect(segments.nth(index)).to_be_visible()
    expect(page.locator("#week-table")).to_be_attached()


def test_offline_dashboard_plots_points_without_tiles(
    room: Room, incidents: None, tiles: Tiles
) -> None:
    page = room.sign_in("ivan")  # investigators read the register too
    page.goto("/p/film/dashboard")
    expect(page.locator("#map-offline")).to_contain_text("No map tiles configured (offline)")
    check_chart(page)
    points = page.locator("#incident-map a.point circle")
    expect(points).to_have_count(len(LOCATED))
    for index in range(len(LOCATED)):
        expect(points.nth(index)).to_be_visible()
    expect(page.locator("#incident-map a.point text").first).to_have_text(LOCATED[0])
    assert page.evaluate("typeof window.L") == "undefined"  # Leaflet is never loaded offline
    assert tiles.served == []
    room.shot(page, "offline")
    points.nth(0).click()
    expect(page).to_have_url(re.compile(f"/p/film/incidents/{LOCATED[0]}$"))


def test_dashboard_on_tiles_shows_leaflet_markers(
    room: Room, base: Base, incidents: None, tiles: Tiles
) -> None:
    base.settings = dataclasses.replace(base.settings, map_tiles=tiles.url)
    page = room.sign_in("dina")
    page.goto("/p/film/dashboard?from=2020-12-01")
    expect(page.locator("#leaflet-map")).to_be_visible()
    expect(page.locator("#plot-box")).to_be_hidden()
    expect(page.locator("#map-offline")).to_have_count(0)
    check_chart(page)
    markers = page.locator("#leaflet-map path.leaflet-interactive")
    expect(markers).to_have_count(len(LOCATED))
    for index in range(len(LOCATED)):
        expect(markers.nth(index)).to_be_visible()
    expect(page.locator("#leaflet-map img.leaflet-tile-loaded").first).to_be_visible()
    assert any(re.fullmatch(r"/\d+/\d+/\d+\.png", path) for path in tiles.served), tiles.served
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Map tiles: 127.0.0.1")
    markers.nth(0).hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("ALP-20")
    room.shot(page, "tiles")
    markers.nth(0).click()
    expect(page).to_have_url(re.compile(r"/p/film/incidents/ALP-20\d\d-\d{4}$"))
