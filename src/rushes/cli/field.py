"""`rushes field …`: the crew laptop's commands. They present and orchestrate; the work is in
importer, sync and notes. Progress goes to stderr, results to stdout. Exit codes: 0 all done,
1 something is left or failed (named in the output), 2 bad usage.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rushes import settings as settings_module
from rushes.cli.common import err, out
from rushes.errors import RushesError
from rushes.field import notes as inbox
from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import Home, Login
from rushes.field.importer import Importer, candidates
from rushes.field.pacing import TokenBucket, parse_rate
from rushes.field.sync import Meter, Stopped, Sync, left, retry_failed


def _home() -> Home:
    try:
        return Home(settings_module.load().field_dir)
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _opened() -> Iterator[tuple[Home, sqlite3.Connection]]:
    home = _home()
    try:
        conn = home.db()
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(
            f"cannot open the field kit's folder {home.path}: {exc}"
        ) from exc
    try:
        yield home, conn
    finally:
        conn.close()


def _login(home: Home) -> Login:
    try:
        return home.login()
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(name="field")
def field() -> None:
    """The crew's field kit: import cards, send them to the base, read notes (works offline)."""


@field.command()
@click.argument("url")
@click.option("--project", required=True, help="The project's short name (slug) on the base.")
@click.option("--token-stdin", is_flag=True, help="Read the token from stdin (else prompted).")
def login(url: str, project: str, token_stdin: bool) -> None:
    """Store the base's URL, the project and a field-kit token, after checking them.

    Make the token on the base's Settings page, which prints this whole command, or with
    `rushes user token NAME PROJECT`.
    """
    token = sys.stdin.readline().strip() if token_stdin else click.prompt("token", hide_input=True)
    if not token:
        raise click.UsageError("the token is empty")
    found = Login(url.rstrip("/"), project, token.strip())
    try:
        client = Client(found)
    except RushesError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        client.get_json(f"api/p/{project}/field/wanted")
    except Refused as exc:
        raise click.ClickException(
            f"the base refused this login: {exc.reason} ({exc.status})"
        ) from exc
    except Unreachable as exc:
        raise click.ClickException(f"cannot reach the base: {exc}") from exc
    finally:
        client.close()
    home = _home()
    home.save_login(found)
    out.print(f"logged in to {escape(found.url)}, project {escape(project)}")


@field.command(name="import")
@click.argument("card", type=click.Path(exists=True, path_type=Path))
@click.option("--source", default="", help="Label of the card, e.g. 'card 3'. Default: its name.")
def import_card(card: Path, source: str) -> None:
    """Hash every file on CARD, record it in the local manifest and make 360p proxies."""
    card = card.absolute()
    label = source or card.name
    found = candidates(card)
    with _opened() as (home, conn):
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
            hashing = progress.add_task("hash", total=sum(c.size for c in found))
            report = importer.record(card, found, lambda n: progress.advance(hashing, n))
            todo = importer.needing_proxy(report)
            proxying = progress.add_task("360p proxies", total=len(todo))
            importer.make_proxies(report, todo, lambda: progress.advance(proxying, 1))
    for outcome in report.outcomes:
        if outcome.status in ("failed", "skipped"):
            out.print(f"{outcome.status}: {escape(outcome.path)}: {escape(outcome.reason)}")
    for path, problem in report.proxy_problems:
        out.print(f"no proxy: {escape(path)}: {escape(problem)}")
    out.print(
        f"{escape(label)}: {report.count('new')} new, {report.count('unchanged')} unchanged, "
        f"{report.count('skipped')} skipped, {report.count('failed')} failed; "
        f"{report.proxies} proxies made"
    )
    if report.count("failed"):
        sys.exit(1)


@field.command()
@click.option("--max-rate", default="", help="Most bytes a second to send, e.g. 256k or 2M.")
@click.option("--once", is_flag=True, help="One pass, no waiting on network errors.")
@click.option(
    "--retry-failed", "retry_failed_", is_flag=True, help="Try again the uploads the base refused."
)
def sync(max_rate: str, once: bool, retry_failed_: bool) -> None:
    """Send manifests, then proxies, then originals (asked-for first, then smallest first).

    Resumes where it stopped; on network errors waits and tries again for ever (unless
    --once). Exits 0 when everything is on the base, 1 when something is left or refused.
    """
    try:
        rate = parse_rate(max_rate) if max_rate else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-rate") from exc
    with _opened() as (home, conn):
        found = _login(home)
        if retry_failed_:
            retry_failed(conn)
        client = Client(found, TokenBucket(rate) if rate else None)
        try:
            with Meter(err) as meter:
                remaining = Sync(conn, client, found, meter, max_rate=rate).run(once=once)
        except Stopped as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            client.close()
    if remaining.total == 0:
        out.print("everything is on the base")
        return
    out.print(
        f"left: {remaining.manifests} manifest entries, {remaining.proxies} proxies, "
        f"{remaining.originals} originals ({remaining.waiting} not readable now), "
        f"{remaining.failed} refused (see `rushes field status`)"
    )
    sys.exit(1)


