"""`rushes incidents …`: list, export and import the incident register. The rules are in
review.incidents and the formats in exports.incidents; this only presents them.
Exit codes: 0 all well, 1 a row was refused (named by its line), 2 bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from rushes import settings as settings_module
from rushes.catalog.models import User
from rushes.cli.common import opened_base
from rushes.cli.console import out
from rushes.errors import RushesError
from rushes.exports import incidents as formats
from rushes.review import incident_fields as fields
from rushes.review import incident_records as register_records
from rushes.review import incidents as register
from rushes.review.access import viewer_for
from rushes.review.projects import find_project


def _filters(type: str, start: str, end: str, verification: str = "") -> fields.Filters:
    try:
        return fields.Filters.parse(type, start, end, verification)
    except RushesError as exc:
        raise click.BadParameter(str(exc)) from exc


_project_option = click.option("--project", required=True, help="The project's short name.")
_type_option = click.option("--type", "type_", default="", help="Only incidents of this type.")
_from_option = click.option("--from", "start", default="", help="From this UTC day (YYYY-MM-DD).")
_to_option = click.option("--to", "end", default="", help="Up to this UTC day, included.")


@click.group(name="incidents")
def incidents() -> None:
    """The incident register: list, export (CSV, GeoJSON, JSON) and import from CSV."""


@incidents.command(name="list")
@_project_option
@_type_option
@_from_option
@_to_option
def list_command(project: str, type_: str, start: str, end: str) -> None:
    """The project's incidents in order of their start, with their figures."""
    filters = _filters(type_, start, end)
    with opened_base() as base, base.catalog.read() as session:
        found = register.list_incidents(session, find_project(session, project).id, filters)
        table = Table()
        for column in ("id", "start (local)", "type", "place", "rescued", "killed", "verified"):
            table.add_column(column, overflow="fold")
        for i in found:
            started = fields.local(i.started_at, i.started_offset)
            table.add_row(
                escape(i.code),
                f"{started:%Y-%m-%d %H:%M} {i.started_offset or '+00:00'}",
                i.type,
                escape(i.place),
                "?" if i.rescued is None else str(i.rescued),
                "?" if i.killed is None else str(i.killed),
                i.verification,
            )
    out.print(table)


@incidents.command(name="export")
@_project_option
@click.option(
    "--format", "fmt", type=click.Choice(list(formats.FORMATS)), default="csv", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (else stdout)."
)
@_type_option
@_from_option
@_to_option
def export_command(
    project: str, fmt: str, output: Path | None, type_: str, start: str, end: str
) -> None:
    """Incidents with their figures and their clips' SHA-256s; GeoJSON is RFC 7946."""
    filters = _filters(type_, start, end)
    with opened_base() as base, base.catalog.read() as session:
        found = register_records.records(session, find_project(session, project).id, filters, None)
    if output is None:
        formats.write(found, fmt, sys.stdout, project)
        return
    with output.open("w", encoding="utf-8", newline="") as stream:
        formats.write(found, fmt, stream, project)
    click.echo(f"{len(found)} incident(s) written to {output}", err=True)


class _DryRun(Exception):
    """Raised to roll the whole import back after checking it."""


@incidents.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_project_option
@click.option("--commit", is_flag=True, help="Import the good rows (else only check them).")
@click.option(
    "--as",
    "username",
    default="",
    help="The account the history names (default: the actor setting). It must record incidents.",
)
def import_command(file: Path, project: str, commit: bool, username: str) -> None:
    """Read incidents from a CSV in the export's columns; report each bad row by its line.

    Without --commit nothing is written, and the exit code is 1 if any row is bad. With
    --commit the good rows are imported together in one transaction and the bad ones listed.
    """
    username = username or settings_module.load().actor
    with opened_base() as base, file.open(encoding="utf-8-sig", newline="") as stream:
        try:
            with base.catalog.write() as session:
                user = session.scalar(select(User).where(User.username == username))
                if user is None:
                    raise click.ClickException(f"no user {username!r} (give one with --as)")
                viewer = viewer_for(session, user, project)
                rows = formats.read_csv(stream)
                done = register_records.import_records(session, viewer, rows, file.name)
                if not commit:
                    raise _DryRun
        except _DryRun:
            pass
    for line, reason in done.problems:
        out.print(f"line {line}: {escape(reason)}")
    verb = "imported" if commit else "would be imported (dry run: give --commit)"
    out.print(f"{len(done.codes)} incident(s) {verb}; {len(done.problems)} row(s) refused")
    if done.problems:
        sys.exit(1)


@incidents.command(name="hold")
@click.argument("code")
@_project_option
@click.option("--release", is_flag=True, help="Lift the hold instead of putting it on.")
def hold_command(code: str, project: str, release: bool) -> None:
    """Put the S3 store's legal hold on every original incident CODE links, so none can be
    deleted whatever its retention, until `--release` (which keeps the hold of originals
    another held incident links). Originals linked later are held too, by `rushes serve`
    within a minute and by `rushes verify`. Each is logged (legal-hold)."""
    from rushes.holds import hold

    with opened_base() as base:
        held = hold(base, project, code, on=not release, actor=base.settings.actor)
    state = "released" if release else "on"
    out.print(f"legal hold {state} for {len(held)} original(s) of incident {escape(code)}")
