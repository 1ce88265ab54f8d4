"""`rushes field unlock | lock | passphrase | wipe`: the kit's sealed store on the laptop, and
what the other field commands use to open it."""

from __future__ import annotations

import os
import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.markup import escape

from rushes import settings as settings_module
from rushes.cli.console import err, out
from rushes.errors import RushesError
from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import NOT_LOGGED_IN, Home, Store
from rushes.field.session import Locked
from rushes.field.sync import Meter, Stopped, Sync
from rushes.field.wipe import Wiped
from rushes.field.wipe import wipe as wipe_store
from rushes.i18n import N_, _, ngettext


def home() -> Home:
    try:
        return Home(settings_module.load().field_dir)
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


def unlock_hours() -> float:
    try:
        return settings_module.load().field_unlock_hours
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def opened() -> Iterator[tuple[Home, Store]]:
    """The kit's folder and its database, or a clear error (locked, unreadable)."""
    found = home()
    try:
        conn = found.db()
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc
    except OSError as exc:
        raise click.ClickException(
            _("cannot open the field kit's folder {path}: {reason}").format(
                path=found.path, reason=exc
            )
        ) from exc
    try:
        yield found, conn
    finally:
        conn.close()


MIN_PASSPHRASE = 8
# What to do without a terminal: each command that takes a passphrase names its own way.
ON_STDIN = N_("no terminal to ask for the passphrase on: give it on stdin with --passphrase-stdin")
AFTER_TOKEN = N_(
    "no terminal to ask for the passphrase on: give it on stdin, on the line after the token "
    "(--token-stdin)"
)


def _passphrase(from_stdin: bool, new: bool, no_terminal: str = ON_STDIN) -> str:
    """The next line of stdin if there is one (`from_stdin`), else asked on the terminal (twice
    when new); NFC, so the same words typed with another keyboard layout open the kit. Without
    either, the usage error `no_terminal` (marked with N_)."""
    line = sys.stdin.readline() if from_stdin else ""
    if line:
        given = line.rstrip("\n")
    elif not _terminal():
        raise click.UsageError(_(no_terminal))
    elif new:
        given = click.prompt(
            _("choose a passphrase for this laptop's field kit"),
            hide_input=True,
            confirmation_prompt=_("the passphrase again"),
        )
    else:
        given = click.prompt(_("passphrase"), hide_input=True)
    given = unicodedata.normalize("NFC", given)
    if new and len(given) < MIN_PASSPHRASE:
        raise click.UsageError(
            ngettext(
                "the passphrase must have at least {count} character",
                "the passphrase must have at least {count} characters",
                MIN_PASSPHRASE,
            ).format(count=MIN_PASSPHRASE)
        )
    return given


