"""The interface in Arabic and English: every string a page shows is marked for translation and
translated (six plural forms), pages follow the account's choice, the sign-in page's switch or
Accept-Language, and Arabic pages are right-to-left with Syrian month names and the chosen
digits."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch
from jinja2 import Environment

from rushes import i18n
from rushes.base import Base
from rushes.catalog.models import Asset, NearDuplicate
from rushes.cli import field_click
from rushes.exports import jobs, share_jobs
from rushes.pipeline.steps import STEPS
from rushes.review.access import Role
from rushes.review.assignments import STATUSES
from rushes.review.incident_fields import FIELDS, FIGURES, RELATIONS, VERIFICATIONS
from rushes.review.notes import CATEGORIES
from rushes.web.dependencies import templates
from tests.web.conftest import Client, Footage

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src/rushes"
TEMPLATES = SOURCE / "web/templates"
PO = ROOT / "src/rushes/locale/ar/LC_MESSAGES/rushes.po"
# Latin words a page may show as they are: names of formats, standards and the product.
# Also the date format hint and an example type name (a slug), typed as they are.
LATIN = {"rushes", "JSON", "CSV", "GEOJSON", "OTIO", "CMX", "EDL", "FCP", "XML", "SHA", "fps"}
LATIN |= {"YYYY", "MM", "DD", "drone"}
BODY_CLASS = re.compile(r"{% block body_class %}.*?{% endblock %}")
ATTRIBUTE = re.compile(r'\b(placeholder|title|aria-label|alt|label)="([^"]*)"')


def _catalog() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="ar")


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (ROOT / "babel.cfg").open() as f:
        return parse_mapping_cfg(f)


def _extracted() -> set[str | tuple[str, ...]]:
    method_map, options_map = _mapping()
    found: set[str | tuple[str, ...]] = set()
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    for _path, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message)
    return found


def test_every_message_is_in_the_arabic_catalog_translated_and_compiled() -> None:
    catalog = _catalog()
    assert catalog.plural_forms == Catalog(locale="ar").plural_forms  # six forms, CLDR's rule
    assert catalog.num_plurals == 6
    entries = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    missing = sorted(str(m) for m in _extracted() - set(entries))
    assert not missing, f"not in rushes.po (run `make messages` and translate): {missing}"
    compiled = i18n.translations("ar")
    for key, message in entries.items():
        assert "fuzzy" not in message.flags, f"fuzzy translation: {key!r}"
        if isinstance(key, tuple):
            forms = list(message.string)
            assert len(forms) == 6 and all(forms), f"{key!r} needs all six Arabic forms"
            for n, form in zip((0, 1, 2, 3, 11, 100), forms, strict=True):
                assert compiled.ngettext(key[0], key[1], n) == form, f"stale .mo: {key!r}"
        else:
            assert message.string, f"no Arabic for {key!r}"
            assert compiled.gettext(key) == message.string, f"stale rushes.mo: {key!r}"
    assert not list(catalog.check())


def test_every_module_that_marks_messages_is_extracted() -> None:
    """A message marked with N_ (an error where it is raised, a Text) in a module `make
    messages` does not read would never reach the catalog, so the test above could not miss it."""
    patterns = [pattern for pattern, method in _mapping()[0] if method == "python"]
    left_out = [
        str(path.relative_to(ROOT))
        for path in sorted(SOURCE.rglob("*.py"))
        if "N_(" in path.read_text(encoding="utf-8")
        and not any(pathmatch(p, str(path.relative_to(ROOT))) for p in patterns)
    ]
    assert not left_out, f"add to babel.cfg: {left_out}"


ERRORS = {"InvalidInput", "AccessDenied", "NotFoundError", "TooLarge"}


def test_every_error_a_page_may_show_is_marked_where_it_is_raised() -> None:
    """The review room's refusals and the exports' (a timeline, a bag, a share copy) reach
    pages: each message is a template marked with N_ (its values given apart), or a name bound
    to one, never an f-string or a plain literal."""
    unmarked = []
    modules = [*SOURCE.glob("review/*.py"), *SOURCE.glob("web/*.py"), *SOURCE.glob("exports/*.py")]
    for path in sorted(modules):
        name = str(path.relative_to(SOURCE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in ERRORS or not node.args:
                continue
            first = node.args[0]
            marked = isinstance(first, ast.Call) and getattr(first.func, "id", "") == "N_"
            if not (marked or isinstance(first, ast.Name)):
                unmarked.append(f"{name}:{node.lineno}")
    assert not unmarked, f"mark with N_(), values as keywords: {unmarked}"


def test_every_template_text_is_marked_for_translation() -> None:
    """Text between tags and the visible attributes of every template hold no Latin word
    outside `_()`, `ngettext()` or `{% trans %}`."""
    env: Environment = templates.env
    unmarked: list[str] = []
    for path in sorted(TEMPLATES.glob("*.html")):
        pieces = []
        source = BODY_CLASS.sub("", path.read_text(encoding="utf-8"))  # CSS class names
        for _line, kind, value in env.lex(source):
            pieces.append(value if kind == "data" else "\x00")
        text = "".join(pieces)
        for _name, value in ATTRIBUTE.findall(text):
            words = set(re.findall(r"[A-Za-z]{2,}", value.replace("\x00", " "))) - LATIN
            if words and "\x00" not in value:
                unmarked.append(f"{path.name}: attribute {value!r}")
        shown = re.sub(r"<[^>]*>", " ", text)
        shown = re.sub(r"&\w+;|&#\d+;", " ", shown)
        for words in re.findall(r"[A-Za-z][A-Za-z' ]*[A-Za-z]", shown):
            if set(words.split()) - LATIN:
                unmarked.append(f"{path.name}: {words!r}")
    assert not unmarked, "text not marked for translation:\n" + "\n".join(unmarked)


def test_every_word_the_catalog_stores_is_translated() -> None:
    """Statuses, categories, roles and the incident's words are shown through |t."""
    arabic = i18n.translations("ar")
    words = [*STATUSES, *CATEGORIES, *(r.value for r in Role), *RELATIONS, *VERIFICATIONS]
    words += [step.name for step in STEPS]
    words += [f.replace("_", " ") for f in FIGURES]
    words += [f.replace("_", " ").capitalize() for f in FIGURES]
    words += [f.replace("_", " ") for f in FIELDS]  # history rows and errors (i18n.Term)
    untranslated = [w for w in words if arabic.gettext(w) == w]
    assert not untranslated, f"add to rushes/web/terms.py and translate: {untranslated}"


