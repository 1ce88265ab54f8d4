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
from rushes.cli.common import err, out
from rushes.errors import RushesError
from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import NOT_LOGGED_IN, Home, Store
from rushes.field.session import Locked
from rushes.field.sync import Meter, Stopped, Sync
from rushes.field.wipe import wipe as wipe_store
from rushes.i18n import N_, _, ngettext

MIN_PASSPHRASE = 8


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


def _passphrase(from_stdin: bool, new: bool) -> str:
    """The next line of stdin if there is one (`from_stdin`), else asked on the terminal (twice
    when new); NFC, so the same words typed with another keyboard layout open the kit."""
    line = sys.stdin.readline() if from_stdin else ""
    if line:
        given = line.rstrip("\n")
    elif not _terminal():
        raise click.UsageError(
            _("no terminal to ask for the passphrase on: give it on stdin with --passphrase-stdin")
        )
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
            _("the passphrase must have at least {count} characters").format(count=MIN_PASSPHRASE)
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


def ensure_unlocked(kit: Home, from_stdin: bool) -> None:
    """Unlocked now: a new kit chooses its passphrase, a locked one asks for it."""
    try:
        if not kit.has_passphrase:
            kit.create(_passphrase(from_stdin, new=True), unlock_hours() * 3600)
            return
        kit.session()
    except Locked:
        _unlock(kit, from_stdin, unlock_hours())
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc


def _unlock(kit: Home, from_stdin: bool, hours: float) -> None:
    try:
        session = kit.unlock(_passphrase(from_stdin, new=False), hours * 3600)
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
        "proxies, proxies it has, notes already read. With --all, everything of the kit, "
        "after a question."
    ),
)
@click.option(
    "--card-files",
    is_flag=True,
    help=N_("Also delete the card files the base holds byte-exact (hashed again first)."),
)
@click.option("--all", "everything", is_flag=True, help=N_("Remove the kit's whole folder."))
@click.option("--yes", is_flag=True, help=N_("Do not ask before --all."))
def wipe(card_files: bool, everything: bool, yes: bool) -> None:
    with opened() as (kit, conn):
        confirmed = _confirm(kit, conn)
        if card_files and not confirmed:
            raise click.ClickException(
                _("card files are deleted only on the base's word of today: connect and try again")
            )
        wiped = wipe_store(conn, kit.proxies, card_files=card_files)
        conn.seal()
    if card_files and not wiped.card_files and not wiped.kept_card_files:
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
    out.print(
        _(
            "removed: {originals} originals' entries, {proxies} proxies ({size} MB), {notes} "
            "read notes, {files} card files ({card_size} MB); only on this laptop still: "
            "{left} originals"
        ).format(
            originals=wiped.originals,
            proxies=wiped.proxies,
            size=f"{wiped.proxy_bytes / 1e6:.1f}",
            notes=wiped.notes,
            files=len(wiped.card_files),
            card_size=f"{wiped.card_bytes / 1e6:.1f}",
            left=wiped.only_here,
        )
    )
    if not everything:
        return
    if wiped.only_here and not yes:
        err.print(
            ngettext(
                "{count} original is not on the base yet: its card file stays, its entry goes",
                "{count} originals are not on the base yet: their card files stay, their "
                "entries go",
                wiped.only_here,
            ).format(count=wiped.only_here)
        )
    if not yes and not click.confirm(_("remove the whole field kit from this laptop?")):
        raise click.ClickException(_("nothing more removed"))
    gone = kit.remove_all()
    out.print(
        ngettext(
            "removed the field kit's folder {path} ({count} file)",
            "removed the field kit's folder {path} ({count} files)",
            len(gone),
        ).format(path=escape(str(kit.path)), count=len(gone))
    )


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
