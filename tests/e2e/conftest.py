"""A real Chromium (Debian's package, never one Playwright downloads) driving the real server.

The browser tests reuse the web tests' fixtures (server, team, footage, login) and run on SQLite
only: the HTTP tests cover PostgreSQL. Each test saves screenshots of its steps, and of every
page still open when it fails, under test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.field.conftest import lock_kits
from tests.web.conftest import PASSWORD, footage, footage_clips, footage_templates, server, team

# The web tests' fixtures (and the field kits' cleanup), seen by pytest here.
__all__ = ["footage", "footage_clips", "footage_templates", "lock_kits", "server", "team"]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# No outside network here: without these flags chromium keeps dialling Google's services.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Bounds, not timing claims: on a busy two-core machine (the other test worker encoding video,
# the server's own pipeline running) a click's navigation has taken over 10 s.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Keep each phase's report on the test so `room` knows at teardown whether it failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: what a browser adds is independent of the database behind the server."""
    return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/ensure-chromium (as root; `make test` does) "
            "to install Debian's chromium package",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


class Room:
    """Browser windows on the test server, one per person, each signed in through the form."""

    def __init__(self, browser: Browser, server: str, test: str) -> None:
        self.browser = browser
        self.server = server
        self.test = re.sub(r"[^\w.-]+", "-", test)
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def window(self, *, phone: bool = False) -> Page:
        """A fresh window (own cookies); desktop-sized unless `phone`."""
        context = self.browser.new_context(base_url=self.server, **(PHONE if phone else {}))
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def sign_in(self, username: str, *, phone: bool = False) -> Page:
        """A window signed in as `username` through the real login form, left on the home page."""
        page = self.window(phone=phone)
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page, f"{username} should leave /login once signed in").not_to_have_url(
            re.compile(r"/login")
        )
        return page

    def shot(self, page: Page, step: str) -> Path:
        """Save a full-page screenshot as test-artifacts/screenshots/<test>-<step>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path

    def close(self, failed: bool) -> None:
        for number, context in enumerate(self.contexts):
            if failed:
                for index, page in enumerate(context.pages):
                    self.shot(page, f"failure-{number}-{index}")
            context.close()


@pytest.fixture
def room(browser: Browser, server: str, request: pytest.FixtureRequest) -> Iterator[Room]:
    opened = Room(browser, server, request.node.name)
    yield opened
    reports = request.node.stash.get(REPORTS, {})
    opened.close(failed=any(report.failed for report in reports.values()))
    assert not opened.errors, "uncaught JavaScript errors:\n" + "\n".join(opened.errors)
