"""Click's own words in the field kit ("Usage:", "Error: …", "Options", "Missing argument")
in the kit's language, as its own messages are.

Click marks its messages with the standard library's gettext, whose text domain and language
are the process's: `speak` points that domain at rushes' catalog and sets LANGUAGE. The
messages a crew member meets are listed below, as Click (8.x) spells them, so that
`make messages` puts them in rushes' catalog; a test checks that each is still one of the
installed Click's.
"""

from __future__ import annotations

import gettext
import os

import click

from rushes import i18n
from rushes.i18n import N_


def _pair(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


ngettext = _pair  # the name `make messages` extracts plural messages by
DEFAULT_DOMAIN = gettext.textdomain()  # the standard library's, where Click finds nothing

WORDS = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Aborted!"),
    N_("Missing command."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Option {name!r} does not take a value."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("default: {default}"),
    N_("Do you want to continue?"),
    N_("Confirm the action without prompting."),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
)
PLURALS = (
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    ),
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
)


def speak(language: str) -> None:
    """Click's words in `language` from here on. English is Click's own: the standard
    library's default domain again, the environment left as it was."""
    if language == i18n.SOURCE:
        gettext.textdomain(DEFAULT_DOMAIN)
        return
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = language


class Path(click.Path):
    """A `click.Path` that names itself ("file", "directory", "path") in the kit's language:
    Click's own translates the name once, when the command is defined, before the kit knows
    which language to speak."""

    @property  # type: ignore[override]
    def name(self) -> str:
        return gettext.gettext(self._name)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value
