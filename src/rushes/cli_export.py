"""`rushes export …`: files that carry the record out of the base. They present and
orchestrate; the formats live in rushes.exports. Warnings go to stderr, the file's path to
stdout. Exit codes: 0 written (perhaps with warnings), 1 not written (the reason printed).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from rushes.cli_common import err, opened_base, out
from rushes.exports import timeline as timelines
from rushes.review.projects import find_project


@click.group(name="export")
def export() -> None:
    """Timelines for the edit suite and evidence for the court."""


def _format_from(output: Path) -> str:
    """The format a file name ends with: `cut.resolve.edl` before `cut.edl`."""
    for name in sorted(timelines.FORMATS, key=len, reverse=True):
        if output.name.endswith(f".{name}"):
            return name
    raise click.UsageError(
        f"cannot tell the format from {output.name!r}: end it in "
        + ", ".join(f".{name}" for name in timelines.FORMATS)
        + " or give --format"
    )


@export.command()
@click.argument("project")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (replaced if it exists).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(list(timelines.FORMATS)),
    default=None,
    help="Default: from the output's name (.otio, .edl, .xml, .resolve.edl).",
)
def timeline(project: str, output: Path, fmt: str | None) -> None:
    """Write PROJECT's selects, in order, as a timeline whose clips point at the originals
    (originals/<sha256><ext>, to relink when the drive arrives) with notes as markers."""
    chosen = timelines.format_of(fmt or _format_from(output))
    with opened_base() as base, base.catalog.read() as session:
        cut = timelines.selects_timeline(session, base.vault, find_project(session, project))
        text = chosen.write(cut.timeline)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    for missing in cut.missing:
        err.print(f"warning: {escape(missing.message)}")
    out.print(escape(str(output)))