def test_syrian_months_and_eastern_digits() -> None:
    december = date(2024, 12, 3)
    assert i18n.Locale.of("ar").date(december) == "٣ كانون الأول ٢٠٢٤"
    assert i18n.Locale.of("ar", "latn").date(december) == "3 كانون الأول 2024"
    assert i18n.Locale.of("ar").number(12345.5) == "١٢٬٣٤٥٫٥"
    assert i18n.Locale.of("en").number(12345.5) == "12,345.5"
    assert i18n.Locale.of("ar").intl == "ar-SY-u-nu-arab"
    assert i18n.negotiate("en-GB,en;q=0.9,ar;q=0.8") == "en"
    assert i18n.negotiate("fr, ar-SY;q=0.5") == "ar"
    assert i18n.negotiate("") == "en" and i18n.negotiate("de;q=bad") == "en"
    page = templates.env.from_string("{{ when|stamp }} {{ ngettext('%(num)s clip', '', n) }}")
    with i18n.active(i18n.Locale.of("ar")):
        shown = page.render(when=datetime(2024, 12, 3, 14, 5), n=12)
    assert shown.startswith("٣ كانون الأول ٢٠٢٤، ١٤:٠٥ ")


def test_pages_follow_the_account_the_switch_and_the_browser(
    team: object, login: Callable[[str | None], Client]
) -> None:
    anonymous = login(None)
    english = anonymous.get("/login").text
    assert '<html lang="en" dir="ltr"' in english and ">Sign in</button>" in english
    browser = anonymous.get("/login", headers={"Accept-Language": "ar-SY,ar;q=0.9,en;q=0.5"})
    assert '<html lang="ar" dir="rtl"' in browser.text and "تسجيل الدخول" in browser.text
    assert browser.headers["content-language"] == "ar"
    # The switch on the sign-in page: a cookie for people not signed in.
    switched = anonymous.get("/login?language=ar&next=/me")
    assert '<html lang="ar" dir="rtl"' in switched.text
    assert 'name="next" value="/me"' in switched.text
    assert '<html lang="ar" dir="rtl"' in anonymous.get("/login").text
    assert '<html lang="en" dir="ltr"' in anonymous.get("/login?language=en").text

    karim = login("karim")
    assert '<html lang="en" dir="ltr"' in karim.get("/me").text
    saved = karim.post("/settings", data={"csrf": karim.csrf, "language": "ar", "digits": ""})
    assert saved.status_code == 200 and "حُفظ." in saved.text
    me = karim.get("/me", headers={"Accept-Language": "en"}).text  # the account's choice wins
    assert '<html lang="ar" dir="rtl"' in me and "ملاحظاتي ومهامي" in me
    assert 'data-intl="ar-SY-u-nu-arab"' in me and 'data-digits="arab"' in me  # <ol> too
    month = i18n.Locale.of("ar").datetime(datetime.now(), "MMMM")
    karim.post("/settings/tokens", data={"csrf": karim.csrf, "project": "film", "label": "laptop"})
    tokens = karim.get("/settings").text
    today = i18n.Locale.of("ar").date(date.today())
    assert today in tokens and month in today and re.search("[٠-٩]", today)
    karim.post("/settings", data={"csrf": karim.csrf, "language": "ar", "digits": "latn"})
    latin = karim.get("/settings").text
    assert i18n.Locale.of("ar", "latn").date(date.today()) in latin
    assert 'data-intl="ar-SY-u-nu-latn"' in latin and 'data-digits="latn"' in latin
    refused = karim.post("/settings", data={"csrf": karim.csrf, "language": "xx"})
    assert refused.status_code == 400
    # An error page in the account's language, its message from the catalog.
    stale = karim.post("/settings", data={"csrf": "stale", "language": "en"})
    assert stale.status_code == 403 and "رمز النموذج مفقود أو قديم" in stale.text


