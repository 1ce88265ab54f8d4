"""Which language a page is rendered in, and the templates' translation functions.

The signed-in user's choice (Settings) comes first; otherwise the `rushes_language` cookie set by
the sign-in page's switch; otherwise the browser's Accept-Language; otherwise English. Strings
are marked in templates with `_()`, `ngettext()` or `{% trans %}` (Jinja's i18n extension with
new-style gettext: placeholders are `%(name)s`, formatted here so that numbers come out in the
page's digits).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, ParamSpec

from fastapi import Request
from jinja2 import Environment, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from rushes import i18n
from rushes.errors import RushesError
from rushes.i18n import DIGITS, LANGUAGES, Locale, Term, Text

COOKIE = "rushes_language"
P = ParamSpec("P")
# A message for a page: a text marked with N_, a Text, or an error carrying one.
Problem = str | Text | RushesError


def chosen(request: Request) -> Locale:
    """The locale of this request's page (`request.state.language`: one chosen just now)."""
    identity = getattr(request.state, "identity", None)
    user = identity.user if identity is not None else None
    language = user.language if user is not None and user.language in LANGUAGES else ""
    language = language or getattr(request.state, "language", "")
    language = language or i18n.language_of(request.cookies.get(COOKIE, ""))
    language = language or i18n.negotiate(request.headers.get("accept-language", ""))
    digits = user.digits if user is not None and user.digits in DIGITS else ""
    return Locale.of(language, digits)


def _shown(value: Any) -> Any:
    """A number in the page's digits. In a right-to-left page a name, title or hash put into a
    sentence is isolated (FSI … PDI), so its own direction cannot reorder the sentence around
    it; markup is left as it is, plain text is escaped by Markup's %."""
    locale = i18n.current()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return locale.figures(str(value))
    if locale.direction == "rtl" and isinstance(value, str) and not isinstance(value, Markup):
        return f"\u2068{value}\u2069"
    return value


def _format(eval_ctx: EvalContext, text: str, variables: dict[str, Any]) -> str:
    rv: str = Markup(text) if eval_ctx.autoescape else text
    return rv % {name: _shown(value) for name, value in variables.items()}


@pass_eval_context
def gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
    return _format(eval_ctx, i18n.translations(i18n.current().language).gettext(message), variables)


@pass_eval_context
def ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, count: int, /, **variables: Any
) -> str:
    variables.setdefault("num", count)
    text = i18n.translations(i18n.current().language).ngettext(singular, plural, count)
    return _format(eval_ctx, text, variables)


def translated(text: Any) -> str:
    """A message made elsewhere (a status's name, an error, an i18n.Text) in the page's
    language where the catalog has it, as it is otherwise. A Text's template is translated
    before it is filled in: numbers in the page's digits, a Text or Term translated, other
    values isolated."""
    if not text:
        return "" if text is None else text
    catalog = i18n.translations(i18n.current().language)
    if isinstance(text, RushesError):
        text = text.text
    if isinstance(text, Term):
        spaced = text.replace("_", " ")
        found = catalog.gettext(spaced)
        return str(text) if found == spaced else found
    if not isinstance(text, Text):
        return catalog.gettext(str(text))
    template = catalog.gettext(text.template)
    if not text.values:
        return template
    values = text.values.items()
    return template % {
        k: translated(v) if isinstance(v, Text | Term) else _shown(v) for k, v in values
    }


def said(request: Request, message: Any) -> str:
    """A message in the language of the request's pages: for their scripts, which show what
    an API answers (its English `detail` stays for other programs)."""
    with i18n.active(chosen(request)):
        return translated(message)


def number(value: Any) -> str:
    return i18n.current().number(value) if isinstance(value, int | float) else str(value)


def figures(value: Any) -> str:
    """Digits of a short figure (a count, a year) in the page's digits, nothing else changed."""
    return i18n.current().figures(str(value))


def in_figures(make: Callable[P, str | None]) -> Callable[P, str | None]:
    """`make`, its text in the page's digits: a timecode (rushes.media.timecode writes Latin
    digits, for files and programs) shown on a page."""

    @wraps(make)
    def shown(*args: P.args, **kwargs: P.kwargs) -> str | None:
        text = make(*args, **kwargs)
        return None if text is None else figures(text)

    return shown


def stamp(moment: datetime | date | str | None) -> str:
    """A time in UTC for the page: '2024-12-03 14:05' in English as it always was, and with
    the Syrian month name ('٣ كانون الأول ٢٠٢٤، ١٤:٠٥') in Arabic."""
    if moment is None:
        return ""
    if isinstance(moment, str):  # as JSON keeps it (a job's status)
        moment = datetime.fromisoformat(moment)
    locale = i18n.current()
    if not isinstance(moment, datetime):
        return moment.isoformat() if locale.language == "en" else locale.date(moment)
    if locale.language == "en":
        return moment.strftime("%Y-%m-%d %H:%M")
    return locale.datetime(moment, "d MMMM y، HH:mm")


def install(env: Environment) -> None:
    env.add_extension("jinja2.ext.i18n")
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, languages=LANGUAGES)
    env.filters.update(t=translated, num=number, figures=figures, stamp=stamp)


def context(locale: Locale) -> dict[str, Any]:
    """What base.html needs: <html lang dir>, and the Intl tag for scripts."""
    return {"locale": locale, "lang": locale.language, "dir": locale.direction}
