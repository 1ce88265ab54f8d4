"""`rushes export …`: files that carry the record out of the base. They present and
orchestrate; the formats live in rushes.exports. Warnings go to stderr, the file's path to
stdout. Exit codes: 0 written (perhaps with warnings), 1 not written (the reason printed).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.cli.evidence import evidence
from rushes.cli.share import share_command, who_command
from rushes.exports import timeline as timelines
from rushes.exports.conform import STANDARD_RATES, label, timeline_rate
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
@click.option(
    "--rate",
    "-r",
    default=None,
    metavar="FPS",
    help="The timeline's frame rate: "
    + ", ".join(label(r) for r in STANDARD_RATES)
    + ". Default: the first select's, if it is one of these, else 25.",
)
def timeline(project: str, output: Path, fmt: str | None, rate: str | None) -> None:
    """Write PROJECT's selects, in order, as a timeline whose clips point at the originals
    (originals/<sha256><ext>, to relink when the drive arrives) with notes as markers.

    The OTIO file keeps each clip in its own frame rate; the EDL (one rate per file) and the
    FCP XML convert what they cannot carry, and say so on stderr."""
    chosen = timelines.format_of(fmt or _format_from(output))
    with opened_base() as base, base.catalog.read() as session:
        fps = timeline_rate(rate) if rate is not None else None
        cut = timelines.selects_timeline(session, base.vault, find_project(session, project), fps)
        written = chosen.write(cut.timeline)
    try:
        output.write_text(written.text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    for message in [m.message for m in cut.missing] + cut.warnings + written.warnings:
        err.print(f"warning: {escape(message)}")
    out.print(escape(str(output)))


export.add_command(evidence)
export.add_command(share_command)
export.add_command(who_command)
