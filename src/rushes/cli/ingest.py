"""`rushes ingest`: cards and folders into the vault, hashed, logged, probed."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from rushes.cards import walk
from rushes.cli.common import bytes_progress, opened_base
from rushes.cli.console import out
from rushes.ingest import Ingest
from rushes.stamps import stamp_quietly

_LIMITS = {"project": 100, "crew": 200, "source": 500}


def _label(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Labels go into the custody log: valid text of a sane length, or a usage error."""
    limit = _LIMITS[param.name or ""]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise click.BadParameter("is not valid UTF-8 text") from exc
    if len(value) > limit:
        raise click.BadParameter(f"is longer than {limit} characters")
    if any(not c.isprintable() for c in value):
        raise click.BadParameter("contains control characters")
    return value


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--project", "-p", required=True, callback=_label, help="Project slug; created on first use."
)
@click.option("--crew", default="", callback=_label, help="Who filmed it.")
@click.option(
    "--source", default="", callback=_label, help='Where it came from, e.g. "card 3, Rahed".'
)
def ingest(paths: tuple[Path, ...], project: str, crew: str, source: str) -> None:
    """Copy files and folders into the vault, hash them and record their custody."""
    with opened_base(create=True) as base:
        candidates = list(walk(paths))
        runner = Ingest(
            base,
            project=project,
            crew=crew,
            source=source,
            actor=base.settings.actor,
        )
        total = sum(c.size for c in candidates)
        with bytes_progress(len(candidates)) as progress:
            task = progress.add_task("ingest", total=total, files=0)

            def advance(size: int) -> None:
                progress.update(task, advance=size, files=progress.tasks[task].fields["files"] + 1)

            report = runner.run(candidates, progress=advance)
        stamped = "" if report.interrupted else stamp_quietly(base)
    table = Table(title="ingest", show_lines=False)
    for column in ("status", "file", "sha256", "reason"):
        table.add_column(column, overflow="fold")
    for outcome in report.outcomes:
        if outcome.status in ("new", "duplicate", "repaired") or outcome.reason:
            table.add_row(
                outcome.status, escape(outcome.path), outcome.sha256[:16], escape(outcome.reason)
            )
    out.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}"
        for s in ("new", "duplicate", "repaired", "unchanged", "skipped", "failed", "not attempted")
        if report.count(s)
    )
    files = len(report.outcomes)
    out.print(f"{files} file{'' if files == 1 else 's'}: {counts or 'nothing to do'}")
    if report.count("new"):
        out.print(
            "new originals are queued for the pipeline: a running `rushes serve` takes them up, "
            "else run `rushes process`"
        )
    if report.count("repaired"):
        out.print(
            "repaired: the vault's damaged or missing copy was replaced by the file read now "
            "(logged; a damaged copy is kept aside in the vault's quarantine)"
        )
    if report.aborted:
        out.print(f"[bold red]stopped:[/] {escape(report.aborted)}")
    if stamped:
        out.print(escape(stamped))
    if report.interrupted:
        sys.exit(130)  # as a shell reports a command stopped by Ctrl-C
    if not report.ok:
        sys.exit(1)