class _Shown(HTMLParser):
    """What a reader of a page sees: the text between tags and the tooltips (title), not the
    scripts' data. Left out, as identifiers kept in Latin letters and digits: hashes (<code>),
    file names (.file-name, a share copy's .job-link)."""

    HIDDEN = ("head", "script", "style")  # <title>: the file name
    IDENTIFIERS = ("file-name", "job-link")
    VOID = ("area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")

    def __init__(self) -> None:
        super().__init__()
        self.open: list[bool] = []  # for each open element: is its text left out?
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        classes = (given.get("class") or "").split()
        left_out = tag in (*self.HIDDEN, "code") or any(c in self.IDENTIFIERS for c in classes)
        if not left_out and not any(self.open) and given.get("title"):
            self.texts.append(given["title"] or "")
        if tag not in self.VOID:
            self.open.append(left_out)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.open) and data.strip():
            self.texts.append(data.strip())


def _shown(page: str) -> list[str]:
    parser = _Shown()
    parser.feed(page)
    return parser.texts


# Latin names shown as they are, digits and all: the hash's, a container format's.
NAMES = re.compile(r"SHA-256|\bMP4\b")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_clip_page_shows_every_number_in_the_chosen_digits(
    base: Base, footage: Footage, login: Callable[[str | None], Client]
) -> None:
    """The player page, server-rendered: timecodes (the clock, marks, notes and their markers,
    shots, redactions, the circled range), the clip's length and capture time, the proxies'
    sizes, the picture's size and rate, the GPS position, counts, dates and a share copy's
    progress, all in Eastern Arabic digits, or all in Western ones for a reader who chose them
    (its scripts' numbers: tests/e2e/test_arabic_phone.py)."""
    sha, copy = footage.karim[0], footage.others[0]
    dina, ivan = login("dina"), login("ivan")  # a director shares; an investigator sees where
    with base.catalog.write() as session:
        clip = session.get(Asset, sha)
        assert clip is not None
        clip.captured_at = datetime(2024, 12, 3, 11, 5, tzinfo=UTC)
        clip.captured_offset = "+03:00"
        a, b = sorted((sha, copy))
        spans = [[0.5, 1.5, 0.0, 1.0]] if a == sha else [[0.0, 1.0, 0.5, 1.5]]
        segments = {"mirrored": False, "segments": spans}
        session.add(NearDuplicate(asset_a=a, asset_b=b, score=0.9, segments=segments))
    note = {"csrf": dina.csrf, "body": "closer", "start": "31", "end": "45", "rate": "30/1"}
    assert dina.post(f"/p/film/a/{sha}/notes", data={**note, "category": "story"}).is_redirect
    redaction = {"kind": "bleep", "start": 0.5, "end": 1.25, "label": "a name"}
    api = f"/api/p/film/a/{sha}/redactions"
    assert dina.post(api, json=redaction, headers={"X-CSRF-Token": dina.csrf}).status_code == 201
    # A share copy on its way, as its job tells the page (jobs.js follows it from there).
    folder = share_jobs.group(base.settings, "share", sha) / "0123456789abcdef"
    folder.mkdir(parents=True)
    made = {"kind": "share", "project": "film", "asset": sha, "actor": "dina", "to": "Agence X"}
    made |= {"id": folder.name, "state": "making", "done": 37, "total": 120, "error": None}
    made |= {"started_at": jobs.now(), "finished_at": None, "file": "share-20241203-0a1b2c3d.zip"}
    jobs.write_status(folder, made)

    for name, reader in (("dina", dina), ("ivan", ivan)):
        for digits, other in (("arab", "[0-9]"), ("latn", "[٠-٩]")):
            chosen = {"csrf": reader.csrf, "language": "ar", "digits": digits}
            assert reader.post("/settings", data=chosen).status_code == 200
            page = reader.get(f"/p/film/a/{sha}").text
            assert f'data-intl="ar-SY-u-nu-{digits}"' in page  # for its scripts
            texts = [NAMES.sub("", text) for text in _shown(page)]
            mixed = [text for text in texts if re.search(other, text)]
            assert not mixed, f"{name}, {digits}: {mixed}"
            shown = " ".join(texts)
            figure = i18n.Locale.of("ar", digits).figures
            assert figure("00:00:01:01–00:00:01:15") in shown  # the note (frames 31–45)
            assert figure("00:00:00:15–00:00:01:07") in shown  # the redaction
            assert figure("0:02") in shown  # the clip's length
            assert i18n.Locale.of("ar", digits).date(date(2024, 12, 3)) in shown
            assert figure("14:05 +03:00") in shown  # by the crew's clock
            assert figure("160×120 · 30/1 fps") in shown
            if name == "dina":
                assert figure("37/120") in shown  # the share copy's progress
            else:
                assert figure("36.2") in shown  # the GPS position
            # Machine-readable: the form's frames and the links' seconds stay Latin.
            assert 'name="rate" value="30/1"' in page and 'href="#t=0.500"' in page
            assert f"<code>{sha}</code>" in page


def test_the_click_words_the_field_kit_translates_are_click_s_own() -> None:
    """`rushes.cli.field_click` lists Click's messages by their msgids: one Click no longer has
    would never be looked up, and its word would stay English."""
    folder = Path(click.__file__).parent
    clicks: set[str | tuple[str, ...]] = set()
    for path in folder.glob("*.py"):
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords={"_": None, "ngettext": (1, 2)}
        ):
            clicks.add(message)
    listed = {*field_click.WORDS, *field_click.PLURALS}
    assert listed - clicks == set(), "not a message of the installed Click"
    arabic = i18n.translations("ar")
    assert all(arabic.gettext(w) != w for w in field_click.WORDS)
