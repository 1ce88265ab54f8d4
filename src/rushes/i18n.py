"""The interface's languages: English (the source) and Arabic, as gettext catalogs in
rushes/locale/, with dates in Babel's `ar_SY` (Syrian month names: كانون الأول) and numbers
in Western (0-9) or Eastern Arabic (٠-٩) digits.

One language is active at a time in each context (a web request's rendering, a CLI command):
`active(...)` sets it, and `_`, `ngettext` and the formatters read it. Strings marked with `N_`
are extracted but translated later, where the language is known (`_(text)` at display); a
message with values is a `Text`, so that its template is translated before it is filled in.
"""

from __future__ import annotations

import gettext as gettext_module
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import Translations

DOMAIN = "rushes"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE = "en"
# Each language, named in itself (the choice is read by people who may not read the other).
LANGUAGES = {"en": "English", "ar": "العربية"}
DIGITS = {"latn": "0123456789", "arab": "٠١٢٣٤٥٦٧٨٩"}
_BABEL = {"en": "en_GB", "ar": "ar_SY"}
_TO_ARAB = str.maketrans(DIGITS["latn"], DIGITS["arab"])


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extractors know
    """Mark `message` for translation where it is written; `_()` translates it when shown."""
    return message


class Text:
    """A message marked with N_ and the values that fill it, translated where it is shown (a
    page: rushes.web.language.translated), the template first; str() is the English. A value
    may be a Text or a Term, translated too; any other value is shown as it is."""

    __slots__ = ("template", "values")

    def __init__(self, template: str, /, **values: object) -> None:
        self.template, self.values = template, values

    def __str__(self) -> str:
        return self.template % self.values if self.values else self.template

    def __repr__(self) -> str:
        return f"Text({self.template!r}, **{self.values!r})"

    def stored(self) -> dict[str, Any]:
        """As JSON keeps it (a job's status.json), to be translated when read: values other
        than numbers as their English text."""
        values = {
            k: v if isinstance(v, int | float) and not isinstance(v, bool) else str(v)
            for k, v in self.values.items()
        }
        return {"template": self.template, "values": values}

    @classmethod
    def restored(cls, stored: dict[str, Any]) -> Text:
        return cls(stored["template"], **stored.get("values", {}))


class Term(str):
    """A word of the catalog given as a value of a Text (a field's name, a role, a state),
    looked up as the pages show it: 'started_at' as 'started at'."""

    __slots__ = ()


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of `language`; English (and anything unknown) is the source."""
    if language == SOURCE or language not in LANGUAGES:
        return gettext_module.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def language_of(tag: str) -> str:
    """'ar_SY.UTF-8', 'ar-SY' or 'AR' -> 'ar'; '' when rushes has no such language."""
    base = tag.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].strip().lower()
    return base if base in LANGUAGES else ""


def negotiate(accept_language: str) -> str:
    """The best of LANGUAGES for an Accept-Language header; English when none is asked for."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:40]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        language = language_of(tag)
        if language and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else SOURCE


def environment_language(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """The language the POSIX locale asks for: LC_ALL, then LC_MESSAGES, then LANG."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return language_of(value) or SOURCE
    return SOURCE


@dataclass(frozen=True)
class Locale:
    """A language and its digits, with the formatting each page or command needs."""

    language: str = SOURCE
    digits: str = ""  # "latn", "arab" or "" for the language's own

    @classmethod
    def of(cls, language: str, digits: str = "") -> Locale:
        language = language if language in LANGUAGES else SOURCE
        return cls(language, digits if digits in DIGITS else "")

    @property
    def numbering(self) -> str:
        """The digits shown: the chosen ones, else Eastern Arabic for Arabic as in print."""
        return self.digits or ("arab" if self.language == "ar" else "latn")

    @property
    def direction(self) -> str:
        return "rtl" if self.language == "ar" else "ltr"

    @property
    def babel(self) -> str:
        return _BABEL[self.language]

    @property
    def intl(self) -> str:
        """The BCP 47 tag for the browser's Intl: 'ar-SY-u-nu-arab', 'en-GB-u-nu-latn'."""
        return f"{self.babel.replace('_', '-')}-u-nu-{self.numbering}"

    def figures(self, text: str) -> str:
        """`text` with its Western digits in this locale's digits (Babel writes Latin ones)."""
        return text.translate(_TO_ARAB) if self.numbering == "arab" else text

    def number(self, value: float | int) -> str:
        """'12,345.5' / '١٢٬٣٤٥٫٥': Babel gives the separators of the numbering system but
        Latin digits, converted here."""
        text = format_decimal(value, locale=self.babel, numbering_system=self.numbering)
        return self.figures(text)

    def date(self, day: date, form: str = "long") -> str:
        """'3 December 2024' / '٣ كانون الأول ٢٠٢٤'."""
        return self.figures(format_date(day, form, locale=self.babel))

    def datetime(self, moment: datetime, form: str = "d MMMM y, HH:mm") -> str:
        return self.figures(format_datetime(moment, form, locale=self.babel))


_active: ContextVar[Locale | None] = ContextVar("rushes_locale", default=None)


def current() -> Locale:
    """The active locale; outside any `active(...)`, the POSIX locale's language."""
    found = _active.get()
    return found if found is not None else Locale.of(environment_language())


@contextmanager
def active(locale: Locale) -> Iterator[Locale]:
    token = _active.set(locale)
    try:
        yield locale
    finally:
        _active.reset(token)


def use(locale: Locale) -> None:
    """Make `locale` active for the rest of this context (a CLI command's process)."""
    _active.set(locale)


def _(message: str) -> str:
    return translations(current().language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current().language).ngettext(singular, plural, n)


def gettext(message: str) -> str:
    return _(message)
