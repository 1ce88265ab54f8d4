"""The crew's phone pages and the incident form in Arabic, in a real Chromium at 375 px: each is
right-to-left, scrolls only downwards, and draws every Arabic letter it shows with the Noto Sans
Arabic the base ships (no missing-glyph boxes). Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, TIMEOUT_MS, Room
from tests.web.conftest import PASSWORD, Footage

WIDTH = PHONE["viewport"]["width"]
# Each distinct Arabic letter of the page drawn alone with the page's Arabic font, compared
# with what the same font draws for a code point no font has (U+10FFFD): the same pixels, or
# none at all, are a missing glyph.
MISSING_GLYPHS = """() => {
  const text = document.body.innerText + " " + [...document.querySelectorAll("[placeholder]")]
    .map((e) => e.placeholder).join(" ");
  const letters = [...new Set([...text].filter((c) => /\\p{Script=Arabic}/u.test(c)
    && !/\\p{Mn}/u.test(c)))];
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.font = '40px "Noto Sans Arabic"';
  const draw = (c) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.fillText(c, 8, 48);
    return ctx.getImageData(0, 0, 64, 64).data.join(",");
  };
  const box = draw("\\u{10FFFD}");
  const blank = new Array(64 * 64 * 4).fill(0).join(",");
  const missing = letters.filter((c) => [box, blank].includes(draw(c)));
  return { letters: letters.length, missing };
}"""
FONT_LOADED = """() => document.fonts.ready.then(() => [...document.fonts]
  .some((f) => f.family.replace(/"/g, "") === "Noto Sans Arabic" && f.status === "loaded"))"""


def _arabic_phone(room: Room) -> Page:
    context = room.browser.new_context(base_url=room.server, locale="ar-SY", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    room.contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: room.errors.append(f"{page.url}: {error}"))
    return page


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("اسم المستخدم").fill(username)
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="تسجيل الدخول").click()
    expect(page.locator("nav.account")).to_be_visible()


def _check(room: Room, page: Page, step: str) -> None:
    expect(page.locator("html"), f"{step}: right-to-left").to_have_attribute("dir", "rtl")
    assert page.evaluate(FONT_LOADED), f"{step}: Noto Sans Arabic did not load"
    width = page.evaluate("document.documentElement.scrollWidth")
    room.shot(page, f"ar-{step}")
    assert width <= WIDTH, f"{step}: scrolls sideways ({width} px wide at {WIDTH})"
    glyphs = page.evaluate(MISSING_GLYPHS)
    assert glyphs["letters"] > 10, f"{step}: hardly any Arabic on the page"
    assert not glyphs["missing"], f"{step}: no glyph for {glyphs['missing']}"


def test_crew_pages_and_incident_form_in_arabic_on_a_phone(footage: Footage, room: Room) -> None:
    karim = _arabic_phone(room)
    karim.goto("/login")
    _check(room, karim, "sign-in")
    _sign_in(karim, "karim")
    for step, path in (
        ("home", "/"),
        ("inbox", "/inbox"),
        ("my-notes", "/me"),
        ("assignments", "/p/film/assignments"),
        ("player", f"/p/film/a/{footage.karim[0]}"),
    ):
        karim.goto(path)
        _check(room, karim, step)
    # The scrub bar keeps time left to right inside the mirrored page (rushes.css: .scrub).
    assert karim.eval_on_selector("#scrub", "e => getComputedStyle(e).direction") == "ltr"
    assert karim.eval_on_selector("#timecode", "e => getComputedStyle(e).direction") == "ltr"
    # Its scripts write timecodes in the page's digits too (timecode.js, through Intl): the In
    # mark (I), and a timecode at 30 fps.
    expect(karim.locator("#mark-in")).to_have_text("—")
    karim.keyboard.press("i")
    expect(karim.locator("#mark-in")).to_have_text("٠٠:٠٠:٠٠:٠٠")
    shown = "RushesTime.shown(3645, RushesTime.parseRate('30/1'))"
    assert karim.evaluate(shown) == "٠٠:٠٢:٠١:١٥"
    # Numbered lists count in Eastern Arabic digits; lists drawn without numbers stay so.
    numbered = "() => getComputedStyle(document.body.appendChild(document.createElement('ol')))"
    assert karim.evaluate(f"{numbered}.listStyleType") == "arabic-indic"
    assert karim.eval_on_selector("#notes", "e => getComputedStyle(e).listStyleType") == "none"

    dina = _arabic_phone(room)
    _sign_in(dina, "dina")
    dina.goto("/p/film/incidents")
    dina.get_by_text("سجّل حادثة").click()
    expect(dina.locator("#incident-form")).to_be_visible()
    _check(room, dina, "incident-form")