def _terminal() -> bool:
    """Whether a passphrase can be asked without echo (getpass reads the terminal itself)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
    except OSError:
        return False
    return True


def until(moment: float) -> str:
    """When an unlocked kit locks itself: the time, and the day too if it is not today."""
    local = time.localtime(moment)
    same_day = time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d")
    return time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M", local)


def ensure_unlocked(kit: Home, from_stdin: bool, no_terminal: str = ON_STDIN) -> None:
    """Unlocked now: a new kit chooses its passphrase, a locked one asks for it."""
    try:
        if not kit.has_passphrase:
            kit.create(_passphrase(from_stdin, True, no_terminal), unlock_hours() * 3600)
            return
        kit.session()
    except Locked:
        _unlock(kit, from_stdin, unlock_hours(), no_terminal)
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc


def _unlock(kit: Home, from_stdin: bool, hours: float, no_terminal: str = ON_STDIN) -> None:
    try:
        session = kit.unlock(_passphrase(from_stdin, False, no_terminal), hours * 3600)
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc
    err.print(_("the field kit is unlocked until {time}").format(time=until(session.until)))


@click.command(
    help=N_("Open the kit's sealed store for a while (sync can run unattended until then)."),
)
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True, max=72),
    help=N_("Default: RUSHES_FIELD_UNLOCK_HOURS."),
)
@click.option("--passphrase-stdin", is_flag=True, help=N_("Read the passphrase from stdin."))
def unlock(hours: float | None, passphrase_stdin: bool) -> None:
    kit = home()
    if not kit.has_passphrase:
        raise click.ClickException(_(NOT_LOGGED_IN))
    _unlock(kit, passphrase_stdin, hours or unlock_hours())


@click.command(
    help=N_("Seal the kit now and forget its key (a running sync stops)."),
)
def lock() -> None:
    locked = home().lock()
    out.print(_("the field kit is locked") if locked else _("the field kit was locked already"))


@click.command(
    help=N_(
        "Choose the kit's passphrase, or change it (the store stays sealed with the same key)."
    ),
)
@click.option(
    "--passphrase-stdin", is_flag=True, help=N_("Read the old (if any), then the new, from stdin.")
)
def passphrase(passphrase_stdin: bool) -> None:
    kit = home()
    if not kit.has_passphrase:
        ensure_unlocked(kit, passphrase_stdin)
        out.print(_("the field kit is sealed with its new passphrase"))
        return
    old = _passphrase(passphrase_stdin, new=False)
    new = _passphrase(passphrase_stdin, new=True)
    try:
        kit.change_passphrase(old, new)
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc
    out.print(_("the passphrase is changed"))


@click.command(
    help=N_(
        "Remove from this laptop what the base confirmed it holds: originals' entries and "
        "proxies, proxies it has, notes already read (the kit must be unlocked). With --all, "
        "everything of the kit, locked or not, after a question (no: nothing is removed, "
        "exit 1)."
    ),
)
@click.option(
    "--card-files",
    is_flag=True,
    help=N_("Also delete the card files the base holds byte-exact (hashed again first)."),
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help=N_("Remove the kit's whole folder and its memory copy; needs no passphrase."),
)
@click.option("--yes", is_flag=True, help=N_("Do not ask before --all."))
def wipe(card_files: bool, everything: bool, yes: bool) -> None:
    if everything:
        _remove_kit(card_files, yes)
    else:
        _remove_confirmed(card_files)


def _remove_confirmed(card_files: bool) -> None:
    with opened() as (kit, conn):
        confirmed = _confirm(kit, conn)
        if card_files and not confirmed:
            raise click.ClickException(
                _("card files are deleted only on the base's word of today: connect and try again")
            )
        wiped = wipe_store(conn, kit.proxies, card_files=card_files)
        conn.seal()
    _print_card_files(wiped, card_files)
    removed = [
        ngettext(
            "{count} original's entries", "{count} originals' entries", wiped.originals
        ).format(count=wiped.originals),
        ngettext("{count} proxy ({size} MB)", "{count} proxies ({size} MB)", wiped.proxies).format(
            count=wiped.proxies, size=f"{wiped.proxy_bytes / 1e6:.1f}"
        ),
        ngettext("{count} read note", "{count} read notes", wiped.notes).format(count=wiped.notes),
        ngettext(
            "{count} card file ({size} MB)", "{count} card files ({size} MB)", len(wiped.card_files)
        ).format(count=len(wiped.card_files), size=f"{wiped.card_bytes / 1e6:.1f}"),
    ]
    still = ngettext("{count} original", "{count} originals", wiped.only_here)
    out.print(
        _("removed: {removed}; only on this laptop still: {originals}").format(
            removed=_(", ").join(removed), originals=still.format(count=wiped.only_here)
        )
    )


def _print_card_files(wiped: Wiped, asked: bool) -> None:
    if asked and not wiped.card_files and not wiped.kept_card_files:
        err.print(
            _(
                "no card file of an original the base holds is known here (an earlier wipe "
                "forgot them): import the card again, then wipe --card-files"
            )
        )
    for path in wiped.card_files:
        out.print(_("deleted from the card: {path}").format(path=escape(path)))
    for path, why in wiped.kept_card_files:
        out.print(_("kept on the card: {path}: {reason}").format(path=escape(path), reason=_(why)))


def _remove_kit(card_files: bool, yes: bool) -> None:
    """The whole kit, unlocked or not (a checkpoint, a forgotten passphrase): sealed files
    need no key to be deleted. Asked first; card files (`card_files`) go only from an unlocked
    kit on the base's word, before the kit."""
    kit = home()
    if not kit.exists:
        out.print(
            _("there is no field kit on this laptop ({path})").format(path=escape(str(kit.path)))
        )
        return
    unconfirmed = _unconfirmed(kit)
    if unconfirmed:
        err.print(
            ngettext(
                "{count} original was not confirmed by the base at the last contact: its "
                "card file stays on the card, its entry goes",
                "{count} originals were not confirmed by the base at the last contact: "
                "their card files stay on the card, their entries go",
                unconfirmed,
            ).format(count=unconfirmed)
        )
    elif unconfirmed is None and kit.has_passphrase:
        err.print(
            _(
                "the field kit is locked, so which originals the base holds cannot be read: "
                "card files stay on the card, every entry goes"
            )
        )
    if not yes and not _yes(_("remove the whole field kit from this laptop?")):
        err.print(_("nothing removed: the field kit stays on this laptop"))
        sys.exit(1)
    if card_files:
        _delete_card_files(unlocked=unconfirmed is not None)
    try:
        gone = kit.remove_all()
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc
    out.print(
        ngettext(
            "removed the field kit's folder {path} ({count} file)",
            "removed the field kit's folder {path} ({count} files)",
            len(gone),
        ).format(path=escape(str(kit.path)), count=len(gone))
    )


