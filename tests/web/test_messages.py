"""Refusals in the reader's language: an error raised in English with its values apart is shown
in Arabic on an Arabic page (template translated first, numbers in the chosen digits, field
names and roles translated), through a real server; JSON keeps the English for scripts."""

from __future__ import annotations

import io
from collections.abc import Callable
from html import unescape

from PIL import Image

from rushes import i18n
from rushes.errors import InvalidInput
from rushes.i18n import N_, Term, Text
from rushes.review.accounts import MIN_PASSWORD
from rushes.web.dependencies import templates
from tests.web.conftest import Client


def _in_arabic(client: Client, digits: str = "") -> Client:
    saved = client.post("/settings", data={"csrf": client.csrf, "language": "ar", "digits": digits})
    assert saved.status_code == 200
    return client


def _upload(client: Client, body: bytes, api: bool = False):  # noqa: ANN202
    files = {"file": ("still.png", body, "image/png")}
    if api:
        return client.post("/api/p/film/find", files=files, headers={"X-CSRF-Token": client.csrf})
    return client.post("/p/film/find", files=files, data={"csrf": client.csrf})


def _huge_png() -> bytes:
    picture = io.BytesIO()
    Image.new("L", (9000, 9000)).save(picture, "png")  # 81 megapixels, refused from its header
    return picture.getvalue()


def test_refused_forms_on_crew_pages_say_why_in_arabic(
    team: object, login: Callable[[str | None], Client]
) -> None:
    karim = _in_arabic(login("karim"))  # crew

    # The error page of a refused upload on Find footage.
    empty = _upload(karim, b"")
    assert empty.status_code == 400 and '<html lang="ar" dir="rtl"' in empty.text
    assert "الملف: فارغ" in empty.text and "it is empty" not in empty.text
    # With values: the Arabic template filled in, its numbers in Eastern Arabic digits.
    huge = _upload(karim, _huge_png())
    assert huge.status_code == 400
    assert "الملف: صورة بأبعاد ٩٠٠٠×٩٠٠٠ أكبر من اللازم" in huge.text, huge.text
    # A search too long for the header's box.
    long = karim.get("/p/film/search", params={"q": "س" * 201})
    assert long.status_code == 400 and "عدد أحرف البحث ٢٠٠ على الأكثر" in long.text
    # A form shown again with the reason above it: Settings, a new password too short.
    short = karim.post(
        "/settings/password",
        data={"csrf": karim.csrf, "current": "correct horse battery", "password": "short"},
    )
    assert short.status_code == 400 and '<p class="problem" role="alert">' in short.text
    shown = i18n.Locale.of("ar").figures(str(MIN_PASSWORD))
    assert f"كلمة المرور: عدد الأحرف {shown} على الأقل" in short.text

    # The JSON API: `detail` in English for programs, `message` in Arabic for the pages' scripts;
    # an English account reads English pages.
    api = _upload(karim, b"", api=True)
    assert api.status_code == 400
    assert api.json() == {"detail": "file: it is empty", "message": "الملف: فارغ"}
    dina = login("dina")
    english = _upload(dina, _huge_png())
    assert "file: 9000x9000 is too large a picture (50 megapixels at most)" in english.text


def test_a_message_is_translated_before_its_values_fill_it() -> None:
    """Nested texts and terms are translated too; other values are isolated in Arabic."""
    reason = Text(
        N_("%(when)s, %(distance)s away"),
        when=Text(
            N_("filmed %(span)s after the start"), span=Text(N_("%(minutes)s min"), minutes=40)
        ),
        distance=Text(N_("%(metres)s m"), metres=500),
    )
    error = InvalidInput(
        N_("%(field)s: give a number, not '%(given)s'"), field=Term("people_present"), given="x"
    )
    assert str(reason) == "filmed 40 min after the start, 500 m away"
    assert str(error) == "people_present: give a number, not 'x'"
    page = templates.env.from_string("{{ reason|t }} | {{ error|t }}")
    with i18n.active(i18n.Locale.of("en")):
        assert unescape(page.render(reason=reason, error=error)) == f"{reason} | {error}"
    with i18n.active(i18n.Locale.of("ar", "latn")):
        shown = unescape(page.render(reason=reason, error=error))
    assert shown == (
        "صُوّر بعد البداية بـ40 د، على بعد 500 م | الموجودون: أدخل رقماً، لا «\u2068x\u2069»"
    ), shown