@field.command()
@click.option("--all", "everything", is_flag=True, help="Every note kept here, not only new ones.")
def notes(everything: bool) -> None:
    """Notes and assignments for you from the review room, and the originals the base asked
    for; kept here to read offline."""
    with _opened() as (home, conn):
        login = _login(home)
        client = Client(login)
        try:
            added = inbox.fetch(conn, client)
            err.print(f"{added} new note(s) from the base")
            inbox.fetch_wanted(conn, client, login.project)
        except Unreachable as exc:
            err.print(f"offline ({exc}); showing the notes kept on this laptop")
        except Refused as exc:
            raise click.ClickException(f"the base refused: {exc.reason} ({exc.status})") from exc
        finally:
            client.close()
        found = inbox.take(conn, everything)
        asked = _asked(conn)
    if not found.notes and not found.assignments:
        out.print("nothing new" if not everything else "no notes yet")
    for note in found.notes:
        _print_note(note)
    for work in found.assignments:
        _print_assignment(work)
    if asked:
        out.print(f"[bold]the base asked for {len(asked)} original(s)[/bold], sent first:")
        for sha256, where in asked.items():
            out.print(f"  {escape(where)} (clip {sha256[:12]})")


def _asked(conn: sqlite3.Connection) -> dict[str, str]:
    """The originals the base asked for at the last contact, each with the card file it is."""
    found: dict[str, str] = {}
    for sha256 in inbox.wanted(conn):
        row = conn.execute(
            "SELECT source, card_path FROM files WHERE sha256 = ? ORDER BY id DESC", (sha256,)
        ).fetchone()
        found[sha256] = f"{row['source']}: {row['card_path']}" if row else "not on this laptop"
    return found


def _print_note(note: dict[str, Any]) -> None:
    at = f" {note['in']}" + (f"-{note['out']}" if note.get("out") else "") if note.get("in") else ""
    done = " (resolved)" if note.get("resolved_at") else ""
    out.print(
        f"[bold]note {note['id']}[/bold] from {escape(note['author'])}, "
        f"{escape(note['category'] or 'note')}{done}, {note['created_at'][:16]}"
    )
    name = "".join(c if c.isprintable() else "?" for c in note.get("name") or "")
    name = f"{escape(name)} " if name else ""  # from a camera card, through the base
    out.print(f"  clip {name}({note['sha256'][:12]}){at}: {escape(note['body'])}")
    out.print(f"  {escape(note['url'])}")


def _print_assignment(work: dict[str, Any]) -> None:
    due = f", due {work['due']}" if work.get("due") else ""
    out.print(
        f"[bold]assignment {work['id']}[/bold] {escape(work['title'])} ({work['status']}{due})"
    )
    if work.get("brief"):
        out.print(f"  {escape(work['brief'])}")
    out.print(f"  {escape(work['url'])}")


@field.command()
def status() -> None:
    """What was imported and what of it the base has: per file, and failures with reasons."""
    with _opened() as (_, conn):
        rows = conn.execute(
            "SELECT f.source, f.card_path, f.size, f.manifest_sent_at, b.* FROM files f "
            "JOIN blobs b ON b.sha256 = f.sha256 ORDER BY f.id"
        ).fetchall()
        remaining = left(conn)
        asked = _asked(conn)
    table = Table()
    for column in ("source", "file", "size", "manifest", "proxy", "original"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(row["source"]),
            escape(row["card_path"]),
            str(row["size"]),
            "sent" if row["manifest_sent_at"] else "waiting",
            escape(_proxy_state(row)),
            escape(_original_state(row, row["sha256"] in asked)),
        )
    out.print(table)
    if asked:
        out.print(
            f"the base asked for {len(asked)} original(s): "
            + ", ".join(escape(where) for where in asked.values())
        )
    out.print(
        f"{len(rows)} files; left: {remaining.manifests} manifest entries, "
        f"{remaining.proxies} proxies, {remaining.originals} originals "
        f"({remaining.waiting} not readable now); {remaining.failed} refused"
    )


def _proxy_state(row: sqlite3.Row) -> str:
    if row["proxy_failed"]:
        return f"refused: {row['proxy_failed']}"
    if row["proxy_sent_at"]:
        return "sent"
    if row["base_proxy"]:
        return "on the base"
    if row["proxy_path"]:
        return "waiting"
    if row["proxy_problem"]:
        return f"none: {row['proxy_problem']}"
    return "none" if row["kind"] else "not made yet"


def _original_state(row: sqlite3.Row, asked: bool) -> str:
    if row["original_failed"]:
        return f"refused: {row['original_failed']}"
    if row["original_sent_at"]:
        return "sent"
    if row["in_vault"]:
        return "on the base"
    state = f"waiting: {row['original_waiting']}" if row["original_waiting"] else "waiting"
    return f"{state} (asked for by the base)" if asked else state