def _unconfirmed(kit: Home) -> int | None:
    """How many originals the base had not confirmed at the last contact; None when the kit
    is locked (or locks meanwhile), so the store cannot be read."""
    try:
        kit.session()
        with opened() as (_kit, conn):
            return int(conn.execute("SELECT COUNT(*) FROM blobs WHERE in_vault = 0").fetchone()[0])
    except (RushesError, click.ClickException):
        return None


def _delete_card_files(unlocked: bool) -> None:
    """Before the kit goes: the card files the base holds byte-exact, on its word of today;
    whatever stops this (a locked kit, no base) keeps them, and the kit still goes."""
    if not unlocked:
        err.print(_("no card file is deleted: the field kit is locked"))
        return
    try:
        with opened() as (kit, conn):
            if not _confirm(kit, conn):
                err.print(_("card files are deleted only on the base's word of today: none is"))
                return
            wiped = wipe_store(conn, kit.proxies, card_files=True)
    except click.ClickException as exc:  # locked meanwhile
        err.print(_("no card file is deleted: {reason}").format(reason=exc.format_message()))
        return
    except RushesError as exc:
        err.print(_("no card file is deleted: {reason}").format(reason=_(str(exc))))
        return
    _print_card_files(wiped, asked=True)


def _yes(question: str) -> bool:
    """Asked on stderr, answered on stdin: True only for a yes in English or in the kit's
    language (y, yes; ن, نعم); anything else, an empty line too, is no."""
    answer = click.prompt(
        _("{question} [y/N]").format(question=question),
        default="",
        show_default=False,
        prompt_suffix=" ",
        err=True,
    )
    if not sys.stdin.isatty():
        err.print()  # the answer read from a pipe was not echoed: end the question's line
    words = {"y", "yes", *_("y yes").split()}
    return unicodedata.normalize("NFC", answer).strip().casefold() in words


def _confirm(kit: Home, conn: Store) -> bool:
    """Ask the base what it holds now; False (with a line saying so) when it cannot answer."""
    try:
        login = kit.login()
    except RushesError:
        err.print(_("not logged in: only what the base confirmed before is removed"))
        return False
    client = Client(login)
    try:
        Sync(conn, client, login, Meter(err), open_proxy=kit.open_proxy).confirm()
    except (Unreachable, Refused, Stopped) as exc:
        err.print(
            _("cannot ask the base ({reason}): only what it confirmed before is removed").format(
                reason=exc
            )
        )
        return False
    finally:
        client.close()
    return True
