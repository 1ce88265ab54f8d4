"""`rushes field …`: the crew laptop's commands. They present and orchestrate; the work is in
importer, sync and notes. Progress goes to stderr, results to stdout. Exit codes: 0 all done,
1 something is left or failed (named in the output), 2 bad usage.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import click
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rushes import i18n
from rushes import settings as settings_module
from rushes.cli import field_click, field_store
from rushes.cli.console import err, out
from rushes.cli.field_store import ensure_unlocked, opened
from rushes.errors import RushesError
from rushes.field import notes as inbox
from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import Home, Login
from rushes.field.importer import Importer, candidates
from rushes.field.pacing import TokenBucket, parse_rate
from rushes.field.sync import Left, Meter, Sync, left, retry_failed
from rushes.i18n import N_, _, ngettext
from rushes.vault.store import display_path


def _login(home: Home) -> Login:
    try:
        return home.login()
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc


def _language() -> i18n.Locale:
    """The language chosen with `rushes field login --language`, else the POSIX locale's."""
    try:
        saved = Home(settings_module.load().field_dir).language()
    except RushesError:
        saved = ""
    return i18n.Locale.of(saved or i18n.environment_language())


class FieldGroup(click.Group):
    """The field kit's commands, their help in the kit's language (set before `--help`, which
    runs before the group's own callback)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        locale = _language()
        i18n.use(locale)
        field_click.speak(locale.language)
        _translate_help(self)
        return super().make_context(info_name, args, parent, **extra)


def _translate_help(command: click.Command) -> None:
    """Each help text (marked N_ where written) in the active language; the English is kept
    aside, so another language later in the same process starts from it again."""
    for item in [command, *command.params]:
        source = item.__dict__.setdefault("help_msgid", getattr(item, "help", None))
        if source:
            item.help = _(source)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _translate_help(sub)


@click.group(
    cls=FieldGroup,
    name="field",
    help=N_(
        "The crew's field kit: import cards, send them to the base, read notes (works offline)."
    ),
)
def field() -> None:
    i18n.use(_language())


for _command in (field_store.unlock, field_store.lock, field_store.passphrase, field_store.wipe):
    field.add_command(_command)


@field.command(
    help=N_(
        "Store the base's URL, the project and a field-kit token, after checking them.\n\n"
        "The first login chooses the passphrase that seals the kit's folder. Make the "
        "token on the base's Settings page, which prints this whole command, or with "
        "`rushes user token NAME PROJECT`."
    ),
)
@click.argument("url", required=False)
@click.option("--project", help=N_("The project's short name (slug) on the base."))
@click.option(
    "--token-stdin",
    is_flag=True,
    help=N_(
        "Read the token from stdin (else prompted), then the kit's passphrase if it needs one."
    ),
)
@click.option(
    "--language",
    type=click.Choice(sorted(i18n.LANGUAGES)),
    help=N_("The field kit's language from now on (ar: Arabic, en: English); alone, only that."),
)
def login(url: str | None, project: str | None, token_stdin: bool, language: str | None) -> None:
    if language:
        field_store.home().save_language(language)
        i18n.use(i18n.Locale.of(language))
        if not url:
            out.print(
                _("the field kit speaks {language} from now on").format(
                    language=i18n.LANGUAGES[language]
                )
            )
            return
    if not url or not project:
        raise click.UsageError(_("give the base's URL and --project (or only --language)"))
    token = (
        sys.stdin.readline().strip() if token_stdin else click.prompt(_("token"), hide_input=True)
    )
    if not token:
        raise click.UsageError(_("the token is empty"))
    found = Login(url.rstrip("/"), project, token.strip())
    try:
        client = Client(found)
    except RushesError as exc:
        raise click.UsageError(_(str(exc))) from exc
    try:
        client.get_json(f"api/p/{project}/field/wanted")
    except Refused as exc:
        raise click.ClickException(
            _("the base refused this login: {reason} ({status})").format(
                reason=_(exc.reason), status=exc.status
            )
        ) from exc
    except Unreachable as exc:
        raise click.ClickException(_("cannot reach the base: {reason}").format(reason=exc)) from exc
    finally:
        client.close()
    home = field_store.home()
    ensure_unlocked(home, token_stdin, field_store.AFTER_TOKEN)
    try:
        home.save_login(found)
    except RushesError as exc:
        raise click.ClickException(_(str(exc))) from exc
    out.print(
        _("logged in to {url}, project {project}").format(
            url=escape(found.url), project=escape(project)
        )
    )


@field.command(
    name="import",
    help=N_("Hash every file on CARD, record it in the local manifest and make 360p proxies."),
)
@click.argument("card", type=field_click.Path(exists=True, path_type=Path))
@click.option(
    "--source", default="", help=N_("Label of the card, e.g. 'card 3'. Default: its name.")
)
def import_card(card: Path, source: str) -> None:
    card = card.absolute()
    label = source or card.name
    found = candidates(card)
    with opened() as (home, conn):
        importer = Importer(home, conn, label)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            MofNCompleteColumn(),
            console=err,
            disable=not err.is_terminal,
        )
        with progress:
            hashing = progress.add_task(_("hash"), total=sum(c.size for c in found))
            report = importer.record(card, found, lambda n: progress.advance(hashing, n))
            todo = importer.needing_proxy(report)
            proxying = progress.add_task(_("360p proxies"), total=len(todo))
            importer.make_proxies(report, todo, lambda: progress.advance(proxying, 1))
    shown = {"failed": _("failed"), "skipped": _("skipped")}
    for outcome in report.outcomes:
        if outcome.status in shown:
            reason = _(outcome.reason)
            out.print(f"{shown[outcome.status]}: {escape(outcome.path)}: {escape(reason)}")
    for path, problem in report.proxy_problems:
        reason = _(problem)  # a marked reason (a damaged or cut-off file) in the crew's language
        out.print(_("no proxy: {path}: {reason}").format(path=escape(path), reason=escape(reason)))
    counts = [
        ngettext("{count} new", "{count} new", report.count("new")),
        ngettext("{count} unchanged", "{count} unchanged", report.count("unchanged")),
        ngettext("{count} skipped", "{count} skipped", report.count("skipped")),
        ngettext("{count} failed", "{count} failed", report.count("failed")),
    ]
    statuses = ("new", "unchanged", "skipped", "failed")
    made = ngettext("{count} proxy made", "{count} proxies made", report.proxies)
    out.print(
        _("{card}: {counts}; {proxies}").format(
            card=escape(label),
            counts=_(", ").join(
                text.format(count=report.count(status))
                for text, status in zip(counts, statuses, strict=True)
            ),
            proxies=made.format(count=report.proxies),
        )
    )
    if report.count("failed"):
        sys.exit(1)


@field.command(
    help=N_(
        "Send manifests, then proxies, then originals (asked-for first, then smallest "
        "first).\n\n"
        "Resumes where it stopped; on network errors waits and tries again for ever "
        "(unless --once). Exits 0 when everything is on the base, 1 when something is "
        "left or refused."
    ),
)
@click.option("--max-rate", default="", help=N_("Most bytes a second to send, e.g. 256k or 2M."))
@click.option("--once", is_flag=True, help=N_("One pass, no waiting on network errors."))
@click.option(
    "--retry-failed",
    "retry_failed_",
    is_flag=True,
    help=N_("Try again the uploads the base refused."),
)
def sync(max_rate: str, once: bool, retry_failed_: bool) -> None:
    try:
        rate = parse_rate(max_rate) if max_rate else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-rate") from exc
    with opened() as (home, conn):
        found = _login(home)
        if retry_failed_:
            retry_failed(conn)
        client = Client(found, TokenBucket(rate) if rate else None)
        try:
            with home.one_sync(), Meter(err) as meter:
                remaining = Sync(
                    conn,
                    client,
                    found,
                    meter,
                    open_proxy=home.open_proxy,
                    still_open=conn.check,
                    max_rate=rate,
                ).run(once=once)
        except RushesError as exc:  # refused login (Stopped), locked, another sync
            raise click.ClickException(_(str(exc))) from exc
        finally:
            client.close()
    if remaining.total == 0:
        out.print(_("everything is on the base"))
        return
    out.print(_("left: {left} (see `rushes field status`)").format(left=_left(remaining)))
    sys.exit(1)


@field.command(
    help=N_(
        "Notes and assignments for you from the review room, and the originals the base "
        "asked for; kept here to read offline."
    ),
)
@click.option(
    "--all", "everything", is_flag=True, help=N_("Every note kept here, not only new ones.")
)
def notes(everything: bool) -> None:
    with opened() as (home, conn):
        login = _login(home)
        client = Client(login)
        try:
            added = inbox.fetch(conn, client)
            err.print(
                ngettext(
                    "{count} new note from the base", "{count} new notes from the base", added
                ).format(count=added)
            )
            inbox.fetch_wanted(conn, client, login.project)
        except Unreachable as exc:
            err.print(
                _("offline ({reason}); showing the notes kept on this laptop").format(reason=exc)
            )
        except Refused as exc:
            raise click.ClickException(
                _("the base refused: {reason} ({status})").format(
                    reason=_(exc.reason), status=exc.status
                )
            ) from exc
        finally:
            client.close()
        found = inbox.take(conn, everything)
        asked = _asked(conn)
    if not found.notes and not found.assignments:
        out.print(_("nothing new") if not everything else _("no notes yet"))
    for note in found.notes:
        _print_note(note, login.url)
    for work in found.assignments:
        _print_assignment(work)
    if asked:
        out.print(
            ngettext(
                "[bold]the base asked for {count} original[/bold], sent first:",
                "[bold]the base asked for {count} originals[/bold], sent first:",
                len(asked),
            ).format(count=len(asked))
        )
        for sha256, where in asked.items():
            out.print(
                "  " + _("{where} (clip {clip})").format(where=escape(where), clip=sha256[:12])
            )


def _asked(conn: sqlite3.Connection) -> dict[str, str]:
    """The originals the base asked for at the last contact, each with the card file it is."""
    found: dict[str, str] = {}
    for sha256 in inbox.wanted(conn):
        row = conn.execute(
            "SELECT source, card_path FROM files WHERE sha256 = ? ORDER BY id DESC", (sha256,)
        ).fetchone()
        found[sha256] = (
            f"{row['source']}: {display_path(row['card_path'])}" if row else _("not on this laptop")
        )
    return found


def _print_note(note: dict[str, Any], base_url: str) -> None:
    at = f" {note['in']}" + (f"-{note['out']}" if note.get("out") else "") if note.get("in") else ""
    done = " " + _("(resolved)") if note.get("resolved_at") else ""
    category = _(note["category"]) if note["category"] else _("note")
    out.print(
        _("[bold]note {id}[/bold] from {author}, {category}{done}, {time}").format(
            id=note["id"],
            author=escape(note["author"]),
            category=escape(category),
            done=done,
            time=note["created_at"][:16],
        )
    )
    name = "".join(c if c.isprintable() else "?" for c in note.get("name") or "")
    name = f"{escape(name)} " if name else ""  # from a camera card, through the base
    clip = _("clip {name}({clip})").format(name=name, clip=note["sha256"][:12])
    out.print(f"  {clip}{at}: {escape(note['body'])}")
    out.print(f"  {escape(urljoin(base_url, note['url']))}")  # a link the crew can open


def _print_assignment(work: dict[str, Any]) -> None:
    due = ", " + _("due {day}").format(day=work["due"]) if work.get("due") else ""
    out.print(
        _("[bold]assignment {id}[/bold] {title} ({status}{due})").format(
            id=work["id"], title=escape(work["title"]), status=_(work["status"]), due=due
        )
    )
    if work.get("brief"):
        out.print(f"  {escape(work['brief'])}")
    out.print(f"  {escape(work['url'])}")


@field.command(
    help=N_(
        "What was imported and what of it the base has: per file, and failures with "
        "reasons; then what is still only on this laptop, and until when the kit is "
        "unlocked."
    ),
)
@click.option("--here", is_flag=True, help=N_("Only files whose original the base does not hold."))
def status(here: bool) -> None:
    with opened() as (home, conn):
        rows = conn.execute(
            "SELECT f.source, f.card_path, f.size, f.manifest_sent_at, b.* FROM files f "
            "JOIN blobs b ON b.sha256 = f.sha256"
            + (" WHERE b.in_vault = 0 AND b.original_sent_at IS NULL" if here else "")
            + " ORDER BY f.id"
        ).fetchall()
        remaining = left(conn)
        asked = _asked(conn)
        only = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blobs "
            "WHERE in_vault = 0 AND original_sent_at IS NULL"
        ).fetchone()
        proxies = conn.execute(
            "SELECT COUNT(*) FROM blobs WHERE proxy_path IS NOT NULL AND base_proxy = 0 "
            "AND proxy_sent_at IS NULL"
        ).fetchone()[0]
        unread = conn.execute("SELECT COUNT(*) FROM notes WHERE shown = 0").fetchone()[0]
        locks_at = field_store.until(home.session().until)
    table = Table()
    for column in (_("source"), _("file"), _("size"), _("manifest"), _("proxy"), _("original")):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(row["source"]),
            escape(display_path(row["card_path"])),
            str(row["size"]),
            _("sent") if row["manifest_sent_at"] else _("waiting"),
            escape(_proxy_state(row)),
            escape(_original_state(row, row["sha256"] in asked)),
        )
    out.print(table)
    if asked:
        out.print(
            ngettext(
                "the base asked for {count} original: ",
                "the base asked for {count} originals: ",
                len(asked),
            ).format(count=len(asked))
            + ", ".join(escape(where) for where in asked.values())
        )
    files = ngettext("{count} file", "{count} files", len(rows)).format(count=len(rows))
    out.print(_("{files}; left: {left}").format(files=files, left=_left(remaining)))
    here = [
        ngettext(
            "{count} original ({size} MB) the base has not confirmed",
            "{count} originals ({size} MB) the base has not confirmed",
            only[0],
        ).format(count=only[0], size=f"{only[1] / 1e6:.1f}"),
        ngettext(
            "{count} proxy it has not received", "{count} proxies it has not received", proxies
        ).format(count=proxies),
        ngettext("{count} unread note", "{count} unread notes", unread).format(count=unread),
    ]
    out.print(_("only on this laptop: {what}").format(what=_(", ").join(here)))
    out.print(_("the field kit is unlocked until {time}").format(time=locks_at))


def _left(remaining: Left) -> str:
    """What sync has still to send, each count in its own words (Arabic has six forms)."""
    originals = ngettext("{count} original", "{count} originals", remaining.originals)
    originals = originals.format(count=remaining.originals)
    if remaining.waiting:
        originals += " " + ngettext(
            "({count} not readable now)", "({count} not readable now)", remaining.waiting
        ).format(count=remaining.waiting)
    return _(", ").join(
        [
            ngettext(
                "{count} manifest entry", "{count} manifest entries", remaining.manifests
            ).format(count=remaining.manifests),
            ngettext("{count} proxy", "{count} proxies", remaining.proxies).format(
                count=remaining.proxies
            ),
            originals,
            ngettext("{count} refused", "{count} refused", remaining.failed).format(
                count=remaining.failed
            ),
        ]
    )


def _proxy_state(row: sqlite3.Row) -> str:
    if row["proxy_failed"]:
        return _("refused: {reason}").format(reason=_(row["proxy_failed"]))
    if row["proxy_sent_at"]:
        return _("sent")
    if row["base_proxy"]:
        return _("on the base")
    if row["proxy_path"]:
        return _("waiting")
    if row["proxy_problem"]:
        return _("none: {reason}").format(reason=_(row["proxy_problem"]))
    return _("none") if row["kind"] else _("not made yet")


def _original_state(row: sqlite3.Row, asked: bool) -> str:
    if row["original_failed"]:
        return _("refused: {reason}").format(reason=_(row["original_failed"]))
    if row["original_sent_at"]:
        return _("sent")
    if row["in_vault"]:
        return _("on the base")
    waiting = row["original_waiting"]
    state = _("waiting: {reason}").format(reason=_(waiting)) if waiting else _("waiting")
    return _("{state} (asked for by the base)").format(state=state) if asked else state
